"""Work around a reference-count bug of PySide6 6.12 on Python < 3.12.

There, every call of a PySide6 method that returns ``None`` (``QPainter.drawRect``,
``QWidget.update``, ``QColor.setAlpha``, ...) takes one reference from ``None`` without having
given it one (and bool-returning ones do the same to ``True``/``False``). Python 3.12 made these
objects immortal, so the bug is harmless there; on 3.11 ``None`` starts with a few thousand
references and the process aborts with "Fatal Python error: none_dealloc" after a few thousand
such calls, i.e. within seconds of painting.

:func:`protect` probes for the bug and, only when it is present, gives ``None``, ``True`` and
``False`` a huge number of extra references, which makes them as immortal as 3.12 does. It
changes nothing where the bug is absent.
"""

from __future__ import annotations

import ctypes
import sys

_done = False


def _leaks() -> bool:
    from PySide6.QtCore import QPoint

    p = QPoint()
    before = sys.getrefcount(None)
    for _ in range(8):
        p.setX(1)
    return sys.getrefcount(None) < before


def protect() -> bool:
    """Apply the work-around if this PySide6 needs it; True when it was applied."""
    global _done
    if _done or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    _done = True
    if not _leaks():
        return False
    for obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(obj)).value += 1 << 40
    return True
