"""Tasks: the work a crisis creates, owned by organisations across borders, handed over, chased."""
