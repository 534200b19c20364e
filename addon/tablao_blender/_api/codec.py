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

A request body (`RequestBody.from_json`, or `decode_request`) is decoded strictly: a `null` is
refused (the OpenAPI document declares no field nullable; an optional field is left out), a number
must be finite (Python's JSON reader takes `NaN` and `Infinity`), the bounds in the field's metadata
(`app.api.limits.limits`) are checked, and then the model's own checks across its fields
(`RequestBody.check_fields`: one value may not exceed another, one of two keys is needed). The
Manager answers a `ContractError` there with a 400 carrying its message, which names the field:
"`settings.frames` must be a string, not a number". An answer from a Manager is decoded leniently (a `null` is as good as absent, no bounds),
so a dashboard keeps working with a Manager that writes a little differently.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar

from .errors import ContractError
from .limits import kind, number_words, shown, text_problem, tree_problem

T = TypeVar("T")

_MISSING = dataclasses.MISSING
#: A decoder: the value, its path (for messages) and whether it is a request (strict).
Decoder = Callable[[Any, str, bool], Any]


def wire(name: str | None, **bounds: Any) -> dict[str, Any]:
    """Field metadata naming the JSON key, for `field(metadata=wire("shamanEnabled"))`; `bounds`
    as `app.api.limits.limits` gives them."""
    return {"wire": name, **bounds}


class _Field:
    __slots__ = ("name", "key", "required", "omit_none", "default", "decode", "encode", "check", "want")

    def __init__(self, f: dataclasses.Field[Any], hint: Any) -> None:
        self.name = f.name
        self.key = f.metadata.get("wire", f.name)
        has_default = f.default is not _MISSING or f.default_factory is not _MISSING
        self.required = not has_default
        self.omit_none = f.default is None
        self.default: Callable[[], Any] = (
            f.default_factory if f.default_factory is not _MISSING else (lambda v=f.default: v)  # type: ignore[misc]
        )
        self.want = _want(_inner(hint), f.metadata)
        self.decode = _decoder(hint, self.want)
        self.encode = _encoder(hint)
        self.check = _checker(f.metadata, _inner(hint))


_plans: dict[type, list[_Field]] = {}


def _plan(cls: type) -> list[_Field]:
    plan = _plans.get(cls)
    if plan is None:
        hints = typing.get_type_hints(cls)
        plan = [_Field(f, hints[f.name]) for f in dataclasses.fields(cls)
                if f.init and f.metadata.get("wire", f.name) is not None]
        _plans[cls] = plan
    return plan


def fields_of(cls: type) -> list[tuple[str, Any, bool, dict[str, Any]]]:
    """(JSON key, type, required, metadata) of each field a model puts on the wire."""
    hints = typing.get_type_hints(cls)
    return [(f.metadata.get("wire", f.name), hints[f.name],
             f.default is _MISSING and f.default_factory is _MISSING, dict(f.metadata))
            for f in dataclasses.fields(cls) if f.init and f.metadata.get("wire", f.name) is not None]


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
    """A `cls` from a Manager's JSON object; `ContractError` when the object does not fit."""
    return _decode(cls, data, path or cls.__name__, False)


def decode_request(cls: type[T], data: Any, path: str = "") -> T:
    """A `cls` from a request body, strictly: types, required keys, no stray null, the bounds in
    the fields' metadata; `ContractError` naming the field otherwise."""
    return _decode(cls, data, path, True)


def _decode(cls: type[T], data: Any, path: str, strict: bool) -> T:
    if not isinstance(data, dict):
        where = f"`{path}` must be" if path else "expected"
        raise ContractError(f"{where} a JSON object, not {kind(data)}")
    kwargs: dict[str, Any] = {}
    for f in _plan(cls):
        at = f"{path}.{f.key}" if path else f.key
        value = data.get(f.key)
        if value is not None:
            value = kwargs[f.name] = f.decode(value, at, strict)
            if strict and f.check is not None:
                f.check(value, at)
        elif f.key in data and strict:
            raise ContractError(f"`{at}` {'is required:' if f.required else 'must be'} {f.want}, not null")
        elif f.required:
            raise ContractError(f"`{at}` is required: {f.want}")
    obj = cls(**kwargs)
    if strict and isinstance(obj, RequestBody):
        obj.check_fields(path)
    return obj


def field_path(path: str, key: str) -> str:
    """The path of `key` inside the object at `path`, as the messages name it ("gpus[0].name")."""
    return f"{path}.{key}" if path else key


def check_not_more(obj: Any, path: str, part: str, whole: str) -> None:
    """`ContractError` when both fields are given and `part` is more than `whole` (memory used and
    in all, a sample and the samples of a frame)."""
    low, high = getattr(obj, part), getattr(obj, whole)
    if low is not None and high is not None and low > high:
        raise ContractError(f"`{field_path(path, part)}` ({low:,}) cannot be more than "
                            f"`{field_path(path, whole)}` ({high:,})")


# --- per-type converters -------------------------------------------------------------------------

_WANT = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}


