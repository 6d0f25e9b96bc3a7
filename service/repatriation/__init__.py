"""Evacuation and repatriation: a case per person with their consent, movements of one or more
legs, seats that are never overbooked, boarding and arrival, reconciliation."""
