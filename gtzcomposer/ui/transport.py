"""Transport bar (play/stop, play from cursor, follow, loop, metronome, position) and the song
panel (tempo, time signature, key).

Tempo, meter and key editors push SetTempos / SetTimeSignatures / SetKeySignatures edits: each
edits the event in effect at the cursor (the first one for a song with a single tempo/meter/key).
"""

from __future__ import annotations

import html
from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QSpinBox,
    QStyle,
    QToolBar,
    QToolButton,
    QWidget,
)

from ..core import (
    KeySignature,
    SetKeySignatures,
    SetTempos,
    SetTimeSignatures,
    Song,
    TempoChange,
    TimeSignature,
    bar_at,
    format_position,
)
from .actions import make_action
from .document import SongDocument

# --- key names ---------------------------------------------------------------------------------

KEY_CHOICES: tuple[KeySignature, ...] = tuple(
    KeySignature.from_sharps(0, s, minor) for minor in (False, True) for s in range(-7, 8)
)




def _key_id(key: KeySignature) -> str:
    return f"{key.tonic}:{key.mode}:{key.sharps}"


_KEYS_BY_ID = {_key_id(k): k for k in KEY_CHOICES}


def faded_disabled(icon: QIcon, sizes=(16, 22, 24, 32)) -> QIcon:
    """``icon`` with an explicitly faded Disabled mode (some styles draw disabled standard icons
    exactly like enabled ones on a light palette)."""
    out = QIcon()
    for size in sizes:
        pm = icon.pixmap(size, size)
        out.addPixmap(pm, QIcon.Mode.Normal)
        faded = QPixmap(pm.size())
        faded.setDevicePixelRatio(pm.devicePixelRatio())
        faded.fill(Qt.GlobalColor.transparent)
        painter = QPainter(faded)
        painter.setOpacity(0.3)
        painter.drawPixmap(0, 0, pm)
        painter.end()
        out.addPixmap(faded, QIcon.Mode.Disabled)
    return out


class TransportBar(QToolBar):
    """The transport toolbar. Actions are public so the window puts them into menus too."""

    playRequested = Signal(bool)  # True: from the cursor
    stopRequested = Signal()
    followToggled = Signal(bool)
    loopToggled = Signal(bool)
    metronomeToggled = Signal(bool)

    def __init__(self, document: SongDocument, parent: QWidget | None = None) -> None:
        super().__init__("Transport", parent)
        self.setObjectName("TransportBar")
        self._doc = document
        self._cursor = 0
        # (texts, shortcuts and tips: the one table in actions.py)
        self.play_action = make_action("play", self)
        self.play_action.triggered.connect(self._on_play_toggled)
        self.play_cursor_action = make_action("play_cursor", self)
        self.play_cursor_action.triggered.connect(lambda: self.playRequested.emit(True))
        self.stop_action = make_action("stop", self)
        self.stop_action.triggered.connect(self.stopRequested.emit)
        self.rewind_action = make_action("rewind", self)
        self.follow_action = make_action("follow", self)
        self.follow_action.toggled.connect(self.followToggled.emit)
        self.loop_action = make_action("loop", self)
        self.loop_action.toggled.connect(self.loopToggled.emit)
        self.metronome_action = make_action("metronome", self)
        self.metronome_action.toggled.connect(self.metronomeToggled.emit)
        self.playback_actions = (self.play_action, self.play_cursor_action, self.stop_action)
        for a in (*self.playback_actions, self.rewind_action):
            a.setIcon(faded_disabled(a.icon()))

        for a in (self.rewind_action, self.play_action, self.stop_action, self.play_cursor_action):
            self.addAction(a)
        self.addSeparator()
        for a in (self.loop_action, self.follow_action, self.metronome_action):
            self.addAction(a)
        self.addSeparator()

        self.position_label = QLabel("1.1.000", self)
        self.position_label.setObjectName("PositionDisplay")
        self.position_label.setToolTip("Playhead position (bar.beat.tick)")
        self.position_label.setMinimumWidth(90)
        self.position_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = self.position_label.font()
        font.setFamily("DejaVu Sans Mono")
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.position_label.setFont(font)
        self.addWidget(self.position_label)
        self.addSeparator()
        self.song_panel = SongPanel(document, self)
        self.addWidget(self.song_panel)

    def set_available(self, ok: bool, reason: str) -> None:
        """Enable or disable playback; a disabled control says why in its tooltip."""
        why = html.escape(reason)
        for a in self.playback_actions:
            a.setEnabled(ok)
            base = a.text()
            # Rich text so that a long reason wraps instead of running off the screen.
            a.setToolTip(base if ok else f"<qt>{base}: playback unavailable: {why}</qt>")
        self.play_action.setToolTip("Play / Stop (Space)" if ok else f"<qt>Playback unavailable: {why}</qt>")

    def set_playing(self, playing: bool) -> None:
        self.play_action.blockSignals(True)
        self.play_action.setChecked(playing)
        self.play_action.blockSignals(False)
        icon = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_action.setIcon(faded_disabled(self.style().standardIcon(icon)))

    def set_position(self, tick: float) -> None:
        self.position_label.setText(format_position(self._doc.song, max(0, int(tick))))

    def set_cursor(self, tick: int) -> None:
        self._cursor = max(0, int(tick))
        self.song_panel.set_cursor(self._cursor)

    def _on_play_toggled(self, checked: bool) -> None:
        if checked:
            self.playRequested.emit(False)
        else:
            self.stopRequested.emit()


