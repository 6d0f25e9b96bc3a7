"""The directory of organisations: embassies, societies, ministries, employers..."""
