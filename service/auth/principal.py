"""Who is calling: the token's organisation and role, as plain values."""

from __future__ import annotations

from dataclasses import dataclass

from service.auth.permissions import Role


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of a use case: an API token, a person signed in to the console, the command
    line, or the background worker."""

    organization_id: str | None
    role: Role
    channel: str = "api"
    token_id: str | None = None
    organization_slug: str | None = None
    organization_kind: str | None = None
    country: str | None = None
    represents: str | None = None
    acts_for: tuple[str, ...] = ()
    jurisdiction: tuple[str, ...] = ()
    #: The person, for a session of the console (``channel`` "console"); none for a token.
    user_id: str | None = None
    user_name: str | None = None

    @classmethod
    def system(cls, channel: str) -> Principal:
        """The command line or the worker, acting with the operator's full rights."""
        return cls(organization_id=None, role=Role.ADMIN, channel=channel)

    @property
    def nationalities(self) -> frozenset[str]:
        """The nationalities whose personal data this caller's organisation may serve."""
        own = {self.represents} if self.represents else set()
        return frozenset(own | set(self.acts_for))

    @property
    def covers(self) -> frozenset[str]:
        """The countries this caller's post covers: where it sits and its ``jurisdiction``.

        A consular post serves its ``nationalities`` there and nowhere else: an embassy in Bangkok
        accredited to Laos and Cambodia does not read its nationals' records in Malaysia, which
        another post of the same country covers. ``acts_for`` adds nationalities, never countries.
        """
        own = {self.country} if self.country else set()
        return frozenset(own | set(self.jurisdiction))

    def serves(self, *, nationality: str, country: str | None) -> bool:
        """Whether a worker of ``nationality`` located in ``country`` is one of this post's
        people: the need-to-know of a consular officer, before consent and protection."""
        return nationality in self.nationalities and country is not None and country in self.covers


#: The background worker and the crisis pass: one system principal, whoever runs the pass.
WORKER = Principal.system("worker")
