"""Hypothesis strategies for songs and projects."""

from __future__ import annotations

from hypothesis import strategies as st

from gtzcomposer.core import PPQ, KeySignature, Note, Song, TempoChange, TimeSignature, Track

names = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)


@st.composite
def note_lists(draw):
    # a small pitch pool and short spans make same-pitch overlaps, crossings and ties common
    pool = draw(st.lists(st.integers(0, 127), min_size=1, max_size=4))
    span = draw(st.sampled_from([4, 240, 4 * PPQ, 64 * PPQ]))
    return draw(st.lists(st.builds(
        Note,
        start=st.integers(0, span),
        pitch=st.sampled_from(pool) | st.integers(0, 127),
        duration=st.integers(0, 3) | st.integers(0, span) | st.just(0),
        velocity=st.integers(1, 127),
    ), max_size=40))


tracks = st.builds(
    Track,
    name=names,
    program=st.integers(0, 127),
    channel=st.integers(0, 15),
    is_drum=st.booleans(),
    notes=note_lists().map(tuple),
    color=st.sampled_from(["#4e79a7", "#ff0000", "red", "#123"]) | st.text(max_size=8).filter(bool),
    mute=st.booleans(),
    solo=st.booleans(),
    volume=st.integers(0, 127),
    pan=st.integers(0, 127),
)
ticks = st.integers(0, 100 * PPQ)
songs = st.builds(
    Song,
    tracks=st.lists(tracks, max_size=4).map(tuple),
    tempos=st.lists(st.builds(TempoChange, tick=ticks, uspq=st.integers(1, 0xFFFFFF)), max_size=5).map(tuple),
    time_signatures=st.lists(st.builds(TimeSignature, tick=ticks, numerator=st.integers(1, 64),
                                       denominator=st.sampled_from([1, 2, 4, 8, 16, 32, 64])), max_size=5).map(tuple),
    key_signatures=st.lists(st.builds(KeySignature, tick=ticks, tonic=st.integers(0, 11),
                                      mode=st.sampled_from(["major", "minor"])), max_size=4).map(tuple),
    title=names,
)

json_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False) | names
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(names, inner, max_size=4),
                           max_leaves=12)


@st.composite
def loops(draw):
    if draw(st.booleans()):
        return None
    start = draw(st.integers(0, 2**40 - 1))
    return start, draw(st.integers(start + 1, 2**40))


def _generation():
    from gtzcomposer.core.generation import PARTS, GenerationSettings

    return st.builds(
        GenerationSettings, style=names.filter(lambda s: bool(s.strip())), bars=st.integers(1, 32),
        variations=st.integers(1, 16), temperature=st.floats(0.001, 10.0), top_p=st.floats(0.001, 1.0),
        seed=st.none() | st.integers(0, 2**32 - 1), key_lock=st.booleans(), strength=st.floats(0.0, 5.0),
        parts=st.lists(st.sampled_from(PARTS), unique=True).map(tuple))


def projects():
    from gtzcomposer.io.project import Project

    return st.builds(Project, song=songs, loop=loops(), style=st.none() | names.filter(bool), generation=_generation(),
                     view=st.dictionaries(names, json_values, max_size=5))
