"""The band: drums, bass and chords under a continuation, in a GTZAN genre.

``play_band`` takes the song, the bars to play (the continued bars, optionally from the seed's
first bar on) and one chord progression per variation, and returns one :class:`BandTake` per
variation. MMA (run once for the whole batch, see ``mma.py``) plays bass and comping from its
musician-written grooves, following the chords; drums are human GMD performances for the genres
GMD has in 4/4 (``drums.py``) and MMA's groove drums otherwise; classical has none.

Decisions:

* **Bass: one line.** Every MMA bass-type track of the groove in the bass register (median pitch
  below E3) is merged (MMA grooves often split the bass over ``Bass`` and ``Walk`` tracks that take
  turns) and made monophonic: a new onset cuts the sounding note; of simultaneous onsets the lowest
  wins; pitches are folded by octaves into E1..C4 (MIDI 28..60).
* **Chords: one track.** The genre's preferred comping track (``BandStyle.comp``), doubled by the
  groove's other comping tracks on the same instrument; its GM program is the groove's (or the
  genre's override, e.g. piano for classical).
* **Where notes go.** Notes starting before the band's first tick are dropped and every note ends
  by the band's last tick, so a continuation that starts mid-bar gets the band from there.
* **Variations differ** by groove (``BandStyle.grooves`` in turn), drum performance and MMA's seeded
  humanising; fills close every 4-bar phrase of the song and the band's last bar.
* The chord progression comes from :func:`progression` (one function, so the melody model's own
  progression replaces the inferred one in one line once a continuation carries chords).
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from ...core import GtzError, Note, Song
from ...core.chords import Chord, ChordSpan, infer_chords
from ...core.timing import Bar, iter_bars
from .drums import BANK_BAR, GMD_TO_GM, bank_styles, choose_bars, load_bank
from .mma import MmaBlock, MmaTrack, mma_source, run_mma
from .styles import GMD_STYLES, BandStyle, NoGrooveError, band_style

BAND_PARTS = ("chords", "bass", "drums")
TRACK_NAMES = {"drums": "Drums", "bass": "Bass", "chords": "Chords"}
BASS_LOW, BASS_HIGH = 28, 60
BASS_REGISTER_MEDIAN = 52  # a bass-type MMA track whose median pitch is above this is a riff, not the bass


class BandError(GtzError):
    """The band cannot play this request."""


@dataclass(frozen=True)
class BandPart:
    part: str  # "drums", "bass", "chords"
    track_name: str
    program: int  # GM program, 0-based
    is_drum: bool
    notes: tuple[Note, ...]


@dataclass(frozen=True)
class BandTake:
    """The band of one variation."""

    parts: dict[str, BandPart]
    grooves: tuple[str, ...]  # the MMA groove of each bar
    drum_source: str  # "GMD <take>", "MMA <groove>" or "" (no drums)
    chords: tuple[ChordSpan, ...]
    start: int
    end: int


def warm_up(respawn: bool = True) -> bool:
    """Get the band ready while other work runs: a spare MMA process waits for its song and the
    GMD drum bank loads on a background thread. False when mma is not installed."""
    import threading

    from .mma import prestart

    threading.Thread(target=load_bank, name="band-bank", daemon=True).start()
    return prestart(respawn=respawn)


def band_bars(song: Song, start: int, end: int) -> list[Bar]:
    """The song's bars that overlap ``[start, end)``."""
    return [b for b in iter_bars(song, end) if b.end > start and b.start < end]


