"""The console's pages, one module a domain, each exposing its ``section``."""
