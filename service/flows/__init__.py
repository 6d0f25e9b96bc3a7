"""Use cases that cross domains, each in a module of its own (docs/decisions/0012-flows.md)."""