def progression(song: Song, notes: Sequence[Note], start: int, end: int, continuation=None,
                variation_index: int = 0) -> tuple[ChordSpan, ...]:
    """The chords the band follows over ``[start, end)``: the continuation's own progression when it
    has one (``Variation.chords`` or ``Continuation.chords``: ChordSpans, or one Chord per bar), else one chord per bar inferred from ``notes`` (seed + continued melody) with
    ``core.chords.infer_chords``, sus/sixth/augmented chords played as their triads (the third
    from the key's scale where the melody left it open)."""
    own = None
    variations = getattr(continuation, "variations", None) or ()
    if variation_index < len(variations):
        own = getattr(variations[variation_index], "chords", None)
    if not own:
        own = getattr(continuation, "chords", None)
        if own and isinstance(own[0], (list, tuple)):
            own = own[variation_index] if variation_index < len(own) else None
    if own:
        cont_start = getattr(continuation, "start", start)
        if all(isinstance(s, ChordSpan) for s in own):
            spans = tuple(own)
        else:  # one Chord (or None) per bar of the continuation
            bars = band_bars(song, cont_start, end)
            spans = tuple(ChordSpan(max(b.start, cont_start), min(b.end, end), c) for b, c in zip(bars, own))
        if spans and start < spans[0].start:  # the band plays under the seed too: infer the seed's chords
            spans = progression(song, notes, start, spans[0].start) + spans
        return spans
    bars = band_bars(song, start, end)
    spans = [(max(b.start, start), min(b.end, end)) for b in bars]
    key = getattr(continuation, "key", None) or song.key_at(start)
    scale = key.scale if key is not None else None
    chords = [_plain(c, scale) for c in infer_chords(notes, spans)]
    out: list[ChordSpan] = []
    last: Chord | None = None
    for (s0, s1), c in zip(spans, chords):
        c = c if c is not None else last  # a silent bar keeps the chord before it
        out.append(ChordSpan(s0, s1, c))
        last = c if c is not None else last
    if out and out[0].chord is None:  # silent first bars take the first chord that sounds
        first = next((s.chord for s in out if s.chord is not None), None)
        out = [ChordSpan(s.start, s.end, s.chord or first) for s in out]
    return tuple(out)


_PLAIN = {"sus2": "maj", "sus4": "maj", "6": "maj", "aug": "maj", "min6": "min", "minmaj7": "min"}


def _plain(chord: Chord | None, scale=None) -> Chord | None:
    """A melody alone rarely tells a sus or sixth chord from its triad: the band plays the triad;
    where the melody left the third open (sus, augmented), the key's scale chooses it."""
    if chord is None or chord.quality not in _PLAIN:
        return chord
    quality = _PLAIN[chord.quality]
    if scale and chord.quality in ("sus2", "sus4", "aug"):
        if (chord.root + 4) % 12 not in scale and (chord.root + 3) % 12 in scale:
            quality = "min"
    return Chord(chord.root, quality)


def _chord_at(spans: Sequence[ChordSpan], tick: int) -> Chord | None:
    for s in spans:
        if s.start <= tick < s.end:
            return s.chord
    if spans and tick < spans[0].start:
        return spans[0].chord
    return spans[-1].chord if spans else None


