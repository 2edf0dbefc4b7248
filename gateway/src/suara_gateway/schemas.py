"""Shapes of the public HTTP API that are not simply the service contracts, and `Public`: the
strict copy of a contract model that the API reads a request body with."""

from __future__ import annotations

import copy
import types
from datetime import date, datetime
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field

from suara_contracts.rpc import (
    Answer,
    FormSpec,
    InboxMessage,
    RemedyRoute,
    RespondentKind,
    SessionMode,
)

M = TypeVar("M", bound=BaseModel)
_STRICT: dict[type[BaseModel], type[BaseModel]] = {}


class Public:
    """`Public[Model]`: a contract model as a public request body reads it, refusing unknown
    fields at every depth (a 422 naming the field), where services and the gateway read the same
    model as a message tolerantly (`suara_contracts.tolerant`). A partner who misspells an
    optional field hears of it instead of having it ignored, and a property may be removed from
    a body only in a new version (`suara_contracts.compat`).

    The copy is a subclass with the same name, fields, defaults, constraints and validators; an
    instance goes wherever the model goes. It is `Model` itself when that refuses unknown fields
    already at every depth (the bodies below). In the OpenAPI document a model that is also in a
    response shows as `<Model>-Input` and `<Model>-Output`."""

    def __class_getitem__(cls, model: type[M]) -> type[M]:
        return strict(model)


def strict(model: type[M]) -> type[M]:
    """The copy of `model` that refuses unknown fields at every depth (see `Public`); cached."""
    if model not in _STRICT:
        _STRICT[model] = _strict_copy(model)
    return _STRICT[model]  # type: ignore[return-value]


def _strict_copy(model: type[M]) -> type[M]:
    swapped = {name: _strict_type(info.annotation) for name, info in model.model_fields.items()}
    changed = {name: annotation for name, annotation in swapped.items()
               if annotation is not model.model_fields[name].annotation}
    if model.model_config.get("extra") == "forbid" and not changed:
        return model
    namespace: dict[str, Any] = {
        "__module__": model.__module__, "__qualname__": model.__qualname__,
        "__doc__": model.__doc__, "model_config": ConfigDict(extra="forbid"),
        "__annotations__": changed}
    for name in changed:
        namespace[name] = copy.copy(model.model_fields[name])  # default, constraints, docs
    return type(model.__name__, (model,), namespace)


def _strict_type(annotation: Any) -> Any:
    """`annotation` with every model in it replaced by its strict copy."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return strict(annotation)
    args = get_args(annotation)
    origin = get_origin(annotation)
    if not args or origin is None or not isinstance(args, tuple):
        return annotation
    if origin is Annotated:
        inner = _strict_type(args[0])
        return annotation if inner is args[0] else Annotated[(inner, *annotation.__metadata__)]
    swapped = tuple(_strict_type(arg) for arg in args)
    if all(new is old for new, old in zip(swapped, args, strict=True)):
        return annotation
    if origin in (Union, types.UnionType):
        return Union[swapped]  # noqa: UP007 (a union built from a tuple)
    return origin[swapped]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReportLookup(_Body):
    """Reference and receipt, sent in a body so they never land in a URL or a log."""

    reference: str = Field(min_length=1, max_length=32, examples=["SU-K7M2-9QXD"])
    receipt: str = Field(min_length=1, max_length=64)


class ReporterView(BaseModel):
    """What a reporter sees: status and the messages in their inbox."""

    reference: str
    status: str
    received_on: date
    country: str | None = None
    origin: str | None = None
    categories: list[str] = []
    form_version: int | None = Field(default=None, description=(
        "render `answers` with GET /api/v1/form?version=<this>"))
    answers: dict[str, Answer] = {}
    surveyed: bool = False
    content_deleted_on: date | None = Field(default=None, description=(
        "when what the reporter told us (answers, files, messages) was deleted at the end of "
        "its retention period; `answers` is then empty and each message is `deleted`"))
    messages: list[InboxMessage]


class UploadReceipt(BaseModel):
    """A cleaned file waiting for its report: put `token` in the file question's answer."""

    token: str
    media_type: str = Field(examples=["image/jpeg"])
    size: int = Field(description="bytes, after cleaning")
    expires_in_seconds: int


class ReportForWorker(_Body):
    """A report filed for a worker by CSO staff or a partner's hotline system."""

    language: str = Field(default="en", min_length=2, max_length=16)
    answers: dict[str, Answer] = Field(max_length=100)
    form_version: int | None = Field(default=None, ge=1)


class FormDraftBody(_Body):
    """The questions of a form version, every text keyed by language code."""

    spec: Public[FormSpec]
    note: str = Field(default="", max_length=2000, description="what changed and why")


class FormApproval(_Body):
    consultation_ref: str = Field(min_length=3, max_length=200, description=(
        "where the consultation with workers is recorded"),
        examples=["Worker committee meeting 2026-11-20, minutes #14"])


class RemedyChange(_Body):
    route: Public[RemedyRoute]
    reason: str = Field(min_length=3, max_length=500, examples=[
        "Hotline number changed; checked with the office on 2026-11-20"])


class RemedyWithdrawal(_Body):
    reason: str = Field(min_length=3, max_length=500)


class Acknowledgement(_Body):
    message: str = Field(min_length=1, max_length=4000,
                         description="shown to the reporter in their receipt-protected inbox")


class Transition(_Body):
    to: str = Field(min_length=1, max_length=32, examples=["in-assessment"])
    reason: str = Field(default="", max_length=2000, description=(
        "kept on the case as a note; required to withdraw or to reopen on appeal"))
    message: str | None = Field(default=None, max_length=4000, description=(
        "also tell the reporter, in their inbox (required to acknowledge)"))


class Assignment(_Body):
    handler: str | None = Field(default=None, max_length=200, description=(
        "the colleague's account id; yourself when left out"))


class Coding(_Body):
    issues: list[str] = Field(min_length=1, max_length=20, examples=[["unpaid-wages"]])
    origin: str = Field(pattern=r"^([A-Z]{2}|other)$", examples=["ID"])
    destination: str = Field(pattern=r"^([A-Z]{2}|other)$", examples=["MY"])
    respondent: str = Field(min_length=1, max_length=200, examples=["Maju Jaya Sdn Bhd"])
    respondent_kind: RespondentKind


class ConflictDeclaration(_Body):
    respondent: str = Field(min_length=1, max_length=200)


class SessionProposal(_Body):
    starts_at: datetime
    ends_at: datetime
    timezone: str = Field(min_length=1, max_length=64, examples=["Asia/Kuala_Lumpur"])
    mode: SessionMode = "in-person"


class Readiness(BaseModel):
    status: str
    services: dict[str, str]


class Problem(BaseModel):
    """RFC 9457 problem details: every error the API returns."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = Field(
        default=None, description=("one entry per invalid field: {field, message}, and for "
                                   "answers a `code` (e.g. required, too-long) with the limit "
                                   "it broke (maximum, minimum)"))


def problem_responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI `responses` entries documenting problem+json bodies."""
    described = {400: "Malformed request", 401: "Missing or invalid access token",
                 403: "Authenticated but not allowed", 404: "Not found",
                 409: "Conflicts with the current state",
                 410: "Deleted at the end of its retention period", 413: "Request too large",
                 422: "Invalid input",
                 429: "Too many attempts", 503: "A service is not available; retry"}
    return {s: {"model": Problem, "description": described[s],
                "content": {"application/problem+json": {}}} for s in statuses}
