"""Crises: opened from alerts or declared, their zones, phases, alert levels and timeline."""
