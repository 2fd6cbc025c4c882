"""SPDY/3.1 framing, enough to serve kubectl's port-forward (the frames of draft 3.1, no flow control).

A frame is 8 bytes of header and a payload. A control frame starts with the control bit
and version 3, then its type, flags and 24-bit length; a DATA frame starts with a 31-bit
stream id, then flags (FIN = 1) and length. Header blocks (SYN_STREAM, SYN_REPLY,
HEADERS) are ``count | (len name len value)*`` with 32-bit big-endian lengths, compressed
by ONE zlib stream per direction for the life of the connection, primed with the
dictionary of the SPDY/3 draft and sync-flushed after every block — so frames must be
encoded in the order they are sent and decoded in the order they arrive.

Neither kubectl's SPDY library nor the kubelet keeps SPDY's flow-control windows, so
WINDOW_UPDATE and SETTINGS are parsed and ignored here too.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

VERSION = 3
SYN_STREAM = 1
SYN_REPLY = 2
RST_STREAM = 3
SETTINGS = 4
PING = 6
GOAWAY = 7
HEADERS = 8
WINDOW_UPDATE = 9

FLAG_FIN = 0x01
FLAG_UNIDIRECTIONAL = 0x02

# RST_STREAM status codes
PROTOCOL_ERROR = 1
INVALID_STREAM = 2
REFUSED_STREAM = 3
CANCEL = 5
INTERNAL_ERROR = 6

MAX_LENGTH = (1 << 24) - 1
_HEADER = struct.Struct(">II")
_U32 = struct.Struct(">I")


_SPACED_WORDS = (
    "options head post put delete trace accept accept-charset accept-encoding accept-language "
    "accept-ranges age allow authorization cache-control connection content-base content-encoding "
    "content-language content-length content-location content-md5 content-range content-type date "
    "etag expect expires from host if-match if-modified-since if-none-match if-range "
    "if-unmodified-since last-modified location max-forwards pragma proxy-authenticate "
    "proxy-authorization range referer retry-after server te trailer transfer-encoding upgrade "
    "user-agent vary via warning www-authenticate method get status"
)


def _dictionary() -> bytes:
    """The zlib dictionary of SPDY/3 (draft 3, section 2.6.10.1): length-prefixed header words, then common values."""
    words = [*_SPACED_WORDS.split(" "), "200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie", "keep-alive", "origin"]
    tail = (
        "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
        "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request"
        "401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented"
        "503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 "
        "Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
        "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,"
        "text/plain,text/javascript,publicprivatemax-age=gzip,deflate,sdch"
        "charset=utf-8charset=iso-8859-1,utf-,*,enq=0."
    )
    return b"".join(_U32.pack(len(w)) + w.encode() for w in words) + tail.encode()


DICTIONARY = _dictionary()

Headers = dict[str, str]
"""Header names lowercase, as SPDY requires; several values of one name joined by NUL."""


class SpdyError(Exception):
    """The peer sent bytes that are not SPDY/3 frames."""


@dataclass(frozen=True)
class DataFrame:
    stream_id: int
    data: bytes
    fin: bool = False


@dataclass(frozen=True)
class ControlFrame:
    """Any control frame; the fields a type does not have stay at their defaults."""

    type: int
    flags: int = 0
    stream_id: int = 0
    associated_id: int = 0
    priority: int = 0
    headers: Headers = field(default_factory=dict)
    status: int = 0
    """RST_STREAM's and GOAWAY's status code."""
    ping_id: int = 0
    last_good_id: int = 0
    delta: int = 0
    """WINDOW_UPDATE's delta window size."""

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)


Frame = DataFrame | ControlFrame


def encode_header_block(headers: Headers) -> bytes:
    out = [_U32.pack(len(headers))]
    for name, value in headers.items():
        raw_name, raw_value = name.lower().encode(), value.encode()
        out += [_U32.pack(len(raw_name)), raw_name, _U32.pack(len(raw_value)), raw_value]
    return b"".join(out)


def decode_header_block(block: bytes) -> Headers:
    try:
        (count,) = _U32.unpack_from(block, 0)
        offset, headers = 4, {}
        for _ in range(count):
            (size,) = _U32.unpack_from(block, offset)
            name = block[offset + 4 : offset + 4 + size].decode()
            offset += 4 + size
            (size,) = _U32.unpack_from(block, offset)
            value = block[offset + 4 : offset + 4 + size].decode()
            offset += 4 + size
            headers[name] = value
    except (struct.error, UnicodeDecodeError) as exc:
        raise SpdyError(f"a broken header block: {exc}") from None
    return headers