def play_band(song: Song, progressions: Sequence[Sequence[ChordSpan]], genre: str, parts: Sequence[str],
              start: int, end: int, seed: int, band_start: int | None = None) -> list[BandTake]:
    """One :class:`BandTake` per progression (= per variation), playing ``parts`` (a subset of
    ``chords``, ``bass``, ``drums``) from ``band_start`` (default ``start``) to ``end``."""
    parts = [p for p in BAND_PARTS if p in parts]
    if not parts or not progressions:
        return [BandTake({}, (), "", tuple(p), start, end) for p in progressions]
    first = start if band_start is None else min(band_start, start)
    bars = band_bars(song, first, end)
    if not bars:
        raise BandError("the band has no bars to play")
    sig = bars[0].signature
    if any((b.signature.numerator, b.signature.denominator) != (sig.numerator, sig.denominator) for b in bars):
        raise NoGrooveError("the meter changes inside the band's bars; the band plays one meter at a time")
    style = band_style(genre, sig.numerator, sig.denominator)
    tempo = song.tempo_at(bars[0].start).bpm
    nb = len(bars)
    fill_at = [(b.index + 1) % 4 == 0 or i == nb - 1 for i, b in enumerate(bars)]
    blocks = []
    for v, prog in enumerate(progressions):
        main = style.grooves[v % len(style.grooves)]
        fill = style.fills[v % len(style.fills)] if style.fills else None
        grooves = [fill if (fill and fill_at[i]) else main for i in range(nb)]
        chords = []
        for b in bars:
            beat = b.signature.bar_ticks / style.mma_time
            chords.append([_chord_at(prog, int(b.start + k * beat)) for k in range(style.mma_time)])
        blocks.append(MmaBlock(grooves, chords, style.borrow))
    tpq, tracks = run_mma(mma_source(blocks, tempo * (2 if style.mma_time == 6 else 1), style.mma_time, seed))
    mma_bar = style.mma_time * tpq

    bank = load_bank() if ("drums" in parts and style.drums == "gmd") else None
    gmd_style = GMD_STYLES.get(genre)
    takes = []
    for v, (block, prog) in enumerate(zip(blocks, progressions)):
        lo, hi = v * nb * mma_bar, (v + 1) * nb * mma_bar
        block_tracks = [_slice(t, lo, hi) for t in tracks]
        block_tracks = [t for t in block_tracks if t.notes]

        def to_song(tick: int, _lo=lo) -> int:
            j = min(max((tick - _lo) // mma_bar, 0), nb - 1)
            b = bars[j]
            return b.start + round((tick - _lo - j * mma_bar) * b.signature.bar_ticks / mma_bar)

        out: dict[str, BandPart] = {}
        drum_source = ""
        if "bass" in parts:
            out["bass"] = _bass(block_tracks, style, to_song, first, end, prog, bars)
        if "chords" in parts:
            out["chords"] = _comp(block_tracks, style, to_song, first, end, prog)
        if "drums" in parts and style.drums is not None:
            if style.drums == "gmd" and gmd_style in bank_styles(bank):
                rng = random.Random(seed * 7919 + v)
                gbars, drum_source = choose_bars(bank, gmd_style, nb, fill_at, tempo, rng)
                notes = []
                for b, gbar in zip(bars, gbars):
                    scale = b.signature.bar_ticks / BANK_BAR
                    for onset, pitch, vel, dur in gbar:
                        s = b.start + round(onset * scale)
                        notes.append(Note(max(s, 0), GMD_TO_GM.get(pitch, pitch), max(1, round(dur * scale)),
                                          max(1, min(127, vel))))
                # a hit played a little ahead of the band's first bar line stays, on the line
                out["drums"] = BandPart("drums", "Drums", 0, True, _clip(notes, first, end, lead=60))
            else:
                drums = [t for t in block_tracks if t.channel == 9]
                notes = [Note(to_song(s), p, max(1, to_song(e) - to_song(s)), v_) for t in drums
                         for s, e, p, v_ in t.notes]
                out["drums"] = BandPart("drums", "Drums", 0, True, _clip(notes, first, end))
                drum_source = f"MMA {block.bar_grooves[0]}"
        takes.append(BandTake(out, tuple(block.bar_grooves), drum_source, tuple(prog), first, end))
    return takes


def _slice(t: MmaTrack, lo: int, hi: int) -> MmaTrack:
    notes = [(max(s, lo), min(e, hi), p, v) for s, e, p, v in t.notes if lo - 8 <= s < hi - 8]
    return MmaTrack(t.name, t.channel, t.program, [n for n in notes if n[1] > n[0]])


def _named(tracks: Sequence[MmaTrack], prefix: str) -> list[MmaTrack]:
    p = prefix.upper()
    return [t for t in tracks if t.channel != 9 and (t.name.upper() == p or t.name.upper().startswith(p + "-"))]


def _clip(notes: Sequence[Note], first: int, end: int, lead: int = 0) -> tuple[Note, ...]:
    """Notes inside ``[first, end)``, cut at ``end``; those up to ``lead`` ticks early start at ``first``."""
    out = []
    for n in notes:
        start = first if first - lead <= n.start < first else n.start
        if first <= start < end:
            out.append(Note(start, n.pitch, max(1, min(n.end, end) - start), n.velocity))
    return tuple(sorted(out))


def _bass(tracks: Sequence[MmaTrack], style: BandStyle, to_song, first: int, end: int,
          prog: Sequence[ChordSpan], bars: Sequence[Bar]) -> BandPart:
    cands: list[MmaTrack] = []
    for prefix in style.bass:
        for t in _named(tracks, prefix):
            if all(t is not c for c in cands) and statistics.median(n[2] for n in t.notes) <= BASS_REGISTER_MEDIAN:
                cands.append(t)
    program = max(cands, key=lambda t: len(t.notes)).program if cands else 33
    if style.bass_program is not None:
        program = style.bass_program
    raw = sorted((to_song(s), p, to_song(e), v) for t in cands for s, e, p, v in t.notes)
    line: list[list[int]] = []
    for s, p, e, v in raw:
        while p < BASS_LOW:
            p += 12
        while p > BASS_HIGH:
            p -= 12
        if line and line[-1][0] == s:
            continue  # simultaneous onsets: the lowest (sorted first) wins
        if line and line[-1][0] + line[-1][2] > s:
            line[-1][2] = s - line[-1][0]
        line.append([s, p, max(1, e - s), v])
    _anchor(line, prog, bars)
    notes = [Note(s, p, d, v) for s, p, d, v in line]
    return BandPart("bass", "Bass", program, False, _clip(notes, first, end))


def _nearest(pitch: int, pcs) -> int:
    best = min((abs(d), d) for d in range(-6, 7) if (pitch + d) % 12 in pcs)[1]
    p = pitch + best
    return p + 12 if p < BASS_LOW else (p - 12 if p > BASS_HIGH else p)


def _anchor(line: list[list[int]], prog: Sequence[ChordSpan], bars: Sequence[Bar]) -> None:
    """Land the bass where the harmony moves: the note on a chord change becomes the chord's root,
    a note on a bar's downbeat outside the chord its nearest chord tone (MMA's walking lines choose
    scale tones at random and sometimes land off the chord). Notes within a 32nd of the line count."""
    if not line:
        return
    starts = [n[0] for n in line]

    def at(tick: int):
        i = min(range(len(starts)), key=lambda k: abs(starts[k] - tick))
        return line[i] if abs(starts[i] - tick) <= 60 else None

    previous = None
    for span in prog:
        if span.chord is not None and span.chord != previous:
            n = at(span.start)
            if n is not None and n[1] % 12 != span.chord.root:
                n[1] = _nearest(n[1], {span.chord.root})
        previous = span.chord
    for bar in bars:
        chord = _chord_at(prog, bar.start)
        n = at(bar.start)
        if chord is not None and n is not None and n[1] % 12 not in chord.pitch_classes:
            n[1] = _nearest(n[1], chord.pitch_classes)


def _comp(tracks: Sequence[MmaTrack], style: BandStyle, to_song, first: int, end: int,
          prog: Sequence[ChordSpan]) -> BandPart:
    chosen: list[MmaTrack] = []
    if style.comp_all:
        for prefix in style.comp:
            chosen += [t for t in _named(tracks, prefix) if all(t is not c for c in chosen)]
    for prefix in () if style.comp_all else style.comp:
        named = _named(tracks, prefix)
        if named:
            main = max(named, key=lambda t: (len(t.notes), t.name.upper() == prefix.upper()))
            comp_kinds = ("CHORD", "PLECTRUM", "ARPEGGIO")
            chosen = [main] + [t for t in tracks if t is not main and t.channel != 9 and t.program == main.program
                               and t.name.upper().split("-")[0] in comp_kinds]
            break
    program = style.program if style.program is not None else (chosen[0].program if chosen else 0)
    notes = []
    for t in chosen:
        for s, e, p, v in t.notes:
            s, e = to_song(s), to_song(e)
            notes.append(Note(s, p, max(1, _cut_at_change(s, e, p, prog) - s), v))
    return BandPart("chords", "Chords", program, False, _clip(notes, first, end))


def _cut_at_change(start: int, end: int, pitch: int, prog: Sequence[ChordSpan]) -> int:
    """A comping note held into a chord it does not belong to stops at that chord change."""
    for span in prog:
        if start < span.start < end and span.chord is not None and pitch % 12 not in span.chord.pitch_classes:
            return span.start
    return end


def band_for_continuation(song: Song, continuation, genre: str, parts: Sequence[str], seed: int,
                          under_seed: bool = False) -> list[BandTake]:
    """One take per ``continuation.variations`` (same order): the band over the continued bars, and
    from the seed's first bar on when ``under_seed``."""
    start, end = continuation.start, continuation.end
    band_start = start
    if under_seed and continuation.seed_notes:
        band_start = min(n.start for n in continuation.seed_notes)
    progs = [progression(song, tuple(continuation.seed_notes) + tuple(v.notes), band_start, end, continuation, i)
             for i, v in enumerate(continuation.variations)]
    return play_band(song, progs, genre, parts, start, end, seed, band_start)


def band_track_index(song: Song, part: str) -> int | None:
    """The existing track a band part continues: a track named Drums/Bass/Chords (for drums: of
    the drum kind, else the first drum track)."""
    name = TRACK_NAMES[part].lower()
    for i, t in enumerate(song.tracks):
        if t.name.strip().lower() == name and t.is_drum == (part == "drums"):
            return i
    if part == "drums":
        return next((i for i, t in enumerate(song.tracks) if t.is_drum), None)
    return None


def band_parts(song: Song, take: BandTake) -> tuple:
    """The take's Drums, Bass and Chords as ``core.continuation.Part`` s: an existing track of that
    name continues (its index), else the part brings a new track (drums on channel 10)."""
    from ...core.continuation import Part
    from ...core.song import new_track

    parts, n_new = [], 0
    for name in BAND_PARTS:
        bp = take.parts.get(name)
        if bp is None or not bp.notes:
            continue
        index = band_track_index(song, name)
        if index is not None:
            parts.append(Part(index, bp.notes))
        else:
            track = new_track(len(song.tracks) + n_new, bp.track_name, program=bp.program, is_drum=bp.is_drum)
            parts.append(Part(-1, bp.notes, track))
            n_new += 1
    return tuple(parts)


def band_edits(song: Song, take: BandTake) -> list:
    """Edits (``core.edits``) that add :func:`band_parts`: notes appended to the existing
    Drums/Bass/Chords tracks, or new tracks. Wrap them in one ``Macro`` for one undo step."""
    from ...core.edits import AddNotes, AddTrack

    return [AddNotes(p.track, p.notes, label=f"Add {song.tracks[p.track].name.lower()}") if p.new is None
            else AddTrack(p.new.with_notes(p.notes), label=f"Add {p.new.name} track")
            for p in band_parts(song, take)]


def with_band(song: Song, take: BandTake) -> Song:
    from ...core.edits import Macro, apply

    return apply(song, Macro(tuple(band_edits(song, take)), "Add band"))[0]


@dataclass(frozen=True)
class BandResult:
    """A continuation with its band, ranked by style and fit (best first)."""

    continuation: object  # the melody Continuation, variations re-ranked (``rank`` renumbered)
    takes: tuple[BandTake, ...]  # one per variation, same order; empty when the band did not play
    fits: tuple  # one ``fit.Fit`` per variation
    genre: str
    parts: tuple[str, ...]  # the band parts played
    note: str = ""  # plain words for the user: a stand-in band, no drums in classical
    error: str = ""  # why the band did not play ("" when it did)


def band_continuation(song: Song, continuation, parts: Sequence[str], seed: int, genre: str | None = None,
                      under_seed: bool = False) -> BandResult:
    """The band for every variation of ``continuation`` (a melody ``Continuation``), ranked by
    :func:`fit.rank_score`. ``genre`` defaults to the style's band genre (its stand-in for a folk
    style). A band that cannot play (no mma, no groove in the meter) gives ``error`` and the
    melody alone, never an exception: the melody still works."""
    import dataclasses

    from .fit import band_fit, rank_score
    from .styles import band_genre

    style = getattr(continuation, "style", "")
    notes = []
    asked = genre
    try:
        genre = genre or band_genre(style)
    except GtzError as exc:
        return BandResult(continuation, (), (), genre or "", (), "", str(exc))
    if asked is None and genre != style:
        notes.append(f"the {style} style has no band of its own: a {genre} band plays")
    parts = [p for p in BAND_PARTS if p in parts]
    if genre == "classical" and "drums" in parts:
        parts.remove("drums")
        notes.append("classical has no drums: the band plays piano accompaniment and bass")
    try:
        takes = band_for_continuation(song, continuation, genre, parts, seed, under_seed=under_seed)
    except GtzError as exc:
        return BandResult(continuation, (), (), genre, (), "; ".join(notes), str(exc))
    rows = []
    for v, take in zip(continuation.variations, takes):
        bass = take.parts["bass"].notes if "bass" in take.parts else None
        rows.append((v, take, band_fit(song, v.notes, take.chords, bass, continuation.start, continuation.end)))
    rows.sort(key=lambda r: -rank_score(r[0].score, r[2]))
    variations = [dataclasses.replace(v, rank=i + 1) for i, (v, _, _) in enumerate(rows)]
    return BandResult(dataclasses.replace(continuation, variations=variations), tuple(r[1] for r in rows),
                      tuple(r[2] for r in rows), genre, tuple(parts), "; ".join(notes))
