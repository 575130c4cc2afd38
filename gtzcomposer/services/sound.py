"""The sound work the window asks for, in one place: the audio-output check, offline renders
(WAV/FLAC export) and soundfont checks. Each long one is a task for :class:`TaskRunner`
(``fn(..., progress, is_cancelled)``); the heavy sound modules load only when called.
"""

from __future__ import annotations

from pathlib import Path

from ..core import Song

EXPORT_RATES = (44100, 48000)
EXPORT_BITS = (16, 24)


def probe_output(service, progress=None, is_cancelled=None) -> tuple[bool, str]:
    """(ok, reason) of the playback service's output; opening FluidSynth's driver takes a few
    hundred ms, so the window runs this on a worker. Never raises."""
    try:
        ok, why = service.available()
    except Exception as exc:  # noqa: BLE001 - a backend failing to start is "no audio", never a crash
        return False, f"no audio output: {exc}"
    return bool(ok), str(why or "")


def render_wav(song: Song, path, soundfont: str | None = None, sample_rate: int = 44100, bit_depth: int = 16,
               progress=None, is_cancelled=None):
    """Render ``song`` to a .wav or .flac file (by its extension) with ``soundfont`` (the
    default one when None)."""
    from ..audio.render import keep_soundfont, render_song

    # The soundfont stays in memory after the first export: later exports skip reading it.
    kept = keep_soundfont(soundfont or None)
    return render_song(song, path, soundfont=kept, sample_rate=sample_rate, bit_depth=bit_depth,
                       progress=progress, is_cancelled=is_cancelled)


def load_soundfont(path: str, progress=None, is_cancelled=None):
    """Check that FluidSynth accepts ``path`` by loading it (and keep it loaded for the next
    export); returns the :class:`~gtzcomposer.audio.soundfont.Soundfont`. Raises
    :class:`~gtzcomposer.audio.soundfont.SoundfontError` with the reason."""
    from ..audio.render import keep_soundfont

    return keep_soundfont(path)


def describe_soundfont(path: str | None) -> tuple[str, str]:
    """(short text, tooltip) for the soundfont that ``path`` (or the default, when empty) gives;
    never raises: a chosen file that went missing says so."""
    from ..audio.soundfont import resolve_soundfont

    try:
        sf = resolve_soundfont(path or None)
    except Exception as exc:  # noqa: BLE001 - shown to the user, never raised in a menu
        return f"{Path(path).name if path else 'none'} (unusable)", str(exc)
    origin = {"user": "your choice", "system": "system default", "bundled": "built-in default"}.get(sf.source, sf.source)
    return f"{sf.path.name} ({origin})", str(sf.path)
