"""The only layer that knows both threads and Qt: task runner, playback service."""

from .._qtguard import protect as _protect

_protect()  # PySide6 6.12.0 on Python 3.11 under-counts references to None; see gtzcomposer/_qtguard.py
