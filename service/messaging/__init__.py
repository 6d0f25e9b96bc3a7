"""Messages to and from workers' phones: the outbox, what came in, who asked for no more."""
