"""Breaking changes between a released contract (`contracts/released/v<N>/`) and the current one.

Each function compares a released document with the current one and returns every change that
can break someone who relied on the release, as one human-readable line each; an empty list
means compatible. The rules follow oasdiff's "breaking" checks and schema registries' notion of
compatibility, decided by who writes and who reads each message:

- input (HTTP request bodies and parameters, request-reply requests): the current version must
  accept everything the release accepted. Breaking: a property or parameter that is new and
  required, or became required; a type narrowed (a type dropped from a union, null no longer
  allowed, number → integer); an enum value removed; a constraint tightened (a lower maxLength,
  maxItems or maximum, a higher minLength, minItems or minimum, a new or changed pattern or
  format, no more extra properties); a removed property: where the body refuses unknown
  properties (every public request body: `additionalProperties: false`) a client still sending
  it gets a 422, and where the reader ignores them (request-reply requests) it would be silently
  ignored, as a removed query or header parameter would; a request body that became required,
  or a media type no longer accepted.
- output (2xx HTTP responses, request-reply replies): a reader of the release must understand
  everything the current version sends. Breaking: a property removed (or renamed); a property
  that was always present (required) and may now be missing; a type widened (a new type in a
  union, null newly allowed, integer → number); an enum value added (readers with closed enums,
  pydantic `Literal`s and generated clients alike, reject values they do not know: a new value
  needs a new version); a format changed or dropped; a 2xx status or its media type removed.
  New properties are not breaking: readers must ignore properties they do not know (partners
  are told so; for our own readers see below).
- stored (events): consumers older and newer than the producer read them, and JetStream keeps
  and replays them (retention, dead-letter republishing), so both the input and the output
  rules apply: an event property may be added only when optional; nothing may be removed,
  narrowed or widened; enum values may be neither added nor removed.

Readers of messages ignore unknown properties. Every event payload and request-reply body is
read with `extra="ignore"` (`suara_contracts.tolerant`): a consumer handles an event carrying a
field it does not know instead of dead-lettering it, a service serves such a request, the
gateway reads such a reply; the fields they know are validated as before. Hence their schemas
allow other properties, and a producer may add an optional field without waiting for its
readers. Only the gateway's public request bodies refuse unknown properties (a 422;
`suara_gateway.schemas.Public`), and their schemas say `additionalProperties: false`.

A release's message schemas record how its readers read them: `additionalProperties: false`
(every event, request and reply of v1) means they refused unknown properties. Against such a
release a property new in an event, request or reply is breaking, at any depth: while one of
its readers still runs, it dead-letters the event, refuses the request or fails on the reply.
So the one upgrade order left for additions: the version whose readers ignore unknown
properties must run everywhere (every service and the gateway) before any producer sends a new
field; a finding of this kind is then accepted with that reason (see `accepted`). HTTP responses
are not held to this: partners' readers are not ours, and are told to ignore what they do not
know.

What tolerance does not remove:
- request-reply checks the service's current version against the caller's release (the input
  rules for requests, the output rules for replies), not an older service against a newer
  caller: deploy a service before its callers (the gateway; notification calls mediation) and
  roll back in the reverse order. A newer caller's new enum value, looser bound or newly
  optional field reaches an older service as a 422; a reply property a newer caller requires
  is missing from an older service's reply.
- an ignored field is dropped, never stored, shown or forwarded: safe for a field that carries
  data, not for one that restricts (seals, redacts, withholds, narrows a share or shortens a
  retention): an older reader goes on as if it were not there. Express a restriction as a new
  value of a closed enum in a request (an older service refuses it: a 422, nothing shared), or
  as a new `.v2` subject (older readers neither serve nor consume it), or deploy every reader
  before any producer sets it; never as an optional field whose absence means "no restriction".

Also breaking: a removed path or operation (path parameters may be renamed), an operation that
now needs a token, a removed event or request-reply subject, a removed message or operation of a
channel. Not checked: error responses (4xx/5xx problem+json), response headers, descriptions,
examples and defaults, output constraints.

Every `$ref` is resolved within its own document; `anyOf`/`oneOf` unions and type lists are
compared branch by branch, matched by type.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

Doc = dict[str, Any]
Direction = Literal["input", "output", "stored"]
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
MESSAGE_DIRECTIONS: dict[str, Direction] = {"event": "stored", "request": "input",
                                            "reply": "output"}
UPPER_BOUNDS = ("maxLength", "maxItems", "maxProperties", "maximum", "exclusiveMaximum")
LOWER_BOUNDS = ("minLength", "minItems", "minProperties", "minimum", "exclusiveMinimum")


class _Diff:
    """One comparison of two schemas within their documents, collecting breaking changes.
    `messages`: the schemas are of events, requests and replies, whose release's readers
    refused unknown properties where it says `additionalProperties: false`."""

    def __init__(self, old_root: Doc, new_root: Doc, messages: bool = False) -> None:
        self.old_root, self.new_root = old_root, new_root
        self.messages = messages
        self.found: list[str] = []
        self._open: set[tuple[int, int, str]] = set()

    def compare(self, old: Doc, new: Doc, where: str, direction: Direction) -> None:
        """Compare one schema of the release with its current version."""
        if direction == "stored":
            self.compare(old, new, where, "input")
            self.compare(old, new, where, "output")
            return
        old, new = resolve(self.old_root, old), resolve(self.new_root, new)
        key = (id(old), id(new), direction)
        if key in self._open:  # a recursive schema: this pair is being compared further up
            return
        self._open.add(key)
        try:
            self._compare(old, new, where, direction)
        finally:
            self._open.discard(key)

    def _compare(self, old: Doc, new: Doc, where: str, direction: Direction) -> None:
        old_branches = branches(self.old_root, old)
        new_branches = branches(self.new_root, new)
        # input: each released branch must still be accepted; output: each current branch
        # must have been announced
        given, taken = ((old_branches, new_branches) if direction == "input"
                        else (new_branches, old_branches))
        matches = [(branch, _matching(branch, taken)) for branch in given]
        if any(match is None for _, match in matches):
            self._add(where, f"type changed from {_kinds(old_branches)} to "
                             f"{_kinds(new_branches)}")
            return
        for branch, match in matches:
            assert match is not None
            pair = (branch, match) if direction == "input" else (match, branch)
            self._branch(*pair, where, direction)

    def _add(self, where: str, what: str) -> None:
        line = f"{where}: {what}"
        if line not in self.found:
            self.found.append(line)

    def _branch(self, old: Doc, new: Doc, where: str, direction: Direction) -> None:
        self._values(old, new, where, direction)
        self._format(old, new, where, direction)
        if direction == "input":
            self._bounds(old, new, where)
        if kind(old) == "object" and kind(new) == "object":
            self._object(old, new, where, direction)
        elif kind(old) == "array" and kind(new) == "array":
            self.compare(old.get("items", {}), new.get("items", {}), f"{where}[]", direction)

    def _values(self, old: Doc, new: Doc, where: str, direction: Direction) -> None:
        old_values, new_values = enum_values(old), enum_values(new)
        if direction == "input" and new_values is not None:
            if old_values is None:
                self._add(where, f"now limited to {_listed(new_values)}")
            elif removed := old_values - new_values:
                self._add(where, f"enum value {_listed(removed)} removed")
        if direction == "output" and old_values is not None:
            if new_values is None:
                self._add(where, f"no longer limited to {_listed(old_values)}")
            elif added := new_values - old_values:
                self._add(where, f"enum value {_listed(added)} added")

    def _format(self, old: Doc, new: Doc, where: str, direction: Direction) -> None:
        before, after = old.get("format"), new.get("format")
        # a reader may rely on a format it was promised; a writer must meet a format it is given
        if before != after and (after if direction == "input" else before):
            self._add(where, f"format changed from {before or 'none'} to {after or 'none'}")

    def _bounds(self, old: Doc, new: Doc, where: str) -> None:
        for name in UPPER_BOUNDS:
            if name in new and (name not in old or new[name] < old[name]):
                self._add(where, f"{name} tightened from {old.get(name, 'none')} to {new[name]}")
        for name in LOWER_BOUNDS:
            if name in new and (name not in old or new[name] > old[name]):
                self._add(where, f"{name} tightened from {old.get(name, 'none')} to {new[name]}")
        if new.get("pattern") and new.get("pattern") != old.get("pattern"):
            self._add(where, f"pattern changed to {new['pattern']}")
        if new.get("uniqueItems") and not old.get("uniqueItems"):
            self._add(where, "items must now be unique")

    def _object(self, old: Doc, new: Doc, where: str, direction: Direction) -> None:
        old_props, new_props = old.get("properties", {}), new.get("properties", {})
        old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
        for name, schema in old_props.items():
            here = f"{where}.{name}" if where else name
            if name in new_props:
                self.compare(schema, new_props[name], here, direction)
                if direction == "input" and name in new_required - old_required:
                    self._add(here, "became required")
                if direction == "output" and name in old_required - new_required:
                    self._add(here, "no longer required: it may be missing")
            elif direction == "output":
                self._add(here, "property removed")
            elif isinstance(extra := new.get("additionalProperties", True), dict):
                self.compare(schema, extra, here, direction)
            elif extra is False:
                self._add(here, "property removed (unknown properties are refused)")
            else:
                self._add(here, "property removed (it would be silently ignored)")
        if direction == "input":
            for name in sorted(new_required - old_props.keys()):
                self._add(f"{where}.{name}" if where else name, "new required property")
        if self.messages and old.get("additionalProperties", True) is False:
            for name in sorted(new_props.keys() - old_props.keys()):
                self._add(f"{where}.{name}" if where else name,
                          "new property, which readers of the release refuse (they refused "
                          "unknown properties)")
        self._extra(old, new, where, direction)

    def _extra(self, old: Doc, new: Doc, where: str, direction: Direction) -> None:
        before = old.get("additionalProperties", True)
        after = new.get("additionalProperties", True)
        if isinstance(before, dict) and isinstance(after, dict):
            self.compare(before, after, f"{where}{{}}", direction)
        elif direction == "input" and before is not False and after is False:
            self._add(where or "(root)", "no longer accepts other properties")


def resolve(root: Doc, schema: Doc) -> Doc:
    """Follow `$ref`s (local, `#/…`) until a schema without one."""
    seen: set[str] = set()
    while "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/") or ref in seen:
            raise ValueError(f"cannot resolve {ref}")
        seen.add(ref)
        node: Any = root
        for token in ref[2:].split("/"):
            node = node[token.replace("~1", "/").replace("~0", "~")]
        schema = node
    return schema


def branches(root: Doc, schema: Doc) -> list[Doc]:
    """The alternatives a schema allows: unions flattened, type lists split, refs resolved."""
    schema = resolve(root, schema)
    for union in ("anyOf", "oneOf"):
        if union in schema:
            return [b for option in schema[union] for b in branches(root, option)]
    if len(schema.get("allOf", [])) == 1:
        merged = {k: v for k, v in schema.items() if k != "allOf"}
        return [{**merged, **b} for b in branches(root, schema["allOf"][0])]
    if isinstance(schema.get("type"), list):
        return [{**schema, "type": t} for t in schema["type"]]
    return [schema]


def kind(schema: Doc) -> str:
    """The JSON type one branch allows, or `any`."""
    if isinstance(schema.get("type"), str):
        return str(schema["type"])
    values = enum_values(schema)
    if values:
        kinds = {_json_type(json.loads(v)) for v in values}
        return kinds.pop() if len(kinds) == 1 else "any"
    if "properties" in schema or "additionalProperties" in schema:
        return "object"
    return "array" if "items" in schema else "any"


def enum_values(schema: Doc) -> set[str] | None:
    """The values an `enum` or `const` allows (as JSON text), or None when not limited."""
    if "enum" in schema:
        return {json.dumps(v, sort_keys=True) for v in schema["enum"]}
    if "const" in schema:
        return {json.dumps(schema["const"], sort_keys=True)}
    return None


def _json_type(value: Any) -> str:
    types = {bool: "boolean", int: "integer", float: "number", str: "string",
             type(None): "null", list: "array", dict: "object"}
    return types.get(type(value), "any")


def _covers(wide: str, narrow: str) -> bool:
    return wide in (narrow, "any") or (wide, narrow) == ("number", "integer")


def _matching(branch: Doc, candidates: list[Doc]) -> Doc | None:
    """The candidate that covers the branch's type: the same type and title first."""
    fits = [c for c in candidates if _covers(kind(c), kind(branch))]
    fits.sort(key=lambda c: (kind(c) != kind(branch), c.get("title") != branch.get("title")))
    return fits[0] if fits else None


