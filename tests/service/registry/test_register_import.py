"""Bulk import: bad rows reported by number and reason, good rows kept, the same file twice
creating nothing new; CSV and XLSX alike."""

from __future__ import annotations

import io

import httpx
import pytest
from openpyxl import Workbook

from service.auth.permissions import Role
from service.directory.models import OrgKind
from service.registry.bulk_store import Store
from tests.conftest import OrgFactory, TokenFactory, bearer, unique

HEADER = ("nationality,given_name,family_name,sex,birth_date,document_number,phone,languages,sector,"
          "employer,lat,lon,accompanying_family,vulnerabilities,share_with_humanitarian,"
          "share_with_embassy,legal_basis,source")  # fmt: skip


def csv_file(rows: list[str], header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def good_rows(prefix: str) -> list[str]:
    return [
        f"PHL,Maria,Santos,F,1990-04-02,{prefix}-1,+60123456789,tl;en,domestic_work,,3.139,101.6869,1,pregnant,true,true,vital_interest,ministry_import",
        f"PHL,Jose,Reyes,M,1985-11-20,{prefix}-2,,tl,construction,Acme Sdn Bhd,5.4141,100.3288,0,,false,true,consent,ministry_import",
        f"PHL,Ana,Cruz,F,,{prefix}-3,,,care,,1.4927,103.7414,2,disability;elderly,,,public_interest,ministry_import",
    ]  # fmt: skip


async def upload(
    client: httpx.AsyncClient, token: str, content: bytes, name: str = "workers.csv"
) -> httpx.Response:
    return await client.post(
        "/api/v1/workers/import", files={"file": (name, content, "text/csv")}, headers=bearer(token)
    )


async def consular(make_org: OrgFactory, make_token: TokenFactory) -> str:
    org = await make_org(OrgKind.EMBASSY, "MYS", represents="PHL")
    return await make_token(Role.CONSULAR_OFFICER, org)


async def test_bad_rows_are_reported_and_never_spoil_the_good_ones(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> None:
    token = await consular(make_org, make_token)
    prefix = unique("IMP")
    rows = [
        *good_rows(prefix),
        f"ZZZ,Bad,Country,F,1990-01-01,{prefix}-4,,,care,,3.1,101.6,0,,,,vital_interest,ministry_import",
        f"PHL,No,Place,F,1990-01-01,{prefix}-5,,,care,,,,0,,,,vital_interest,ministry_import",
        f"PHL,At,Sea,F,1990-01-01,{prefix}-6,,,care,,-10,80,0,,,,vital_interest,ministry_import",
        f"IDN,Not,Ours,F,1990-01-01,{prefix}-7,,,care,,3.1,101.6,0,,,,vital_interest,ministry_import",
        f"PHL,Maria,Santos,F,1990-04-02,{prefix}-1,,,care,,3.139,101.6869,0,,,,vital_interest,ministry_import",
        f"PHL,Bad,Sector,F,1990-01-01,{prefix}-8,,,piracy,,3.1,101.6,0,,,,vital_interest,ministry_import",
    ]
    response = await upload(client, token, csv_file(rows))
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["created"], result["updated"], result["rejected"]) == (3, 0, 6)
    by_row = {e["row"]: e["msg"] for e in result["errors"]}
    assert set(by_row) == {5, 6, 7, 8, 9, 10}
    assert "nationality" in by_row[5]
    assert "lat" in by_row[6] or "location" in by_row[6]
    assert "outside every country" in by_row[7]
    assert "may not register" in by_row[8]
    assert "row 2" in by_row[9]
    assert "sector" in by_row[10]


async def test_the_same_file_twice_creates_nothing_new(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> None:
    token = await consular(make_org, make_token)
    content = csv_file(good_rows(unique("TWICE")))
    first = (await upload(client, token, content)).json()
    again = (await upload(client, token, content)).json()
    assert first["created"] == 3
    assert (again["created"], again["updated"], again["unchanged"], again["rejected"]) == (
        0,
        0,
        3,
        0,
    )
    changed = content.replace(b"domestic_work", b"care")
    third = (await upload(client, token, changed)).json()
    assert (third["created"], third["updated"], third["unchanged"]) == (0, 1, 2)


async def test_a_person_registered_meanwhile_gets_409_and_nothing_written(
    client: httpx.AsyncClient,
    make_org: OrgFactory,
    make_token: TokenFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The race between the import's look-up of known people and its write: another request
    registers one of them in between. The database's unique index refuses the write; the client
    gets a 409 problem and the import leaves nothing behind."""
    token = await consular(make_org, make_token)
    prefix = unique("RACE")
    rows = good_rows(prefix)
    assert (await upload(client, token, csv_file(rows[:1]))).json()["created"] == 1

    async def blind(self: object, keys: list[str]) -> list[str]:
        return []  # as if the look-up ran just before the other registration committed

    key = {**bearer(token), "Idempotency-Key": unique("race-key")}

    async def send() -> httpx.Response:
        files = {"file": ("workers.csv", csv_file(rows), "text/csv")}
        return await client.post("/api/v1/workers/import", files=files, headers=key)

    with monkeypatch.context() as patched:
        patched.setattr(Store, "_known", blind)
        response = await send()
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "0"
    assert "Send the request again" in response.json()["detail"]
    again = await send()  # the same key: a retry, not a replay of the 409
    assert again.status_code == 200, again.text
    assert (again.json()["created"], again.json()["unchanged"]) == (2, 1)  # 409 wrote nothing


async def test_xlsx_is_read_like_csv(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> None:
    token = await consular(make_org, make_token)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER.split(","))
    for row in good_rows(unique("XLSX")):
        cells: list[object] = row.split(",")
        cells[10], cells[11] = float(str(cells[10])), float(str(cells[11]))
        sheet.append(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    response = await upload(client, token, buffer.getvalue(), "workers.xlsx")
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 3


async def test_unknown_columns_are_reported_not_guessed(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> None:
    token = await consular(make_org, make_token)
    rows = [r + ",whatever" for r in good_rows(unique("UNK"))]
    result = (await upload(client, token, csv_file(rows, HEADER + ",firstname"))).json()
    assert result["created"] == 3
    assert result["errors"] == [{"row": 1, "msg": "unknown columns ignored: firstname"}]


async def test_unreadable_files_are_clear_problems(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> None:
    token = await consular(make_org, make_token)
    latin1 = (
        csv_file(["PHL,José,Peña,M,,X-1,,,care,,3.1,101.6,0,,,,vital_interest,self"])
        .decode()
        .encode("latin-1")
    )
    for content, name, words in (
        (latin1, "w.csv", "UTF-8"),
        (b"", "w.csv", "empty"),
        (b"name,phone\nMaria,123\n", "w.csv", "nationality"),
        (b"PK\x03\x04garbage", "w.xlsx", "XLSX"),
        (zip_bomb(), "w.xlsx", "unpacks to more than a register needs"),
    ):
        response = await upload(client, token, content, name)
        assert response.status_code == 422, (name, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert words in response.json()["detail"]


def zip_bomb() -> bytes:
    """A workbook whose worksheet is 64 MB of one character packed into some 60 KB: refused
    from its directory, before a byte of it is inflated."""
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("[Content_Types].xml", "<Types/>")
        book.writestr("xl/worksheets/sheet1.xml", b" " * (64 << 20))
    return buffer.getvalue()
