"""Every action of the window in one table: its text, shortcut, tip, icon and menu.

The window and the transport bar make their QActions from :data:`ACTIONS` with
:func:`make_action`; the menus are built from the ``menu`` column in table order (a ``-`` row is
a separator), so a shortcut or a menu entry is changed in exactly one place. The piano roll's own
keys (arrows, Delete, 1/2/3 while it has focus) are the editor's and listed in docs/pianoroll.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar, QStyle, QWidget

from .themes import icon

K = QKeySequence.StandardKey
SP = QStyle.StandardPixmap


@dataclass(frozen=True)
class ActionSpec:
    name: str
    text: str
    shortcut: tuple = ()  # QKeySequence.StandardKey values or strings; the first is the main one
    tip: str = ""
    checkable: bool = False
    icon: str | None = None  # resources/icons/<icon>.svg
    standard_icon: SP | None = None  # the style's pixmap (or the fallback for ``icon``)
    menu: str = ""  # "File", "File/Import", ...; "" for tool bar only


_ = ActionSpec
ACTIONS: tuple[ActionSpec, ...] = (
    _("new", "&New", (K.New,), "Start a new song", standard_icon=SP.SP_FileIcon, menu="File"),
    _("open", "&Open…", (K.Open,), "Open a song (.gtzc, MIDI, MusicXML)", standard_icon=SP.SP_DialogOpenButton,
      menu="File"),
    _("@recent", "", menu="File"),
    _("-", "", menu="File"),
    _("save", "&Save", (K.Save,), "Save the song as a .gtzc project", standard_icon=SP.SP_DialogSaveButton,
      menu="File"),
    _("save_as", "Save &As…", (K.SaveAs,), menu="File"),
    _("-", "", menu="File"),
    _("import_midi", "MIDI File…", menu="File/&Import"),
    _("import_xml", "MusicXML File…", menu="File/&Import"),
    _("export_midi", "MIDI File…", ("Ctrl+E",), menu="File/&Export"),
    _("export_xml", "MusicXML File…", menu="File/&Export"),
    _("export_wav", "Audio (WAV, FLAC)…", ("Ctrl+Shift+E",),
      "Render the song to a WAV or FLAC file with the soundfont in use", menu="File/&Export"),
    _("-", "", menu="File"),
    _("quit", "&Quit", (K.Quit,), menu="File"),

    _("undo", "&Undo", (K.Undo,), icon="undo", standard_icon=SP.SP_ArrowBack, menu="Edit"),
    _("redo", "&Redo", (K.Redo, "Ctrl+Y"), icon="redo", standard_icon=SP.SP_ArrowForward, menu="Edit"),
    _("-", "", menu="Edit"),
    _("cut", "Cu&t", (K.Cut,), menu="Edit"),
    _("copy", "&Copy", (K.Copy,), menu="Edit"),
    _("paste", "&Paste", (K.Paste,), "Paste at the cursor", menu="Edit"),
    _("duplicate", "&Duplicate", ("Ctrl+D",), menu="Edit"),
    _("delete", "De&lete", (K.Delete,), menu="Edit"),
    _("-", "", menu="Edit"),
    _("select_all", "Select &All", (K.SelectAll,), menu="Edit"),
    _("-", "", menu="Edit"),
    _("quantize", "&Quantize…", ("Ctrl+Shift+Q",), "Quantize the selection (the track when nothing is selected)",
      menu="Edit"),
    _("up_semitone", "Up a Semitone", tip="Up a Semitone", menu="Edit/&Transpose"),
    _("down_semitone", "Down a Semitone", tip="Down a Semitone", menu="Edit/&Transpose"),
    _("up_octave", "Up an Octave", tip="Up an Octave", menu="Edit/&Transpose"),
    _("down_octave", "Down an Octave", tip="Down an Octave", menu="Edit/&Transpose"),
    _("quick_quantize", "Quantize", ("Q",), "Quantize the selection to the grid", icon="quantize"),
    _("tool_draw", "Draw", ("1",), "Draw tool (1)", checkable=True, icon="tool-draw"),
    _("tool_select", "Select", ("2",), "Select tool (2)", checkable=True, icon="tool-select"),
    _("tool_erase", "Erase", ("3",), "Erase tool (3)", checkable=True, icon="tool-erase"),
    _("snap", "Snap", tip="Snap to the grid", checkable=True, icon="snap"),
    _("triplet", "Triplets", tip="Triplet grid", checkable=True),

    _("zoom_in", "Zoom &In", (K.ZoomIn,), menu="View"),
    _("zoom_out", "Zoom &Out", (K.ZoomOut,), menu="View"),
    _("zoom_fit", "&Default Zoom", ("Ctrl+0",), menu="View"),
    _("-", "", menu="View"),
    _("@follow", "", menu="View"),
    _("-", "", menu="View"),
    _("@docks", "", menu="View"),
    _("-", "", menu="View"),
    _("theme_light", "&Light", checkable=True, menu="View/&Theme"),
    _("theme_dark", "&Dark", checkable=True, menu="View/&Theme"),

    _("add_track", "&Add Track", ("Ctrl+T",), menu="Track"),
    _("add_drums", "Add &Drum Track", menu="Track"),
    _("remove_track", "&Remove Track", menu="Track"),
    _("rename_track", "Re&name Track", ("F2",), menu="Track"),
    _("@instrument", "", menu="Track"),

    _("play", "Play / Stop", ("Space",), "Play / Stop (Space)", checkable=True, standard_icon=SP.SP_MediaPlay,
      menu="T&ransport"),
    _("play_cursor", "Play from Cursor", ("Shift+Space",), standard_icon=SP.SP_MediaSeekForward, menu="T&ransport"),
    _("stop", "Stop", standard_icon=SP.SP_MediaStop, menu="T&ransport"),
    _("rewind", "Go to Start", ("Home",), standard_icon=SP.SP_MediaSkipBackward, menu="T&ransport"),
    _("-", "", menu="T&ransport"),
    _("loop", "Loop", ("L",), "Loop the region marked on the ruler (drag on the ruler to set it)", checkable=True,
      menu="T&ransport"),
    _("follow", "Follow", tip="Scroll the piano roll to follow the playhead", checkable=True, menu="T&ransport"),
    _("metronome", "Click", tip="Metronome", checkable=True, menu="T&ransport"),

    _("about", "&About gtzcomposer", menu="&Help"),
    _("about_qt", "About &Qt", menu="&Help"),
)
del _

SPECS = {a.name: a for a in ACTIONS if a.name != "-" and not a.name.startswith("@")}


def make_action(name: str, parent: QWidget, action: QAction | None = None) -> QAction:
    """The QAction for :data:`ACTIONS`' row ``name`` (or ``action`` set up from it)."""
    spec = SPECS[name]
    a = action if action is not None else QAction(spec.text, parent)
    a.setText(spec.text)
    if spec.shortcut:
        a.setShortcuts([QKeySequence(k) for k in spec.shortcut])
    if spec.tip:
        a.setStatusTip(spec.tip)
        a.setToolTip(spec.tip)
    a.setCheckable(spec.checkable)
    if spec.icon or spec.standard_icon is not None:
        if spec.icon:
            a.setIcon(icon(spec.icon, spec.standard_icon, parent.style()))
        else:
            a.setIcon(parent.style().standardIcon(spec.standard_icon))
    return a


def build_menus(bar: QMenuBar, actions: dict[str, QAction], hooks: dict[str, Callable[[QMenu], None]],
                before_help: QMenu | None = None) -> dict[str, QMenu]:
    """Fill the menu bar from the table: ``actions`` by name, ``hooks["@name"](menu)`` for the
    entries the window makes itself (recent files, dock toggles...), ``before_help`` (the Sound
    menu) just before Help. Returns the menus by path."""
    menus: dict[str, QMenu] = {}

    def menu(path: str) -> QMenu:
        if path not in menus:
            head, _sep, title = path.rpartition("/")
            if head:
                menus[path] = menu(head).addMenu(title)
            else:
                if title == "&Help" and before_help is not None:
                    bar.addMenu(before_help)
                menus[path] = bar.addMenu(title if title.startswith("&") or "&" in title else f"&{title}")
        return menus[path]

    for spec in ACTIONS:
        if not spec.menu:
            continue
        m = menu(spec.menu)
        if spec.name == "-":
            m.addSeparator()
        elif spec.name.startswith("@"):
            hooks[spec.name](m)
        else:
            m.addAction(actions[spec.name])
    return menus
