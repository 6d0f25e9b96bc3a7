"""Public advisories of a crisis for the workers, and their CAP 1.2 form."""
