"""SMS segments: GSM 03.38 with its extension table, else UCS-2 in UTF-16 units."""

from __future__ import annotations

import pytest

from integrations.messaging.segments import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    Encoding,
    Segments,
    count,
)


def test_the_tables_have_the_standard_sizes() -> None:
    # 128 positions, one of which (0x1B) is the escape to the extension table.
    assert len(GSM7_BASIC) == 127
    assert len(GSM7_EXTENSION) == 10
    assert not GSM7_BASIC & GSM7_EXTENSION


@pytest.mark.parametrize("char", list("@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà\n\r"))
def test_basic_characters_beyond_ascii_are_gsm7(char: str) -> None:
    assert count(char * 160) == Segments(Encoding.GSM7, 1, 160)


@pytest.mark.parametrize(
    ("length", "segments"), [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)]
)
def test_gsm7_lengths(length: int, segments: int) -> None:
    assert count("a" * length) == Segments(Encoding.GSM7, segments, length)


@pytest.mark.parametrize("char", list("\f^{}\\[~]|€"))
def test_extension_characters_cost_two_septets(char: str) -> None:
    assert count(char) == Segments(Encoding.GSM7, 1, 2)
    assert count(char * 80) == Segments(Encoding.GSM7, 1, 160)
    assert count("a" * 159 + char).segments == 2


def test_an_extension_character_is_not_split_across_parts() -> None:
    # 152 septets, then € (2): it does not fit the first part's last septet, so starts part two.
    assert count("a" * 152 + "€" + "a" * 151) == Segments(Encoding.GSM7, 2, 305)
    assert count("a" * 152 + "€" + "a" * 152) == Segments(Encoding.GSM7, 3, 306)
    assert count("a" * 151 + "€" + "a" * 153) == Segments(Encoding.GSM7, 2, 306)


def test_characters_outside_gsm_make_ucs2() -> None:
    # ç (lower case) and the curly quote are not in GSM 03.38.
    assert count("ça").encoding is Encoding.UCS2
    assert count("it’s").encoding is Encoding.UCS2
    assert count("Xin chào").encoding is Encoding.GSM7  # à is in the table
    assert count("Cảm ơn").encoding is Encoding.UCS2


@pytest.mark.parametrize(
    ("length", "segments"), [(70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)]
)
def test_ucs2_lengths_in_thai(length: int, segments: int) -> None:
    assert count("ก" * length) == Segments(Encoding.UCS2, segments, length)


def test_emoji_count_two_units_and_are_not_split() -> None:
    assert count("🙏") == Segments(Encoding.UCS2, 1, 2)
    assert count("🙏" * 35) == Segments(Encoding.UCS2, 1, 70)
    assert count("🙏" * 35 + "a").segments == 2
    # 66 units, then a surrogate pair that cannot take the 67th alone.
    assert count("ก" * 66 + "🙏" + "ก" * 65) == Segments(Encoding.UCS2, 2, 133)
    assert count("ก" * 66 + "🙏" + "ก" * 66) == Segments(Encoding.UCS2, 3, 134)


def test_empty_text_is_one_segment_of_no_units() -> None:
    assert count("") == Segments(Encoding.GSM7, 1, 0)
