"""Shared fixtures of the sound tests."""

from __future__ import annotations

import pytest

from gtzcomposer.audio.soundfont import bundled_soundfont


@pytest.fixture(scope="module")
def soundfont():
    """pretty_midi's TimGM6mb.sf2 (small and always installed with the app): the tests' soundfont."""
    sf = bundled_soundfont()
    if sf is None:
        pytest.skip("pretty_midi's TimGM6mb.sf2 is not installed")
    return sf
