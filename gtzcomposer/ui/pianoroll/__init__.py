"""The piano-roll editor: ruler, keyboard, note grid, velocity lane.

``PianoRollEditor`` is the widget the main window embeds. Inside, a ``RollController`` holds
the state and builds edits; ``PianoRollView`` paints the grid and hands mouse gestures to one
tool class per tool; ``RollGeometry`` maps ticks and pitches to pixels.
"""

from .controller import RollController
from .editor import PianoRollEditor
from .geometry import RollGeometry
from .view import PianoRollView

__all__ = ["PianoRollEditor", "PianoRollView", "RollController", "RollGeometry"]
