"""FluidSynth façade: one synth, its soundfont, channel set-up, block rendering and (when the
machine has one) a real audio driver.

``pyfluidsynth`` (``import fluidsynth``) is imported lazily, on first use. Two things it does not
do well are done here with ctypes on the same library:

- ``fluid_synth_write_float`` straight into a NumPy buffer (pyfluidsynth's ``get_samples``
  copies through a bytes buffer and gives int16 only);
- opening an audio driver and telling whether it *really* opened: pyfluidsynth's ``start()``
  returns 0 even when every driver failed (its ``audio_driver`` stays a NULL pointer), and it
  also opens a MIDI driver we do not want. :meth:`Synth.open_audio_driver` tries the drivers
  one by one and checks the pointer.

FluidSynth's own log lines are captured (not printed) and used to explain failures.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import os
import sys
import threading
from collections import deque
from pathlib import Path

import numpy as np

from ..core.errors import GtzError
from .events import (
    CC_ALL_NOTES_OFF,
    CC_ALL_SOUND_OFF,
    CC_PAN,
    CC_SUSTAIN,
    CC_VOLUME,
    CONTROL,
    NOTE_OFF,
    NOTE_ON,
    PITCH_BEND_EVENT,
    PRESET,
)
from .soundfont import Soundfont, check_soundfont, resolve_soundfont


class SynthError(GtzError):
    """FluidSynth is missing or refused a request (with FluidSynth's own reason when it gave one)."""


_lock = threading.Lock()
_module = None
_import_error: str | None = None
_log_lines: deque[str] = deque(maxlen=50)
_log_callback = None  # keep the ctypes callback alive


def _fluidsynth():
    """The pyfluidsynth module, imported once; raises :class:`SynthError` if the FluidSynth
    library or the binding is missing."""
    global _module, _import_error
    with _lock:
        if _module is None and _import_error is None:
            try:
                # pyfluidsynth prints where it found the library when $CI is set: keep stdout clean
                with contextlib.redirect_stdout(io.StringIO()):
                    import fluidsynth  # noqa: PLC0415 - lazy on purpose

                _install_prototypes(fluidsynth)
                _module = fluidsynth
            except (ImportError, OSError, AttributeError) as exc:
                _import_error = str(exc) or type(exc).__name__
    if _module is None:
        raise SynthError(missing_fluidsynth_message(_import_error or ""))
    return _module


def missing_fluidsynth_message(error: str) -> str:
    """One sentence saying how to get FluidSynth, fit for where the app runs: a desktop bundle
    (``sys.frozen``: the Python binding is inside, only the system library can be missing) or a
    Python install (the library, or the pyfluidsynth package, or both)."""
    if sys.platform == "darwin":
        how = "install it with Homebrew (brew install fluid-synth)"
    elif sys.platform == "win32":
        how = "install FluidSynth 2.x and put its bin folder (with libfluidsynth-3.dll) on PATH"
    else:
        how = ("install it with your system's package manager (Debian/Ubuntu: sudo apt install libfluidsynth3; "
               "Fedora: sudo dnf install fluidsynth-libs)")
    if getattr(sys, "frozen", False):
        return (f"Sound needs the FluidSynth library, which is not installed on this computer ({error}): {how}, "
                "then start gtzcomposer again")
    if "fluidsynth library" in error.lower():  # pyfluidsynth is there, the library is not
        return f"FluidSynth is not available ({error}): {how}"
    return (f"FluidSynth is not available ({error}); install the libfluidsynth3 system package "
            "and the pyfluidsynth Python package")


def fluidsynth_available() -> tuple[bool, str]:
    """(True, version) if the FluidSynth library and binding load, else (False, reason)."""
    try:
        fs = _fluidsynth()
    except SynthError as exc:
        return False, str(exc)
    major, minor, micro = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
    try:
        fs._fl.fluid_version(ctypes.byref(major), ctypes.byref(minor), ctypes.byref(micro))
        return True, f"FluidSynth {major.value}.{minor.value}.{micro.value}"
    except AttributeError:
        return True, "FluidSynth"


def _install_prototypes(fs) -> None:
    lib = fs._fl
    lib.fluid_synth_write_float.argtypes = [
        ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
        ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
    ]
    lib.fluid_synth_write_float.restype = ctypes.c_int
    lib.new_fluid_audio_driver.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.new_fluid_audio_driver.restype = ctypes.c_void_p
    lib.delete_fluid_audio_driver.argtypes = [ctypes.c_void_p]
    lib.delete_fluid_audio_driver.restype = None
    lib.fluid_settings_setstr.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
    lib.fluid_settings_setstr.restype = ctypes.c_int
    lib.fluid_synth_get_active_voice_count.argtypes = [ctypes.c_void_p]
    lib.fluid_synth_get_active_voice_count.restype = ctypes.c_int
    _capture_log(lib)


def _capture_log(lib) -> None:
    """Send FluidSynth's log lines to a ring buffer instead of stderr."""
    global _log_callback
    if not hasattr(lib, "fluid_set_log_function"):
        return
    callback_type = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)

    def on_log(level, message, _data):
        if level <= 2:  # FLUID_PANIC, FLUID_ERR, FLUID_WARN
            _log_lines.append((message or b"").decode("utf-8", "replace"))

    _log_callback = callback_type(on_log)
    lib.fluid_set_log_function.argtypes = [ctypes.c_int, callback_type, ctypes.c_void_p]
    lib.fluid_set_log_function.restype = ctypes.c_void_p
    for level in range(5):  # PANIC, ERR, WARN, INFO, DBG
        lib.fluid_set_log_function(level, _log_callback, None)


