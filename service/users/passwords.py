"""Password hashes (argon2id), one-time passwords and recovery codes."""

from __future__ import annotations

import asyncio
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

#: argon2-cffi's defaults are RFC 9106's second recommendation: argon2id, 64 MiB, 3 passes.
_hasher = PasswordHasher()
#: Verified when the e-mail names nobody, so that an unknown address costs as long as a known one.
_NOBODY = _hasher.hash(secrets.token_urlsafe(16))

MIN_LENGTH = 12
RECOVERY_CODES = 10


async def hash_password(password: str) -> str:
    # Off the event loop: one hash is tens of milliseconds of CPU.
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored`` (None: nobody, which costs the same and fails)."""

    def check() -> bool:
        try:
            return _hasher.verify(stored or _NOBODY, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


def new_password() -> str:
    """A one-time password for a new account: 128 random bits, readable."""
    return secrets.token_urlsafe(16)


def new_recovery_codes(count: int = RECOVERY_CODES) -> list[str]:
    """Codes like ``4f2c-9a1b-77de-03c5``, each good once in place of a TOTP code."""
    return ["-".join(secrets.token_hex(2) for _ in range(4)) for _ in range(count)]


def hash_code(code: str) -> str:
    """Recovery codes have 64 random bits and a back-off in front: a plain hash is enough."""
    return hashlib.sha256(code.strip().lower().encode()).hexdigest()
