"""The gateway's signing method: from the settings to the adapter, MD5 refused at start."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from service.messaging.service import gateway_config
from service.settings import Settings


def test_the_signing_method_reaches_the_adapter_with_hmac_sha256_by_default() -> None:
    assert gateway_config(Settings(), "vonage").signature_method == "sha256"
    chosen = Settings(messages_signature_method="sha512")
    assert gateway_config(chosen, "vonage").signature_method == "sha512"


@pytest.mark.parametrize("method", ["md5", "md5hash", "MD5", ""])
def test_an_md5_method_is_refused_at_start(method: str) -> None:
    with pytest.raises(ValidationError, match="messages_signature_method"):
        Settings(messages_signature_method=method)
