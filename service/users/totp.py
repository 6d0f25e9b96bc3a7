"""Time-based one-time passwords (RFC 6238, HMAC-SHA1, 6 digits, 30-second steps)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from urllib.parse import quote, urlencode

STEP_S = 30
DIGITS = 6
#: Steps either side of now a code is accepted in: a phone's clock a little off still signs in.
WINDOW = 1


def new_secret() -> str:
    """160 random bits in base32, without padding: what authenticator apps take."""
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def _key(secret: str) -> bytes:
    return base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))


def code_at(secret: str, step: int) -> str:
    """The code of time step ``step`` (RFC 4226's HOTP of the step counter)."""
    digest = hmac.digest(_key(secret), struct.pack(">Q", step), hashlib.sha1)
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**DIGITS).zfill(DIGITS)


def step_of(unix_s: float) -> int:
    return int(unix_s // STEP_S)


def current(secret: str, *, unix_s: float) -> tuple[str, int]:
    """The code of now and the seconds it has left."""
    return code_at(secret, step_of(unix_s)), STEP_S - int(unix_s % STEP_S)


def matching_step(
    secret: str, code: str, *, unix_s: float, after: int | None = None, window: int = WINDOW
) -> int | None:
    """The time step ``code`` belongs to, within ``window`` steps of ``unix_s``; None if it is
    no code of then. A step at or before ``after`` (the last one used) is refused: a code is
    good once."""
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return None
    now = step_of(unix_s)
    for step in range(now - window, now + window + 1):
        if after is not None and step <= after:
            continue
        if hmac.compare_digest(code_at(secret, step), code):
            return step
    return None


def otpauth_uri(secret: str, *, account: str, issuer: str = "Lifeline") -> str:
    """The ``otpauth://`` URI an authenticator app reads (Key Uri Format)."""
    label = quote(f"{issuer}:{account}", safe="@:")
    query = urlencode(
        {"secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": DIGITS, "period": 30}
    )
    return f"otpauth://totp/{label}?{query}"
