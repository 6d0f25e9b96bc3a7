"""Messages to and from workers' phones: one adapter per gateway, the drill gateway that never
leaves the machine, the templates in the workers' languages, the reading of their replies."""
