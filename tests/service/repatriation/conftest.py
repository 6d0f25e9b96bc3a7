"""The repatriation tests' register, crisis and people (``test_repatriation.home``), shared by
the domain's test modules."""

from tests.service.repatriation.test_repatriation import home

__all__ = ["home"]
