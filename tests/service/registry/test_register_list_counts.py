"""The register's list of people says, like every list of people, how many match within the
caller's scope, how many it lists and how many it does not and why; it lists nationals in their
own country unless asked not to. On the Johor Bahru register, on both databases."""

from __future__ import annotations

from typing import Any

from tests.service.exposure.test_nationals_in_own_country import call, johor

__all__ = ["johor"]


async def listed(johor: dict[str, Any], who: str, **params: Any) -> dict[str, Any]:
    answer = await call(johor, who, "GET", "/api/v1/workers", params={"limit": 500, **params})
    return dict(answer.json())


async def test_the_register_list_explains_itself(johor: dict[str, Any]) -> None:
    officer = await listed(johor, "idn")
    assert (officer["matching"], officer["listed"], len(officer["items"])) == (7, 4, 4)
    assert officer["not_shown"] == {
        "no_consent_to_share_with_embassy": 2,
        "withheld_under_data_protection": 1,
    }
    assert officer["basis"].startswith("exact") and "register" in officer["basis"]
    society = await listed(johor, "society")
    assert (society["items"], society["listed"], society["matching"]) == ([], 0, 25)
    assert society["not_shown"] == {"no_consent_to_share_with_humanitarian": 25}
    admin = await listed(johor, "admin", nationality="IDN")
    assert (admin["matching"], admin["listed"], admin["not_shown"]) == (8, 8, {})


async def test_the_listed_count_is_what_the_pages_show(johor: dict[str, Any]) -> None:
    """The rules that explain a list and the rules that make it agree, for every role."""
    for who in johor["tokens"]:
        if who == "viewer":
            continue
        for own in ("include", "exclude", "only"):
            answer = await listed(johor, who, nationals_in_own_country=own)
            assert answer["listed"] == len(answer["items"]), (who, own)


async def test_nationals_at_home_are_listed_unless_left_out(johor: dict[str, Any]) -> None:
    ministry = await listed(johor, "mys")
    assert {w["id"] for w in ministry["items"]} == set(johor["ids"]["MYS"])
    assert (await listed(johor, "mys", nationals_in_own_country="exclude"))["items"] == []
    only = await listed(johor, "admin", nationals_in_own_country="only")
    assert {w["id"] for w in only["items"]} == set(johor["ids"]["MYS"])
    abroad = await listed(johor, "admin", nationals_in_own_country="exclude")
    assert len(abroad["items"]) == 8 and {w["nationality"] for w in abroad["items"]} == {"IDN"}
