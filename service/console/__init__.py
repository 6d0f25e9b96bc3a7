"""The console: server-rendered pages for consular staff and responders, on the API's rules."""
