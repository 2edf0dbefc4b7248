"""Write Suara's contract snapshots: OpenAPI, AsyncAPI and one JSON Schema per message.

`python contracts/generate.py` rewrites them; `--check` writes nothing and exits 1 naming every
file that differs, is missing or is stale. It lives outside `suara_contracts` because it imports
the gateway, and contracts depend on nothing of ours.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from suara_contracts.events import EVENT_TYPES, Envelope
from suara_contracts.rpc_catalog import RPC_TYPES
from suara_contracts.subjects import (
    DLQ_PREFIX,
    DLQ_STREAM,
    EVENTS_STREAM,
    EVENTS_SUBJECTS,
)
from suara_gateway.app import create_app

ROOT = Path(__file__).resolve().parent
SCHEMAS = "schemas"
Doc = dict[str, Any]

ASYNCAPI_DESCRIPTION = """Suara's NATS contracts. Facts are JetStream events in CloudEvents 1.0
structured mode, published through each producer's outbox with `Nats-Msg-Id` = the envelope id.
Commands and queries are nats.micro request-reply in queue group `q`; a failed request is answered
with `Nats-Service-Error-Code` / `Nats-Service-Error` headers and an application/problem+json body.
Subjects name an operation or an event type only, never an id or a person."""

EVENT_HEADERS: Doc = {
    "type": "object",
    "properties": {
        "Nats-Msg-Id": {"type": "string", "format": "uuid",
                        "description": "the envelope id: JetStream drops a duplicate publish"},
        "traceparent": {"type": "string", "description": "W3C trace context"},
    },
    "required": ["Nats-Msg-Id"],
}


def render(doc: Doc) -> str:
    """The committed text of a document: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def summary(model: type[BaseModel]) -> str:
    """The first line of a model's own docstring, or its name."""
    doc = model.__dict__.get("__doc__") or ""
    return inspect.cleandoc(doc).split("\n", 1)[0] if doc.strip() else model.__name__


def openapi() -> Doc:
    """The gateway's OpenAPI document."""
    return create_app().openapi()


def _component_schemas() -> tuple[dict[type[BaseModel], Doc], Doc]:
    """`$ref`s to every envelope and rpc body, and the shared definitions they point into."""
    models = {Envelope[model] for model in EVENT_TYPES.values()}
    models |= {model for pair in RPC_TYPES.values() for model in pair}
    ordered = sorted(models, key=lambda m: m.__name__)
    refs, defs = models_json_schema([(m, "validation") for m in ordered],
                                    ref_template="#/components/schemas/{model}")
    return {model: ref for (model, _), ref in refs.items()}, defs.get("$defs", {})


def _event_channel(subject: str, model: type[BaseModel], payload: Doc) -> tuple[Doc, Doc, Doc]:
    channel = {"address": subject, "title": model.__name__, "description": summary(model),
               "messages": {"event": {"$ref": f"#/components/messages/{subject}"}}}
    message = {"name": model.__name__, "title": model.__name__, "summary": summary(model),
               "contentType": "application/cloudevents+json", "headers": EVENT_HEADERS,
               "payload": payload}
    operation = {"action": "send", "channel": {"$ref": f"#/channels/{subject}"},
                 "summary": f"published by {subject.split('.')[2]} through its outbox",
                 "messages": [{"$ref": f"#/channels/{subject}/messages/event"}],
                 "x-suara-stream": EVENTS_STREAM}
    return channel, message, operation


def _rpc_channel(subject: str, request: Doc, reply: Doc) -> tuple[Doc, Doc, Doc]:
    channel = {"address": subject, "messages": {
        "request": {"$ref": f"#/components/messages/{subject}.request"},
        "reply": {"$ref": f"#/components/messages/{subject}.reply"}}}
    operation = {"action": "receive", "channel": {"$ref": f"#/channels/{subject}"},
                 "summary": f"served by {subject.split('.')[2]} in queue group q",
                 "messages": [{"$ref": f"#/channels/{subject}/messages/request"}],
                 "reply": {"channel": {"$ref": f"#/channels/{subject}"},
                           "messages": [{"$ref": f"#/channels/{subject}/messages/reply"}]},
                 "bindings": {"nats": {"queue": "q", "bindingVersion": "0.1.0"}}}
    return channel, {"request": request, "reply": reply}, operation


