"""The HXL exports of a crisis (its exposure, its welfare counts): CSV with a row of HXL hashtags,
read by libhxl, valid against a schema of their own, and holding the counts of the JSON answer
for the same caller (exact for an administrator, withheld and rounded for an outsider)."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import hxl
import openpyxl

from service.auth.permissions import Role
from service.directory.models import OrgKind
from service.exports import hxl as hxl_export
from service.exports import xlsx
from tests.conftest import OrgFactory, TokenFactory, bearer
from tests.service.exports.test_security_csv import LAST_CRISIS, welfare

#: The hashtags of the HXL 1.1 dictionary (https://hxlstandard.org/standard/1-1final/dictionary/)
#: the exports use: their attributes are free, the hashtags are not.
CORE = {"#crisis", "#meta", "#date", "#country", "#adm1", "#sector", "#status", "#affected"}
#: What each export must have: tags present in every file, numeric counts.
SCHEMA = [
    ["#valid_tag", "#valid_required", "#valid_datatype"],
    ["#crisis+code", "true", ""],
    ["#meta+exact", "true", ""],
    ["#affected+migrants", "", "number"],
    ["#affected+migrants+f", "", "number"],
    ["#affected+migrants+m", "", "number"],
]
EXPOSURE_TAGS = ["#crisis+code", "#meta+zone_version", "#date+reported", "#meta+exact",
                 "#country+code", "#adm1+code", "#adm1+name", "#meta+nationality", "#sector",
                 "#affected+migrants", "#affected+migrants+f", "#affected+migrants+m"]  # fmt: skip
WELFARE_TAGS = ["#crisis+code", "#meta+exercise", "#meta+exact", "#meta+nationality",
                "#adm1+code", "#adm1+name", "#status", "#affected+migrants"]  # fmt: skip


def parsed(content: bytes, tags: list[str]) -> list[dict[str, str]]:
    """The HXL rows, after checking the hashtags and the schema."""
    data = hxl.data(io.BytesIO(content))
    assert data.display_tags == tags
    for tag in tags:
        column = hxl.model.Column.parse(tag)
        assert column.tag in CORE and hxl.TagPattern.parse(tag).match(column), tag
    problems: list[Any] = []
    assert hxl.schema(SCHEMA, callback=problems.append).validate(hxl.data(io.BytesIO(content))), [
        str(p) for p in problems
    ]
    return [dict(zip(tags, row.values, strict=True)) for row in data]


def count(value: str) -> int | None:
    return int(value) if value else None


def cells(rows: list[dict[str, str]], tag: str, *empty: str) -> dict[str, int | None]:
    """The count of each row that gives ``tag`` and none of ``empty``."""
    return {
        r[tag]: count(r["#affected+migrants"])
        for r in rows
        if r[tag] and not any(r[e] for e in empty)
    }


async def test_the_exposure_and_welfare_counts_as_hxl(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> None:
    await welfare(client, make_org, make_token)
    crisis_id = LAST_CRISIS[-1]
    embassy = await make_org(OrgKind.EMBASSY, "MYS", represents="IDN")
    callers = {
        "admin": await make_token(Role.ADMIN),
        "outsider": await make_token(Role.CONSULAR_OFFICER, embassy),
    }
    for who, token in callers.items():
        seen = await client.get(f"/api/v1/crises/{crisis_id}/exposure", headers=bearer(token))
        assert seen.status_code == 200, seen.text
        json = seen.json()
        answer = await client.get(
            f"/api/v1/crises/{crisis_id}/exposure", params={"format": "hxl"}, headers=bearer(token)
        )
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("text/csv")
        rows = parsed(answer.content, EXPOSURE_TAGS)
        total = rows[0]
        assert (
            total["#crisis+code"] == crisis_id
            and total["#meta+exact"] == str(json["exact"]).lower()
        )
        assert count(total["#affected+migrants"]) == json.get("workers"), who
        assert count(total["#affected+migrants+f"]) == json.get("by_sex", {}).get("F"), who
        assert cells(rows, "#meta+nationality") == json["by_nationality"], who
        assert cells(rows, "#country+code") == json["by_country"], who
        assert cells(rows, "#adm1+code") == json["by_admin1"], who
        assert cells(rows, "#sector") == json["by_sector"], who
        assert {r["#adm1+name"] for r in rows if r["#adm1+code"]} == {
            json["admin1_names"].get(c, "") for c in json["by_admin1"]
        }
        # No name, no note, no documentation status: only the columns above.
        assert b"HYPERLINK" not in answer.content and b"documentation" not in answer.content
        # As plain CSV and XLSX: the same rows, the columns named, no hashtag row.
        plain = await client.get(
            f"/api/v1/crises/{crisis_id}/exposure", params={"format": "csv"}, headers=bearer(token)
        )
        assert plain.status_code == 200, plain.text
        assert plain.content.startswith("\ufeff".encode())
        assert f"crisis-{crisis_id}-exposure.csv" in plain.headers["content-disposition"]
        table = list(csv.reader(io.StringIO(plain.text.removeprefix("\ufeff"))))
        assert table[0] == [name for name, _ in hxl_export.EXPOSURE_COLUMNS]
        tagged = list(csv.reader(io.StringIO(answer.text.removeprefix("\ufeff"))))
        assert table[1:] == tagged[2:] and len(table) == len(rows) + 1, who
        book = await client.get(
            f"/api/v1/crises/{crisis_id}/exposure", params={"format": "xlsx"}, headers=bearer(token)
        )
        assert book.status_code == 200, book.text
        assert book.headers["content-type"] == xlsx.MEDIA_TYPE
        [sheet] = openpyxl.load_workbook(io.BytesIO(book.content)).worksheets
        values = [
            ["" if c is None else str(c) for c in r] for r in sheet.iter_rows(values_only=True)
        ]
        assert values == table, who

        counted = await client.get(
            f"/api/v1/crises/{crisis_id}/welfare-counts", headers=bearer(token)
        )
        assert counted.status_code == 200, counted.text
        json = counted.json()
        answer = await client.get(
            f"/api/v1/crises/{crisis_id}/welfare-counts",
            params={"format": "hxl"},
            headers=bearer(token),
        )
        assert answer.status_code == 200, answer.text
        rows = parsed(answer.content, WELFARE_TAGS)
        assert count(rows[0]["#affected+migrants"]) == json["total"], who
        assert cells(rows, "#status", "#meta+nationality", "#adm1+code") == json["by_status"]
        assert cells(rows, "#meta+nationality", "#status") == json["by_nationality"], who
        assert cells(rows, "#adm1+code", "#status") == json["by_admin1"], who
        by_nationality_status = {
            (r["#meta+nationality"], r["#status"]): count(r["#affected+migrants"])
            for r in rows
            if r["#meta+nationality"] and r["#status"]
        }
        assert by_nationality_status == {
            (n, s): c for n, by in json["by_nationality_status"].items() for s, c in by.items()
        }, who
        assert b"HYPERLINK" not in answer.content and b"documentation" not in answer.content
    # The last caller, the outsider, saw counts withheld and rounded.
    assert json["exact"] is False
