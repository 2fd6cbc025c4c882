"""Request bodies: JSON, YAML or Kubernetes' protobuf bytes decoded into plain JSON values, within bounds.

The raw body is bounded by ``MAX_BODY_BYTES`` before it is read; what it decodes
to is bounded here, because a small YAML body can stand for a huge document: an
anchor used by aliases, each used by more aliases (Kubernetes' CVE-2019-11253,
the "billion laughs"). PyYAML shares one object per anchor, so loading is cheap,
but everything after it (validation, copies, JSON encoding) pays for the expanded
tree. ``check_tree`` walks the decoded value as if every alias were expanded,
counting an estimate of its JSON size, and stops with a 4xx as soon as it passes
``MAX_DECODED_BYTES`` or ``MAX_DEPTH``: its work is bounded by those limits, not by
the document. The same walk refuses what is not JSON — integers beyond int64,
NaN and infinities, strings that are not valid Unicode (lone surrogates), keys
that are not strings, YAML's bytes, sets and explicit timestamps — so nothing a
client sends can fail later, when the object is encoded for the store, after
work was done, or worse in a watcher. YAML timestamps written plainly
(``2026-12-01``) stay strings, as Kubernetes' YAML-to-JSON conversion keeps them.

The YAML parser is libyaml's (``CSafeLoader``) where PyYAML has it: the pure-Python
one takes seconds on a 3 MiB body with the event loop held, and recurses in Python
on deep nesting; libyaml bounds its own nesting.
"""

from __future__ import annotations

import math
from typing import Any

import orjson
import yaml

from kajitori.api import protobuf
from master.apiserver import errors

MAX_BODY_BYTES = 3 * 1024 * 1024  # Kubernetes' limit for a request body
# What a body may stand for once aliases are expanded, in bytes of JSON (about).
MAX_DECODED_BYTES = MAX_BODY_BYTES
# Deep enough for any Kubernetes object (a Deployment's containers sit at depth 6); far
# below Python's recursion limit, which copies, validation and encoding all meet.
MAX_DEPTH = 100
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML without implicit timestamps (``2026-12-01`` is a string, as in Kubernetes)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class BodyError(ValueError):
    """The decoded body is not a JSON value within the bounds; ``field`` is where (``spec.x[0]``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


def decode_body(raw: bytes, content_type: str) -> Any:
    """The body as a JSON value (dict, list, str, int, float, bool, None), or a 400 ``ApiError``.

    Protobuf bodies (``kajitori.api.protobuf``) decode to the same dict JSON gives and
    pass the same bounds.
    """
    if content_type == protobuf.MEDIA_TYPE:
        # kubectl >= 1.32 sends typed objects so; the answer is JSON all the same, which it reads.
        try:
            value = protobuf.decode_object(raw)
        except protobuf.ProtobufError as exc:
            raise errors.bad_request(f"the request body is not a valid Kubernetes protobuf object: {exc}") from None
        what = "protobuf"
    elif "yaml" in content_type:
        try:
            value = _json_object(raw)
            if value is None:
                value = yaml.load(raw, Loader=_Loader)
        except yaml.YAMLError as exc:
            raise errors.bad_request(f"the request body is not valid YAML: {exc}") from None
        except (ValueError, TypeError, RecursionError, OverflowError) as exc:
            # PyYAML's constructors raise these on hostile scalars (an integer of 5,000 digits).
            raise errors.bad_request(f"the request body is not valid YAML: {type(exc).__name__}: {exc}") from None
        what = "YAML"
    else:
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise errors.bad_request(f"the request body is not valid JSON: {exc}") from None
        what = "JSON"
    try:
        check_tree(value)
    except BodyError as exc:
        raise errors.ApiError(
            400,
            "BadRequest",
            f"the request body is not a valid {what} object: {exc}",
            causes=[errors.StatusCause(reason="FieldValueInvalid", field=exc.field or None, message=exc.message)],
        ) from None
    return value


def _json_object(raw: bytes) -> Any:
    """A YAML body that is a JSON object, read as JSON (kubectl's server-side apply sends JSON as apply-patch+yaml); else None."""
    if raw.lstrip()[:1] != b"{":
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None  # a YAML flow mapping: the YAML parser reads it


def check_tree(value: Any, *, max_bytes: int = MAX_DECODED_BYTES, max_depth: int = MAX_DEPTH) -> int:
    """The JSON size (about) of ``value`` with every alias expanded; BodyError past a bound or on a non-JSON value.

    Iterative, and it stops at the first bound crossed, so its work is at most about
    ``max_bytes`` steps whatever the value stands for. Paths are built only for an
    error: each entry points at its parent.
    """
    size = 0
    root: _Entry = (value, None, None, 0)
    stack: list[_Entry] = [root]
    while stack:
        entry = stack.pop()
        item, _, _, depth = entry
        if depth > max_depth:
            raise BodyError(_path(entry), f"nested more than {max_depth} levels deep")
        if isinstance(item, str):
            size += len(item) + 3
            _check_text(item, entry)
        elif isinstance(item, bool) or item is None:
            size += 5
        elif isinstance(item, int):
            if not _INT64_MIN <= item <= _INT64_MAX:
                raise BodyError(_path(entry), "integer out of range: must fit in 64 bits")
            size += 21
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise BodyError(_path(entry), f"{item} is not a JSON number")
            size += 24
        elif isinstance(item, dict):
            size += 2 + 4 * len(item)
            _check_size(size, max_bytes)
            for key, child in item.items():
                if not isinstance(key, str):
                    raise BodyError(_path(entry), f"the key {key!r} is not a string")
                size += len(key)
                stack.append((child, entry, key, depth + 1))
                _check_text(key, stack[-1])
        elif isinstance(item, list):
            size += 2 + len(item)
            _check_size(size, max_bytes)
            stack.extend((child, entry, i, depth + 1) for i, child in enumerate(item))
        else:
            raise BodyError(_path(entry), f"a {type(item).__name__} is not a JSON value")
        _check_size(size, max_bytes)
    return size


# (value, parent entry, key or index in the parent, depth)
_Entry = tuple[Any, Any, "str | int | None", int]


def _check_size(size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise BodyError("", f"it decodes to more than {max_bytes} bytes (aliases expanded)")


def _path(entry: _Entry) -> str:
    parts: list[str] = []
    while entry[1] is not None:
        key = entry[2]
        # A key can be megabytes long: the path names it by its start.
        parts.append(f"[{key}]" if isinstance(key, int) else f".{str(key)[:64]}")
        entry = entry[1]
    path = "".join(reversed(parts)).removeprefix(".")
    return path if len(path) <= 256 else "..." + path[-253:]


def _check_text(text: str, entry: _Entry) -> None:
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise BodyError(_path(entry), "the string is not valid Unicode (a lone surrogate)") from None
