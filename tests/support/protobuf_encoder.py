"""A protobuf encoder for the tests, driven by the same tables the decoder reads.

It writes what Go's gogo encoder writes for an object in its JSON form (every field
the dict has, in table order), so a decode of its output must give the dict back.
It is written here, apart from the decoder, so that a wrong rule in either shows up.
"""

from __future__ import annotations

import base64
import struct
from datetime import UTC, datetime
from typing import Any

import orjson

from kajitori.api import protobuf_schema as schema
from kajitori.api.protobuf import MAGIC


def varint(value: int) -> bytes:
    value &= 0xFFFFFFFFFFFFFFFF  # negative numbers as 64-bit two's complement, as Go writes int32 and int64
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def key(number: int, wire_type: int) -> bytes:
    return varint(number << 3 | wire_type)


def length_delimited(number: int, payload: bytes) -> bytes:
    return key(number, 2) + varint(len(payload)) + payload


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = length_delimited(1, api_version.encode()) + length_delimited(2, kind.encode())
    return MAGIC + length_delimited(1, type_meta) + length_delimited(2, raw) + length_delimited(3, b"") + length_delimited(4, b"")


def encode_object(obj: dict[str, Any]) -> bytes:
    name = schema.message_for(obj["apiVersion"], obj["kind"])
    assert name is not None, obj["kind"]
    body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    return envelope(obj["apiVersion"], obj["kind"], encode_message(name, body))


def encode_message(name: str, obj: dict[str, Any]) -> bytes:
    out = b""
    for spec in sorted(schema.message(name).values(), key=lambda f: f.number):
        if spec.inline:
            inner = {f.json for f in schema.message(spec.type).values()}
            out += length_delimited(spec.number, encode_message(spec.type, {k: v for k, v in obj.items() if k in inner}))
            continue
        if spec.json not in obj:
            continue
        value = obj[spec.json]
        if spec.map_key is not None:
            for k, v in value.items():
                out += length_delimited(spec.number, length_delimited(1, k.encode()) + _field(spec, 2, v))
        elif spec.repeated:
            for item in value:
                out += _field(spec, spec.number, item)
        else:
            out += _field(spec, spec.number, value)
    return out


def _field(spec: schema.Field, number: int, value: Any) -> bytes:
    t = spec.type
    if t == "string":
        return length_delimited(number, value.encode())
    if t == "bytes":
        return length_delimited(number, base64.b64decode(value))
    if t in ("bool", "int32", "int64"):
        return key(number, 0) + varint(int(value))
    if t == "float64":
        return key(number, 1) + struct.pack("<d", value)
    if t in ("Time", "MicroTime"):
        moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ" if "." in value else "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        seconds = int(moment.timestamp() // 1)
        payload = key(1, 0) + varint(seconds) + key(2, 0) + varint(moment.microsecond * 1000)
        return length_delimited(number, payload)
    if t == "IntOrString":
        payload = key(1, 0) + varint(1) + length_delimited(3, value.encode()) if isinstance(value, str) else key(1, 0) + varint(0) + key(2, 0) + varint(value)
        return length_delimited(number, payload)
    if t == "Quantity":
        return length_delimited(number, length_delimited(1, value.encode()))
    if t == "FieldsV1":
        return length_delimited(number, length_delimited(1, orjson.dumps(value)))
    return length_delimited(number, encode_message(t, value))
