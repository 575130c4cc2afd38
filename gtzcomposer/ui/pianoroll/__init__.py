"""The piano-roll editor: ruler, keyboard, note grid, velocity lane.

``PianoRollEditor`` is the widget the main window embeds. Inside, a ``RollController`` holds
the state and builds edits; ``PianoRollView`` paints the grid and hands mouse gestures to one
tool class per tool; ``RollGeometry`` maps ticks and pitches to pixels.
"""

from ._refguard import protect as _protect

_protect()  # PySide6 6.12 on Python 3.11 under-counts references to None; see _refguard

from .controller import RollController  # noqa: E402
from .editor import PianoRollEditor  # noqa: E402
from .geometry import RollGeometry  # noqa: E402
from .view import PianoRollView  # noqa: E402

__all__ = ["PianoRollEditor", "PianoRollView", "RollController", "RollGeometry"]
