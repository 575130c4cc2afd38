"""Pure mapping between song space (ticks, pitches) and view pixels. No Qt.

The view's content is a plane ``128 * key_height`` pixels tall (pitch 127 on top) and
``ticks * px_per_tick`` pixels wide; ``scroll_x``/``scroll_y`` are the content pixel at the
view's top-left corner. Every widget of the editor (grid, ruler, keyboard, velocity lane) reads
one shared instance, so they line up by construction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MIN_PX_PER_TICK = 0.0005  # ~1 px per bar of 4/4
MAX_PX_PER_TICK = 2.0  # a 1/64 note is 60 px
MIN_KEY_HEIGHT = 4
MAX_KEY_HEIGHT = 48
PITCHES = 128


@dataclass
class RollGeometry:
    px_per_tick: float = 0.1
    key_height: int = 12
    scroll_x: float = 0.0
    scroll_y: float = 0.0

    # --- horizontal -------------------------------------------------------------------------
    def tick_to_x(self, tick: float) -> float:
        return tick * self.px_per_tick - self.scroll_x

    def x_to_tick(self, x: float) -> float:
        return (x + self.scroll_x) / self.px_per_tick

    def ticks_per_px(self) -> float:
        return 1.0 / self.px_per_tick

    def visible_ticks(self, width: int) -> tuple[int, int]:
        """First and last tick (inclusive bounds, rounded outwards) shown in ``width`` px."""
        return max(0, math.floor(self.x_to_tick(0))), math.ceil(self.x_to_tick(width))

    # --- vertical ---------------------------------------------------------------------------
    @property
    def content_height(self) -> int:
        return PITCHES * self.key_height

    def pitch_to_y(self, pitch: int) -> float:
        """Top edge of ``pitch``'s row."""
        return (PITCHES - 1 - pitch) * self.key_height - self.scroll_y

    def y_to_pitch(self, y: float) -> int:
        row = math.floor((y + self.scroll_y) / self.key_height)
        return min(PITCHES - 1, max(0, PITCHES - 1 - row))

    def visible_pitches(self, height: int) -> tuple[int, int]:
        """Lowest and highest pitch with at least one pixel shown in ``height`` px."""
        return self.y_to_pitch(height - 1), self.y_to_pitch(0)

    # --- changes ----------------------------------------------------------------------------
    def zoom_x(self, factor: float, anchor_x: float = 0.0) -> bool:
        """Scale horizontally keeping the tick under ``anchor_x`` where it is; False when
        already at the limit."""
        old = self.px_per_tick
        new = min(MAX_PX_PER_TICK, max(MIN_PX_PER_TICK, old * factor))
        if new == old:
            return False
        tick = self.x_to_tick(anchor_x)
        self.px_per_tick = new
        self.scroll_x = max(0.0, tick * new - anchor_x)
        return True

    def zoom_y(self, factor: float, anchor_y: float = 0.0) -> bool:
        old = self.key_height
        new = int(round(min(MAX_KEY_HEIGHT, max(MIN_KEY_HEIGHT, old * factor))))
        if new == old:  # small factors on small heights still move one pixel
            new = min(MAX_KEY_HEIGHT, max(MIN_KEY_HEIGHT, old + (1 if factor > 1 else -1 if factor < 1 else 0)))
        if new == old:
            return False
        content_y = (anchor_y + self.scroll_y) / old
        self.key_height = new
        self.scroll_y = float(max(0, round(content_y * new - anchor_y)))
        return True

    def clamp_scroll(self, width: int, height: int, content_ticks: int) -> None:
        max_x = max(0.0, content_ticks * self.px_per_tick - width)
        self.scroll_x = min(max(0.0, self.scroll_x), max_x)
        max_y = max(0.0, self.content_height - height)
        # whole pixels vertically, so rows, notes and keys line up exactly
        self.scroll_y = float(round(min(max(0.0, self.scroll_y), max_y)))

    def center_pitch(self, pitch: float, height: int) -> None:
        """Scroll so that ``pitch`` sits in the middle of ``height`` px."""
        self.scroll_y = float(max(0, round((PITCHES - 1 - pitch + 0.5) * self.key_height - height / 2)))
