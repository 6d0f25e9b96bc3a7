"""Protection of personal data at rest: authenticated field encryption and blind indexes.

Each value is sealed with AES-256-GCM under the primary key, bound (as associated data) to the
record and the field it belongs to, so a ciphertext copied to another row or column fails to
open. Older keys stay available for decryption: rotation is adding a key in front and re-sealing.
Duplicates are found with a keyed hash (HMAC-SHA256) of the normalised value, never the clear one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = "v1"
NONCE_BYTES = 12


class KeyError_(ValueError):
    """The key configuration is unusable (named so as not to shadow the builtin)."""


class SealBroken(ValueError):
    """A sealed value failed to open: tampered with, moved, or sealed under an unknown key."""


def parse_keys(spec: str) -> list[tuple[str, bytes]]:
    """``id:base64key,id:base64key`` → [(id, 32-byte key)]; the first one encrypts."""
    keys: list[tuple[str, bytes]] = []
    for i, part in enumerate(p.strip() for p in spec.split(",") if p.strip()):
        key_id, sep, b64 = part.partition(":")
        if not sep or not key_id or ":" in b64:
            raise KeyError_(f"key {i + 1} must look like 'id:base64key'")
        try:
            raw = base64.b64decode(b64, validate=True)
        except binascii.Error as exc:
            raise KeyError_(f"key {key_id!r} is not valid base64") from exc
        if len(raw) != 32:
            raise KeyError_(f"key {key_id!r} must be 32 bytes (AES-256), got {len(raw)}")
        if any(k == key_id for k, _ in keys):
            raise KeyError_(f"key id {key_id!r} appears twice")
        keys.append((key_id, raw))
    if not keys:
        raise KeyError_("no encryption key given")
    return keys


def new_key_spec(key_id: str = "k1") -> str:
    """A fresh key entry for ``LIFELINE_ENCRYPTION_KEYS``."""
    return f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}"


@dataclass(frozen=True, slots=True)
class Sealer:
    """Seals and opens personal data fields."""

    keys: tuple[tuple[str, AESGCM], ...]
    #: The key bytes, kept only so that a bulk import can hand the sealer to its worker
    #: processes (see ``__reduce__``); never logged or shown.
    raw: tuple[tuple[str, bytes], ...] = field(default=(), repr=False)

    @classmethod
    def from_spec(cls, spec: str) -> Sealer:
        return cls.from_raw(tuple(parse_keys(spec)))

    @classmethod
    def from_raw(cls, raw: tuple[tuple[str, bytes], ...]) -> Sealer:
        return cls(tuple((kid, AESGCM(key)) for kid, key in raw), raw)

    def __reduce__(self) -> tuple[Any, ...]:
        if not self.raw:
            raise TypeError("this sealer was made without its key bytes and cannot be copied")
        return (Sealer.from_raw, (self.raw,))

    @property
    def primary_key_id(self) -> str:
        return self.keys[0][0]

    def seal(self, value: str | None, *, record_id: str, field: str) -> str | None:
        return self.seal_all(((field, value),), record_id=record_id)[0]

    def seal_all(
        self, values: Sequence[tuple[str, str | None]], *, record_id: str
    ) -> list[str | None]:
        """Seal several (field, value) pairs of one record (None stays None). The nonces are
        drawn from the system's random source in one call, not one a field."""
        key_id, aead = self.keys[0]
        head = f"{VERSION}:{key_id}:"
        nonces = os.urandom(NONCE_BYTES * len(values))
        encrypt, b64 = aead.encrypt, binascii.b2a_base64
        out: list[str | None] = []
        for i, (name, value) in enumerate(values):
            if value is None:
                out.append(None)
                continue
            nonce = nonces[i * NONCE_BYTES : (i + 1) * NONCE_BYTES]
            sealed = encrypt(nonce, value.encode(), f"{record_id}/{name}".encode())
            out.append(head + b64(nonce + sealed, newline=False).decode())
        return out

    def open(self, token: str | None, *, record_id: str, field: str) -> str | None:
        if token is None:
            return None
        try:
            version, key_id, b64 = token.split(":", 2)
            blob = binascii.a2b_base64(b64)  # what b64decode does, without its copy to bytes
        except (ValueError, binascii.Error) as exc:
            raise SealBroken(f"{field} of {record_id} is not a sealed value") from exc
        aead = self.keys[0][1] if key_id == self.keys[0][0] else self._older(key_id)
        if version != VERSION or aead is None:
            raise SealBroken(f"{field} of {record_id} was sealed under unknown key {key_id!r}")
        try:
            clear = aead.decrypt(
                blob[:NONCE_BYTES], blob[NONCE_BYTES:], f"{record_id}/{field}".encode()
            )
        except InvalidTag as exc:
            raise SealBroken(f"{field} of {record_id} failed its integrity check") from exc
        return clear.decode()

    def _older(self, key_id: str) -> AESGCM | None:
        return next((a for kid, a in self.keys if kid == key_id), None)

    def needs_reseal(self, token: str | None) -> bool:
        """True when ``token`` was sealed under a key other than the primary one."""
        return token is not None and token.split(":", 2)[1:2] != [self.primary_key_id]


def normalise_document(value: str) -> str:
    """Document numbers compare without case, spaces, dashes or dots: 'P 123-456.' = 'p123456'."""
    if value.isascii() and value.isalnum():  # the usual case, and NFKC leaves ASCII alone
        return value.lower()
    folded = unicodedata.normalize("NFKC", value).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


@dataclass(frozen=True, slots=True)
class BlindIndex:
    """Keyed hash for equality lookups on protected values."""

    key: bytes = field(repr=False)

    @classmethod
    def from_secret(cls, secret: str) -> BlindIndex:
        # Derive a dedicated key so the configured secret is never used directly.
        return cls(hashlib.sha256(b"lifeline-blind-index/" + secret.encode()).digest())

    def document(self, nationality: str, document_number: str) -> str:
        message = f"{nationality.upper()}|{normalise_document(document_number)}".encode()
        return hmac.digest(self.key, message, hashlib.sha256).hex()
