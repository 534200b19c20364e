"""JSON encoding and decoding of the wire models: one small, stdlib-only codec driven by the fields.

A wire model is a dataclass. Its fields say the contract:

* a field without a default is required: decoding fails without it, encoding always writes it;
* a field whose default is None is optional: encoding leaves it out while it is None (Flamenco's
  `omitempty`), decoding gives None when the key is absent;
* a field with another default is written always and read with that default when absent;
* `wire("camelName")` as the field's metadata names the JSON key when it is not the field name;
  `wire(None)` keeps a field off the wire (what the client learnt from a header, for example).

Decoding checks the type of every known key and raises `ContractError` naming the path of the
value that does not fit; keys the model does not know are ignored (a newer Manager may add some).
The per-class plan is built once, on first use, so encoding costs a loop over the fields.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar

from .errors import ContractError

T = TypeVar("T")

_MISSING = dataclasses.MISSING


def wire(name: str | None) -> dict[str, str | None]:
    """Field metadata naming the JSON key, for `field(metadata=wire("shamanEnabled"))`."""
    return {"wire": name}


class _Field:
    __slots__ = ("name", "key", "required", "omit_none", "default", "decode", "encode")

    def __init__(self, f: dataclasses.Field[Any], hint: Any) -> None:
        self.name = f.name
        self.key = f.metadata.get("wire", f.name)
        has_default = f.default is not _MISSING or f.default_factory is not _MISSING
        self.required = not has_default
        self.omit_none = f.default is None
        self.default: Callable[[], Any] = (
            f.default_factory if f.default_factory is not _MISSING else (lambda v=f.default: v)  # type: ignore[misc]
        )
        self.decode = _decoder(hint)
        self.encode = _encoder(hint)


_plans: dict[type, list[_Field]] = {}


def _plan(cls: type) -> list[_Field]:
    plan = _plans.get(cls)
    if plan is None:
        hints = typing.get_type_hints(cls)
        plan = [_Field(f, hints[f.name]) for f in dataclasses.fields(cls)
                if f.init and f.metadata.get("wire", f.name) is not None]
        _plans[cls] = plan
    return plan


def encode(obj: Any) -> dict[str, Any]:
    """The JSON object of a wire model (nested models, lists and dicts of them included)."""
    out: dict[str, Any] = {}
    for f in _plan(type(obj)):
        value = getattr(obj, f.name)
        if value is None:
            if f.omit_none:
                continue
            out[f.key] = None
        else:
            out[f.key] = value if f.encode is None else f.encode(value)
    return out


def decode(cls: type[T], data: Any, path: str = "") -> T:
    """A `cls` from its JSON object; `ContractError` when the object does not fit."""
    where = path or cls.__name__
    if not isinstance(data, dict):
        raise ContractError(f"{where}: expected an object, got {_kind(data)}")
    kwargs: dict[str, Any] = {}
    for f in _plan(cls):
        if f.key in data and data[f.key] is not None:
            kwargs[f.name] = f.decode(data[f.key], f"{where}.{f.key}")
        elif f.required:
            raise ContractError(f"{where}: required field {f.key!r} is missing")
    return cls(**kwargs)


# --- per-type converters -------------------------------------------------------------------------


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _decoder(hint: Any) -> Callable[[Any, str], Any]:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _decoder(inner[0]) if len(inner) == 1 else _any
    if hint is Any or hint is object:
        return _any
    if origin is list:
        return _list_decoder(_decoder(args[0]) if args else _any)
    if origin is dict:
        return _dict_decoder(_decoder(args[1]) if args else _any)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return lambda v, path: decode(hint, v, path)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _enum_decoder(hint)
    if isinstance(hint, type) and hint in _SCALARS:
        return _scalar(hint, _SCALARS[hint])
    raise TypeError(f"no wire decoder for {hint!r}")


#: The JSON types each scalar field accepts (an int is a float's value too).
_SCALARS: dict[type, tuple[type, ...]] = {bool: (bool,), int: (int,), float: (int, float), str: (str,)}


def _list_decoder(item: Callable[[Any, str], Any]) -> Callable[[Any, str], list[Any]]:
    def dec_list(v: Any, path: str) -> list[Any]:
        if not isinstance(v, list):
            raise ContractError(f"{path}: expected a list, got {_kind(v)}")
        return [item(x, f"{path}[{i}]") for i, x in enumerate(v)]
    return dec_list


def _dict_decoder(value: Callable[[Any, str], Any]) -> Callable[[Any, str], dict[str, Any]]:
    def dec_dict(v: Any, path: str) -> dict[str, Any]:
        if not isinstance(v, dict):
            raise ContractError(f"{path}: expected an object, got {_kind(v)}")
        return {str(k): value(x, f"{path}.{k}") for k, x in v.items()}
    return dec_dict


def _enum_decoder(hint: type[enum.Enum]) -> Callable[[Any, str], Any]:
    def dec_enum(v: Any, path: str) -> Any:
        try:
            return hint(v)
        except ValueError:
            raise ContractError(f"{path}: {v!r} is not a known {hint.__name__}") from None
    return dec_enum


def _any(v: Any, path: str) -> Any:
    return v


def _scalar(name: type, accepted: tuple[type[Any], ...]) -> Callable[[Any, str], Any]:
    def dec(v: Any, path: str) -> Any:
        # bool is an int in Python, but a JSON true is no count.
        if not isinstance(v, accepted) or (name is not bool and isinstance(v, bool)):
            raise ContractError(f"{path}: expected {name.__name__}, got {_kind(v)}")
        return float(v) if name is float else v
    return dec


def _encoder(hint: Any) -> Callable[[Any], Any] | None:
    """None where the value is its own JSON (scalars, str enums, plain dicts and lists)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _encoder(inner[0]) if len(inner) == 1 else None
    if origin is list and args and _encoder(args[0]) is not None:
        item = _encoder(args[0])
        return lambda v: [item(x) for x in v]  # type: ignore[misc]
    if origin is dict and len(args) == 2 and _encoder(args[1]) is not None:
        value = _encoder(args[1])
        return lambda v: {k: value(x) for k, x in v.items()}  # type: ignore[misc]
    if dataclasses.is_dataclass(hint):
        return encode
    return None


class Wire:
    """Mixin giving a wire dataclass `to_json()` and `from_json()`."""

    __slots__ = ()

    def to_json(self) -> dict[str, Any]:
        return encode(self)

    @classmethod
    def from_json(cls: type[T], data: Any) -> T:
        return decode(cls, data)