def _kinds(options: list[Doc]) -> str:
    return " | ".join(dict.fromkeys(kind(b) for b in options))


def _listed(values: set[str]) -> str:
    return ", ".join(sorted(values))


def compare_schemas(old: Doc, new: Doc, direction: Direction, where: str = "",
                    old_root: Doc | None = None, new_root: Doc | None = None,
                    messages: bool = False) -> list[str]:
    """Breaking changes between two JSON Schemas read or written in `direction`; `messages`
    when they are of an event, request or reply (see `_Diff`)."""
    diff = _Diff(old if old_root is None else old_root, new if new_root is None else new_root,
                 messages)
    diff.compare(old, new, where, direction)
    return diff.found


# OpenAPI -------------------------------------------------------------------------------------


def _template(path: str) -> str:
    """A path with its parameter names blanked: `/cases/{case_id}` → `/cases/{}`."""
    return "/".join("{}" if p.startswith("{") and p.endswith("}") else p for p in path.split("/"))


def _operations(doc: Doc) -> dict[tuple[str, str], tuple[str, Doc]]:
    """(METHOD, path template) → (path, operation) for every operation."""
    return {(method.upper(), _template(path)): (path, op)
            for path, item in doc.get("paths", {}).items()
            for method, op in item.items() if method in HTTP_METHODS}


