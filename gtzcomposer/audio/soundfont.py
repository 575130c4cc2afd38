"""Which General MIDI soundfont to use, decided in one place.

Order: the user's choice (a ``--soundfont`` argument or the app setting) -> a system GM font
(Debian's ``fluid-soundfont-gm`` FluidR3_GM, the ``default-GM.sf2`` alternative, ...) -> the
TimGM6mb font that ships inside the pretty_midi wheel. A user's choice that is missing or is not
a SoundFont is an error (never silently replaced by another font); the automatic fallbacks skip
files that are missing or broken.

Nothing heavy is imported here: pretty_midi's folder is found with ``importlib.util.find_spec``
without importing the package.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import GtzError

SOUNDFONT_SUFFIXES = (".sf2", ".sf3")

ENV_VAR = "GTZCOMPOSER_SOUNDFONT"
"""An environment variable that, when set, acts as the user's choice (handy for CI and scripts)."""

# Best first. FluidR3 (MIT) sounds much better than TimGM6mb; default-GM.sf2 is Debian's
# alternatives link (it points at whichever GM font the system prefers).
_SYSTEM_FONT_DIRS = (
    Path("/usr/share/sounds/sf2"),
    Path("/usr/share/soundfonts"),
    Path("/usr/share/sounds/sf3"),
    Path("/usr/local/share/soundfonts"),
    Path("/usr/share/soundfonts/default"),
    Path("/opt/homebrew/share/soundfonts"),
    Path("/usr/local/share/sounds/sf2"),
)
_SYSTEM_FONT_NAMES = (
    "FluidR3_GM.sf2",
    "FluidR3_GM.sf3",
    "default-GM.sf2",
    "default.sf2",
    "GeneralUser GS v1.471.sf2",
    "MuseScore_General.sf3",
    "MuseScore_General.sf2",
    "TimGM6mb.sf2",
)


class SoundfontError(GtzError):
    """A soundfont that is missing, unreadable or not a SoundFont 2/3 file."""


@dataclass(frozen=True, slots=True)
class Soundfont:
    """A resolved soundfont: where it is and why it was chosen ('user', 'system', 'bundled')."""

    path: Path
    source: str

    @property
    def name(self) -> str:
        return self.path.name

    def __fspath__(self) -> str:
        return str(self.path)


def check_soundfont(path: str | os.PathLike) -> Path:
    """Return the path if it is a readable SoundFont 2/3 file, else raise :class:`SoundfontError`.

    The check reads the RIFF header (``RIFF <size> sfbk``), which both .sf2 and .sf3 (Ogg-
    compressed SF2) files carry, and that the declared size fits the file.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise SoundfontError(f"soundfont {p}: no such file")
    if p.is_dir():
        raise SoundfontError(f"soundfont {p}: is a folder, not a .sf2/.sf3 file")
    try:
        size = p.stat().st_size
        with p.open("rb") as fh:
            head = fh.read(12)
    except OSError as exc:
        raise SoundfontError(f"soundfont {p}: cannot be read ({exc.strerror or exc})") from None
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"sfbk":
        raise SoundfontError(
            f"soundfont {p}: not a SoundFont 2/3 file (a .sf2 or .sf3 file starts with 'RIFF....sfbk')"
        )
    declared = int.from_bytes(head[4:8], "little") + 8
    if declared > size:
        raise SoundfontError(
            f"soundfont {p}: the file is cut short ({size} bytes, the header says {declared}); "
            "download or copy it again"
        )
    return p


def bundled_soundfont() -> Path | None:
    """TimGM6mb.sf2 inside the installed pretty_midi package (or a PyInstaller bundle)."""
    candidates = []
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        candidates.append(Path(bundle) / "pretty_midi" / "TimGM6mb.sf2")
    try:
        spec = importlib.util.find_spec("pretty_midi")
    except (ImportError, ValueError):
        spec = None
    if spec is not None:
        for folder in spec.submodule_search_locations or ():
            candidates.append(Path(folder) / "TimGM6mb.sf2")
    for c in candidates:
        if c.is_file():
            return c
    return None


def system_soundfonts() -> list[Path]:
    """General MIDI soundfonts installed on the system, best first (existing files only)."""
    out: list[Path] = []
    seen: set[Path] = set()
    for name in _SYSTEM_FONT_NAMES:
        for folder in _SYSTEM_FONT_DIRS:
            p = folder / name
            if p.is_file():
                real = p.resolve()
                if real not in seen:
                    seen.add(real)
                    out.append(p)
    return out


def candidate_soundfonts() -> list[Soundfont]:
    """Every automatic choice in order of preference (system fonts, then the bundled one)."""
    out = [Soundfont(p, "system") for p in system_soundfonts()]
    bundled = bundled_soundfont()
    if bundled is not None:
        out.append(Soundfont(bundled, "bundled"))
    return out


def resolve_soundfont(choice: str | os.PathLike | None = None) -> Soundfont:
    """The soundfont to use: ``choice`` (or $GTZCOMPOSER_SOUNDFONT) if given, else the best
    automatic candidate that is a valid SoundFont.

    Raises :class:`SoundfontError` if the user's choice is bad or no soundfont exists at all.
    """
    if choice is None or str(choice) == "":
        env = os.environ.get(ENV_VAR)
        if env:
            choice = env
    if choice is not None and str(choice) != "":
        return Soundfont(check_soundfont(choice), "user")
    problems = []
    for cand in candidate_soundfonts():
        try:
            check_soundfont(cand.path)
        except SoundfontError as exc:
            problems.append(str(exc))
            continue
        return cand
    detail = ("; ".join(problems)) if problems else "none found"
    raise SoundfontError(
        "no General MIDI soundfont available: install the 'fluid-soundfont-gm' package, reinstall "
        f"pretty_midi (it ships TimGM6mb.sf2), or pass --soundfont FILE.sf2 ({detail})"
    )
