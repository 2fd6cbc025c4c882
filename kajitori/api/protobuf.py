"""Kubernetes' protobuf encoding (``application/vnd.kubernetes.protobuf``) decoded into the JSON shape.

A body is the 4-byte magic ``k8s\\x00`` and then a ``runtime.Unknown`` envelope: typeMeta
(apiVersion, kind), raw (the kind's message), contentEncoding and contentType (both
empty). ``decode_object`` turns it into exactly the dict that Go's ``json.Marshal`` of
the same object would give, so it then goes through the same models and validation as
a JSON body:

- the JSON names, ``,inline`` messages lifted into their parent, maps from their
  key/value entries, ``bytes`` as base64, ``Time`` as RFC 3339 seconds, ``MicroTime``
  with microseconds, ``IntOrString`` as a number or a string, ``Quantity`` as its
  string, ``FieldsV1`` as the JSON it carries;
- Go's gogo encoder writes every non-pointer field, zero or not, so a zero value is
  kept only where JSON would keep it: pointers (``replicas: 0``), fields without
  ``omitempty`` and nested structs (``resources: {}``); a zero ``Time`` is absent, as
  its JSON ``null`` is to the models;
- a field number the tables do not have is skipped, as Go's decoder keeps it aside;
  malformed bytes, a wrong wire type or an unknown kind raise ``ProtobufError`` naming
  the field path, which the API server answers with 400.
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from typing import Any

import orjson

from kajitori.api import protobuf_schema as schema
from kajitori.api.protobuf_wire import (
    FIXED64,
    LENGTH,
    VARINT,
    WIRE_TYPE_NAMES,
    WireError,
    as_double,
    fields,
    packed_varints,
    signed,
)

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"
_MAX_DEPTH = 64  # the deepest message the tables reach is far less; a body cannot recurse past it
_EPOCH = datetime(1970, 1, 1)
_WIRE_TYPE = {
    "string": LENGTH,
    "bytes": LENGTH,
    "bool": VARINT,
    "int32": VARINT,
    "int64": VARINT,
    "float64": FIXED64,
}


class ProtobufError(ValueError):
    """The body is not a Kubernetes protobuf object this server can read."""


def decode_object(body: bytes) -> dict[str, Any]:
    """The object of a ``k8s\\x00`` + ``runtime.Unknown`` body, with its apiVersion and kind, as JSON would give it."""
    if not body.startswith(MAGIC):
        raise ProtobufError("the body does not start with the Kubernetes protobuf prefix k8s\\x00")
    try:
        envelope = _envelope(body[len(MAGIC) :])
        api_version, kind = envelope["apiVersion"], envelope["kind"]
        if envelope["contentEncoding"]:
            raise ProtobufError(f"content encoding {envelope['contentEncoding']!r} is not supported")
        if envelope["contentType"] not in ("", MEDIA_TYPE):
            raise ProtobufError(
                f"the envelope's content type {envelope['contentType']!r} is not {MEDIA_TYPE}"
            )
        name = schema.message_for(api_version, kind)
        if name is None:
            raise ProtobufError(f'no kind "{kind}" is registered for version "{api_version}"')
        obj = decode_message(name, envelope["raw"])
    except WireError as exc:
        raise ProtobufError(str(exc)) from None
    return {"apiVersion": api_version, "kind": kind, **obj}


def _envelope(buf: bytes) -> dict[str, Any]:
    envelope: dict[str, Any] = {
        "apiVersion": "",
        "kind": "",
        "raw": b"",
        "contentEncoding": "",
        "contentType": "",
    }
    for number, wire_type, value in fields(buf):
        if number == 1 and isinstance(value, bytes):
            for sub, _, sub_value in fields(value):
                if sub in (1, 2) and isinstance(sub_value, bytes):
                    envelope["apiVersion" if sub == 1 else "kind"] = _text(sub_value)
        elif number == 2 and isinstance(value, bytes):
            envelope["raw"] = value
        elif number in (3, 4) and isinstance(value, bytes):
            envelope["contentEncoding" if number == 3 else "contentType"] = _text(value)
        elif number <= 4:
            raise ProtobufError(
                f"envelope field {number}: wire type {WIRE_TYPE_NAMES.get(wire_type, wire_type)}, expected length-delimited"
            )
    return envelope


def decode_message(name: str, buf: bytes, path: str = "", depth: int = 0) -> dict[str, Any]:
    """One message of the tables as its JSON object (``path`` names it in errors)."""
    if depth > _MAX_DEPTH:
        raise ProtobufError(f"{path or name}: messages nested deeper than {_MAX_DEPTH}")
    table = schema.message(name)
    try:
        present = _fields_present(table, buf, path, depth)
    except WireError as exc:
        raise ProtobufError(f"{path}: {exc}" if path else str(exc)) from None
    obj: dict[str, Any] = {}
    for number, value in present.items():
        spec = table[number]
        if spec.inline:
            obj.update(value)
        elif _kept(spec, value):
            obj[spec.json] = value
    return obj


def _fields_present(table: dict[int, schema.Field], buf: bytes, path: str, depth: int) -> dict[int, Any]:
    """The decoded value of each field the tables know, by number, as the wire had it."""
    present: dict[int, Any] = {}
    for number, wire_type, value in fields(buf):
        spec = table.get(number)
        if spec is None:
            continue  # a field newer than our tables
        where = _join(path, spec.json or spec.type.rpartition(".")[2])
        if spec.map_key is not None:
            entries = present.setdefault(number, {})
            try:
                key, item = _map_entry(spec, _want(value, LENGTH, wire_type, where), where, depth)
            except WireError as exc:
                raise ProtobufError(f"{where}: {exc}") from None
            entries[key] = item
        elif spec.repeated:
            items = present.setdefault(number, [])
            if wire_type == LENGTH and spec.type in ("bool", "int32", "int64") and isinstance(value, bytes):
                # A packed list (proto3 style; Go's proto2 encoder writes one field per item).
                items.extend(_scalar(spec.type, v, VARINT, where) for v in packed_varints(value))
            else:
                items.append(_value(spec, value, wire_type, f"{where}[{len(items)}]", depth))
        else:
            decoded = _value(spec, value, wire_type, where, depth)
            previous = present.get(number)
            # Repeated occurrences of one message merge, of one scalar the last wins (protobuf's rules).
            present[number] = (
                {**previous, **decoded}
                if isinstance(previous, dict) and isinstance(decoded, dict)
                else decoded
            )
    return present


def _kept(spec: schema.Field, value: Any) -> bool:
    """Would Go's JSON encoder write this decoded value (see the module docstring)?"""
    if value is None:
        return False
    if spec.repeated or spec.map_key is not None:
        return bool(value)
    if spec.pointer or not spec.omitempty or spec.type not in schema.SCALARS:
        return True  # Go's omitempty never drops a struct (IntOrString, Quantity, a nested message)
    return value not in ("", 0, False)


