"""Application settings: QSettings in INI format with typed reads, defaults and a schema version.

Every key lives in one group per area (``window/``, ``files/``, ``autosave/``, ``editor/``,
``transport/``, ``appearance/``) and is declared once in :data:`DEFAULTS` with its default; the
default's type is the type a read returns, so a hand-edited or corrupt value falls back to the
default instead of reaching the UI as a string.

Where the file lives: ``$GTZCOMPOSER_SETTINGS`` (a file path) when set (tests use it), else
Qt's per-user config folder (``~/.config/gtzcomposer/gtzcomposer.ini`` on Linux).
The app's data folder (recovery files) is ``$GTZCOMPOSER_DATA_DIR`` or Qt's AppDataLocation.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings, QStandardPaths

SCHEMA_VERSION = 1

MAX_RECENT = 10

DEFAULTS: dict[str, Any] = {
    "window/geometry": QByteArray(),
    "window/state": QByteArray(),
    "files/recent": [],
    "files/last_dir": "",
    "autosave/enabled": True,
    "autosave/interval_s": 60,
    "editor/tool": "draw",
    "editor/snap": True,
    "editor/grid": 16,
    "editor/triplet": False,
    "editor/follow": True,
    "transport/metronome": False,
    "appearance/theme": "light",
    "models/preload": True,
    "audio/soundfont": "",
    "audio/record_quantize": True,
    "audio/export_rate": 44100,
    "audio/export_bits": 16,
}


def settings_path() -> Path:
    env = os.environ.get("GTZCOMPOSER_SETTINGS")
    if env:
        return Path(env)
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericConfigLocation)
    return Path(base or Path.home() / ".config") / "gtzcomposer" / "gtzcomposer.ini"


def data_dir() -> Path:
    """Per-user folder for recovery files (created on demand)."""
    env = os.environ.get("GTZCOMPOSER_DATA_DIR")
    if env:
        path = Path(env)
    else:
        base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericDataLocation)
        path = Path(base or Path.home() / ".local" / "share") / "gtzcomposer"
    path.mkdir(parents=True, exist_ok=True)
    return path


class Settings:
    """Typed access to the settings file. ``get(key)`` returns the declared default's type."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else settings_path()
        self._q = QSettings(str(self.path), QSettings.Format.IniFormat)
        self._migrate()

    @property
    def qsettings(self) -> QSettings:
        return self._q

    def _migrate(self) -> None:
        version = self._q.value("meta/schema", 0)
        try:
            version = int(version)
        except (TypeError, ValueError):
            version = 0
        if version > SCHEMA_VERSION:
            return  # written by a newer release: read what we know, write nothing back over it
        # Version 0 -> 1: nothing to convert (first release with a schema).
        if version != SCHEMA_VERSION:
            self._q.setValue("meta/schema", SCHEMA_VERSION)

    @property
    def schema(self) -> int:
        return int(self._q.value("meta/schema", SCHEMA_VERSION))

    def get(self, key: str) -> Any:
        default = DEFAULTS[key]
        raw = self._q.value(key, None)
        if raw is None:
            return _copy(default)
        try:
            return _coerce(raw, default)
        except (TypeError, ValueError):
            return _copy(default)

    def set(self, key: str, value: Any) -> None:
        if key not in DEFAULTS:
            raise KeyError(f"unknown setting {key!r}")
        self._q.setValue(key, value)

    def sync(self) -> None:
        self._q.sync()

    # --- recent files ------------------------------------------------------------------------
    def recent_files(self) -> list[str]:
        return [p for p in self.get("files/recent") if p][:MAX_RECENT]

    def add_recent(self, path: str | Path) -> list[str]:
        path = str(Path(path).resolve())
        recent = [p for p in self.recent_files() if p != path]
        recent.insert(0, path)
        recent = recent[:MAX_RECENT]
        self.set("files/recent", recent)
        return recent

    def clear_recent(self) -> None:
        self.set("files/recent", [])


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


def _coerce(raw: Any, default: Any) -> Any:
    if isinstance(default, bool):
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("true", "1", "yes", "on"):
            return True
        if text in ("false", "0", "no", "off"):
            return False
        raise ValueError(raw)
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, list):
        if isinstance(raw, str):  # QSettings gives a one-item list back as a plain string
            return [raw]
        return [str(x) for x in raw]
    if isinstance(default, QByteArray):
        return raw if isinstance(raw, QByteArray) else QByteArray(raw)
    return str(raw)
