"""Settings from the environment (``LIFELINE_`` prefix), validated at start."""

from __future__ import annotations

import enum
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Values that mark a secret as not set for real. Accepted in development only.
PLACEHOLDER_PREFIX = "dev-only-"
DEV_ENCRYPTION_KEY = "dev-only-k1:ZGV2LW9ubHktbGlmZWxpbmUta2V5LTMyLWJ5dGVzISE="
DEV_BLIND_INDEX_KEY = "dev-only-blind-index-key-change-me"
DEV_DRILL_SECRET = "dev-only-drill-gateway-secret"  # noqa: S105 (a placeholder, refused outside development)
#: The lists of ``LIFELINE_REPATRIATION_RULES``.
_RULE_LISTS = ("nationalities", "admin1", "priority")


class Environment(enum.StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


def default_database_url() -> str:
    """An SQLite file in the working directory: the embedded default."""
    return f"sqlite+aiosqlite:///{Path.cwd() / 'lifeline.db'}"


class Settings(BaseSettings):
    """Everything the service reads from its environment.

    Secrets left at a ``dev-only-`` placeholder are refused outside development, so a
    production deployment cannot start with the keys printed in this file.
    """

    model_config = SettingsConfigDict(env_prefix="LIFELINE_", extra="ignore", frozen=True)

    env: Environment = Environment.DEVELOPMENT
    database_url: str = Field(default_factory=default_database_url)
    #: Keys for encrypting personal data at rest: ``id:base64key`` entries separated by
    #: commas; the first encrypts, all decrypt (rotation).
    encryption_keys: str = DEV_ENCRYPTION_KEY
    #: Key of the keyed hash (blind index) used for duplicate detection.
    blind_index_key: str = DEV_BLIND_INDEX_KEY
    #: Key of the audit log's hash chain (``service.audit.chain``), 32 characters or more.
    #: Unset: derived from ``blind_index_key`` (HMAC-SHA256 of a fixed label), so a deployment
    #: has a chain key without setting one. Set it once, before the first chaining pass: a chain
    #: made under one key verifies under that key only.
    audit_chain_key: str | None = Field(default=None, min_length=32, repr=False)
    #: Seconds between two chaining passes of the worker.
    audit_chain_interval_s: float = Field(default=60.0, gt=0)
    log_level: str = "INFO"
    log_json: bool = True
    #: Largest request body accepted, in bytes.
    max_body_bytes: int = Field(default=20_000_000, gt=0)
    #: Seconds one statement of the API may run on PostgreSQL before the server cancels it and
    #: the request answers 503 (``database-unavailable``); 0: no deadline. The longest
    #: statements of a request (a batch of an import, a page of an export) take well under a
    #: second; a statement past this waits on a lock or a server that stopped answering.
    db_statement_timeout_s: float = Field(default=30.0, ge=0, le=3600)
    #: Seconds ``lifeline serve`` gives the requests in flight to finish after SIGTERM, new
    #: connections refused meanwhile; then it cancels them and exits. Kubernetes' grace period
    #: must be longer (docs/decisions/0027-database-outages.md).
    shutdown_grace_s: int = Field(default=15, ge=1, le=3600)
    #: Run the database migrations when the API starts (convenient on the embedded default).
    migrate_on_start: bool = False
    #: Cells of an aggregate under this count are withheld outside the caller's need-to-know.
    suppress_below: int = Field(default=5, ge=1)
    #: Lists of people per token: this many a second on average, in bursts of ``burst``.
    people_list_rate: float = Field(default=1.0, gt=0)
    people_list_burst: int = Field(default=30, ge=1)
    #: Requests to the API (and the console's pages) per token, or per person signed in, and
    #: per client address, in a minute: a bucket of this many that refills over a minute. 0: no
    #: limit. Each API process counts its own.
    token_requests_per_minute: int = Field(default=600, ge=0)
    address_requests_per_minute: int = Field(default=1200, ge=0)
    #: Failed authentications from one client address (a bad, revoked or malformed token, a
    #: failed console sign-in or second factor) in a minute before every authentication from
    #: there is refused, a good token's too, until the bucket refills. 0: no limit.
    auth_failures_per_minute: int = Field(default=20, ge=0)
    #: Seconds between two looks at the register's change feed by each API process.
    index_refresh_s: float = Field(default=2.0, gt=0)
    #: Grid cell of the exposure index, in degrees.
    index_cell_deg: float = Field(default=0.05, gt=0, le=5)
    #: A JSON or YAML list of feeds to poll (name, kind, url, interval_s, enabled); unset: the
    #: built-in defaults (GDACS and USGS on, national CAP senders listed but off).
    feeds_file: str | None = None
    #: ReliefWeb's API serves only pre-approved application names: set yours to poll it.
    reliefweb_appname: str | None = None
    #: Run the crisis pass in the API right after an alert is pushed or declared (the worker's
    #: pass remains the safety net); off, only the worker runs it.
    crisis_pass_inline: bool = True
    #: Seconds the geometry work of one request (or one alert of the crisis pass) may take:
    #: parsing and checking a zone, exposure, unions. Past it, the request answers 422
    #: ``zone-too-complex``. The zones' limits keep the worst accepted one well under it.
    geometry_deadline_s: float = Field(default=5.0, gt=0, le=300)
    #: Threads running geometry work in each process, off the event loop.
    geometry_threads: int = Field(default=2, ge=1, le=64)
    #: Per hazard, when an alert opens a crisis: ``{"flood": {"min_severity": "severe",
    #: "min_certainty": "likely", "min_exposed": 10}}`` (JSON); unlisted hazards keep the
    #: defaults of ``service/crises/rules.py``.
    crisis_rules: dict[str, dict[str, str | int]] = Field(default_factory=dict)
    #: An alert joins an open crisis of the same hazard whose zone it overlaps within these hours.
    crisis_join_hours: int = Field(default=72, ge=1, le=24 * 60)
    #: Let an administrator issue a credential that reads personal data (roles in
    #: ``service.auth.permissions.PERSONAL_DATA_ROLES``) for another organisation than their own.
    #: Off: only that organisation's own administrators may, or the operator's command line.
    central_issue_personal_data_credentials: bool = False
    #: Seconds an API process trusts a token it checked, without looking again: the longest a
    #: token revoked by another process (``lifeline token revoke``, another API process) keeps
    #: working there. The process that revokes forgets it at once. 0: look up every request.
    token_cache_s: float = Field(default=1.0, ge=0, le=60)
    #: A console session unused for this many seconds ends (the idle timeout)...
    session_idle_s: int = Field(default=30 * 60, ge=60, le=24 * 3600)
    #: ...and every session ends this many seconds after its sign-in (the absolute timeout).
    session_absolute_s: int = Field(default=12 * 3600, ge=300, le=7 * 24 * 3600)
    #: A registration not updated for this long, and not asked to stay, is erased.
    worker_retention_days: int = Field(default=5 * 365, ge=1)
    #: Seconds between runs of the worker's housekeeping (retention, expired keys).
    housekeeping_interval_s: float = Field(default=3600.0, gt=0)
    #: Seconds a worker asked to stop (SIGTERM, Ctrl-C) lets the job it is running finish; past
    #: them the job is cancelled, its transaction rolled back and its leases let go, so that
    #: another worker takes over at once (docs/decisions/0026-worker-faults.md).
    worker_stop_grace_s: float = Field(default=5.0, ge=0, le=300)
    #: Seconds a worker holds the webhook deliveries it claimed: past them, a worker that died
    #: holding them (killed, its machine gone) no longer does, and another delivers them again.
    webhook_lease_s: float = Field(default=60.0, ge=1, le=3600)
    #: Internal webhook receivers the deployment really has, comma-separated: host names
    #: (trusted whatever they resolve to) or addresses and CIDR ranges (``10.2.0.0/16``).
    #: Everything else inside the deployment (loopback, private, link-local...) is refused.
    webhook_allow_hosts: str = ""
    #: Map tiles for the console's crisis maps (``https://tiles.example.org/{z}/{x}/{y}.png``),
    #: when the deployment has a tile server; unset, the maps draw the shipped boundaries only
    #: and ask no other host for anything.
    console_tiles_url: str | None = None
    #: Whether browsers reach the deployment over HTTPS (TLS ended at its ingress): every answer
    #: then says ``Strict-Transport-Security`` for a year. Off by default, so that local HTTP
    #: (``make demo``) does not pin a browser to an HTTPS that is not there.
    served_over_https: bool = False
    #: The gateway welfare messages go through: ``drill`` (the default: every message is
    #: written to ``messages_drill_file`` and reaches nobody), ``twilio`` or ``vonage``. An
    #: exercise crisis uses the drill gateway whatever this says.
    messages_gateway: str = "drill"
    #: The gateway's account (Twilio's account SID, Vonage's API key) and secret (Twilio's auth
    #: token, Vonage's API secret; also what signs its callbacks).
    messages_account: str = ""
    messages_secret: str = Field(default="", repr=False)
    #: How the gateway signs its callbacks, where the account chooses (Vonage's dashboard):
    #: ``sha256`` (the default), ``sha512`` or ``sha1``. A callback signed any other way is
    #: refused; MD5 methods are not offered, so that a forger cannot pick the weakest.
    messages_signature_method: Literal["sha256", "sha512", "sha1"] = "sha256"
    #: The provider's API address, when not its public one (a regional or test endpoint).
    messages_base_url: str = ""
    #: The sender number or name per country the worker is in (ISO 3166-1 alpha-3), as JSON:
    #: ``{"MYS": "+60111222333"}``; else ``messages_default_sender``.
    messages_senders: dict[str, str] = Field(default_factory=dict)
    messages_default_sender: str = "Lifeline"
    #: Where the drill gateway writes its messages (one JSON object per line).
    messages_drill_file: str = "messages-drill.jsonl"
    #: What signs the drill gateway's inbound requests (HMAC-SHA256 of the body, hex, in
    #: ``X-Lifeline-Signature``): a person or a test playing the workers' phones. Left at its
    #: placeholder outside development, the drill's inbound requests are all refused.
    messages_drill_secret: str = Field(default=DEV_DRILL_SECRET, repr=False)
    #: The address the gateway calls back (``https://lifeline.example.org``): the URL its
    #: signatures cover, and where its delivery receipts go. Unset: as the request came.
    messages_public_url: str | None = None
    #: Messages handed to the gateway per second at most (its rate limit, shared by senders).
    messages_rate_per_s: float = Field(default=20.0, gt=0, le=10_000)
    #: Seconds a sender holds the messages it claimed (the same, for the outbox of messages).
    messages_lease_s: float = Field(default=60.0, ge=1, le=3600)
    #: No two welfare checks reach one person within this many hours.
    messages_quiet_hours: float = Field(default=12.0, ge=0, le=24 * 30)
    #: The number an unknown sender is told to call for help or to register.
    messages_hotline: str = ""
    #: The API process sends the outbox and moves welfare checks on itself, as the worker does:
    #: unset, on the embedded SQLite setup (one process) and off on PostgreSQL (the worker's).
    messages_in_api: bool | None = None
    #: Who pays for a worker's return, by origin country (ISO 3166-1 alpha-3), as JSON:
    #: ``{"PHL": "employer_or_agency"}`` (RA 8042 s.15, the default when unset); a country not
    #: named recovers nothing.
    repatriation_recovery: dict[str, str] = Field(default_factory=dict)
    #: The eligibility rules of a crisis whose coordinator set none, as JSON:
    #: ``{"repatriation_level": 3, "relocation_level": 2, "nationalities": ["PHL"], "admin1": [],
    #: "priority": ["pregnant", "disability", "minor", "elderly", "trafficking_survivor"]}``
    #: (these are the defaults; empty lists: everyone, every province).
    repatriation_rules: dict[str, Any] = Field(default_factory=dict)
    #: Days a tracing request is kept whole once it ended, and a safe-and-well listing once it
    #: ended or was listed: then a request keeps only its states and counts (names, contacts and
    #: the enquirer go), and a listing its date (its keys and message go).
    tracing_retention_days: int = Field(default=365, ge=1, le=3650)
    listing_retention_days: int = Field(default=180, ge=1, le=3650)
    #: The domain that names this deployment's records in exchange formats (PFIF's
    #: ``domain/id`` record ids): the deployment's own domain name.
    records_domain: str = Field(default="lifeline.invalid", pattern=r"^[a-z0-9.-]{3,100}$")
    #: Safe-and-well searches one address may make: this many a second on average, bursts of
    #: ``safe_well_search_burst`` (a family searches a few names; a scraper is stopped).
    safe_well_search_rate: float = Field(default=0.05, gt=0, le=100)
    safe_well_search_burst: int = Field(default=10, ge=1, le=10_000)
    #: Days the texts workers sent (sealed) are kept; then the texts go, the states stay.
    messages_retention_days: int = Field(default=90, ge=1, le=3650)
    #: The bearer token Prometheus sends to ``GET /metrics``, 32 characters or more (one for
    #: the deployment, not an API token: docs/metrics.md says why). Unset: ``/metrics`` is off
    #: and answers 404.
    metrics_token: str | None = Field(default=None, min_length=32, repr=False)
    #: Seconds the database reads of one scrape may take (queue depths, feeds, the index's
    #: lag): past it the scrape answers without them, and says so.
    metrics_database_timeout_s: float = Field(default=2.0, gt=0, le=30)

    @field_validator("metrics_token", mode="before")
    @classmethod
    def _empty_token_is_none(cls, value: object) -> object:
        """Empty, as compose's ``${LIFELINE_METRICS_TOKEN:-}`` and a Secret's ``""`` give it:
        ``/metrics`` off, not a token too short to start with."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("repatriation_rules")
    @classmethod
    def _known_rules(cls, value: dict[str, Any]) -> dict[str, Any]:
        unknown = set(value) - set(_RULE_LISTS) - {"repatriation_level", "relocation_level"}
        if unknown:
            raise ValueError(f"LIFELINE_REPATRIATION_RULES: unknown {', '.join(sorted(unknown))}")
        for name in ("repatriation_level", "relocation_level"):
            if name in value and value[name] not in (1, 2, 3, 4):
                raise ValueError(f"LIFELINE_REPATRIATION_RULES: {name} is an alert level, 1 to 4")
        for name in _RULE_LISTS:
            if name in value and not (
                isinstance(value[name], list) and all(isinstance(v, str) for v in value[name])
            ):
                raise ValueError(f"LIFELINE_REPATRIATION_RULES: {name} is a list of strings")
        return value

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if not value.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
            raise ValueError(
                "LIFELINE_DATABASE_URL must start with postgresql+asyncpg:// or sqlite+aiosqlite://"
            )
        return value

    @field_validator("encryption_keys")
    @classmethod
    def _usable_keys(cls, value: str) -> str:
        from service.crypto import parse_keys

        try:
            parse_keys(value)
        except ValueError as exc:
            raise ValueError(f"LIFELINE_ENCRYPTION_KEYS: {exc}") from exc
        return value

    @field_validator("webhook_allow_hosts")
    @classmethod
    def _readable_allow_list(cls, value: str) -> str:
        from integrations.safe_url import Policy

        try:
            Policy.parse(value.split(","), require_https=True)
        except ValueError as exc:
            raise ValueError(f"LIFELINE_WEBHOOK_ALLOW_HOSTS: {exc}") from exc
        return value

    @field_validator("messages_gateway")
    @classmethod
    def _known_gateway(cls, value: str) -> str:
        from integrations.messaging.registry import GATEWAYS

        if value not in GATEWAYS:
            raise ValueError(f"LIFELINE_MESSAGES_GATEWAY must be one of {', '.join(GATEWAYS)}")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("LIFELINE_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")
        return level

    @model_validator(mode="after")
    def _no_placeholders_outside_development(self) -> Settings:
        if self.env is Environment.DEVELOPMENT:
            return self
        for name in ("encryption_keys", "blind_index_key"):
            value: str = getattr(self, name)
            if not value or PLACEHOLDER_PREFIX in value:
                raise ValueError(
                    f"LIFELINE_{name.upper()} is left at a development placeholder; "
                    f"set a real secret when LIFELINE_ENV={self.env.value}"
                )
        return self

    @property
    def sends_in_api(self) -> bool:
        """Whether the API process runs the messages' jobs (``messages_in_api``)."""
        return self.is_sqlite if self.messages_in_api is None else self.messages_in_api

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings()