def openapi_changes(old: Doc, new: Doc) -> list[str]:
    """Breaking changes between a released OpenAPI document and the current one."""
    diff = _Diff(old, new)
    current = _operations(new)
    for key, (path, op) in sorted(_operations(old).items()):
        label = f"{key[0]} {path}"
        if key not in current:
            diff.found.append(f"{label}: operation removed")
            continue
        new_op = current[key][1]
        _security(diff, label, op, new_op, old, new)
        _parameters(diff, label, op, new_op)
        _request_body(diff, label, resolve(old, op.get("requestBody", {})),
                      resolve(new, new_op.get("requestBody", {})))
        _responses(diff, label, op.get("responses", {}), new_op.get("responses", {}))
    return diff.found


def _security(diff: _Diff, label: str, op: Doc, new_op: Doc, old: Doc, new: Doc) -> None:
    def required(operation: Doc, doc: Doc) -> bool:
        rules = operation.get("security", doc.get("security", []))
        return bool(rules) and all(rule for rule in rules)  # `{}` in the list: optional

    if required(new_op, new) and not required(op, old):
        diff.found.append(f"{label}: now requires an access token")


def _parameter_key(parameter: Doc) -> tuple[str, str]:
    name = parameter["name"]
    return parameter["in"], name.lower() if parameter["in"] == "header" else name


