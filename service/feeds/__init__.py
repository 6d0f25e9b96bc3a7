"""Hazard feeds: which are configured, polling them, and their health."""
