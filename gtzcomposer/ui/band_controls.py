"""The band in the editor: the Continue panel's part checkboxes, and what the main window does
with a band take (ghost notes on the parts' own tracks, Accept as one undo step, Audition).

* :class:`BandControls` is a small QWidget the Continue panel puts under its settings: Chords,
  Bass and Drums checkboxes, the band's genre ("as the style" or one of the 10 GTZAN genres),
  "under the seed", and a line saying when the program ``mma`` is missing (the checkboxes are
  then off and the melody works as before).
* :func:`show_band`, :func:`accept_band`, :func:`audition_band` take the main window, so that
  ``main_window.py`` only connects three signals (it is being restructured elsewhere).
"""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

AS_STYLE = "as the style"


class BandControls(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("BandControls")
        from ..ml.band import GENRES, mma_available

        self.chords = QCheckBox("Chords")
        self.bass = QCheckBox("Bass")
        self.drums = QCheckBox("Drums")
        self.under_seed = QCheckBox("Under the seed too")
        self.genre_box = QComboBox()
        self.genre_box.addItems([AS_STYLE, *GENRES])
        self.genre_box.setToolTip("the genre the band plays; 'as the style' uses the melody style "
                                  "(a folk style gets a stand-in band, named after generating)")
        row = QHBoxLayout()
        for box in (self.chords, self.bass, self.drums):
            row.addWidget(box)
        row.addStretch(1)
        form = QFormLayout()
        form.addRow("Band", row)
        form.addRow("Band genre", self.genre_box)
        form.addRow("", self.under_seed)
        self.message = QLabel()
        self.message.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addWidget(self.message)
        self.available = mma_available()
        for box in (self.chords, self.bass, self.drums):
            box.toggled.connect(self._warm)
        if not self.available:
            from ..ml.band.mma import MMA_PACKAGE_HINT

            self.message.setText(MMA_PACKAGE_HINT[0].upper() + MMA_PACKAGE_HINT[1:] + ".")
            for w in (self.chords, self.bass, self.drums, self.under_seed, self.genre_box):
                w.setEnabled(False)

    def _warm(self, on: bool) -> None:
        """A band part was ticked: start MMA now, so that the band's first run does not wait for it."""
        if on and self.available:
            from ..ml.band.mma import prestart

            prestart()

    def parts(self) -> tuple[str, ...]:
        if not self.available:
            return ("melody",)
        chosen = [name for name, box in (("chords", self.chords), ("bass", self.bass), ("drums", self.drums))
                  if box.isChecked()]
        return ("melody", *chosen)

    def set_parts(self, parts) -> None:
        for name, box in (("chords", self.chords), ("bass", self.bass), ("drums", self.drums)):
            box.setChecked(name in parts)

    def genre(self) -> str | None:
        text = self.genre_box.currentText()
        return None if text == AS_STYLE else text


def band_worker(continuation, song, parts, seed, genre, under_seed):
    """Runs on the panel's worker after the melody: the ranked band (``ml.band.BandResult``)."""
    from ..ml.band import band_continuation

    return band_continuation(song, continuation, parts, seed, genre=genre, under_seed=under_seed)


# --- the main window's side ---------------------------------------------------------------------
def _part_colors(song, take) -> list[tuple[str, tuple]]:
    from ..core.song import TRACK_PALETTE
    from ..ml.band import BAND_PARTS, band_track_index

    out, n_new = [], 0
    for part in BAND_PARTS:
        bp = take.parts.get(part)
        if bp is None or not bp.notes:
            continue
        i = band_track_index(song, part)
        if i is None:
            i = len(song.tracks) + n_new
            n_new += 1
            color = TRACK_PALETTE[i % len(TRACK_PALETTE)]
        else:
            color = song.tracks[i].color
        out.append((color, bp.notes))
    return out


def show_band(window, take) -> None:
    """Ghost notes of every band part, each in the colour of the track it will land on."""
    window.editor.set_ghost_band(None if take is None else _part_colors(window.document.song, take))


def accept_band(window, notes, take) -> None:
    """The melody and every band part in ONE undo step."""
    from ..core.edits import AddNotes, Macro
    from ..ml.band import band_edits

    song = window.document.song
    if not song.tracks:
        return
    window.editor.set_ghost_variation(None)
    window.editor.set_ghost_band(None)
    edits = [AddNotes(window.document.current_track, tuple(notes), "Accept continuation")] if notes else []
    edits += band_edits(song, take)
    window.document.push(Macro(tuple(edits), "Accept continuation with band"))


def audition_band(window, notes, take) -> None:
    """Play the seed, the continuation and the band, without the metronome (restored after)."""
    from ..core.timing import bar_at
    from ..ml.band import with_band

    playback = window.playback
    if playback is None or getattr(window, "_playback_reason", "") or not notes:
        return
    song = window.document.song
    t = song.tracks[window.document.current_track]
    present = set(t.notes)
    trial = song.with_track(window.document.current_track,
                            t.with_notes(t.notes + tuple(n for n in notes if n not in present)))
    trial = with_band(trial, take)
    playback.setSong(trial)
    if hasattr(playback, "setMetronome"):
        playback.setMetronome(False)
        was = window.transport.metronome_action.isChecked()

        def restore(state: str = "stopped") -> None:
            if state == "playing":
                return
            for signal in (playback.finished, playback.stateChanged):
                try:
                    signal.disconnect(restore)
                except (RuntimeError, TypeError):
                    pass
            playback.setMetronome(was)

        playback.finished.connect(restore)
        playback.stateChanged.connect(restore)
    start = min(min(n.start for n in notes), take.start)
    if playback.play(bar_at(song, max(0, start - 1)).start):
        window._set_playing(True)