def _parameters(diff: _Diff, label: str, op: Doc, new_op: Doc) -> None:
    before = {_parameter_key(p): p for p in (resolve(diff.old_root, q)
                                             for q in op.get("parameters", []))}
    after = {_parameter_key(p): p for p in (resolve(diff.new_root, q)
                                            for q in new_op.get("parameters", []))}
    # path parameters follow the path template: a renamed one is the same parameter
    for (where, name), parameter in before.items():
        here = f"{label} {where} parameter {parameter['name']}"
        if (where, name) in after:
            changed = after[(where, name)]
            if changed.get("required") and not parameter.get("required"):
                diff.found.append(f"{here}: became required")
            diff.compare(parameter.get("schema", {}), changed.get("schema", {}), here, "input")
        elif where != "path":
            diff.found.append(f"{here}: parameter removed")
    for (where, name), parameter in after.items():
        if (where, name) not in before and parameter.get("required") and where != "path":
            diff.found.append(f"{label} {where} parameter {parameter['name']}: "
                              "new required parameter")


def _request_body(diff: _Diff, label: str, old: Doc, new: Doc) -> None:
    if new.get("required") and not old.get("required"):
        diff.found.append(f"{label}: request body became required")
    new_content = new.get("content", {})
    for media, content in old.get("content", {}).items():
        if media not in new_content:
            if new_content:
                diff.found.append(f"{label}: request media type {media} no longer accepted")
            continue
        diff.compare(content.get("schema", {}), new_content[media].get("schema", {}),
                     f"{label} request body", "input")


def _responses(diff: _Diff, label: str, old: Doc, new: Doc) -> None:
    for status, response in sorted(old.items()):
        if not str(status).startswith("2"):
            continue
        if status not in new:
            diff.found.append(f"{label}: response {status} removed")
            continue
        old_content = resolve(diff.old_root, response).get("content", {})
        new_content = resolve(diff.new_root, new[status]).get("content", {})
        for media, content in old_content.items():
            if media not in new_content:
                diff.found.append(f"{label}: response {status} no longer {media}")
                continue
            diff.compare(content.get("schema", {}), new_content[media].get("schema", {}),
                         f"{label} response {status}", "output")


# AsyncAPI and the per-subject JSON Schemas ------------------------------------------------------


def asyncapi_changes(old: Doc, new: Doc) -> list[str]:
    """Breaking changes between a released AsyncAPI 3 document and the current one."""
    diff = _Diff(old, new, messages=True)
    new_channels = new.get("channels", {})
    for name, channel in sorted(old.get("channels", {}).items()):
        if name not in new_channels:
            diff.found.append(f"channel {channel.get('address', name)}: removed")
            continue
        current = new_channels[name].get("messages", {})
        for key, ref in channel.get("messages", {}).items():
            here = f"channel {channel.get('address', name)} {key}"
            if key not in current:
                diff.found.append(f"{here}: message removed")
                continue
            before, after = resolve(old, ref), resolve(new, current[key])
            direction = MESSAGE_DIRECTIONS.get(key, "stored")
            diff.compare(before.get("payload", {}), after.get("payload", {}), here, direction)
            if "headers" in before:
                diff.compare(before["headers"], after.get("headers", {}), f"{here} headers",
                             "stored")
    _async_operations(diff, old.get("operations", {}), new.get("operations", {}), new_channels)
    return diff.found


