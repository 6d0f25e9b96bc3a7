"""Alerts: every source's warnings, normalised, versioned and kept, exercises included."""
