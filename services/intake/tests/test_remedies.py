"""Remedy routes: the committee's data files hold together and the matcher orders them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from suara_intake import routes
from suara_intake.forms import DEFAULT
from suara_kit.errors import ValidationFailed
from suara_kit.i18n import LOCALES

DESTINATIONS = ["HK", "TW", "SG", "MY", "TH"]
ORIGINS = ["ID", "PH", "KH", "MM", "VN"]
CORRIDORS = [("ID", "HK"), ("ID", "TW"), ("ID", "SG"), ("ID", "MY"), ("PH", "HK"),
             ("PH", "TW"), ("PH", "SG"), ("PH", "MY"), ("KH", "TH"), ("MM", "TH"),
             ("VN", "TH"), ("VN", "TW")]
FIRST = {"labour-conciliation", "government-hotline"}
DECIDING = {"tribunal", "court", "small-claims"}


@pytest.mark.parametrize("country", DESTINATIONS + ORIGINS)
def test_every_country_has_a_valid_file(country: str) -> None:
    parsed = routes._read(routes.DATA / f"{country}.json")
    assert parsed.country == country
    assert parsed.routes


def test_ids_are_unique_across_files() -> None:
    ids = [r.id for r in routes.ROUTES]
    assert len(ids) == len(set(ids))


def test_every_route_has_an_https_source_and_form_issues() -> None:
    allowed = {value for value, _, _ in DEFAULT[0]["choices"]} | {"*"}
    for route in routes.ROUTES:
        assert route.source.startswith("https://"), route.id
        assert set(route.issues) <= allowed, route.id
        assert route.contact, route.id
        assert route.how, route.id


@pytest.mark.parametrize("destination", DESTINATIONS)
def test_each_destination_has_a_first_stop_and_a_deciding_body(destination: str) -> None:
    own = [r for r in routes.ROUTES if r.country == destination]
    assert any(r.kind in FIRST for r in own)
    assert any(r.kind in DECIDING for r in own)


@pytest.mark.parametrize(("origin", "destination"), CORRIDORS)
def test_each_corridor_reaches_the_origin_country(origin: str, destination: str) -> None:
    found = routes.matching(destination, origin, ["unpaid-wages"])
    assert any(r.country == origin for r in found)


@pytest.mark.parametrize(("origin", "destination"), CORRIDORS)
def test_routes_come_in_reading_order(origin: str, destination: str) -> None:
    def rank(route: routes.Route) -> int:
        if route.country == origin:
            return 2
        if route.kind in FIRST or route.kind == "police":
            return 0
        return 1 if route.kind in DECIDING else 3

    found = routes.matching(destination, origin, [])
    ranks = [rank(r) for r in found]
    assert ranks == sorted(ranks)
    assert ranks[0] == 0
    assert {r.country for r in found} == {origin, destination}


def test_an_unknown_issue_matches_only_routes_for_every_issue() -> None:
    found = routes.matching("HK", "ID", ["no-such-issue"])
    assert found
    assert all(r.issues == ["*"] for r in found)


def test_an_issue_filter_keeps_routes_for_that_issue() -> None:
    found = routes.matching("SG", None, ["unsafe"])
    assert all("unsafe" in r.issues or "*" in r.issues for r in found)
    assert "sg-tadm" not in {r.id for r in found}


def test_unknown_countries_are_refused() -> None:
    with pytest.raises(ValidationFailed):
        routes.matching("XX", None, [])
    with pytest.raises(ValidationFailed):
        routes.matching("HK", "XX", [])
    with pytest.raises(ValidationFailed):
        routes.matching("ID", None, [])


def test_a_bad_file_fails_naming_file_and_route(tmp_path: Path) -> None:
    good = json.loads((routes.DATA / "HK.json").read_text(encoding="utf-8"))
    good["routes"][1]["source"] = "http://insecure.example"
    (tmp_path / "HK.json").write_text(json.dumps(good), encoding="utf-8")
    with pytest.raises(routes.RemedyDataError, match=r"HK\.json route hk-ld-labour-relations"):
        routes.load(tmp_path)


def test_a_duplicate_id_fails(tmp_path: Path) -> None:
    for name in ("HK", "SG"):
        data = {"country": name,
                "routes": [{**routes.ROUTES[0].model_dump(mode="json"), "country": name}]}
        (tmp_path / f"{name}.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(routes.RemedyDataError, match=r"also in HK\.json"):
        routes.load(tmp_path)


@pytest.mark.parametrize("locale", [c for c in LOCALES if c != "en"])
def test_every_route_is_described_in_every_language(locale: str) -> None:
    texts = routes.TRANSLATIONS.get(locale, {})
    ids = {r.id for r in routes.ROUTES}
    assert set(texts) == ids, (f"remedies/i18n/{locale}.json: missing "
                               f"{sorted(ids - set(texts))}, unknown {sorted(set(texts) - ids)}")
    for route_id, text in texts.items():
        assert set(text) == {"how", "cost"}, route_id
        assert all(v.strip() for v in text.values()), route_id


def test_a_route_is_shown_in_the_workers_language_unless_the_committee_rewrote_it() -> None:
    route = next(r for r in routes.ROUTES if r.id == "hk-labour-tribunal")
    shown = routes.localized(route, "id")
    assert shown.how == routes.TRANSLATIONS["id"]["hk-labour-tribunal"]["how"]
    assert shown.how != route.how
    assert routes.localized(route, "en").how == route.how
    edited = route.model_copy(update={"how": "Newly worded by the committee."})
    assert routes.localized(edited, "id").how == "Newly worded by the committee."
