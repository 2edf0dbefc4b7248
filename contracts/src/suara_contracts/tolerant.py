"""The base of every event payload and request-reply body: read tolerantly, built strictly.

Services and the gateway read each other's messages with these models. During a rolling upgrade
a newer producer may send a field that an older reader does not know yet (an optional one: the
rules are in `suara_contracts.compat`), so reading ignores unknown fields (`extra="ignore"`):
the event is handled instead of dead-lettered, the request served, the reply read. The fields a
reader knows are validated as strictly as before, and a field it ignores is dropped: never
stored, forwarded or shown.

Building a message in code is held to the opposite rule. `Model(field=...)` with a field the
model does not have, at any depth, is still a ValidationError: a misspelt optional field would
otherwise vanish silently and leave its default in place (a misspelt `identifying` on
`SubmissionReceived` would leave every answer unmarked). Only reading (`model_validate`,
`model_validate_json`, a nested field, a FastAPI body) ignores unknown fields.

The gateway's public request bodies refuse unknown fields (a 422): `suara_gateway.schemas.Public`
makes a strict copy of a model for that.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Tolerant(BaseModel):
    """Ignores unknown fields when reading; refuses them when built with keyword arguments."""

    model_config = ConfigDict(extra="ignore")

    def __init__(self, /, **data: Any) -> None:
        __tracebackhide__ = True
        self.__pydantic_validator__.validate_python(data, self_instance=self, extra="forbid")

    # pydantic reads through a model's own `__init__` when it has one (`model_validate`, nested
    # fields); marked as the base `__init__`, this one runs only when code builds a model
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]
