"""The append-only audit log: who did or read what, for which organisation, when and why."""
