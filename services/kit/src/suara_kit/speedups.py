"""Work-arounds for library costs that profiling found on Suara's hot paths. Applied once, on
importing `suara_kit` (every service imports it before its models).

SQLModel builds a table model (`Case(...)`, `Outbox(...)`) through pydantic's `FieldInfo.
get_default`, which asks `inspect.signature` of every `default_factory` on every instance,
to learn whether it takes the validated data. For a builtin such as `list` that means parsing
its text signature with the tokenizer: 63 µs per field per instance here, a `Case` cost 290 µs
to build instead of 80, and the signatures left cyclic garbage behind (pydantic issue 13376,
fixed there for private attributes only). The answer depends on the factory alone, so it is
remembered per factory; factories are functions and classes, few and long-lived.
"""

from __future__ import annotations

import functools
from typing import Any


def remember_default_factory_signatures() -> bool:
    """Cache pydantic's `takes_validated_data_argument` per factory; False when this pydantic
    has no such function (a later version: then there is nothing to do)."""
    try:
        from pydantic._internal import _fields
    except ImportError:
        return False
    original = getattr(_fields, "takes_validated_data_argument", None)
    if original is None or hasattr(original, "cache_info"):
        return original is not None
    cached = functools.lru_cache(maxsize=1024)(original)

    def takes_validated_data_argument(default_factory: Any) -> bool:
        try:
            return cached(default_factory)  # type: ignore[no-any-return]
        except TypeError:  # an unhashable factory (a callable instance): ask each time
            return original(default_factory)  # type: ignore[no-any-return]

    takes_validated_data_argument.cache_info = cached.cache_info  # type: ignore[attr-defined]
    _fields.takes_validated_data_argument = takes_validated_data_argument
    return True


remember_default_factory_signatures()
