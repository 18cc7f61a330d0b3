"""Pydantic models built from values that are valid by construction, without pydantic's per-field work.

`Model.model_construct(**values)` skips validation but still walks every field (defaults, aliases,
the set of fields given). Hot paths that build many small models (every figure the extractor
finds, the period of every figure stored) give every field already, in field order: for them the
model's dict can be taken as it is.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_new = object.__new__
_set = object.__setattr__
_FIELDS: dict[type, frozenset[str]] = {}


def build_trusted(cls: type[M], values: dict[str, Any]) -> M:
    """`cls.model_construct(**values)` for `values` that give every field of `cls`, in field order,
    each already of its field's type (nothing is checked: the caller vouches for them). The dict
    becomes the model's own."""
    fields = _FIELDS.get(cls)
    if fields is None:
        fields = _FIELDS[cls] = frozenset(cls.model_fields)
    model = _new(cls)
    _set(model, "__dict__", values)
    _set(model, "__pydantic_fields_set__", set(fields))
    _set(model, "__pydantic_extra__", None)
    _set(model, "__pydantic_private__", None)
    return model