def _message(model: type[BaseModel], payload: Doc) -> Doc:
    return {"name": model.__name__, "title": model.__name__, "summary": summary(model),
            "contentType": "application/json", "payload": payload}


def asyncapi() -> Doc:
    """An AsyncAPI 3.0 document of every event and request-reply subject, and the streams."""
    refs, schemas = _component_schemas()
    channels: Doc = {}
    messages: Doc = {}
    operations: Doc = {}
    for subject, model in sorted(EVENT_TYPES.items()):
        channel, message, operation = _event_channel(subject, model, refs[Envelope[model]])
        channels[subject], messages[subject] = channel, message
        operations[f"publish.{subject}"] = operation
    for subject, (request, reply) in sorted(RPC_TYPES.items()):
        channel, bodies, operation = _rpc_channel(
            subject, _message(request, refs[request]), _message(reply, refs[reply]))
        channels[subject] = channel
        messages[f"{subject}.request"] = bodies["request"]
        messages[f"{subject}.reply"] = bodies["reply"]
        operations[f"serve.{subject}"] = operation
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "Suara messaging", "version": "1.0.0",
                 "description": ASYNCAPI_DESCRIPTION},
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
        "x-suara-streams": {
            EVENTS_STREAM: {"subjects": [EVENTS_SUBJECTS],
                            "description": "every event, deduplicated on Nats-Msg-Id"},
            DLQ_STREAM: {"subjects": [f"{DLQ_PREFIX}.>"],
                         "description": f"poison events, one subject per durable consumer: "
                                        f"{DLQ_PREFIX}.<consumer>"},
        },
    }


def message_schemas() -> dict[str, Doc]:
    """One JSON Schema per event payload and per request and reply body, by relative path."""
    docs = {f"{SCHEMAS}/events/{subject}.json": model.model_json_schema()
            for subject, model in EVENT_TYPES.items()}
    for subject, (request, reply) in RPC_TYPES.items():
        docs[f"{SCHEMAS}/rpc/{subject}.request.json"] = request.model_json_schema()
        docs[f"{SCHEMAS}/rpc/{subject}.reply.json"] = reply.model_json_schema()
    return docs


def build() -> dict[str, Doc]:
    """Every contract document, keyed by its path relative to contracts/."""
    return {"openapi.json": openapi(), "asyncapi.json": asyncapi(), **message_schemas()}


def committed(root: Path = ROOT) -> set[str]:
    """The generated files present under root (the two snapshots and everything in schemas/)."""
    found = {p.relative_to(root).as_posix() for p in (root / SCHEMAS).rglob("*") if p.is_file()}
    return found | {name for name in ("openapi.json", "asyncapi.json") if (root / name).is_file()}


def drift(root: Path = ROOT, docs: dict[str, Doc] | None = None) -> list[str]:
    """Every file that differs from a fresh generation, is missing, or is stale."""
    docs = build() if docs is None else docs
    problems = [f"stale: {name}" for name in sorted(committed(root) - docs.keys())]
    for name, doc in sorted(docs.items()):
        path = root / name
        if not path.is_file():
            problems.append(f"missing: {name}")
        elif path.read_text(encoding="utf-8") != render(doc):
            problems.append(f"differs: {name}")
    return problems


def write(root: Path = ROOT) -> None:
    """Regenerate every file and remove stale ones."""
    docs = build()
    for name in committed(root) - docs.keys():
        (root / name).unlink()
    for name, doc in docs.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(doc), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Generate, or with --check report drift and exit 1."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 on drift")
    args = parser.parse_args(argv)
    if not args.check:
        write()
        return 0
    problems = drift()
    for problem in problems:
        sys.stderr.write(f"{problem}\n")
    if problems:
        sys.stderr.write("contracts drifted: run `make contracts`\n")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
