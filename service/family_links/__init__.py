"""Restoring Family Links: safe-and-well listings, tracing requests, families left behind."""
