"""SPDY/3.1 frames built by hand, byte by byte, and kubectl 1.33's own recorded ones, against kajitori.streaming.spdy."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import orjson
import pytest

from kajitori.streaming import spdy


def hand_header_block(pairs: list[tuple[str, str]]) -> bytes:
    out = struct.pack(">I", len(pairs))
    for name, value in pairs:
        out += struct.pack(">I", len(name)) + name.encode() + struct.pack(">I", len(value)) + value.encode()
    return out


def test_the_dictionary_is_the_drafts_1423_bytes_with_its_adler32() -> None:
    # The adler32 of the dictionary is what a zlib stream primed with it announces (FDICT).
    assert len(spdy.DICTIONARY) == 1423
    assert zlib.adler32(spdy.DICTIONARY) == 0xE3C6A7C2
    assert spdy.DICTIONARY.startswith(b"\x00\x00\x00\x07options\x00\x00\x00\x04head")
    assert spdy.DICTIONARY.endswith(b"charset=iso-8859-1,utf-,*,enq=0.")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(b"\x80\x03\x00\x06\x00\x00\x00\x04\x00\x00\x00\x07", spdy.ControlFrame(spdy.PING, ping_id=7), id="ping"),
        pytest.param(
            b"\x80\x03\x00\x03\x00\x00\x00\x08\x00\x00\x00\x05\x00\x00\x00\x05",
            spdy.ControlFrame(spdy.RST_STREAM, stream_id=5, status=spdy.CANCEL),
            id="rst_stream",
        ),
        pytest.param(
            b"\x80\x03\x00\x07\x00\x00\x00\x08\x00\x00\x00\x03\x00\x00\x00\x00",
            spdy.ControlFrame(spdy.GOAWAY, last_good_id=3),
            id="goaway",
        ),
        pytest.param(
            b"\x80\x03\x00\x09\x00\x00\x00\x08\x00\x00\x00\x01\x00\x01\x00\x00",
            spdy.ControlFrame(spdy.WINDOW_UPDATE, stream_id=1, delta=65536),
            id="window_update",
        ),
        pytest.param(b"\x80\x03\x00\x04\x00\x00\x00\x04\x00\x00\x00\x00", spdy.ControlFrame(spdy.SETTINGS), id="settings_ignored"),
        pytest.param(b"\x00\x00\x00\x03\x01\x00\x00\x02hi", spdy.DataFrame(3, b"hi", fin=True), id="data_fin"),
        pytest.param(b"\x00\x00\x00\x01\x00\x00\x00\x00", spdy.DataFrame(1, b""), id="empty_data"),
    ],
)
def test_decodes_hand_built_frames_even_a_byte_at_a_time(raw: bytes, expected: spdy.Frame) -> None:
    assert spdy.Decoder().feed(raw) == [expected]
    decoder = spdy.Decoder()
    got = [frame for byte in raw for frame in decoder.feed(bytes([byte]))]
    assert got == [expected]


def test_decodes_two_syn_streams_sharing_one_zlib_stream() -> None:
    # What kubectl sends for one connection: an error stream, then a data stream, headers through one
    # dictionary-primed zlib stream with a sync flush after each block.
    z = zlib.compressobj(9, zlib.DEFLATED, 15, 9, zlib.Z_DEFAULT_STRATEGY, spdy.DICTIONARY)
    raw = b""
    for stream_id, kind in ((1, "error"), (3, "data")):
        block = hand_header_block([("streamtype", kind), ("port", "80"), ("requestid", "0")])
        compressed = z.compress(block) + z.flush(zlib.Z_SYNC_FLUSH)
        body = struct.pack(">IIBB", stream_id, 0, 0, 0) + compressed
        raw += struct.pack(">HHI", 0x8003, spdy.SYN_STREAM, len(body)) + body
    frames = spdy.Decoder().feed(raw)
    assert [(f.type, f.stream_id, f.headers) for f in frames if isinstance(f, spdy.ControlFrame)] == [
        (spdy.SYN_STREAM, 1, {"streamtype": "error", "port": "80", "requestid": "0"}),
        (spdy.SYN_STREAM, 3, {"streamtype": "data", "port": "80", "requestid": "0"}),
    ]


def test_encodes_frames_a_peer_reads_back_in_order() -> None:
    encoder, decoder = spdy.Encoder(), spdy.Decoder()
    raw = (
        encoder.syn_reply(1)
        + encoder.syn_reply(3, {"x": "y"}, fin=True)
        + encoder.data(3, b"payload", fin=True)
        + encoder.ping(8)
        + encoder.rst_stream(1, spdy.CANCEL)
        + encoder.goaway(3)
    )
    assert spdy.Decoder().feed(raw[:8]) == []
    assert decoder.feed(raw) == [
        spdy.ControlFrame(spdy.SYN_REPLY, stream_id=1, headers={}),
        spdy.ControlFrame(spdy.SYN_REPLY, flags=spdy.FLAG_FIN, stream_id=3, headers={"x": "y"}),
        spdy.DataFrame(3, b"payload", fin=True),
        spdy.ControlFrame(spdy.PING, ping_id=8),
        spdy.ControlFrame(spdy.RST_STREAM, stream_id=1, status=spdy.CANCEL),
        spdy.ControlFrame(spdy.GOAWAY, last_good_id=3),
    ]


def test_a_syn_reply_is_laid_out_as_the_draft_says() -> None:
    raw = spdy.Encoder().syn_reply(5)
    control, type_, flags_length = struct.unpack(">HHI", raw[:8])
    assert (control, type_, flags_length >> 24, flags_length & 0xFFFFFF) == (0x8003, spdy.SYN_REPLY, 0, len(raw) - 8)
    assert raw[8:12] == b"\x00\x00\x00\x05"
    inflater = zlib.decompressobj(zdict=spdy.DICTIONARY)
    assert inflater.decompress(raw[12:]) == b"\x00\x00\x00\x00"  # no headers


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"\x80\x02\x00\x06\x00\x00\x00\x04\x00\x00\x00\x01", id="spdy2"),
        pytest.param(b"\x80\x03\x00\x01\x00\x00\x00\x0e\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00not!", id="header_block_not_zlib"),
    ],
)
def test_refuses_what_is_not_spdy3(raw: bytes) -> None:
    with pytest.raises(spdy.SpdyError):
        spdy.Decoder().feed(raw)


RECORDED = Path(__file__).parent / "fixtures" / "kubectl-1.33-port-forward-open.json"
"""Made by tests/integration/streams/test_spdy_capture.py from a real kubectl run (KAJITORI_RECORD_FIXTURES=1)."""


def recorded_messages() -> list[bytes]:
    return [bytes.fromhex(m) for m in orjson.loads(RECORDED.read_bytes())["messages"]]


def test_decodes_kubectl_1_33s_recorded_port_forward_opening_message_by_message() -> None:
    # kubectl writes each frame's fields as separate WebSocket messages (2, 2, 4 bytes...), and its
    # header blocks come from Go's zlib with SPDY's dictionary: every cut and the real compressor at once.
    decoder = spdy.Decoder()
    frames = [frame for message in recorded_messages() for frame in decoder.feed(message)]
    assert frames == [
        spdy.ControlFrame(spdy.SYN_STREAM, stream_id=1, headers={"streamtype": "error", "port": "8080", "requestid": "0"}),
        spdy.DataFrame(1, b"", fin=True),  # kubectl never writes on the error stream: it half-closes it at once
        spdy.ControlFrame(spdy.SYN_STREAM, stream_id=3, headers={"streamtype": "data", "port": "8080", "requestid": "0"}),
        spdy.DataFrame(3, b"hello from the capture\n"),
    ]
