"""Tiny builders for raw MIDI bytes, so tests can feed the reader exactly what other tools write
(running status, note-on velocity 0, odd PPQs, SMPTE time, broken chunks)."""

from __future__ import annotations

import struct


def vlq(value: int) -> bytes:
    """MIDI variable-length quantity."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def header(fmt: int = 1, ntracks: int = 1, division: int = 480) -> bytes:
    return b"MThd" + struct.pack(">IhhH", 6, fmt, ntracks, division & 0xFFFF)


def track(*events: tuple[int, bytes], end: bool = True) -> bytes:
    """A track chunk from (delta, raw event bytes) pairs; end-of-track added unless ``end`` is False."""
    body = b"".join(vlq(delta) + data for delta, data in events)
    if end:
        body += b"\x00\xff\x2f\x00"
    return b"MTrk" + struct.pack(">I", len(body)) + body


def midi(*tracks: bytes, fmt: int | None = None, division: int = 480) -> bytes:
    return header(len(tracks) > 1 if fmt is None else fmt, len(tracks), division) + b"".join(tracks)


def meta(kind: int, data: bytes) -> bytes:
    return bytes([0xFF, kind]) + vlq(len(data)) + data


def tempo(uspq: int) -> bytes:
    return meta(0x51, uspq.to_bytes(3, "big"))


def name(text: bytes) -> bytes:
    return meta(0x03, text)