def _inner(hint: Any) -> Any:
    """`X` of `X | None`."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return inner[0] if len(inner) == 1 else Any
    return hint


def _want(hint: Any, meta: Any) -> str:
    """What a field takes, in words, for the messages."""
    choices = meta.get("choices")
    if choices is None and isinstance(hint, type) and issubclass(hint, enum.Enum):
        choices = tuple(str(m.value) for m in hint)
    if choices:
        return "one of " + ", ".join(choices)
    origin = typing.get_origin(hint)
    if origin is list:
        return "a list"
    if origin is dict or dataclasses.is_dataclass(hint):
        return "an object"
    want = _WANT.get(hint, "a value")
    if hint in (int, float):
        return number_words(want, meta.get("least"), meta.get("most"))
    return want


def _decoder(hint: Any, want: str | None = None) -> Decoder:
    """`want`: a field's own words for a scalar or enum (its range, its choices)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _decoder(inner[0], want) if len(inner) == 1 else _any
    if hint is Any or hint is object:
        return _any
    if origin is list:
        return _list_decoder(_decoder(args[0]) if args else _any)
    if origin is dict:
        return _dict_decoder(_decoder(args[1]) if args else _any)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _model_decoder(hint)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _enum_decoder(hint, want or _want(hint, {}))
    if isinstance(hint, type) and hint in _SCALARS:
        return _scalar(hint, _SCALARS[hint], want or _WANT[hint])
    raise TypeError(f"no wire decoder for {hint!r}")


#: The JSON types each scalar field accepts (an int is a float's value too).
_SCALARS: dict[type, tuple[type[Any], ...]] = {bool: (bool,), int: (int,), float: (int, float), str: (str,)}


def _list_decoder(item: Decoder) -> Decoder:
    def dec_list(v: Any, path: str, strict: bool) -> list[Any]:
        if not isinstance(v, list):
            raise ContractError(f"`{path}` must be a list, not {kind(v)}")
        return [item(x, f"{path}[{i}]", strict) for i, x in enumerate(v)]
    return dec_list


def _dict_decoder(value: Decoder) -> Decoder:
    def dec_dict(v: Any, path: str, strict: bool) -> dict[str, Any]:
        if not isinstance(v, dict):
            raise ContractError(f"`{path}` must be an object, not {kind(v)}")
        return {str(k): value(x, f"{path}.{k}", strict) for k, x in v.items()}
    return dec_dict


def _model_decoder(model: type) -> Decoder:
    def dec_model(v: Any, path: str, strict: bool) -> Any:
        return _decode(model, v, path, strict)
    return dec_model


def _enum_decoder(hint: type[enum.Enum], known: str) -> Decoder:
    def dec_enum(v: Any, path: str, strict: bool) -> Any:
        try:
            return hint(v)
        except (ValueError, TypeError):
            raise ContractError(f"`{path}` must be {known}, not {shown(v)}") from None
    return dec_enum


def _any(v: Any, path: str, strict: bool) -> Any:
    return v


