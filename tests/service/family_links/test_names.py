"""Names and facts of Restoring Family Links: normalised tokens, keyed look-ups, fuzzy scores."""

from __future__ import annotations

import functools
import hashlib
import hmac
import re

import pytest

from service.family_links.names import (
    FACTS,
    NoName,
    fact_value,
    lookup_key,
    match_keys,
    name_key,
    phonetic,
    query,
    score,
    tokens,
)


def _hmac(key: bytes, *parts: str) -> str:
    # The same construction as the register's keyed hashes.
    return hmac.digest(key, "\x1f".join(parts).encode(), hashlib.sha256).hex()


mac = functools.partial(_hmac, b"a test key of thirty-two bytes!!")
other_mac = functools.partial(_hmac, b"another key, thirty-two bytes..!")

HEX = re.compile(r"[0-9a-f]{64}")


def fit(search: str, candidate: str) -> float:
    return score(query(mac, search), match_keys(mac, candidate))


# Tokens.


def test_case_and_diacritics_do_not_count() -> None:
    assert tokens("Nguyễn Văn An") == tokens("nguyen van an") == ["nguyen", "van", "an"]
    assert tokens("José") == tokens("Jose") == ["jose"]
    assert tokens("ĐẶNG Thị Hồng") == ["dang", "thi", "hong"]
    assert tokens("Łukasz Ørsted Straße") == ["lukasz", "orsted", "strasse"]


def test_order_does_not_count_in_the_key() -> None:
    key = name_key(mac, "Maria Santos")
    assert key == name_key(mac, "Santos, Maria") == name_key(mac, "Maria", "Santos")
    assert key == name_key(mac, "SANTOS MARIA")
    assert name_key(mac, "Nguyễn Văn An") == name_key(mac, "An Van Nguyen")
    assert name_key(mac, "Ram Bahadur Thapa") == name_key(mac, "Thapa, Ram Bahadur")


def test_particles_join_the_name_after_them() -> None:
    expected = ["maria", "delacruz"]
    assert tokens("Maria dela Cruz") == expected
    assert tokens("Maria de la Cruz") == expected
    assert tokens("Maria Dela Cruz") == expected
    assert tokens("Maria Delacruz") == expected
    assert tokens("Maria Dela-Cruz") == expected
    assert sorted(tokens("Cruz, Maria De La")) == sorted(expected)
    assert name_key(mac, "Maria dela Cruz") == name_key(mac, "Cruz, Maria De La")
    assert name_key(mac, "Maria dela Cruz") == name_key(mac, "Maria Delacruz")
    assert tokens("Juan Delos Santos") == tokens("Juan de los Santos") == ["juan", "delossantos"]


def test_malay_and_arabic_particles() -> None:
    assert tokens("Ahmad bin Ismail") == ["ahmad", "binismail"]
    assert tokens("Nur Aisyah binti Abdullah") == ["nur", "aisyah", "bintiabdullah"]
    same = tokens("Abdullah Al Mamun")
    assert same == tokens("Abdullah Al-Mamun") == tokens("Abdullah Almamun")


def test_initials_suffixes_and_punctuation() -> None:
    assert tokens("Jose P. Rizal Jr.") == ["jose", "rizal"]
    assert tokens("Eduardo Reyes III") == ["eduardo", "reyes"]
    assert tokens("Ma. Luisa Reyes") == ["ma", "luisa", "reyes"]  # not expanded to Maria
    assert tokens("Md. Rafiqul Islam") == ["md", "rafiqul", "islam"]
    assert tokens("Ma.Theresa D'Souza") == ["ma", "theresa", "dsouza"]
    assert tokens('Rosalinda "Linda" Garcia') == ["rosalinda", "linda", "garcia"]


def test_thai_burmese_and_indic_names_keep_their_marks() -> None:
    assert tokens("สมชาย ใจดี") == ["สมชาย", "ใจดี"]
    assert tokens("อรุณี  ศรีสุข") == ["อรุณี", "ศรีสุข"]
    assert tokens("အောင် ကျော် မင်း") == ["အောင်", "ကျော်", "မင်း"]
    assert tokens("राम बहादुर थापा") == ["राम", "बहादुर", "थापा"]
    assert tokens("মোহাম্মদ করিম") == ["মোহাম্মদ", "করিম"]
    # A vowel sign is a letter there: removing it makes another name.
    assert name_key(mac, "สมชาย") != name_key(mac, "สมชย")


def test_a_name_without_usable_tokens_is_refused() -> None:
    with pytest.raises(NoName):
        name_key(mac, "M. R.")
    with pytest.raises(NoName):
        query(mac, " - ")
    assert match_keys(mac, "J.") == frozenset()


# Facts and look-up keys.


def test_facts() -> None:
    assert FACTS == ("birth_date", "phone", "home_town")


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("1990-03-05", "1990-03-05"),
        ("1990-3-5", "1990-03-05"),
        ("05/03/1990", "1990-03-05"),  # day first: the 5th of March
        ("5/3/1990", "1990-03-05"),
        ("05-03-1990", "1990-03-05"),
        ("05.03.1990", "1990-03-05"),
        (" 25/12/1988 ", "1988-12-25"),
        ("31/02/1990", None),
        ("13/13/1990", None),
        ("05/03/90", None),  # which century
        ("5/3/2533", None),  # a Thai date of the Buddhist era
        ("March 5, 1990", None),
        ("", None),
    ],
)
def test_birth_dates(written: str, expected: str | None) -> None:
    assert fact_value("birth_date", written) == expected