def _recent_log(since: int) -> str:
    lines = list(_log_lines)[since:]
    return "; ".join(dict.fromkeys(line.strip() for line in lines if line.strip()))


@contextlib.contextmanager
def _quiet_stderr():
    """Hide what C libraries (ALSA, JACK) print on fd 2 while drivers are probed."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    saved = os.dup(fd)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


# Drivers worth trying, per platform; the library's own default is tried first.
_DRIVERS = {
    "linux": ("pipewire", "pulseaudio", "alsa", "sdl2", "oss"),
    "darwin": ("coreaudio", "sdl2", "portaudio"),
    "win32": ("wasapi", "dsound", "winmidi", "sdl2", "portaudio"),
}


class Synth:
    """One FluidSynth instance with one soundfont loaded.

    ``gain``, reverb and chorus default to FluidSynth's own defaults (gain 0.2, reverb and chorus
    on), the same as the ``fluidsynth`` command-line program, so a render sounds like the CLI's.
    ``settings`` passes any other FluidSynth setting (e.g. ``{"audio.period-size": 256}``).
    """

    def __init__(self, soundfont: Soundfont | str | os.PathLike | None = None, sample_rate: int = 44100,
                 channels: int = 16, gain: float = 0.2, reverb: bool = True, chorus: bool = True,
                 polyphony: int = 256, settings: dict | None = None) -> None:
        fs = _fluidsynth()
        self._fs = fs
        self._lib = fs._fl
        if soundfont is None:
            soundfont = resolve_soundfont()
        path = soundfont.path if isinstance(soundfont, Soundfont) else check_soundfont(soundfont)
        self.soundfont = Path(path)
        self.sample_rate = int(sample_rate)
        self.channels = max(16, -(-int(channels) // 16) * 16)
        self._driver = None
        self.driver_name: str | None = None
        self._closed = False
        self._synth = fs.Synth(gain=float(gain), samplerate=float(sample_rate), channels=self.channels,
                               **{"synth.reverb.active": int(reverb), "synth.chorus.active": int(chorus),
                                  "synth.polyphony": int(polyphony), **(settings or {})})
        self._ptr = self._synth.synth
        since = len(_log_lines)
        self.sfid = self._synth.sfload(str(path))
        if self.sfid < 0:
            why = _recent_log(since)
            self._synth.delete()
            self._closed = True
            from .soundfont import SoundfontError

            raise SoundfontError(f"soundfont {path}: FluidSynth could not load it ({why or 'corrupt file'})")

    # --- channel set-up and events ------------------------------------------------------------
    def select(self, channel: int, bank: int, program: int) -> bool:
        """Give ``channel`` the preset (bank, program); falls back to bank 0 (melodic) or the
        standard kit 0 (drums) if the soundfont lacks that exact preset."""
        ok = self._synth.program_select(channel, self.sfid, bank, program) == 0
        if not ok:
            ok = self._synth.program_select(channel, self.sfid, bank, 0) == 0
        if not ok and bank != 0:
            ok = self._synth.program_select(channel, self.sfid, 0, program) == 0
        return ok

    def setup_channel(self, channel: int, bank: int, program: int, volume: int = 100, pan: int = 64) -> None:
        self.select(channel, bank, program)
        self._synth.cc(channel, CC_VOLUME, volume)
        self._synth.cc(channel, CC_PAN, pan)

    def note_on(self, channel: int, pitch: int, velocity: int) -> None:
        self._synth.noteon(channel, pitch, velocity)

    def note_off(self, channel: int, pitch: int) -> None:
        self._synth.noteoff(channel, pitch)

    def control(self, channel: int, controller: int, value: int) -> None:
        self._synth.cc(channel, controller, value)

    def handle(self, kind: int, channel: int, data1: int, data2: int) -> None:
        """Play one event of :mod:`gtzcomposer.audio.events`."""
        if kind == NOTE_ON:
            self._synth.noteon(channel, data1, data2)
        elif kind == NOTE_OFF:
            self._synth.noteoff(channel, data1)
        elif kind == CONTROL:
            self._synth.cc(channel, data1, data2)
        elif kind == PRESET:
            self.select(channel, data1, data2)
        elif kind == PITCH_BEND_EVENT:
            self._synth.pitch_bend(channel, data2)

    def silence(self, channels=None, hard: bool = False) -> None:
        """Release every note (sustain pedal up, all notes off); ``hard`` also cuts the sound."""
        for ch in range(self.channels) if channels is None else channels:
            self._synth.cc(ch, CC_SUSTAIN, 0)
            self._synth.cc(ch, CC_ALL_NOTES_OFF, 0)
            if hard:
                self._synth.cc(ch, CC_ALL_SOUND_OFF, 0)

    def reset(self) -> None:
        """Stop all sound and reset programs and controllers (a MIDI system reset)."""
        self._synth.system_reset()

    @property
    def active_voices(self) -> int:
        return int(self._lib.fluid_synth_get_active_voice_count(self._ptr))

    # --- offline rendering --------------------------------------------------------------------
    def write_into(self, buffer: np.ndarray, start: int, frames: int) -> None:
        """Render ``frames`` stereo frames into rows ``start:start+frames`` of a C-contiguous
        float32 array of shape (n, 2)."""
        if frames <= 0:
            return
        if buffer.dtype != np.float32 or buffer.ndim != 2 or buffer.shape[1] != 2 or not buffer.flags.c_contiguous:
            raise ValueError("buffer must be a C-contiguous float32 array of shape (n, 2)")
        if start < 0 or start + frames > buffer.shape[0]:
            raise ValueError("render range outside the buffer")
        addr = buffer.ctypes.data + start * 8
        rc = self._lib.fluid_synth_write_float(self._ptr, int(frames), addr, 0, 2, addr, 1, 2)
        if rc != 0:
            raise SynthError("FluidSynth failed to render audio")

    def write(self, frames: int) -> np.ndarray:
        """The next ``frames`` stereo frames as a float32 array of shape (frames, 2)."""
        out = np.zeros((frames, 2), dtype=np.float32)
        self.write_into(out, 0, frames)
        return out

    # --- real-time output ---------------------------------------------------------------------
    def open_audio_driver(self, drivers: tuple[str, ...] | None = None) -> tuple[bool, str]:
        """Try audio drivers until one really opens. Returns (True, driver name) or (False, why).

        JACK is only tried when asked for by name (probing it can start a server).
        """
        if self._driver:
            return True, self.driver_name or ""
        if drivers is None:
            default = self._synth.get_setting("audio.driver")
            platform_key = "linux" if sys.platform.startswith("linux") else sys.platform
            drivers = tuple(dict.fromkeys(d for d in (default, *_DRIVERS.get(platform_key, ())) if d and d != "jack"))
        os.environ.setdefault("JACK_NO_START_SERVER", "1")
        since = len(_log_lines)
        tried = []
        with _quiet_stderr():
            for name in drivers:
                if self._lib.fluid_settings_setstr(self._synth.settings, b"audio.driver", name.encode()) != 0:
                    continue  # not compiled into this FluidSynth
                tried.append(name)
                ptr = self._lib.new_fluid_audio_driver(self._synth.settings, self._ptr)
                if ptr:
                    self._driver = ptr
                    self.driver_name = name
                    return True, name
        why = _recent_log(since)
        names = ", ".join(tried) or "none compiled in"
        return False, f"no audio output device could be opened (tried {names}){': ' + why if why else ''}"

    @property
    def has_audio_driver(self) -> bool:
        return bool(self._driver)

    def close_audio_driver(self) -> None:
        if self._driver:
            self._lib.delete_fluid_audio_driver(self._driver)
            self._driver = None
            self.driver_name = None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.close_audio_driver()
        self._synth.delete()

    def __enter__(self) -> Synth:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:  # a safety net; call close() yourself
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass
