"""Exposure: who is in a zone, computed in memory over the whole register."""
