"""The tables of people: accounts, console sessions and failed sign-ins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, String
from sqlmodel import Field, SQLModel

from service.db import JSONType, UTCDateTime, new_id, utcnow


class User(SQLModel, table=True):
    """A person of one organisation, with one role: signs in with e-mail, password and TOTP."""

    __tablename__ = "users"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    organization_id: str = Field(
        sa_column=Column(
            String(36),
            ForeignKey("organizations.id", ondelete="RESTRICT"),
            nullable=False,
            index=True,
        )
    )
    role: str = Field(max_length=32)
    #: As the person wrote it; ``email_key`` (SHA-256 of it case-folded) is what is unique.
    email: str = Field(max_length=320)
    email_key: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=200)
    #: argon2id, in the PHC string format (parameters and salt included).
    password_hash: str = Field(max_length=200)
    #: The password was made for the person (a one-time password): they choose their own at
    #: their next sign-in, before the session opens.
    password_change_required: bool = Field(default=False)
    #: The TOTP secret, sealed with the personal data keys (``service.crypto``), bound to the
    #: user and the field. Set at the first sign-in; ``totp_enrolled_at`` once a code proved it.
    totp_secret: str | None = Field(default=None, max_length=200)
    totp_enrolled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: The last TOTP time step accepted: a code is good once.
    totp_last_step: int | None = Field(default=None)
    #: The keyed hash of each unused recovery code (``passwords.hash_code``; a plain SHA-256 for
    #: codes made before); a code used is taken out.
    recovery_codes: list[str] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_sign_in_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class UserSession(SQLModel, table=True):
    """A signed-in browser: the cookie holds a random token, the table its hash."""

    __tablename__ = "user_sessions"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: str = Field(
        sa_column=Column(
            String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    #: ``second_factor`` (password given, code awaited), ``enrol`` (first sign-in: TOTP to set
    #: up) or ``signed_in``. Only ``signed_in`` authorises anything.
    stage: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    idle_expires_at: datetime = Field(sa_type=UTCDateTime)
    absolute_expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SignInFailure(SQLModel, table=True):
    """Failed sign-ins of one e-mail address or one client address, for the back-off.

    ``key`` is a keyed hash (``email:...`` or ``addr:...``), never the address itself, and is
    kept whether or not an account has that e-mail: the answer is the same either way.
    """

    __tablename__ = "sign_in_failures"

    key: str = Field(primary_key=True, max_length=80)
    failures: int = Field(default=0)
    last_failed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
