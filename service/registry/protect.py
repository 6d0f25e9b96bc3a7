"""Sealing and opening a worker's personal fields, and the keyed hashes used to find duplicates."""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass

from integrations.messaging.phones import normalise as normalise_phone
from service.crypto import BlindIndex, Sealer
from service.registry.models import SEALED_FIELDS, Worker
from service.settings import Settings


def fold(value: str) -> str:
    """Names compare without case, width or spacing differences."""
    if value.isascii():  # NFKC leaves ASCII alone, and casefold is lower there
        return " ".join(value.lower().split())
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())


_SEPARATORS = re.compile(r"[\s().-]")
_E164 = re.compile(r"\+[1-9][0-9]{7,14}")

#: The phone hash of a worker whose phone is not a usable number: looked at, nothing to match.
NO_USABLE_PHONE = ""


@dataclass(frozen=True, slots=True)
class Protector:
    sealer: Sealer
    blind: BlindIndex

    @classmethod
    def from_settings(cls, settings: Settings) -> Protector:
        return cls(
            Sealer.from_spec(settings.encryption_keys),
            BlindIndex.from_secret(settings.blind_index_key),
        )

    def _mac(self, *parts: str) -> str:
        return hmac.digest(self.blind.key, "\x1f".join(parts).encode(), hashlib.sha256).hex()

    def identity_hash(
        self,
        *,
        nationality: str,
        document_number: str | None,
        given_name: str | None,
        family_name: str | None,
        birth_date: str | None,
    ) -> str | None:
        """Same person, same hash: by document number, else by names and birth date (ISO 8601)."""
        if document_number:
            return self.blind.document(nationality, document_number)
        if given_name and family_name and birth_date:
            return self._mac(
                "person",
                nationality.upper(),
                fold(given_name),
                fold(family_name),
                birth_date,
            )
        return None

    def import_row(self, file_digest: str, row: int) -> str:
        """The identity of a row of an import that nothing else identifies: the row's number in
        the file, by the file's digest. The same file twice is the same rows; another file, or
        another row of the same file, is other people."""
        return self._mac("import-row", file_digest, str(row))

    def phone_hash(self, phone: str | None, *, country: str | None, nationality: str) -> str | None:
        """The keyed hash of a phone in E.164, read with the rules of the country the worker is
        in, then of their nationality; ``NO_USABLE_PHONE`` when it is not a usable number, None
        for no phone. A reply is matched by the same hash of the number the gateway gives
        (``phone_hash_e164``)."""
        if not phone:
            return None
        compact = _SEPARATORS.sub("", phone)
        if _E164.fullmatch(compact):
            # Already international: E.164 as written (the bulk import's usual case, and 20 µs a
            # row saved). A number no network has is refused by the gateway at the first
            # message, and its person becomes unreachable then.
            return self.phone_hash_e164(compact)
        e164 = normalise_phone(phone, country) or normalise_phone(phone, nationality)
        return self.phone_hash_e164(e164) if e164 else NO_USABLE_PHONE

    def phone_hash_e164(self, e164: str) -> str:
        return self._mac("phone", e164)

    def content_hash(self, content: str) -> str:
        """Keyed, because the content holds personal data that a plain hash would let one guess."""
        return self._mac("content", content)

    def seal_into(self, worker: Worker, values: dict[str, str | None]) -> None:
        assert set(values) <= set(SEALED_FIELDS), values.keys()
        pairs = tuple(values.items())
        for (field, _), token in zip(
            pairs, self.sealer.seal_all(pairs, record_id=worker.id), strict=True
        ):
            setattr(worker, f"{field}_sealed", token)

    def open(self, worker: Worker, field: str) -> str | None:
        return self.sealer.open(
            getattr(worker, f"{field}_sealed"), record_id=worker.id, field=field
        )

    def reseal(self, worker: Worker) -> bool:
        """Re-seal fields sealed under an older key with the primary one; True if any changed."""
        changed = False
        for field in SEALED_FIELDS:
            token = getattr(worker, f"{field}_sealed")
            if self.sealer.needs_reseal(token):
                self.seal_into(worker, {field: self.open(worker, field)})
                changed = True
        return changed
