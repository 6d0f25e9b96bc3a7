"""People: personal accounts, their sessions in the console and their second factor."""
