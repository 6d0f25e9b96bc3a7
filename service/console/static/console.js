// The console's own script: htmx sends the CSRF token the layout renders, and an answer that is
// not a success is shown in the page instead of being dropped silently.
"use strict";
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta && meta.content) {
    event.detail.headers["X-CSRF-Token"] = meta.content;
  }
});
document.addEventListener("htmx:beforeSwap", function (event) {
  var status = event.detail.xhr.status;
  if (status === 412 || status === 403 || status === 404 || status === 422) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
