"""Password hashes, TOTP codes on a fixed clock, recovery codes: the factors themselves."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from service.crypto import Sealer
from service.users import passwords, totp
from service.users.models import User
from service.users.service import check_code, finish_enrolment, start_enrolment

#: RFC 6238's SHA-1 secret, "12345678901234567890", in base32.
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()
SEALER = Sealer.from_spec("k1:" + "A" * 43 + "=")


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
    assert check_code(user, code, sealer=SEALER, unix_s=now) == "totp"
    assert check_code(user, code, sealer=SEALER, unix_s=now) is None
    # Nor an older one, still inside the window.
    older = totp.code_at(secret, totp.step_of(now) - 1)
    assert check_code(user, older, sealer=SEALER, unix_s=now) is None


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
    codes = finish_enrolment(user, now=datetime(2026, 1, 1, tzinfo=UTC))
    assert len(codes) == passwords.RECOVERY_CODES == len(set(codes))
    assert all(c not in user.recovery_codes for c in codes)  # kept hashed
    assert check_code(user, codes[3].upper(), sealer=SEALER, unix_s=0) == "recovery"
    assert check_code(user, codes[3], sealer=SEALER, unix_s=0) is None
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
    assert check_code(fresh, codes[4], sealer=SEALER, unix_s=0) is None


def test_the_otpauth_uri_names_the_issuer_and_the_account() -> None:
    uri = totp.otpauth_uri("JBSWY3DPEHPK3PXP", account="ana@example.org")
    assert uri.startswith("otpauth://totp/Lifeline:ana@example.org?")
    assert "secret=JBSWY3DPEHPK3PXP" in uri and "issuer=Lifeline" in uri