def test_phones_only_in_international_form() -> None:
    assert fact_value("phone", "+63 917 123 4567") == "+639171234567"
    assert fact_value("phone", "+977 980-1234567") == "+9779801234567"
    assert fact_value("phone", "0917 123 4567") is None  # a national form: which country?
    assert fact_value("phone", "+63 12") is None
    assert fact_value("phone", "n/a") is None


def test_home_towns_are_read_as_names() -> None:
    assert fact_value("home_town", "San José, Batangas") == "san jose batangas"
    assert fact_value("home_town", "san jose batangas") == "san jose batangas"
    assert fact_value("home_town", "Udon Thani") == "udon thani"
    assert fact_value("home_town", " -- ") is None


def test_an_unknown_fact_is_an_error() -> None:
    with pytest.raises(ValueError):
        fact_value("mother_name", "Rosa")


def test_lookup_keys() -> None:
    names = ["Siti", "Rahayu"]
    by_date = lookup_key(mac, names, "birth_date", "12/07/1995")
    assert by_date is not None
    assert by_date == lookup_key(mac, ["Rahayu, Siti"], "birth_date", "1995-07-12")
    assert by_date != lookup_key(mac, names, "birth_date", "13/07/1995")  # another fact
    assert by_date != lookup_key(mac, ["Siti Rahmawati"], "birth_date", "12/07/1995")
    assert by_date != name_key(mac, *names)
    # The same text as another kind of fact is another key.
    town = lookup_key(mac, names, "home_town", "Cilacap")
    assert town is not None
    assert town != lookup_key(mac, ["Siti Rahayu"], "home_town", "Banyumas")
    assert lookup_key(mac, names, "phone", "0812 3456 7890") is None
    assert lookup_key(mac, names, "birth_date", "someday") is None
    with pytest.raises(TypeError):
        lookup_key(mac, "Siti Rahayu", "home_town", "Cilacap")


# Keys reveal nothing.


def test_keys_are_hex_and_keyed() -> None:
    assert name_key(mac, "Maria") != name_key(other_mac, "Maria")
    assert match_keys(mac, "Maria").isdisjoint(match_keys(other_mac, "Maria"))
    name = "Maria Jocelyn dela Cruz"
    clear = [*tokens(name), "maria", "jocelyn", "cruz"]  # none written in hex digits only
    keys = {name_key(mac, name)} | match_keys(mac, name)
    keys.add(str(lookup_key(mac, [name], "home_town", "Tarlac")))
    for key in keys:
        assert HEX.fullmatch(key), key
        assert not any(token in key for token in clear)


# Fuzzy matching.


def test_phonetic_codes() -> None:
    assert phonetic("jocelyn") == phonetic("joselyn")
    assert phonetic("rodelio") == phonetic("rodelyo")
    assert phonetic("shrestha") == phonetic("srestha")
    assert phonetic("mohammad") == phonetic("mohammed")
    assert phonetic("djoko") == phonetic("joko")
    assert phonetic("ana") == phonetic("anna")
    assert phonetic("siti") != phonetic("agus")
    assert phonetic("สมชาย") is None


def test_identical_names_score_one() -> None:
    assert fit("Jocelyn Manalo", "Jocelyn Manalo") == 1.0
    assert fit("Santos, Maria", "maria santos") == 1.0
    assert fit("Nguyễn Thị Lan", "Nguyen Thi Lan") == 1.0
    assert fit("สมชาย ใจดี", "สมชาย ใจดี") == 1.0


def test_spelling_variants_score_high() -> None:
    assert fit("Jocelyn Manalo", "Joselyn Manalo") >= 0.8
    assert fit("Rodelio Bautista", "Rodelyo Bautista") >= 0.8
    assert fit("Mohammad Abdul Karim", "Mohammed Abdul Karim") >= 0.8
    assert fit("Ana Reyes", "Anna Reyes") >= 0.8
    assert fit("Anna Reyes", "Ana Reyes") >= 0.8
    assert fit("Bishnu Shrestha", "Bisnu Shrestha") >= 0.8


def test_other_people_score_low() -> None:
    assert fit("Siti Rahayu", "Agus Setiawan") < 0.3
    assert fit("Aung Kyaw Min", "Somchai Jaidee") < 0.3
    assert fit("สมชาย ใจดี", "อรุณี ศรีสุข") < 0.3


def test_a_missing_token_lowers_the_score() -> None:
    full = fit("Maria Luz Santos", "Maria Luz Santos")
    missing = fit("Maria Luz Santos", "Maria Santos")
    assert missing < full
    assert missing == pytest.approx(2 / 3)


def test_a_much_longer_candidate_costs() -> None:
    # One token more is free (a middle name the relative left out), more than that is not.
    assert fit("Maria Santos", "Maria Reyes Santos") == 1.0
    assert fit("Maria Santos", "Maria Luz Reyes Santos") == pytest.approx(0.9)
    many = "Maria Luz Rosa Ana Carmen Reyes Cruz Garcia Mendoza Santos"
    assert fit("Maria Santos", many) == pytest.approx(0.5)


def test_scores_stay_between_zero_and_one() -> None:
    names = ["Rina Wijaya", "Dewi Lestari", "Ram Bahadur Gurung", "Abdul Karim", "Tran Thi Mai"]
    for search in names:
        for candidate in names:
            assert 0.0 <= fit(search, candidate) <= 1.0
    assert score(query(mac, "Rina Wijaya"), frozenset()) == 0.0