def _map_entry(spec: schema.Field, buf: bytes, where: str, depth: int) -> tuple[str, Any]:
    key: Any = ""
    item: Any = None
    for number, wire_type, value in fields(buf):
        if number == 1:
            key = _scalar(spec.map_key or "string", value, wire_type, f"{where} key")
        elif number == 2:
            item = _value(spec, value, wire_type, f"{where}[{key!r}]", depth)
    if item is None:  # an entry without a value holds the zero value
        item = {} if spec.is_message else _zero(spec.type)
    return str(key), item


def _value(spec: schema.Field, value: int | bytes, wire_type: int, where: str, depth: int) -> Any:
    if spec.type in schema.SCALARS:
        return _scalar(spec.type, value, wire_type, where)
    buf = _want(value, LENGTH, wire_type, where)
    if spec.type in schema.SPECIAL:
        try:
            return _special(spec.type, buf, where)
        except WireError as exc:
            raise ProtobufError(f"{where}: {exc}") from None
    return decode_message(spec.type, buf, where, depth + 1)


def _scalar(type_name: str, value: int | bytes, wire_type: int, where: str) -> Any:
    expected = _WIRE_TYPE[type_name]
    raw = _want(value, expected, wire_type, where)
    if type_name == "string":
        return _text(raw)  # type: ignore[arg-type]
    if type_name == "bytes":
        return base64.b64encode(raw).decode("ascii")  # type: ignore[arg-type]
    assert isinstance(raw, int)
    if type_name == "bool":
        return raw != 0
    if type_name == "int32":
        return signed(raw, 32)
    if type_name == "int64":
        return signed(raw, 64)
    return as_double(raw)


def _special(type_name: str, buf: bytes, where: str) -> Any:
    parts: dict[int, int | bytes] = {number: value for number, _, value in fields(buf)}
    if type_name in ("Time", "MicroTime"):
        if not buf:
            return None  # the zero time: JSON null
        seconds = signed(_int(parts.get(1, 0), where), 64)
        nanos = signed(_int(parts.get(2, 0), where), 32)
        try:
            moment = _EPOCH + timedelta(seconds=seconds, microseconds=max(0, nanos) // 1000)
        except OverflowError:
            raise ProtobufError(f"{where}: time {seconds}s is out of range") from None
        if type_name == "Time":  # JSON carries whole seconds only
            return moment.isoformat(timespec="seconds") + "Z"
        return moment.isoformat(timespec="microseconds") + "Z"
    if type_name == "IntOrString":
        if _int(parts.get(1, 0), where) == 1:
            return _text(_bytes(parts.get(3, b""), where))
        return signed(_int(parts.get(2, 0), where), 32)
    if type_name == "Quantity":
        return _text(_bytes(parts.get(1, b""), where))
    # FieldsV1: the JSON document of the managed fields, carried as bytes.
    raw = _bytes(parts.get(1, b""), where)
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ProtobufError(f"{where}: fieldsV1 is not JSON: {exc}") from None


def _want(value: int | bytes, expected: int, wire_type: int, where: str) -> Any:
    if wire_type != expected:
        raise ProtobufError(
            f"{where}: wire type {WIRE_TYPE_NAMES.get(wire_type, wire_type)}, expected {WIRE_TYPE_NAMES[expected]}"
        )
    return value


def _int(value: int | bytes, where: str) -> int:
    if not isinstance(value, int):
        raise ProtobufError(f"{where}: a length-delimited field where a varint belongs")
    return value


def _bytes(value: int | bytes, where: str) -> bytes:
    if not isinstance(value, bytes):
        raise ProtobufError(f"{where}: a varint where a length-delimited field belongs")
    return value


def _text(raw: bytes) -> str:
    # Go keeps invalid UTF-8 in a string and its JSON encoder writes U+FFFD for it.
    return raw.decode("utf-8", errors="replace")


def _zero(type_name: str) -> Any:
    return {"string": "", "bytes": "", "bool": False, "float64": 0.0}.get(type_name, 0)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
