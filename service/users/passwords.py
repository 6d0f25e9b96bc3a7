"""Password hashes (argon2id), one-time passwords and recovery codes."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
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


#: Groups of four hex digits in a recovery code: 8 x 16 = 128 random bits.
CODE_GROUPS = 8
#: What a stored recovery code keyed by the deployment starts with; a stored code without it is
#: a plain SHA-256 of a 64-bit code made before, still good until used or replaced.
KEYED_PREFIX = "hmac-sha256$"
#: Derives the recovery codes' key from the deployment's secret, so that it is not the secret.
_KEY_LABEL = b"lifeline-recovery-code/v1"


def new_recovery_codes(count: int = RECOVERY_CODES) -> list[str]:
    """Codes like ``4f2c-9a1b-77de-03c5-1b0e-a4d2-6c3f-90ab``, each good once in place of a
    TOTP code: 128 random bits, in groups to copy by hand."""
    return ["-".join(secrets.token_hex(2) for _ in range(CODE_GROUPS)) for _ in range(count)]


def _normalised(code: str) -> str:
    """A code as typed, without case, spaces or hyphens: ``4F2C 9A1B`` is ``4f2c-9a1b``."""
    return "".join(c for c in code.lower() if c not in "- \t")


def code_key(secret: str) -> bytes:
    """The key recovery codes are hashed under: HMAC-SHA256 of a label under ``secret`` (the
    deployment's blind index key, which the database does not hold)."""
    return hmac.new(secret.encode(), _KEY_LABEL, hashlib.sha256).digest()


def hash_code(code: str, key: bytes) -> str:
    """A recovery code as stored: HMAC-SHA256 under the deployment's key.

    A code has 128 random bits, so no slow hash is needed: the slowness of argon2 is there to
    make a guessable password costly to try, and nobody tries 2^128 codes however fast each try
    is. The key is what keeps a stolen table useless: without it no guess can be checked at all.
    """
    return KEYED_PREFIX + hmac.new(key, _normalised(code).encode(), hashlib.sha256).hexdigest()


def legacy_hash_code(code: str) -> str:
    """How the 64-bit codes made before were stored: a plain SHA-256 of the code as shown
    (``4f2c-9a1b-77de-03c5``), rebuilt from however it was typed (spaces, no hyphens, capitals)."""
    bare = _normalised(code)
    shown = "-".join(bare[i : i + 4] for i in range(0, 16, 4)) if len(bare) == 16 else bare
    return hashlib.sha256(shown.encode()).hexdigest()


def matching_code(stored: list[str], code: str, key: bytes) -> str | None:
    """The entry of ``stored`` that ``code`` is, keyed or legacy; None when it is none."""
    keyed = hash_code(code, key)
    legacy = legacy_hash_code(code)
    for entry in stored:
        expected = keyed if entry.startswith(KEYED_PREFIX) else legacy
        if hmac.compare_digest(entry.encode(), expected.encode()):
            return entry
    return None
