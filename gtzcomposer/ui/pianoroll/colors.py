"""Colours of the piano roll, all derived from the widget's QPalette so light and dark themes
both read well."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QPalette

VELOCITY_SHADES = 8
_SHADES: dict[tuple[int, int], list[QColor]] = {}  # (track colour, base) -> shades


def mix(a: QColor, b: QColor, t: float) -> QColor:
    """``a`` moved a fraction ``t`` of the way to ``b``."""
    return QColor(
        round(a.red() + (b.red() - a.red()) * t),
        round(a.green() + (b.green() - a.green()) * t),
        round(a.blue() + (b.blue() - a.blue()) * t),
    )


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Base).lightness() < 128


@dataclass
class RollColors:
    base: QColor
    text: QColor
    row_in_scale: QColor
    row_out_scale: QColor
    row_tonic: QColor
    row_line: QColor
    octave_line: QColor
    bar_line: QColor
    beat_line: QColor
    grid_line: QColor
    selection: QColor
    rubber_band: QColor
    loop: QColor
    playhead: QColor
    cursor: QColor
    ruler_bg: QColor
    white_key: QColor
    black_key: QColor
    key_text: QColor
    dark: bool

    @classmethod
    def from_palette(cls, palette: QPalette) -> RollColors:
        role = QPalette.ColorRole
        base, text = palette.color(role.Base), palette.color(role.Text)
        window, highlight = palette.color(role.Window), palette.color(role.Highlight)
        dark = is_dark(palette)
        band = QColor(highlight)
        band.setAlpha(50)
        loop = QColor(highlight)
        loop.setAlpha(45)
        return cls(
            base=base,
            text=text,
            row_in_scale=base,
            row_out_scale=mix(base, text, 0.075 if dark else 0.06),
            row_tonic=mix(base, highlight, 0.14),
            row_line=mix(base, text, 0.05),
            octave_line=mix(base, text, 0.2),
            bar_line=mix(base, text, 0.5),
            beat_line=mix(base, text, 0.24),
            grid_line=mix(base, text, 0.11),
            selection=text,
            rubber_band=band,
            loop=loop,
            playhead=QColor("#ff5a36") if dark else QColor("#d7301f"),
            cursor=mix(base, text, 0.6),
            ruler_bg=window,
            white_key=mix(base, QColor("white"), 0.6) if dark else QColor("white"),
            black_key=mix(window, QColor("black"), 0.55 if dark else 0.75),
            key_text=QColor(40, 40, 40),
            dark=dark,
        )

    def note_fill(self, track_color: QColor, velocity: int) -> QColor:
        """Track colour shaded by velocity: softer notes fade towards the background."""
        return self.note_shades(track_color)[velocity_shade(velocity)]

    def note_shades(self, track_color: QColor) -> list[QColor]:
        # the loudest shade is the track colour itself, the softest 60% of the way to the base
        key = track_color.rgba()
        shades = _SHADES.get((key, self.base.rgba()))
        if shades is None:
            shades = [mix(track_color, self.base, 0.6 * (1 - i / (VELOCITY_SHADES - 1))) for i in range(VELOCITY_SHADES)]
            if len(_SHADES) > 256:
                _SHADES.clear()
            _SHADES[(key, self.base.rgba())] = shades
        return shades

    def note_outline(self, track_color: QColor) -> QColor:
        return track_color.darker(170) if not self.dark else track_color.darker(220)


def velocity_shade(velocity: int) -> int:
    return min(VELOCITY_SHADES - 1, (max(1, velocity) - 1) * VELOCITY_SHADES // 127)
