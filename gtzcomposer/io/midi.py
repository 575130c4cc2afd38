"""Standard MIDI files <-> :class:`~gtzcomposer.core.Song`, through mido.

Reading (types 0, 1 and 2; see ``docs/io.md`` for the full rules):

* times are rescaled from the file's PPQ to 480 (``round half up``; SMPTE-timed files are read at
  a fixed 120 bpm);
* each MIDI track becomes one Song track per (channel, program) that plays notes in it, in order
  of first note; channel 10 (index 9) is drums;
* note-ons and note-offs of one channel and pitch pair first-in, first-out; a note-on with
  velocity 0 is a note-off; notes still sounding at the end of their track end there; stray
  note-offs are ignored;
* tempo, time-signature and key-signature events of every track form the song's maps (the last
  event wins where several share a tick); values a song cannot hold are skipped and logged;
* volume (CC 7) and pan (CC 10) are the first such controller of the channel in the track;
* controller changes the song keeps (sustain CC 64, modulation CC 1, expression CC 11, later
  volume and pan changes, pitch bend; :data:`~gtzcomposer.core.song.CONTROLLER_NAMES`) become the
  ``controls`` of every Song track made from that channel of the MIDI track; other controllers
  are dropped and the log says how many.

Writing always produces type 1 at 480 PPQ: a conductor track (title, tempo, meter, key) and one
track per Song track (name, a gtzcomposer data event, program change, CC 7, CC 10, controller
changes, notes). Before writing, the song goes through
:func:`gtzcomposer.core.interchange.prepare_for_midi`: tracks sharing a channel get their own,
drums go to channel 10, and a note overlapping a later note of the same pitch on its channel
ends where that one starts, so every reader pairs note-ons and note-offs alike.
:func:`song_to_midi` returns (and logs) one sentence per change.

The round trip Song -> MIDI -> Song is exact for every song that export leaves unchanged (and
for every other song, the result is the prepared song). Everything MIDI has a place for is stored
there; the rest (colour, mute, solo, a drum flag) goes into one sequencer-specific meta event per
track (manufacturer ID 0x7D, "non-commercial", then ``GTZC`` and compact JSON). Other programs
ignore that event; gtzcomposer ignores it when it is damaged. Files written by earlier versions
may hold note-pairing hints there ("pair"), which the reader still follows.
"""

from __future__ import annotations

import io
import json
import logging
import os
from collections import defaultdict
from typing import IO

from ..core import (
    CONTROLLER_NAMES,
    DRUM_CHANNEL,
    PITCH_BEND,
    PPQ,
    ControlChange,
    GtzError,
    KeySignature,
    Note,
    Song,
    SongError,
    TempoChange,
    TimeSignature,
    Track,
)
from ..core.gm import GM_PROGRAM_NAMES
from ..core.interchange import prepare_for_midi
from ..core.limits import check_song_extent
from ..core.song import TRACK_PALETTE
from ._files import Source, atomic_write, read_limited, sniff

log = logging.getLogger(__name__)

MAX_MIDI_BYTES = 2 * 1024 * 1024
"""Largest MIDI file read (2 MB: about 500,000 events, 250,000 notes). Real songs are rarely over
1 MB. Reading costs about 1.5-3 s per MB (mido's parse, then building the song: measured with
``benchmarks/fuzz_files.py``), so a file the app accepts is read in seconds; the former 16 MB
took 22 s in ``info`` and 144 s in ``render``."""

MAX_TICK = 0x0FFFFFFF
"""The largest delta time a MIDI file can store; songs longer than this cannot be written."""

GTZC_TAG = bytes([0x7D]) + b"GTZC"
"""Prefix of gtzcomposer's sequencer-specific meta event (0x7D: non-commercial manufacturer)."""

_MAJOR_KEYS = {0: "C", 1: "G", 2: "D", 3: "A", 4: "E", 5: "B", 6: "F#", 7: "C#",
               -1: "F", -2: "Bb", -3: "Eb", -4: "Ab", -5: "Db", -6: "Gb", -7: "Cb"}