class Encoder:
    """Builds frames for one direction of a connection (it owns that direction's zlib stream)."""

    def __init__(self) -> None:
        self._zlib = zlib.compressobj(9, zlib.DEFLATED, 15, 9, zlib.Z_DEFAULT_STRATEGY, DICTIONARY)

    def _compressed(self, headers: Headers) -> bytes:
        return self._zlib.compress(encode_header_block(headers)) + self._zlib.flush(zlib.Z_SYNC_FLUSH)

    @staticmethod
    def _control(type_: int, flags: int, payload: bytes) -> bytes:
        return _HEADER.pack(0x80000000 | (VERSION << 16) | type_, (flags << 24) | len(payload)) + payload

    def data(self, stream_id: int, data: bytes, *, fin: bool = False) -> bytes:
        if len(data) > MAX_LENGTH:
            raise ValueError("a DATA frame holds at most 16 MiB")
        return _HEADER.pack(stream_id & 0x7FFFFFFF, ((FLAG_FIN if fin else 0) << 24) | len(data)) + data

    def syn_stream(self, stream_id: int, headers: Headers, *, fin: bool = False, priority: int = 0) -> bytes:
        payload = struct.pack(">IIBB", stream_id, 0, (priority & 7) << 5, 0) + self._compressed(headers)
        return self._control(SYN_STREAM, FLAG_FIN if fin else 0, payload)

    def syn_reply(self, stream_id: int, headers: Headers | None = None, *, fin: bool = False) -> bytes:
        return self._control(SYN_REPLY, FLAG_FIN if fin else 0, _U32.pack(stream_id) + self._compressed(headers or {}))

    def rst_stream(self, stream_id: int, status: int) -> bytes:
        return self._control(RST_STREAM, 0, struct.pack(">II", stream_id, status))

    def ping(self, ping_id: int) -> bytes:
        return self._control(PING, 0, _U32.pack(ping_id))

    def goaway(self, last_good_id: int, status: int = 0) -> bytes:
        return self._control(GOAWAY, 0, struct.pack(">II", last_good_id, status))


class Decoder:
    """Cuts one direction's byte stream into frames, however the bytes arrive."""

    def __init__(self) -> None:
        self._pending = bytearray()
        self._zlib = zlib.decompressobj(zdict=DICTIONARY)

    def _headers(self, compressed: bytes) -> Headers:
        try:
            return decode_header_block(self._zlib.decompress(compressed))
        except zlib.error as exc:
            raise SpdyError(f"a header block that does not inflate: {exc}") from None

    def feed(self, data: bytes) -> list[Frame]:
        self._pending += data
        frames: list[Frame] = []
        while len(self._pending) >= _HEADER.size:
            first, second = _HEADER.unpack_from(self._pending)
            length = second & 0xFFFFFF
            end = _HEADER.size + length
            if len(self._pending) < end:
                break
            payload = bytes(self._pending[_HEADER.size : end])
            del self._pending[:end]
            flags = second >> 24
            if not first & 0x80000000:
                frames.append(DataFrame(first & 0x7FFFFFFF, payload, bool(flags & FLAG_FIN)))
                continue
            version, type_ = (first >> 16) & 0x7FFF, first & 0xFFFF
            if version != VERSION:
                raise SpdyError(f"SPDY version {version}, not 3")
            frames.append(self._control(type_, flags, payload))
        return frames

    def _control(self, type_: int, flags: int, payload: bytes) -> ControlFrame:
        try:
            if type_ == SYN_STREAM:
                stream_id, associated, priority = struct.unpack_from(">IIB", payload)
                return ControlFrame(type_, flags, stream_id & 0x7FFFFFFF, associated & 0x7FFFFFFF, priority >> 5, self._headers(payload[10:]))
            if type_ in (SYN_REPLY, HEADERS):
                (stream_id,) = _U32.unpack_from(payload)
                return ControlFrame(type_, flags, stream_id & 0x7FFFFFFF, headers=self._headers(payload[4:]))
            if type_ == RST_STREAM:
                stream_id, status = struct.unpack_from(">II", payload)
                return ControlFrame(type_, flags, stream_id & 0x7FFFFFFF, status=status)
            if type_ == PING:
                return ControlFrame(type_, flags, ping_id=_U32.unpack_from(payload)[0])
            if type_ == GOAWAY:
                last, status = struct.unpack_from(">II", payload)
                return ControlFrame(type_, flags, last_good_id=last & 0x7FFFFFFF, status=status)
            if type_ == WINDOW_UPDATE:
                stream_id, delta = struct.unpack_from(">II", payload)
                return ControlFrame(type_, flags, stream_id & 0x7FFFFFFF, delta=delta & 0x7FFFFFFF)
        except struct.error as exc:
            raise SpdyError(f"a control frame of type {type_} too short: {exc}") from None
        return ControlFrame(type_, flags)  # SETTINGS and unknown types: nothing to act on