class SongPanel(QWidget):
    """Tempo (bpm), time signature and key at the cursor; each change is one undoable edit.

    The "Changes" button adds a tempo change at the cursor, or a meter or key change at the start
    of the cursor's bar (each starting as what is in effect there, so nothing sounds different
    until it is edited), and removes the one in effect at the cursor (not the song's first tempo
    and meter). The editors above always edit what is in effect at the cursor.
    """

    def __init__(self, document: SongDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._doc = document
        self._cursor = 0
        self.tempo_spin = QDoubleSpinBox(self)
        self.tempo_spin.setRange(20.0, 400.0)
        self.tempo_spin.setDecimals(1)
        self.tempo_spin.setSuffix(" bpm")
        self.tempo_spin.setKeyboardTracking(False)
        self.tempo_spin.setToolTip("Tempo at the cursor")
        self.numerator_spin = QSpinBox(self)
        self.numerator_spin.setRange(1, 32)
        self.numerator_spin.setKeyboardTracking(False)
        self.numerator_spin.setToolTip("Beats per bar")
        self.denominator_combo = QComboBox(self)
        for d in (1, 2, 4, 8, 16, 32):
            self.denominator_combo.addItem(str(d), d)
        self.denominator_combo.setToolTip("Beat unit")
        self.key_combo = QComboBox(self)
        self.key_combo.addItem("No key", "")
        for k in KEY_CHOICES:
            self.key_combo.addItem(k.name, _key_id(k))
        self.key_combo.setToolTip("Key (highlights its scale in the piano roll)")
        self.key_combo.setMaxVisibleItems(16)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.setSpacing(4)
        layout.addWidget(QLabel("Tempo", self))
        layout.addWidget(self.tempo_spin)
        layout.addSpacing(8)
        layout.addWidget(QLabel("Meter", self))
        layout.addWidget(self.numerator_spin)
        layout.addWidget(QLabel("/", self))
        layout.addWidget(self.denominator_combo)
        layout.addSpacing(8)
        layout.addWidget(QLabel("Key", self))
        layout.addWidget(self.key_combo)
        layout.addSpacing(4)
        self.changes_menu = QMenu(self)
        self.add_tempo_action = self.changes_menu.addAction("Add a Tempo Change at the Cursor", lambda: self.add_change("tempo"))
        self.add_meter_action = self.changes_menu.addAction("Add a Meter Change at This Bar", lambda: self.add_change("meter"))
        self.add_key_action = self.changes_menu.addAction("Add a Key Change at This Bar", lambda: self.add_change("key"))
        self.changes_menu.addSeparator()
        self.remove_tempo_action = self.changes_menu.addAction("Remove the Tempo Change", lambda: self.remove_change("tempo"))
        self.remove_meter_action = self.changes_menu.addAction("Remove the Meter Change", lambda: self.remove_change("meter"))
        self.remove_key_action = self.changes_menu.addAction("Remove the Key Change", lambda: self.remove_change("key"))
        self.changes_menu.aboutToShow.connect(self.update_change_actions)
        self.changes_button = QToolButton(self)
        self.changes_button.setText("Changes")
        self.changes_button.setToolTip("Add or remove tempo, meter and key changes in the middle of the song")
        self.changes_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.changes_button.setMenu(self.changes_menu)
        layout.addWidget(self.changes_button)

        self.tempo_spin.valueChanged.connect(self.set_tempo)
        self.numerator_spin.valueChanged.connect(lambda n: self.set_time_signature(n, None))
        self.denominator_combo.currentIndexChanged.connect(
            lambda _i: self.set_time_signature(None, self.denominator_combo.currentData()))
        self.key_combo.currentIndexChanged.connect(lambda _i: self._on_key_chosen())
        document.songChanged.connect(self._show)
        self._show(document.song)

    def set_cursor(self, tick: int) -> None:
        self._cursor = tick
        self._show(self._doc.song)

    # --- edits -------------------------------------------------------------------------------
    def set_tempo(self, bpm: float) -> None:
        song = self._doc.song
        current = song.tempo_at(self._cursor)
        new = TempoChange.from_bpm(current.tick, bpm)
        if new.uspq == current.uspq:
            return
        tempos = tuple(new if t.tick == current.tick else t for t in song.tempos)
        self._doc.push(SetTempos(tempos, f"Tempo {bpm:g} bpm"), merge_key=f"song-tempo-{current.tick}")

    def set_time_signature(self, numerator: int | None, denominator: int | None) -> None:
        song = self._doc.song
        current = song.time_signature_at(self._cursor)
        new = TimeSignature(current.tick, numerator or current.numerator, denominator or current.denominator)
        if new == current:
            return
        sigs = tuple(new if s.tick == current.tick else s for s in song.time_signatures)
        self._doc.push(SetTimeSignatures(sigs, f"Time signature {new}"), merge_key=f"song-meter-{current.tick}")

    def set_key(self, key: KeySignature | None) -> None:
        song = self._doc.song
        current = song.key_at(self._cursor)
        if key is None:
            if current is None:
                return
            keys = tuple(k for k in song.key_signatures if k.tick != current.tick)
            label = "Remove key"
        else:
            tick = current.tick if current is not None else 0
            key = replace(key, tick=tick)
            if key == current:
                return
            keys = tuple(k for k in song.key_signatures if k.tick != tick) + (key,)
            label = f"Key {key.name}"
        self._doc.push(SetKeySignatures(keys, label))

    # --- changes in the middle of the song -------------------------------------------------------
    # kind -> (the song's events, the one in effect at a tick, the edit that replaces them, noun)
    _KINDS = {
        "tempo": (lambda s: s.tempos, lambda s, t: s.tempo_at(t), SetTempos, "tempo"),
        "meter": (lambda s: s.time_signatures, lambda s, t: s.time_signature_at(t), SetTimeSignatures, "meter"),
        "key": (lambda s: s.key_signatures, lambda s, t: s.key_at(t), SetKeySignatures, "key"),
    }

    def _change_tick(self, kind: str) -> int:
        """Where a new change of ``kind`` goes: tempo at the cursor, meter and key at its bar."""
        return self._cursor if kind == "tempo" else bar_at(self._doc.song, self._cursor).start

    def can_add(self, kind: str) -> bool:
        events = self._KINDS[kind][0](self._doc.song)
        tick = self._change_tick(kind)
        return all(e.tick != tick for e in events)

    def add_change(self, kind: str) -> bool:
        """Add a change of ``kind`` that starts as what is in effect there (C major for a key
        where the song has none)."""
        if not self.can_add(kind):
            return False
        events_of, at, edit, noun = self._KINDS[kind]
        song, tick = self._doc.song, self._change_tick(kind)
        current = at(song, tick)
        new = replace(current, tick=tick) if current is not None else KeySignature.from_sharps(tick, 0, False)
        where = format_position(song, tick) if kind == "tempo" else f"bar {format_position(song, tick).split('.')[0]}"
        self._doc.push(edit(tuple(sorted(events_of(song) + (new,), key=lambda e: e.tick)),
                            f"Add {noun} change at {where}"))
        return True

    def removable(self, kind: str):
        """The change of ``kind`` ('tempo', 'meter', 'key') in effect at the cursor, if it may be
        removed (the song's first tempo and meter may not; "No key" removes the first key)."""
        current = self._KINDS[kind][1](self._doc.song, self._cursor)
        return current if current is not None and current.tick > 0 else None

    def remove_change(self, kind: str) -> bool:
        current = self.removable(kind)
        if current is None:
            return False
        events_of, _at, edit, noun = self._KINDS[kind]
        song = self._doc.song
        self._doc.push(edit(tuple(e for e in events_of(song) if e.tick != current.tick),
                            f"Remove {noun} change at {format_position(song, current.tick)}"))
        return True

    def update_change_actions(self) -> None:
        song = self._doc.song
        for kind, add, remove in (("tempo", self.add_tempo_action, self.remove_tempo_action),
                                  ("meter", self.add_meter_action, self.remove_meter_action),
                                  ("key", self.add_key_action, self.remove_key_action)):
            add.setEnabled(self.can_add(kind))
            current = self.removable(kind)
            remove.setEnabled(current is not None)
            noun = self._KINDS[kind][3].capitalize()
            remove.setText(f"Remove the {noun} Change" + (f" at {format_position(song, current.tick)}"
                                                           if current is not None else ""))

    def _on_key_chosen(self) -> None:
        data = self.key_combo.currentData()
        self.set_key(None if not data else _KEYS_BY_ID[data])

    # --- view --------------------------------------------------------------------------------
    def _show(self, song: Song) -> None:
        widgets = (self.tempo_spin, self.numerator_spin, self.denominator_combo, self.key_combo)
        for w in widgets:
            w.blockSignals(True)
        self.tempo_spin.setValue(round(song.tempo_at(self._cursor).bpm, 1))
        sig = song.time_signature_at(self._cursor)
        self.numerator_spin.setValue(sig.numerator)
        self.denominator_combo.setCurrentIndex(max(0, self.denominator_combo.findData(sig.denominator)))
        key = song.key_at(self._cursor)
        index = 0
        if key is not None:
            index = self.key_combo.findData(_key_id(key))
        self.key_combo.setCurrentIndex(max(0, index))
        for w in widgets:
            w.blockSignals(False)
