"""The Lifeline service: settings, database, domain services, API, worker and CLI."""

__version__ = "0.1.0"
