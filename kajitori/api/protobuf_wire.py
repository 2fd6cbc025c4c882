"""The protobuf wire format, read: varints, fixed-width numbers and length-delimited fields.

This is all of protobuf that Kubernetes' encoding needs (it is proto2 without groups,
extensions or packed fields of its own making). ``fields`` walks one message's bytes
and yields each field as it stands on the wire; what the numbers mean is the schema's
business (``protobuf_schema``), not this module's. Every malformed input (a varint
that never ends, a length past the end, wire type 3/4/6/7, field number 0) raises
``WireError`` naming the offset, never an IndexError: the API server answers 400 for it.

Written here rather than taken from the ``protobuf`` package: the part needed is about
a hundred lines, a decoder driven by our own tables needs no generated classes, and the
package's pure-Python wire internals are private API.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

VARINT, FIXED64, LENGTH, START_GROUP, END_GROUP, FIXED32 = 0, 1, 2, 3, 4, 5
WIRE_TYPE_NAMES = {VARINT: "varint", FIXED64: "fixed64", LENGTH: "length-delimited", FIXED32: "fixed32"}
_MAX_VARINT_BYTES = 10  # 64 bits in 7-bit groups
_MAX_FIELD_NUMBER = 2**29 - 1


class WireError(ValueError):
    """The bytes are not a protobuf message."""


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """The unsigned varint at ``pos`` (at most 64 bits) and the offset after it."""
    if pos < len(buf) and buf[pos] < 0x80:
        return buf[pos], pos + 1  # one byte: most keys and lengths
    value = shift = 0
    for i in range(pos, min(pos + _MAX_VARINT_BYTES, len(buf))):
        byte = buf[i]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value & 0xFFFFFFFFFFFFFFFF, i + 1
        shift += 7
    if pos + _MAX_VARINT_BYTES <= len(buf):
        raise WireError(f"varint at offset {pos} is longer than {_MAX_VARINT_BYTES} bytes")
    raise WireError(f"truncated varint at offset {pos}")


def signed(value: int, bits: int) -> int:
    """An int32/int64 varint as the signed number it encodes (two's complement, sign-extended to 64 bits)."""
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def fields(buf: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """Each field of one message: (number, wire type, value).

    A varint's value is the unsigned 64-bit number, a fixed64/fixed32 its unsigned
    little-endian number, a length-delimited field its bytes.
    """
    pos, end = 0, len(buf)
    while pos < end:
        start = pos
        key, pos = read_varint(buf, pos)
        number, wire_type = key >> 3, key & 7
        if number == 0 or number > _MAX_FIELD_NUMBER:
            raise WireError(f"invalid field number {number} at offset {start}")
        value: int | bytes
        if wire_type == VARINT:
            value, pos = read_varint(buf, pos)
        elif wire_type == LENGTH:
            length, pos = read_varint(buf, pos)
            if length > end - pos:
                raise WireError(
                    f"field {number} at offset {start} has length {length}, past the end of the message"
                )
            value, pos = buf[pos : pos + length], pos + length
        elif wire_type in (FIXED64, FIXED32):
            size = 8 if wire_type == FIXED64 else 4
            if pos + size > end:
                raise WireError(f"truncated fixed{size * 8} field {number} at offset {start}")
            value = int.from_bytes(buf[pos : pos + size], "little")
            pos += size
        else:
            raise WireError(f"unsupported wire type {wire_type} (field {number}) at offset {start}")
        yield number, wire_type, value


def as_double(value: int) -> float:
    """A fixed64 field's bits as the IEEE double they hold."""
    result: float = struct.unpack("<d", value.to_bytes(8, "little"))[0]
    return result


def packed_varints(buf: bytes) -> list[int]:
    """The values of a packed repeated varint field."""
    values, pos = [], 0
    while pos < len(buf):
        value, pos = read_varint(buf, pos)
        values.append(value)
    return values
