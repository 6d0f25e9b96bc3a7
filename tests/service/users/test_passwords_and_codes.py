"""Password hashes, TOTP codes on a fixed clock, recovery codes: the factors themselves."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

from service.crypto import Sealer
from service.users import passwords, totp
from service.users.models import User
from service.users.service import check_code, finish_enrolment, start_enrolment

#: RFC 6238's SHA-1 secret, "12345678901234567890", in base32.
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()
SEALER = Sealer.from_spec("k1:" + "A" * 43 + "=")
KEY = passwords.code_key("a deployment's blind index key")


async def test_a_password_is_kept_as_an_argon2id_hash_and_checked() -> None:
    stored = await passwords.hash_password("a long enough password")
    assert stored.startswith("$argon2id$")
    assert "a long enough password" not in stored
    assert await passwords.verify_password(stored, "a long enough password")
    assert not await passwords.verify_password(stored, "another password!")
    assert not await passwords.verify_password(None, "a long enough password")
    assert not await passwords.verify_password("not a hash", "a long enough password")


def test_totp_gives_the_codes_of_rfc_6238() -> None:
    # The RFC's 8-digit values, of which a 6-digit code is the last six.
    for unix_s, eight in ((59, "94287082"), (1111111109, "07081804"), (2000000000, "69279037")):
        assert totp.code_at(RFC_SECRET, totp.step_of(unix_s)) == eight[-6:]


def test_a_code_is_good_one_step_either_side_of_now_and_no_further() -> None:
    now = 1_800_000_000.0
    step = totp.step_of(now)
    for offset in (-1, 0, 1):
        code = totp.code_at(RFC_SECRET, step + offset)
        assert totp.matching_step(RFC_SECRET, code, unix_s=now) == step + offset
    for offset in (-2, 2):
        code = totp.code_at(RFC_SECRET, step + offset)
        assert totp.matching_step(RFC_SECRET, code, unix_s=now) is None
    assert totp.matching_step(RFC_SECRET, "12345", unix_s=now) is None
    assert totp.matching_step(RFC_SECRET, "abcdef", unix_s=now) is None


def test_a_code_is_good_once() -> None:
    now = 1_800_000_000.0
    user = User(
        id="u1",
        organization_id="o",
        role="viewer",
        email="a@b.c",
        email_key="a@b.c",
        display_name="A",
        password_hash="x",
    )
    secret = start_enrolment(user, SEALER)
    assert user.totp_secret is not None and secret not in user.totp_secret
    assert start_enrolment(user, SEALER) == secret  # a reload shows the same secret
    code = totp.code_at(secret, totp.step_of(now))
    assert check_code(user, code, sealer=SEALER, code_key=KEY, unix_s=now) == "totp"
    assert check_code(user, code, sealer=SEALER, code_key=KEY, unix_s=now) is None
    # Nor an older one, still inside the window.
    older = totp.code_at(secret, totp.step_of(now) - 1)
    assert check_code(user, older, sealer=SEALER, code_key=KEY, unix_s=now) is None


def test_a_recovery_code_is_good_once_and_only_after_enrolment() -> None:
    user = User(
        id="u2",
        organization_id="o",
        role="viewer",
        email="a@b.c",
        email_key="a@b.c",
        display_name="A",
        password_hash="x",
    )
    start_enrolment(user, SEALER)
    codes = finish_enrolment(user, code_key=KEY, now=datetime(2026, 1, 1, tzinfo=UTC))
    assert len(codes) == passwords.RECOVERY_CODES == len(set(codes))
    assert all(c not in user.recovery_codes for c in codes)  # kept hashed
    assert check_code(user, codes[3].upper(), sealer=SEALER, code_key=KEY, unix_s=0) == "recovery"
    assert check_code(user, codes[3], sealer=SEALER, code_key=KEY, unix_s=0) is None
    assert len(user.recovery_codes) == passwords.RECOVERY_CODES - 1
    fresh = User(
        id="u3",
        organization_id="o",
        role="viewer",
        email="a@b.c",
        email_key="a@b.c",
        display_name="A",
        password_hash="x",
        recovery_codes=user.recovery_codes,
    )
    assert check_code(fresh, codes[4], sealer=SEALER, code_key=KEY, unix_s=0) is None


def _enrolled(user_id: str, recovery_codes: list[str]) -> User:
    user = User(
        id=user_id,
        organization_id="o",
        role="viewer",
        email="a@b.c",
        email_key="a@b.c",
        display_name="A",
        password_hash="x",
        recovery_codes=recovery_codes,
    )
    start_enrolment(user, SEALER)
    user.totp_enrolled_at = datetime(2026, 1, 1, tzinfo=UTC)
    return user


def test_a_recovery_code_has_128_random_bits_in_groups_to_type() -> None:
    codes = passwords.new_recovery_codes()
    for code in codes:
        groups = code.split("-")
        assert len(groups) == 8 and all(len(g) == 4 for g in groups)
        assert len(bytes.fromhex("".join(groups))) * 8 == 128
    # Typed without hyphens, in capitals, with spaces between the groups: the same code.
    user = _enrolled("u4", [passwords.hash_code(codes[0], KEY)])
    typed = " ".join(codes[0].upper().split("-"))
    assert check_code(user, typed, sealer=SEALER, code_key=KEY, unix_s=0) == "recovery"


def test_a_recovery_code_is_stored_under_the_deployment_s_key() -> None:
    code = passwords.new_recovery_codes(1)[0]
    stored = passwords.hash_code(code, KEY)
    assert stored.startswith(passwords.KEYED_PREFIX) and code not in stored
    # Neither the plain SHA-256 of the code nor its hash under another deployment's key.
    assert stored.removeprefix(passwords.KEYED_PREFIX) != passwords.legacy_hash_code(code)
    other = passwords.code_key("another deployment's key")
    assert passwords.hash_code(code, other) != stored
    # A table stolen without the key checks nothing: under another key the code is refused.
    user = _enrolled("u5", [stored])
    assert check_code(user, code, sealer=SEALER, code_key=other, unix_s=0) is None
    assert check_code(user, code, sealer=SEALER, code_key=KEY, unix_s=0) == "recovery"


def test_a_code_made_before_the_keyed_hash_still_works_once() -> None:
    old = "4f2c-9a1b-77de-03c5"  # 64 bits, as codes were made before
    fresh = passwords.new_recovery_codes(1)[0]
    # Stored as they were: a plain SHA-256 of the code as shown.
    stored = [hashlib.sha256(old.encode()).hexdigest(), passwords.hash_code(fresh, KEY)]
    user = _enrolled("u6", stored)
    # Typed as the new field invites: capitals, spaces for hyphens.
    assert check_code(user, " 4F2C 9A1B 77DE 03C5 ", sealer=SEALER, code_key=KEY, unix_s=0) == (
        "recovery"
    )
    assert check_code(user, old, sealer=SEALER, code_key=KEY, unix_s=0) is None
    assert user.recovery_codes == [passwords.hash_code(fresh, KEY)]


def test_the_otpauth_uri_names_the_issuer_and_the_account() -> None:
    uri = totp.otpauth_uri("JBSWY3DPEHPK3PXP", account="ana@example.org")
    assert uri.startswith("otpauth://totp/Lifeline:ana@example.org?")
    assert "secret=JBSWY3DPEHPK3PXP" in uri and "issuer=Lifeline" in uri