def _scalar(name: type, accepted: tuple[type[Any], ...], want: str) -> Decoder:
    def dec(v: Any, path: str, strict: bool) -> Any:
        # bool is an int in Python, but a JSON true is no count.
        if not isinstance(v, accepted) or (name is not bool and isinstance(v, bool)):
            raise ContractError(f"`{path}` must be {want}, not {kind(v)}")
        if name is float:
            if strict and not math.isfinite(v):  # JSON has no NaN; Python's reader takes it
                raise ContractError(f"`{path}` must be {want}, not {shown(v)}")
            return float(v)
        return v
    return dec


Check = Callable[[Any, str], None]


def _checker(meta: Any, hint: Any) -> Check | None:
    """The bounds of a request field (its metadata's `limits`) as one check, or None."""
    checks = [check for build in _CHECKS if (check := build(meta, hint)) is not None]
    if len(checks) <= 1:
        return checks[0] if checks else None

    def all_checks(v: Any, path: str) -> None:
        for check in checks:
            check(v, path)
    return all_checks


def _items_check(meta: Any, hint: Any) -> Check | None:
    max_items = meta.get("max_items")
    if max_items is None:
        return None

    def items(v: Any, path: str) -> None:
        if len(v) > max_items:
            raise ContractError(f"`{path}` may have at most {max_items:,} items (it has {len(v):,})")
    return items


def _text_check(meta: Any, hint: Any) -> Check | None:
    max_len = meta.get("max_len")
    if max_len is None:
        return None

    def text(v: Any, path: str) -> None:
        for at, s in ((f"{path}[{i}]", s) for i, s in enumerate(v)) if isinstance(v, list) else ((path, v),):
            problem = text_problem(s, max_len)
            if problem:
                raise ContractError(f"`{at}` {problem}")
    return text


def _nonblank_check(meta: Any, hint: Any) -> Check | None:
    if not meta.get("nonblank"):
        return None

    def nonblank(v: Any, path: str) -> None:
        if not v.strip():
            raise ContractError(f"`{path}` is required and must not be empty")
    return nonblank


def _range_check(meta: Any, hint: Any) -> Check | None:
    least, most = meta.get("least"), meta.get("most")
    if least is None and most is None:
        return None
    want = _want(hint, meta)

    def in_range(v: Any, path: str) -> None:
        # NaN (Python's JSON reader takes it) compares false with everything: it is out of any range.
        if v != v or (least is not None and v < least) or (most is not None and v > most):
            raise ContractError(f"`{path}` must be {want}, not {shown(v)}")
    return in_range


def _choices_check(meta: Any, hint: Any) -> Check | None:
    choices = meta.get("choices")
    if choices is None:
        return None
    want = _want(hint, meta)

    def chosen(v: Any, path: str) -> None:
        raw = v.value if isinstance(v, enum.Enum) else v
        if raw not in choices:
            raise ContractError(f"`{path}` must be {want}, not {shown(raw)}")
    return chosen


def _tree_check(meta: Any, hint: Any) -> Check | None:
    if not meta.get("tree"):
        return None

    def tree(v: Any, path: str) -> None:
        problem = tree_problem(v, path)
        if problem:
            raise ContractError(problem)
    return tree


_CHECKS = (_items_check, _text_check, _nonblank_check, _range_check, _choices_check, _tree_check)


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
    """Mixin giving a wire dataclass `to_json()` and `from_json()` (of a Manager's answer)."""

    __slots__ = ()

    def to_json(self) -> dict[str, Any]:
        return encode(self)

    @classmethod
    def from_json(cls: type[T], data: Any) -> T:
        return decode(cls, data)


class RequestBody(Wire):
    """Mixin of a request model: its `from_json` decodes strictly (`decode_request`), so the
    Manager, the client and the worker share one description of every body."""

    __slots__ = ()

    @classmethod
    def from_json(cls: type[T], data: Any) -> T:
        return decode_request(cls, data)

    def check_fields(self, path: str) -> None:
        """The model's checks across its fields, once each field fits on its own; raise
        `ContractError` naming the fields (`field_path(path, key)`). None by default."""