_MINOR_KEYS = {0: "Am", 1: "Em", 2: "Bm", 3: "F#m", 4: "C#m", 5: "G#m", 6: "D#m", 7: "A#m",
               -1: "Dm", -2: "Gm", -3: "Cm", -4: "Fm", -5: "Bbm", -6: "Ebm", -7: "Abm"}
_KEY_BY_NAME = {**{v: (k, False) for k, v in _MAJOR_KEYS.items()}, **{v: (k, True) for k, v in _MINOR_KEYS.items()}}
_SMPTE_FPS = {24: (24, 1), 25: (25, 1), 29: (30000, 1001), 30: (30, 1)}


class MidiError(GtzError):
    """A MIDI file that cannot be read or a song that cannot be written as MIDI."""


# ----------------------------------------------------------------------------------------------
# reading
# ----------------------------------------------------------------------------------------------
def midi_to_song(source: Source) -> Song:
    """Read a standard MIDI file (path, bytes or binary file object) into a Song.

    Raises :class:`MidiError` (and nothing else) for anything that is not a readable MIDI file.
    """
    import mido

    name, data = read_limited(source, MAX_MIDI_BYTES, MidiError, "MIDI")
    data = _unwrap_rmid(name, data)
    if not data:
        raise MidiError(f"{name}: the file is empty")
    if not data.startswith(b"MThd"):
        what = sniff(data)
        hint = f"it looks like {what}" if what else "it does not start with a MIDI header ('MThd')"
        raise MidiError(f"{name}: not a MIDI file; {hint}")
    data = _drop_foreign_chunks(data)
    try:
        mf = mido.MidiFile(file=io.BytesIO(data), charset="latin1", clip=False)
    except Exception as exc:  # noqa: BLE001 - mido raises many types for damaged input
        raise MidiError(f"{name}: damaged MIDI file ({_explain(exc)})") from None
    try:
        return _midifile_to_song(mf, name)
    except SongError as exc:  # a value our song model refuses; the file is the cause
        raise MidiError(f"{name}: {exc}") from None


def _explain(exc: Exception) -> str:
    if isinstance(exc, EOFError):
        return "it ends in the middle of the data; it may be truncated"
    text = str(exc).strip()
    if "MThd" in text:
        return "the header is missing"
    if "MTrk" in text:
        return "a track chunk is missing or the header claims more tracks than there are"
    if "running status" in text:
        return "an event has no status byte"
    return text or type(exc).__name__


def _unwrap_rmid(name: str, data: bytes) -> bytes:
    """RIFF-wrapped MIDI (.rmi): return the standard MIDI file inside."""
    if not (data.startswith(b"RIFF") and data[8:12] == b"RMID"):
        return data
    pos = 12
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos + 4:pos + 8], "little")
        if data[pos:pos + 4] == b"data":
            return data[pos + 8:pos + 8 + size]
        pos += 8 + size + (size & 1)
    raise MidiError(f"{name}: RIFF MIDI file without a 'data' chunk")


def _drop_foreign_chunks(data: bytes) -> bytes:
    """Leave out chunks that are neither the header nor a track (Yamaha XF 'XFIH', 'XFKM', ...):
    the standard says readers skip chunk types they do not know, but mido stops at them."""
    pos = 8 + int.from_bytes(data[4:8], "big")
    pieces = [data[:pos]]
    changed = False
    while pos + 8 <= len(data):
        kind = data[pos:pos + 4]
        end = pos + 8 + int.from_bytes(data[pos + 4:pos + 8], "big")
        if kind != b"MTrk" and kind.isalnum():
            changed = True
        else:
            pieces.append(data[pos:end])
        pos = end
    pieces.append(data[pos:])
    return b"".join(pieces) if changed else data


class _Scale:
    """File ticks -> song ticks (round half up)."""

    def __init__(self, num: int, den: int) -> None:
        self.num, self.den = num, den

    def __call__(self, tick: int) -> int:
        return (2 * tick * self.num + self.den) // (2 * self.den)


