"""The look: light and dark palettes (one colour per palette role) and the app's icons.

Kept apart from the app start-up (``app.py``) and the window so that both, and any panel, can
switch the theme without importing each other.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication, QStyle

from ..resources import resource

THEMES = ("light", "dark")

# Colour of each palette role (by role name), and of disabled text.
_LIGHT = {
    "Window": "#eef0f3", "WindowText": "#1d2128", "Base": "#ffffff", "AlternateBase": "#f4f6f8",
    "ToolTipBase": "#fffbe6", "ToolTipText": "#1d2128", "Text": "#1d2128", "Button": "#e6e9ed",
    "ButtonText": "#1d2128", "BrightText": "#d0021b", "Highlight": "#2f6fdb", "HighlightedText": "#ffffff",
    "Link": "#2f6fdb", "PlaceholderText": "#7b8490", "Light": "#ffffff", "Midlight": "#f2f4f6",
    "Mid": "#b8bec6", "Dark": "#8c939c", "Shadow": "#5c636b", "disabled": "#9aa1aa",
}
_DARK = {
    "Window": "#2b2e33", "WindowText": "#e3e6ea", "Base": "#1f2125", "AlternateBase": "#272a2f",
    "ToolTipBase": "#3a3e45", "ToolTipText": "#e3e6ea", "Text": "#e3e6ea", "Button": "#353940",
    "ButtonText": "#e3e6ea", "BrightText": "#ff6b6b", "Highlight": "#4a8cf0", "HighlightedText": "#ffffff",
    "Link": "#6aa5ff", "PlaceholderText": "#8a9099", "Light": "#4a4f57", "Midlight": "#3e424a",
    "Mid": "#2f3238", "Dark": "#1a1c1f", "Shadow": "#0f1012", "disabled": "#6c727b",
}


def _palette(colors: dict[str, str]) -> QPalette:
    p = QPalette()
    r, g = QPalette.ColorRole, QPalette.ColorGroup
    for name, c in colors.items():
        if name != "disabled":
            p.setColor(getattr(r, name), QColor(c))
    for role in (r.WindowText, r.Text, r.ButtonText):
        p.setColor(g.Disabled, role, QColor(colors["disabled"]))
    return p


def light_palette() -> QPalette:
    return _palette(_LIGHT)


def dark_palette() -> QPalette:
    return _palette(_DARK)


def apply_theme(app: QApplication, name: str) -> None:
    app.setPalette(dark_palette() if name == "dark" else light_palette())


def icon(name: str, fallback: QStyle.StandardPixmap | None = None, style: QStyle | None = None) -> QIcon:
    """``resources/icons/<name>.svg``, else the style's standard pixmap ``fallback``."""
    path = resource("icons", f"{name}.svg")
    if path.is_file():
        return QIcon(str(path))
    if fallback is not None and style is not None:
        return style.standardIcon(fallback)
    return QIcon()