def _async_operations(diff: _Diff, old: Doc, new: Doc, channels: Doc) -> None:
    for name, operation in sorted(old.items()):
        channel = operation.get("channel", {}).get("$ref", "").rsplit("/", 1)[-1]
        if channel not in channels:
            continue  # reported with its channel
        if name not in new:
            diff.found.append(f"operation {name}: removed")
        elif new[name].get("action") != operation.get("action"):
            diff.found.append(f"operation {name}: action changed from "
                              f"{operation.get('action')} to {new[name].get('action')}")


def _file_direction(name: str) -> Direction:
    if name.endswith(".request.json"):
        return "input"
    return "output" if name.endswith(".reply.json") else "stored"


def schema_file_changes(old: Mapping[str, Doc], new: Mapping[str, Doc]) -> list[str]:
    """Breaking changes between released per-subject schemas and the current ones, both keyed
    by path (`schemas/events/<subject>.json`, `schemas/rpc/<subject>.{request,reply}.json`)."""
    found: list[str] = []
    for name, schema in sorted(old.items()):
        subject = name.rsplit("/", 1)[-1].removesuffix(".json")
        if name not in new:
            found.append(f"{subject}: removed")
            continue
        found += compare_schemas(schema, new[name], _file_direction(name), subject,
                                 messages=True)
    return found


# A whole release ----------------------------------------------------------------------------------


def load(root: Path) -> dict[str, Doc]:
    """openapi.json, asyncapi.json and every schemas/**/*.json under root, by relative path."""
    files = [root / "openapi.json", root / "asyncapi.json", *sorted((root / "schemas").rglob("*.json"))]
    return {f.relative_to(root).as_posix(): json.loads(f.read_text(encoding="utf-8"))
            for f in files if f.is_file()}


def _schemas(docs: Mapping[str, Doc]) -> dict[str, Doc]:
    return {name: doc for name, doc in docs.items() if name.startswith("schemas/")}


def release_changes(released: Mapping[str, Doc], current: Mapping[str, Doc]) -> list[str]:
    """Every breaking change from a release to the current contract (as `load` returns them)."""
    found: list[str] = []
    for name, check in (("openapi.json", openapi_changes), ("asyncapi.json", asyncapi_changes)):
        if name in released:
            found += [f"{name}: {line}" for line in check(released[name], current.get(name, {}))]
    found += [f"schemas: {line}"
              for line in schema_file_changes(_schemas(released), _schemas(current))]
    return found


def releases(contracts: Path) -> Iterator[Path]:
    """Every released baseline under contracts/released, oldest first."""
    found = (contracts / "released").glob("v*")
    yield from sorted((p for p in found if p.name[1:].isdigit()), key=lambda p: int(p.name[1:]))


def accepted(contracts: Path) -> dict[str, str]:
    """Findings reviewed and accepted, each with its reason: `released/accepted.txt`, one
    `<finding as printed>  # <why it breaks nobody>` a line (e.g. a documented bound that the
    service enforced already)."""
    path = contracts / "released" / "accepted.txt"
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    entries = [line.split("  # ", 1) for line in lines if line.strip() and line[0] != "#"]
    if any(len(entry) != 2 or not entry[1].strip() for entry in entries):
        raise ValueError(f"{path}: every line is `<finding>  # <reason>`")
    return {finding.strip(): why.strip() for finding, why in entries}


def findings(contracts: Path) -> list[str]:
    """Every breaking change from every release to the current contract, as
    `<release>: <document>: <change>`."""
    current = load(contracts)
    return [f"{release.name}: {line}" for release in releases(contracts)
            for line in release_changes(load(release), current)]


def main(argv: list[str] | None = None) -> int:
    """`python -m suara_contracts.compat [contracts/]`: print the breaking changes from every
    release to the current contract that are not accepted; exit 1 when there are any."""
    args = sys.argv[1:] if argv is None else argv
    contracts = Path(args[0] if args else "contracts")
    breaking = [line for line in findings(contracts) if line not in accepted(contracts)]
    sys.stdout.writelines(f"{line}\n" for line in breaking)
    return 1 if breaking else 0


if __name__ == "__main__":
    sys.exit(main())