def _timebase(mf, name: str) -> tuple[_Scale, bool]:
    division = mf.ticks_per_beat
    if division > 0:
        return _Scale(PPQ, division), False
    if division == 0:
        raise MidiError(f"{name}: the header's time division is 0, so no event has a time")
    fps_code, ticks_per_frame = -(division >> 8), division & 0xFF
    if fps_code not in _SMPTE_FPS or ticks_per_frame == 0:
        raise MidiError(f"{name}: invalid SMPTE time division ({fps_code} fps, {ticks_per_frame} ticks per frame)")
    fps_num, fps_den = _SMPTE_FPS[fps_code]
    # seconds = t * fps_den / (fps_num * tpf); song ticks at 120 bpm = seconds * 2 * PPQ
    return _Scale(2 * PPQ * fps_den, fps_num * ticks_per_frame), True


def _decode_text(text: str) -> str:
    """mido decodes text as latin-1; most modern files hold UTF-8."""
    raw = text.encode("latin-1", errors="replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return text


def _encode_text(text: str) -> str:
    """The latin-1 string whose bytes are ``text`` in UTF-8 (the inverse of _decode_text)."""
    return text.encode("utf-8", errors="surrogatepass").decode("latin-1")


def _parse_gtzc(data) -> dict | None:
    raw = bytes(data)
    if not raw.startswith(GTZC_TAG):
        return None
    try:
        meta = json.loads(raw[len(GTZC_TAG):].decode("ascii"))
    except (ValueError, RecursionError):
        log.info("ignoring a damaged gtzcomposer data event")
        return None
    return meta if isinstance(meta, dict) else None


class _TrackReader:
    """Collects the notes and settings of one MIDI track."""

    def __init__(self, scale: _Scale) -> None:
        self.scale = scale
        self.names: list[str] = []
        self.instrument_names: list[str] = []
        self.program = [0] * 16
        self.programs_set: dict[int, int] = {}
        self.volume: dict[int, int] = {}
        self.pan: dict[int, int] = {}
        self.controls: dict[int, list[ControlChange]] = defaultdict(list)  # channel -> changes
        self.dropped_controls = 0
        self.first_channel: int | None = None
        self.gtzc: dict | None = None
        self.hints: dict[str, list] = {}
        # (channel, pitch) -> {note-on index: (start tick, velocity, group)}
        self.open: dict[tuple[int, int], dict[int, tuple[int, int, tuple[int, int]]]] = defaultdict(dict)
        self.on_count: dict[tuple[int, int], int] = defaultdict(int)
        self.off_count: dict[tuple[int, int], int] = defaultdict(int)
        self.groups: dict[tuple[int, int], list[Note]] = {}
        self.stray_offs = 0
        self.unclosed = 0

    def note_on(self, tick: int, channel: int, pitch: int, velocity: int) -> None:
        key = (channel, pitch)
        group = (channel, self.program[channel])
        self.groups.setdefault(group, [])
        self.open[key][self.on_count[key]] = (tick, velocity, group)
        self.on_count[key] += 1

    def note_off(self, tick: int, channel: int, pitch: int) -> None:
        key = (channel, pitch)
        j = self.off_count[key]
        self.off_count[key] += 1
        sounding = self.open.get(key)
        if not sounding:
            self.stray_offs += 1
            return
        hint = self.hints.get(f"{channel}/{pitch}")
        index = hint[j] if hint is not None and j < len(hint) and hint[j] in sounding else next(iter(sounding))
        start, velocity, group = sounding.pop(index)
        self._add(group, start, tick, pitch, velocity)

    def _add(self, group, start: int, end: int, pitch: int, velocity: int) -> None:
        s = self.scale(start)
        self.groups[group].append(Note(start=s, pitch=pitch, duration=self.scale(end) - s, velocity=velocity))

    def finish(self, end_tick: int) -> None:
        for key, sounding in self.open.items():
            for start, velocity, group in sounding.values():
                self.unclosed += 1
                self._add(group, start, max(end_tick, start), key[1], velocity)
            sounding.clear()

    def control(self, tick: int, channel: int, controller: int, value: int) -> None:
        """A controller change: the first CC 7 / CC 10 of a channel is its volume / pan, later
        ones and the other kept controllers are changes; the rest are counted and dropped."""
        if controller == 7 and channel not in self.volume:
            self.volume[channel] = value
        elif controller == 10 and channel not in self.pan:
            self.pan[channel] = value
        elif controller in CONTROLLER_NAMES:
            self.controls[channel].append(ControlChange(self.scale(tick), controller, value))
        else:
            self.dropped_controls += 1

    def set_gtzc(self, meta: dict) -> None:
        self.gtzc = meta
        hints = meta.get("pair")
        if isinstance(hints, dict):
            self.hints = {k: v for k, v in hints.items()
                          if isinstance(k, str) and isinstance(v, list) and all(type(i) is int for i in v)}


def _midifile_to_song(mf, name: str) -> Song:
    if mf.type not in (0, 1, 2):
        raise MidiError(f"{name}: unknown MIDI file type {mf.type} (only 0, 1 and 2 exist)")
    scale, smpte = _timebase(mf, name)
    if smpte:
        log.info("%s: SMPTE-timed file; read at a fixed 120 bpm", name)
    tempos: list[TempoChange] = []
    signatures: list[TimeSignature] = []
    keys: list[KeySignature] = []
    readers: list[_TrackReader] = []
    skipped: list[str] = []

    for mtrack in mf.tracks:
        r = _TrackReader(scale)
        tick = 0
        for msg in mtrack:
            tick += msg.time
            kind = msg.type
            if kind == "note_on":
                if msg.velocity > 0:
                    r.note_on(tick, msg.channel, msg.note, msg.velocity)
                else:
                    r.note_off(tick, msg.channel, msg.note)
                if r.first_channel is None:
                    r.first_channel = msg.channel
            elif kind == "note_off":
                r.note_off(tick, msg.channel, msg.note)
            elif kind == "program_change":
                r.program[msg.channel] = msg.program
                r.programs_set.setdefault(msg.channel, msg.program)
                if r.first_channel is None:
                    r.first_channel = msg.channel
            elif kind == "control_change":
                r.control(tick, msg.channel, msg.control, msg.value)
            elif kind == "pitchwheel":
                r.control(tick, msg.channel, PITCH_BEND, msg.pitch)
            elif kind == "set_tempo":
                if smpte:
                    continue
                if msg.tempo < 1:
                    skipped.append(f"tempo of {msg.tempo} µs per quarter")
                    continue
                tempos.append(TempoChange(scale(tick), msg.tempo))
            elif kind == "time_signature":
                try:
                    signatures.append(TimeSignature(scale(tick), msg.numerator, msg.denominator))
                except SongError:
                    skipped.append(f"time signature {msg.numerator}/{msg.denominator}")
            elif kind == "key_signature":
                sharps, minor = _KEY_BY_NAME[msg.key]
                keys.append(KeySignature.from_sharps(scale(tick), sharps, minor))
            elif kind == "track_name":
                r.names.append(msg.name)
            elif kind == "instrument_name":
                r.instrument_names.append(msg.name)
            elif kind == "sequencer_specific" and r.gtzc is None:
                meta = _parse_gtzc(msg.data)
                if meta is not None:
                    r.set_gtzc(meta)
        r.finish(tick)
        readers.append(r)

    if skipped:
        log.warning("%s: skipped events a song cannot hold: %s", name, ", ".join(sorted(set(skipped))))
    title, tracks = _build_tracks(mf, readers)
    stray = sum(r.stray_offs for r in readers)
    unclosed = sum(r.unclosed for r in readers)
    dropped = sum(r.dropped_controls for r in readers)
    if dropped:
        log.info("%s: %d changes of controllers a song does not keep were dropped (kept: %s)",
                 name, dropped, ", ".join(CONTROLLER_NAMES.values()))
    if stray or unclosed:
        log.info("%s: %d note-offs without a note, %d notes never ended (ended at their track's end)",
                 name, stray, unclosed)
    song = Song(tracks=tuple(tracks), tempos=tuple(tempos), time_signatures=tuple(signatures),
                key_signatures=tuple(keys), title=title)
    check_song_extent(song, name, error=MidiError)
    return song




def _clean_name(text: str) -> str:
    return _decode_text(text).replace("\x00", "").strip()


def _build_tracks(mf, readers: list[_TrackReader]) -> tuple[str, list[Track]]:
    title = ""
    tracks: list[Track] = []
    for i, r in enumerate(readers):
        ours = r.gtzc is not None
        conductor = ours and r.gtzc.get("conductor") is True
        base = (_decode_text(r.names[0]) if ours else _clean_name(r.names[0])) if r.names else ""
        groups = [(g, ns) for g, ns in r.groups.items() if ns]
        if not groups and ((ours and not conductor) or r.programs_set):
            channel = r.first_channel or 0
            groups = [((channel, r.programs_set.get(channel, 0)), [])]
        if i == 0 and (not groups or mf.type == 0) and (conductor or not ours):
            title, base = base, ""
        for (channel, program), ns in groups:
            drum = channel == DRUM_CHANNEL
            meta = r.gtzc or {}
            if isinstance(meta.get("drum"), bool):
                drum = meta["drum"]
            instrument = "Drums" if drum else GM_PROGRAM_NAMES[program]
            if r.instrument_names and not base:
                instrument = _clean_name(r.instrument_names[0]) or instrument
            if ours or (base and len(groups) == 1):
                track_name = base
            elif base:
                track_name = f"{base} ({instrument})"
            else:
                track_name = instrument
            index = len(tracks)
            color = meta.get("color")
            tracks.append(Track(
                name=track_name,
                program=program,
                channel=channel,
                is_drum=drum,
                notes=tuple(sorted(ns)),
                color=color if isinstance(color, str) and 0 < len(color) <= 64 else TRACK_PALETTE[index % len(TRACK_PALETTE)],
                mute=meta.get("mute") is True,
                solo=meta.get("solo") is True,
                volume=r.volume.get(channel, 100),
                pan=r.pan.get(channel, 64),
                controls=tuple(r.controls.get(channel, ())),
            ))
    return title, tracks


# ----------------------------------------------------------------------------------------------
# writing
# ----------------------------------------------------------------------------------------------
_META, _PROGRAM, _CONTROL, _OFF, _ON, _ZERO_OFF = range(6)


def song_to_midifile(song: Song, notes: list[str] | None = None):
    """The mido.MidiFile (type 1, 480 PPQ) for ``song`` as
    :func:`~gtzcomposer.core.interchange.prepare_for_midi` leaves it; the sentences saying what
    that changed are appended to ``notes`` when it is given."""
    import mido

    song, changes = prepare_for_midi(song)
    if notes is not None:
        notes.extend(changes)

    last = max([song.end_tick, *(e.tick for e in (*song.tempos, *song.time_signatures, *song.key_signatures)),
                *(t.controls[-1].tick for t in song.tracks if t.controls)])
    if last > MAX_TICK:
        raise MidiError(f"the song is too long for a MIDI file (it ends at tick {last}; MIDI stops at {MAX_TICK})")
    mf = mido.MidiFile(type=1, ticks_per_beat=PPQ, charset="latin1")

    events: list[tuple[int, int, int, object]] = []
    if song.title:
        events.append((0, _META, 0, mido.MetaMessage("track_name", name=_encode_text(song.title))))
    payload = GTZC_TAG + b'{"conductor":true}'
    events.append((0, _META, 1, mido.MetaMessage("sequencer_specific", data=tuple(payload))))
    for t in song.tempos:
        events.append((t.tick, _META, len(events), mido.MetaMessage("set_tempo", tempo=t.uspq)))
    for s in song.time_signatures:
        events.append((s.tick, _META, len(events), mido.MetaMessage(
            "time_signature", numerator=s.numerator, denominator=s.denominator,
            clocks_per_click=max(1, 96 // s.denominator), notated_32nd_notes_per_beat=8)))
    for k in song.key_signatures:
        table = _MINOR_KEYS if k.mode == "minor" else _MAJOR_KEYS
        events.append((k.tick, _META, len(events), mido.MetaMessage("key_signature", key=table[k.sharps])))
    mf.tracks.append(_to_track(events))

    for track in song.tracks:
        mf.tracks.append(_to_track(_track_events(track)))
    return mf


def _track_events(track: Track) -> list:
    import mido

    ch = track.channel
    events: list[tuple[int, int, int, object]] = [
        (0, _META, 0, mido.MetaMessage("track_name", name=_encode_text(track.name))),
        (0, _PROGRAM, 0, mido.Message("program_change", channel=ch, program=track.program)),
        (0, _CONTROL, 0, mido.Message("control_change", channel=ch, control=7, value=track.volume)),
        (0, _CONTROL, 1, mido.Message("control_change", channel=ch, control=10, value=track.pan)),
    ]
    note_events: list[tuple[int, int, int, int]] = []  # tick, order, note index, on (1) / off (0)
    for i, n in enumerate(track.notes):
        note_events.append((n.start, _ON, i, 1))
        note_events.append((n.end, _ZERO_OFF if n.duration == 0 else _OFF, i, 0))
    note_events.sort()

    meta: dict = {"color": track.color, "mute": track.mute, "solo": track.solo}
    if track.is_drum != (ch == DRUM_CHANNEL):
        meta["drum"] = track.is_drum
    payload = GTZC_TAG + json.dumps(meta, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    events.append((0, _META, 1, mido.MetaMessage("sequencer_specific", data=tuple(payload))))
    events += _control_events(track)

    for tick, order, i, on in note_events:
        n = track.notes[i]
        if on:
            msg = mido.Message("note_on", channel=ch, note=n.pitch, velocity=n.velocity)
        else:
            msg = mido.Message("note_off", channel=ch, note=n.pitch, velocity=64)
        events.append((tick, order, i, msg))
    return events


def _control_events(track: Track) -> list:
    """The track's controller and pitch-bend changes, after its channel set-up at one tick and
    before its notes."""
    import mido

    out = []
    for k, c in enumerate(track.controls):
        if c.controller == PITCH_BEND:
            msg = mido.Message("pitchwheel", channel=track.channel, pitch=c.value)
        else:
            msg = mido.Message("control_change", channel=track.channel, control=c.controller, value=c.value)
        out.append((c.tick, _CONTROL, 2 + k, msg))
    return out


def _to_track(events):
    import mido

    events.sort(key=lambda e: (e[0], e[1], e[2]))
    track = mido.MidiTrack()
    now = 0
    for tick, _order, _seq, msg in events:
        msg.time = tick - now
        track.append(msg)
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track


def song_to_midi_bytes(song: Song, notes: list[str] | None = None) -> bytes:
    """The song as the bytes of a type-1 standard MIDI file (``notes`` as for
    :func:`song_to_midifile`)."""
    buf = io.BytesIO()
    song_to_midifile(song, notes).save(file=buf)
    return buf.getvalue()


def song_to_midi(song: Song, target: str | os.PathLike | IO[bytes]) -> list[str]:
    """Write ``song`` as a type-1 MIDI file to a path (atomically) or a binary file object.

    Returns the export log: sentences saying which tracks moved to other channels and which
    overlapping notes were shortened or merged (also logged)."""
    notes: list[str] = []
    data = song_to_midi_bytes(song, notes)
    if isinstance(target, (str, os.PathLike)):
        atomic_write(target, lambda fh: fh.write(data), MidiError)
        name = os.fspath(target).rsplit(os.sep, 1)[-1]
    else:
        target.write(data)
        name = getattr(target, "name", "<MIDI>")
    for note in notes:
        log.info("%s: %s", name, note)
    return notes
