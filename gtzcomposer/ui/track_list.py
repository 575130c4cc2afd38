"""Track list: one header per track (colour, name, mute/solo, instrument, channel).

Every change goes through the document as an edit (AddTrack, RemoveTrack, UpdateTrack), so it
undoes and redoes like a note edit. Rows are rebuilt only when track properties change, not on
every note edit.
"""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import (
    QColorDialog,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QSpinBox,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..core import (
    DRUM_CHANNEL,
    GM_FAMILIES,
    GM_PROGRAM_NAMES,
    AddTrack,
    RemoveTrack,
    Song,
    Track,
    UpdateTrack,
    free_channel,
    new_track,
)
from .document import SongDocument

DRUM_KIT = -1  # the instrument menu's value for "the GM drum kit"


def instrument_name(track: Track) -> str:
    if track.is_drum:
        return "Drum kit"
    return f"{track.program + 1:3d} {GM_PROGRAM_NAMES[track.program]}"


def build_instrument_menu(parent: QWidget | None = None) -> QMenu:
    """The 128 GM programs in their 16 families, and the drum kit; each action's data is the
    program number (or :data:`DRUM_KIT`)."""
    menu = QMenu("Instrument", parent)
    for f, family in enumerate(GM_FAMILIES):
        sub = menu.addMenu(family)
        for p in range(f * 8, f * 8 + 8):
            action = sub.addAction(f"{p + 1}  {GM_PROGRAM_NAMES[p]}")
            action.setData(p)
    menu.addSeparator()
    drums = menu.addAction("Drum kit (channel 10)")
    drums.setData(DRUM_KIT)
    return menu


class TrackRow(QWidget):
    """The header of one track; emits nothing itself: the list connects its widgets."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.color_button = QToolButton(self)
        self.color_button.setFixedSize(16, 36)
        self.color_button.setToolTip("Track colour")
        self.name_edit = QLineEdit(self)
        self.name_edit.setFrame(False)
        self.name_edit.setToolTip("Track name (edit to rename)")
        self.mute_button = QToolButton(self)
        self.mute_button.setText("M")
        self.mute_button.setCheckable(True)
        self.mute_button.setToolTip("Mute")
        self.solo_button = QToolButton(self)
        self.solo_button.setText("S")
        self.solo_button.setCheckable(True)
        self.solo_button.setToolTip("Solo")
        for b in (self.mute_button, self.solo_button):
            b.setFixedSize(24, 22)
        self.instrument_button = QToolButton(self)
        self.instrument_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.instrument_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.instrument_button.setSizePolicy(self.name_edit.sizePolicy())
        self.instrument_button.setToolTip("General MIDI instrument")
        self.channel_spin = QSpinBox(self)
        self.channel_spin.setRange(1, 16)
        self.channel_spin.setPrefix("Ch ")
        self.channel_spin.setToolTip("MIDI channel (10 is the drum channel)")
        self.channel_spin.setKeyboardTracking(False)

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.setSpacing(2)
        top.addWidget(self.name_edit, 1)
        top.addWidget(self.mute_button)
        top.addWidget(self.solo_button)
        bottom = QHBoxLayout()
        bottom.setContentsMargins(0, 0, 0, 0)
        bottom.setSpacing(2)
        bottom.addWidget(self.instrument_button, 1)
        bottom.addWidget(self.channel_spin)
        right = QVBoxLayout()
        right.setContentsMargins(0, 0, 0, 0)
        right.setSpacing(1)
        right.addLayout(top)
        right.addLayout(bottom)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(4, 3, 4, 3)
        outer.setSpacing(6)
        outer.addWidget(self.color_button)
        outer.addLayout(right, 1)

    def show_track(self, track: Track) -> None:
        for w in (self.name_edit, self.mute_button, self.solo_button, self.channel_spin):
            w.blockSignals(True)
        if not self.name_edit.hasFocus():
            self.name_edit.setText(track.name)
        self.mute_button.setChecked(track.mute)
        self.solo_button.setChecked(track.solo)
        self.channel_spin.setValue(track.channel + 1)
        for w in (self.name_edit, self.mute_button, self.solo_button, self.channel_spin):
            w.blockSignals(False)
        self.instrument_button.setText(instrument_name(track))
        self.color_button.setStyleSheet(
            f"QToolButton {{ background: {track.color}; border: 1px solid palette(mid); border-radius: 3px; }}"
        )
        self.setToolTip(f"{track.name}: {len(track.notes)} notes, {instrument_name(track).strip()}")


def _header(track: Track) -> tuple:
    return (track.name, track.program, track.channel, track.is_drum, track.color, track.mute, track.solo,
            len(track.notes))


class TrackList(QWidget):
    """Dock content: the track headers, with add/remove buttons."""

    trackActivated = Signal(int)

    def __init__(self, document: SongDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._doc = document
        self._headers: tuple = ()
        self._menu_row = -1

        self.list = QListWidget(self)
        self.list.setSelectionMode(QListWidget.SelectionMode.SingleSelection)
        self.list.setUniformItemSizes(True)
        self.list.setStyleSheet(
            "QListWidget::item { border-bottom: 1px solid palette(midlight); }"
            "QListWidget::item:selected { background: palette(alternate-base);"
            " border-left: 3px solid palette(highlight); }")
        self.list.currentRowChanged.connect(self._on_row_changed)

        self.add_button = QToolButton(self)
        self.add_button.setText("+ Track")
        self.add_button.setToolTip("Add a track after the current one")
        self.add_button.clicked.connect(lambda: self.add_track())
        self.remove_button = QToolButton(self)
        self.remove_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_TrashIcon))
        self.remove_button.setText("Remove")
        self.remove_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.remove_button.setToolTip("Remove the current track (undoable)")
        self.remove_button.clicked.connect(lambda: self.remove_track())

        buttons = QHBoxLayout()
        buttons.setContentsMargins(4, 4, 4, 0)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(buttons)
        layout.addWidget(self.list, 1)

        self.instrument_menu = build_instrument_menu(self)
        self.instrument_menu.triggered.connect(self._on_instrument_chosen)

        document.songChanged.connect(self._refresh)
        document.currentTrackChanged.connect(self._on_current_changed)
        self._refresh(document.song)

    # --- actions (each one undoable edit) ----------------------------------------------------
    def add_track(self, program: int = 0, is_drum: bool = False) -> int:
        song = self._doc.song
        index = min(len(song.tracks), self._doc.current_track + 1) if song.tracks else 0
        track = new_track(len(song.tracks), program=program, is_drum=is_drum)
        if not is_drum:
            track = _replace(track, channel=free_channel(song))
        self._doc.push(AddTrack(track, index))
        self._doc.current_track = index
        return index

    def remove_track(self, index: int | None = None) -> None:
        index = self._doc.current_track if index is None else index
        if not 0 <= index < len(self._doc.song.tracks):
            return
        name = self._doc.song.tracks[index].name
        self._doc.push(RemoveTrack(index, label=f"Remove track '{name}'"))
        self._doc.current_track = max(0, min(index, len(self._doc.song.tracks) - 1))

    def rename(self, index: int, name: str) -> None:
        name = name.strip()
        if name and name != self._doc.song.tracks[index].name:
            self._doc.push(UpdateTrack(index, (("name", name),), "Rename track"))

    def set_instrument(self, index: int, program: int) -> None:
        """A GM program 0..127, or :data:`DRUM_KIT`."""
        song = self._doc.song
        t = song.tracks[index]
        if program == DRUM_KIT:
            if not t.is_drum:
                self._doc.push(UpdateTrack(index, (("is_drum", True), ("channel", DRUM_CHANNEL)), "Set drum kit"))
            return
        changes: list[tuple[str, object]] = []
        if t.is_drum:
            changes += [("is_drum", False), ("channel", free_channel(song, exclude=index))]
        if program != t.program:
            changes.append(("program", program))
        if changes:
            self._doc.push(UpdateTrack(index, tuple(changes), f"Set instrument: {GM_PROGRAM_NAMES[program]}"))

    def set_mute(self, index: int, on: bool) -> None:
        if self._doc.song.tracks[index].mute != on:
            self._doc.push(UpdateTrack(index, (("mute", on),), "Mute track" if on else "Unmute track"))

    def set_solo(self, index: int, on: bool) -> None:
        if self._doc.song.tracks[index].solo != on:
            self._doc.push(UpdateTrack(index, (("solo", on),), "Solo track" if on else "Unsolo track"))

    def set_color(self, index: int, color: str) -> None:
        color = QColor(color).name()
        if self._doc.song.tracks[index].color != color:
            self._doc.push(UpdateTrack(index, (("color", color),), "Change track colour"))

    def set_channel(self, index: int, channel: int) -> None:
        """``channel`` is 0-based (the spin box shows 1..16)."""
        t = self._doc.song.tracks[index]
        if t.channel != channel:
            changes: tuple = (("channel", channel),)
            if (channel == DRUM_CHANNEL) != t.is_drum:
                changes += (("is_drum", channel == DRUM_CHANNEL),)
            self._doc.push(UpdateTrack(index, changes, "Change channel"), merge_key=f"track-channel-{index}")

    # --- view --------------------------------------------------------------------------------
    def row_widget(self, index: int) -> TrackRow:
        return self.list.itemWidget(self.list.item(index))

    def refresh(self) -> None:
        """Redraw every header (after a theme change)."""
        self._headers = ()
        self._refresh(self._doc.song)

    def _refresh(self, song: Song) -> None:
        headers = tuple(_header(t) for t in song.tracks)
        if headers == self._headers:
            return
        if len(headers) != len(self._headers):
            self._rebuild(song)
        else:
            for i, t in enumerate(song.tracks):
                if headers[i] != self._headers[i]:
                    self.row_widget(i).show_track(t)
        self._headers = headers
        self.remove_button.setEnabled(bool(song.tracks))

    def _rebuild(self, song: Song) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for i, t in enumerate(song.tracks):
            item = QListWidgetItem(self.list)
            row = TrackRow(self.list)
            row.show_track(t)
            self._connect_row(row, i)
            item.setSizeHint(QSize(200, row.sizeHint().height()))
            self.list.setItemWidget(item, row)
        self.list.setCurrentRow(self._doc.current_track if song.tracks else -1)
        self.list.blockSignals(False)

    def _connect_row(self, row: TrackRow, i: int) -> None:
        row.name_edit.editingFinished.connect(lambda: self.rename(i, row.name_edit.text()))
        row.name_edit.returnPressed.connect(row.name_edit.clearFocus)
        row.mute_button.toggled.connect(partial(self.set_mute, i))
        row.solo_button.toggled.connect(partial(self.set_solo, i))
        row.channel_spin.valueChanged.connect(lambda v: self.set_channel(i, v - 1))
        row.color_button.clicked.connect(partial(self._choose_color, i))
        row.instrument_button.clicked.connect(partial(self._show_instrument_menu, i, row))
        for w in (row.name_edit, row.mute_button, row.solo_button, row.channel_spin, row.color_button,
                  row.instrument_button):
            w.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        # Clicking into any control of a row makes that track current.
        if event.type() == event.Type.FocusIn or event.type() == event.Type.MouseButtonPress:
            for i in range(self.list.count()):
                row = self.row_widget(i)
                if row is not None and obj.parent() is row:
                    if self.list.currentRow() != i:
                        self.list.setCurrentRow(i)
                    break
        return False

    def _choose_color(self, index: int) -> None:
        color = QColorDialog.getColor(QColor(self._doc.song.tracks[index].color), self, "Track colour")
        if color.isValid():
            self.set_color(index, color.name())

    def _show_instrument_menu(self, index: int, row: TrackRow) -> None:
        self._menu_row = index
        self.instrument_menu.popup(row.instrument_button.mapToGlobal(row.instrument_button.rect().bottomLeft()))

    def _on_instrument_chosen(self, action: QAction) -> None:
        if 0 <= self._menu_row < len(self._doc.song.tracks) and action.data() is not None:
            self.set_instrument(self._menu_row, int(action.data()))

    def _on_row_changed(self, row: int) -> None:
        if row >= 0:
            self._doc.current_track = row
            self.trackActivated.emit(row)

    def _on_current_changed(self, index: int) -> None:
        if self.list.currentRow() != index and index < self.list.count():
            self.list.blockSignals(True)
            self.list.setCurrentRow(index)
            self.list.blockSignals(False)


def _replace(track: Track, **changes) -> Track:
    from dataclasses import replace

    return replace(track, **changes)
