"""What a song must look like before other programs read it: the export rules for MIDI.

A song may hold things a MIDI file cannot say unambiguously, and other readers (DAWs, pretty_midi,
notation programs) then each guess differently. Before export the song is brought into a form
every reader sees the same way, and each change is described in one sentence for the export log:

* :func:`separate_channels` - tracks that share a MIDI channel get channels of their own (a
  reader merges tracks of one channel into one part, and one channel has one program, one
  volume, one pedal). Drum tracks go to channel 10 (index 9), melodic tracks never do.
* :func:`end_overlaps` - where two notes of one pitch overlap on one channel, the earlier one
  ends where the later one starts (what DAWs do); notes of one pitch that start together on one
  channel become one note (the longer, with the louder velocity).

Both are pure and idempotent: a song they leave unchanged gets an empty list of sentences.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from .song import DRUM_CHANNEL, Note, Song, Track

MELODIC_CHANNELS = tuple(c for c in range(16) if c != DRUM_CHANNEL)


def _label(index: int, track: Track) -> str:
    return f"track {index + 1} ({track.name!r})"


def separate_channels(song: Song) -> tuple[Song, list[str]]:
    """Give each melodic track a MIDI channel of its own where there are enough (15); drums
    share channel 10. A track keeps its channel when it is the first to use it. When the 15
    melodic channels run out, a track shares the channel of a track with the same program where
    there is one (the sentence says so)."""
    notes: list[str] = []
    used: dict[int, int] = {}  # channel -> index of the first track on it
    tracks = list(song.tracks)
    # First pass: tracks that keep their channel (the first melodic track of each channel).
    keep: set[int] = set()
    for i, t in enumerate(tracks):
        if not t.is_drum and t.channel != DRUM_CHANNEL and t.channel not in used:
            used[t.channel] = i
            keep.add(i)
    for i, t in enumerate(tracks):
        if t.is_drum:
            if t.channel != DRUM_CHANNEL:
                notes.append(f"{_label(i, t)}: drums moved from channel {t.channel + 1} to channel 10")
                tracks[i] = replace(t, channel=DRUM_CHANNEL)
            continue
        if i in keep:
            continue
        free = [c for c in MELODIC_CHANNELS if c not in used]
        if free:
            channel = free[0]
            used[channel] = i
            if t.channel == DRUM_CHANNEL:
                why = "channel 10 is for drums"
            else:
                first = used.get(t.channel, i)
                why = f"it shared channel {t.channel + 1} with {_label(first, song.tracks[first])}"
            notes.append(f"{_label(i, t)}: moved from channel {t.channel + 1} to channel {channel + 1} ({why})")
            tracks[i] = replace(t, channel=channel)
            continue
        same = [c for c, j in used.items() if tracks[j].program == t.program]
        channel = same[0] if same else (t.channel if t.channel != DRUM_CHANNEL else MELODIC_CHANNELS[0])
        other = used[channel]
        notes.append(f"{_label(i, t)}: shares channel {channel + 1} with {_label(other, tracks[other])} "
                     "(MIDI has only 15 channels for melodic tracks)"
                     + ("" if tracks[other].program == t.program else "; one of them will play the other's instrument"))
        if channel != t.channel:
            tracks[i] = replace(t, channel=channel)
    return replace(song, tracks=tuple(tracks)), notes


def end_overlaps(song: Song) -> tuple[Song, list[str]]:
    """End each note where the next note of the same pitch on the same channel starts; merge
    notes of one pitch and channel that start together. Tracks that share a channel are taken
    together (a reader cannot tell their notes apart)."""
    by_channel: dict[int, list[tuple[int, int]]] = defaultdict(list)  # channel -> [(track, note index)]
    for i, t in enumerate(song.tracks):
        for j in range(len(t.notes)):
            by_channel[t.channel].append((i, j))
    new_notes: dict[int, dict[int, Note | None]] = defaultdict(dict)  # track -> note index -> new note (None: merged away)
    shortened: dict[int, int] = defaultdict(int)
    merged: dict[int, int] = defaultdict(int)
    for refs in by_channel.values():
        by_pitch: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for i, j in refs:
            by_pitch[song.tracks[i].notes[j].pitch].append((i, j))
        for group in by_pitch.values():
            if len(group) < 2:
                continue
            group.sort(key=lambda r: (song.tracks[r[0]].notes[r[1]].start, -song.tracks[r[0]].notes[r[1]].end, r))
            keep_ref = group[0]
            current = song.tracks[keep_ref[0]].notes[keep_ref[1]]
            for ref in group[1:]:
                n = song.tracks[ref[0]].notes[ref[1]]
                if n.start == current.start:  # sorted longest first: n is inside current
                    merged[ref[0]] += 1
                    new_notes[ref[0]][ref[1]] = None
                    if n.velocity > current.velocity:
                        current = replace(current, velocity=n.velocity)
                        new_notes[keep_ref[0]][keep_ref[1]] = current
                    continue
                if current.end > n.start:
                    current = replace(current, duration=n.start - current.start)
                    new_notes[keep_ref[0]][keep_ref[1]] = current
                    shortened[keep_ref[0]] += 1
                keep_ref, current = ref, n
    if not new_notes:
        return song, []
    tracks = list(song.tracks)
    sentences = []
    for i, changes in sorted(new_notes.items()):
        t = tracks[i]
        notes = [changes.get(j, n) for j, n in enumerate(t.notes)]
        tracks[i] = t.with_notes(n for n in notes if n is not None)
        parts = []
        if shortened[i]:
            parts.append(f"{shortened[i]} note{'s' if shortened[i] != 1 else ''} shortened to end where the next "
                         "note of the same pitch starts")
        if merged[i]:
            parts.append(f"{merged[i]} note{'s' if merged[i] != 1 else ''} of a pitch already starting there merged")
        if parts:
            sentences.append(f"{_label(i, t)}: " + "; ".join(parts))
    return replace(song, tracks=tuple(tracks)), sentences


def prepare_for_midi(song: Song) -> tuple[Song, list[str]]:
    """The song as a MIDI file will hold it (channels first, then overlaps on the new channels),
    and the sentences for the export log."""
    song, channel_notes = separate_channels(song)
    song, overlap_notes = end_overlaps(song)
    return song, channel_notes + overlap_notes
