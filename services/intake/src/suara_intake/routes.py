"""Remedy routes: where a worker can take a grievance, by corridor and issue.

The routes are data in `remedies/<COUNTRY>.json`, one file per country, edited by the worker
committee. Every file is loaded and checked when this module is imported, so a bad edit fails
the service's start (and CI) naming the file and the route, never a worker's request.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from suara_contracts.rpc import RemedyKind, RemedyRoute
from suara_intake.forms import DEFAULT
from suara_kit.errors import ValidationFailed

DATA: Final = Path(__file__).parent / "remedies"
ANY_ISSUE: Final = "*"
ISSUES: Final = frozenset(value for value, _, _ in DEFAULT[0]["choices"])  # the default
# form's categories: remedy data files name these (a committee's own categories match none)
# The order a worker reads them in: the destination's free first stops, then bodies that decide
# a claim, then their own country's offices, then civil society.
FIRST_STOPS: Final[frozenset[RemedyKind]] = frozenset(
    {"labour-conciliation", "government-hotline", "police"})
DECIDERS: Final[frozenset[RemedyKind]] = frozenset({"tribunal", "small-claims", "court"})


class RemedyDataError(ValueError):
    """A remedies file that cannot be used."""


class Route(RemedyRoute):
    """One remedy route as the committee wrote it, checked."""

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not value or not all(c.islower() or c.isdigit() or c == "-" for c in value):
            raise ValueError("id must be a lowercase slug")
        return value

    @field_validator("source")
    @classmethod
    def _https(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError("source must be an https URL")
        return value

    @field_validator("issues")
    @classmethod
    def _issues(cls, value: list[str]) -> list[str]:
        unknown = set(value) - ISSUES - {ANY_ISSUE}
        if not value or unknown:
            raise ValueError(f"issues must be form categories or '*', not {sorted(unknown)}")
        return value

    @field_validator("available_in")
    @classmethod
    def _somewhere(cls, value: list[str]) -> list[str]:
        if not value or any(len(c) != 2 or not c.isupper() for c in value):
            raise ValueError("available_in must list two-letter country codes")
        return value


class RemedyFile(BaseModel):
    """One country's file."""

    model_config = ConfigDict(extra="forbid")

    country: str
    routes: list[Route]

    @model_validator(mode="after")
    def _own_country(self) -> RemedyFile:
        for route in self.routes:
            if route.country != self.country:
                raise ValueError(f"route {route.id} is of {route.country}, not {self.country}")
        return self


def _read(path: Path) -> RemedyFile:
    """One file, validated; errors name the file and the route id."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    try:
        # a misspelt key, at any depth, is an error (models are tolerant by default)
        parsed = RemedyFile.model_validate(raw, extra="forbid")
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = first["loc"]
        where = ""
        if len(loc) > 1 and loc[0] == "routes" and isinstance(loc[1], int):
            where = f" route {raw['routes'][loc[1]].get('id', f'#{loc[1]}')}"
        raise RemedyDataError(f"{path.name}{where}: {first['msg']} at {loc}") from None
    if path.stem != parsed.country:
        raise RemedyDataError(f"{path.name}: holds country {parsed.country}")
    return parsed


def load(folder: Path = DATA) -> list[Route]:
    """Every route of every file in folder; ids must be unique across files."""
    routes: list[Route] = []
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.json")):
        for route in _read(path).routes:
            if route.id in seen:
                raise RemedyDataError(f"{path.name} route {route.id}: also in {seen[route.id]}")
            seen[route.id] = path.name
            routes.append(route)
    return routes


ROUTES: Final = load()
BY_ID: Final = {r.id: r for r in ROUTES}
TRANSLATED: Final = ("how", "cost")


def load_translations(folder: Path = DATA / "i18n") -> dict[str, dict[str, dict[str, str]]]:
    """`<locale>.json` files: route id → the translated `how` and `cost` of that route."""
    found: dict[str, dict[str, dict[str, str]]] = {}
    for path in sorted(folder.glob("*.json")):
        found[path.stem] = json.loads(path.read_text(encoding="utf-8"))
    return found


TRANSLATIONS: Final = load_translations()


def localized(route: Route, language: str) -> RemedyRoute:
    """A route with its description in `language` where the data has one. A route the
    committee has edited is shown as they wrote it (a translation of the old text would say
    something else)."""
    plain = RemedyRoute(**route.model_dump())
    original = BY_ID.get(route.id)
    text = TRANSLATIONS.get(language, {}).get(route.id)
    if not text or original != route:
        return plain
    return plain.model_copy(update={k: text[k] for k in TRANSLATED if text.get(k)})
COUNTRIES: Final = frozenset(r.country for r in ROUTES)
DESTINATIONS: Final = frozenset(r.country for r in ROUTES if r.country in r.available_in)


def _rank(route: Route, destination: str) -> int:
    if route.country != destination:
        return 2
    if route.kind in FIRST_STOPS:
        return 0
    return 1 if route.kind in DECIDERS else 3


def _concerns(route: Route, issues: list[str]) -> bool:
    return not issues or ANY_ISSUE in route.issues or bool(set(issues) & set(route.issues))


def effective(edits: dict[str, Route | None], routes: list[Route] = ROUTES) -> list[Route]:
    """The data files' routes with the committee's edits applied: corrected routes replace
    theirs, withdrawn ones (None) are gone, new ones are added."""
    merged = [edits[r.id] if r.id in edits else r for r in routes]
    known = {r.id for r in routes}
    merged += [r for rid, r in edits.items() if rid not in known]
    return [r for r in merged if r is not None]


def checked(route_id: str, route: RemedyRoute) -> Route:
    """A committee's route, checked as strictly as the data files; a 422 naming the field."""
    if route.id != route_id:
        raise ValidationFailed(f"route.id: must be {route_id}, as in the address")
    try:
        return Route.model_validate(route.model_dump())
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ValidationFailed(f"route.{field}: {first['msg']}", errors=[
            {"field": f"route.{'.'.join(str(p) for p in e['loc'])}", "message": e["msg"]}
            for e in exc.errors()]) from None


def matching(destination: str, origin: str | None, issues: list[str],
             routes: list[Route] = ROUTES) -> list[Route]:
    """The routes open to a worker in destination from origin for these issues, in reading
    order (see `_rank`); no issues means every issue."""
    if destination not in {r.country for r in routes if r.country in r.available_in}:
        raise ValidationFailed(f"destination: no remedy routes for {destination}")
    if origin is not None and origin not in {r.country for r in routes}:
        raise ValidationFailed(f"origin: no remedy routes for {origin}")
    found = [r for r in routes
             if r.country in (destination, origin) and destination in r.available_in
             and _concerns(r, issues)]
    return sorted(found, key=lambda r: _rank(r, destination))
