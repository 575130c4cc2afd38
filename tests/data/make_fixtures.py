"""Regenerate the small MIDI fixtures written by other tools (run by hand, not by the tests).

    /work/venv/bin/python tests/data/make_fixtures.py

* ``pretty_midi_band.mid``: written by pretty_midi (220 PPQ; piano, bass, drums; tempo, meter and
  key changes, a same-pitch overlap).
* ``music21_bwv66_6.mid``: Bach chorale BWV 66.6 from music21's corpus, written by music21's
  MIDI exporter (10080 PPQ, four parts).

The ``music21_test*.mid`` files are copied unchanged from music21 10.5
(``music21/midi/testPrimitive/``), BSD-3-Clause; see README.md here.
"""

from pathlib import Path

HERE = Path(__file__).resolve().parent


def pretty_midi_band() -> None:
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(initial_tempo=100.0)
    piano = pretty_midi.Instrument(program=0, name="Piano")
    bass = pretty_midi.Instrument(program=33, name="Bass")
    drums = pretty_midi.Instrument(program=0, is_drum=True, name="Kit")
    for i, pitch in enumerate([60, 64, 67, 72, 71, 67, 64, 62]):
        piano.notes.append(pretty_midi.Note(velocity=80 + i, pitch=pitch, start=i * 0.3, end=i * 0.3 + 0.25))
    piano.notes.append(pretty_midi.Note(velocity=50, pitch=48, start=0.0, end=2.4))
    piano.notes.append(pretty_midi.Note(velocity=60, pitch=48, start=1.2, end=3.0))  # same pitch, overlapping
    for i in range(8):
        bass.notes.append(pretty_midi.Note(velocity=90, pitch=36 + (i % 2) * 7, start=i * 0.6, end=i * 0.6 + 0.5))
    for i in range(16):
        drums.notes.append(pretty_midi.Note(velocity=100, pitch=36 if i % 4 == 0 else 42, start=i * 0.3, end=i * 0.3 + 0.1))
    pm.instruments += [piano, bass, drums]
    pm.time_signature_changes = [pretty_midi.TimeSignature(4, 4, 0.0), pretty_midi.TimeSignature(3, 4, 2.4)]
    pm.key_signature_changes = [pretty_midi.KeySignature(pretty_midi.key_name_to_key_number("D major"), 0.0)]
    pm.write(str(HERE / "pretty_midi_band.mid"))


def music21_chorale() -> None:
    from music21 import corpus

    corpus.parse("bach/bwv66.6").write("midi", fp=str(HERE / "music21_bwv66_6.mid"))


if __name__ == "__main__":
    pretty_midi_band()
    music21_chorale()
