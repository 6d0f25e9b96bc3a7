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
// The task board live: a stream of server-sent events says when to fetch the board again. While
// it is open the board's polling stands aside; when the browser has no EventSource, or the
// stream fails, the polling goes on as before. The browser reconnects by itself when a stream
// ends, and each opening fetches the board (what changed while it was away).
(function () {
  var board = document.getElementById("board");
  if (!board || !board.dataset.events || typeof window.EventSource === "undefined") {
    return;
  }
  var live = false;
  var source = new EventSource(board.dataset.events);
  function refresh() {
    htmx.trigger(board, "lifeline:refresh");
  }
  source.addEventListener("open", function () {
    live = true;
    board.dataset.live = "on";
    refresh();
  });
  source.addEventListener("refresh", refresh);
  source.addEventListener("error", function () {
    live = false;
    board.dataset.live = source.readyState === EventSource.CLOSED ? "closed" : "off";
  });
  board.addEventListener("htmx:beforeRequest", function (event) {
    // The polling's requests have no triggering event; the stream's refresh has one.
    if (live && event.detail.elt === board && !event.detail.requestConfig.triggeringEvent) {
      event.preventDefault();
    }
  });
})();
