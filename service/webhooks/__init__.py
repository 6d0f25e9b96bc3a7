"""Webhooks: events written to an outbox with the change, delivered signed and in order."""
