"""Dataset build from a folder of MIDI files per genre (DIR/<genre>/*.mid), cache and EDA."""

from __future__ import annotations

import json

import pytest

from gtzcomposer.core.generation import GenerationSettings

pretty_midi = pytest.importorskip("pretty_midi")

from training import melody_data  # noqa: E402

GENRES = {"rock": (64, 67, 69, 67, 64, 62, 60, 62), "jazz": (70, 69, 67, 65, 63, 62, 60, 58)}


def _write_song(path, melody, offset, bpm=120):
    pm = pretty_midi.PrettyMIDI(initial_tempo=bpm)
    beat = 60 / bpm
    lead, bass, drums = (pretty_midi.Instrument(program=p, is_drum=d) for p, d in ((0, False), (33, False), (0, True)))
    for bar in range(4):
        for i, p in enumerate(melody):
            t = (bar * 8 + i) * beat / 2
            lead.notes.append(pretty_midi.Note(90, p + offset, t, t + beat / 2))
            if i == 2:  # a chord note under the melody: the top line must win
                lead.notes.append(pretty_midi.Note(80, p + offset - 5, t, t + beat / 2))
        for i in range(4):
            t = (bar * 4 + i) * beat
            bass.notes.append(pretty_midi.Note(80, 36 + offset, t, t + beat))
            drums.notes.append(pretty_midi.Note(100, 100, t, t + 0.1))  # high drum pitch: must be ignored
    pm.instruments += [bass, drums, lead]
    pm.write(str(path))


@pytest.fixture
def midi_dir(tmp_path):
    root = tmp_path / "midi"
    for genre, melody in GENRES.items():
        (root / genre).mkdir(parents=True)
        for k in range(6):
            _write_song(root / genre / f"{genre}{k}.mid", melody, offset=k - 2)
    (root / "rock" / "broken.mid").write_bytes(b"MThd not really")
    return root


def test_midi_folder_dataset(midi_dir, tmp_path):
    cache = tmp_path / "cache"
    data = melody_data.build_dataset(midi_dir=str(midi_dir), cache_dir=cache, workers=1, log=lambda *a: None)
    assert data["styles"] == ["jazz", "rock"]
    assert len(data["pieces"]) == 12
    assert sum(data["discarded"].values()) == 1
    assert next(iter(data["discarded"])).startswith("unparseable")
    piece = next(p for p in data["pieces"] if p["id"] == "rock/rock2.mid")
    pitches = [n[1] for n in piece["notes"]]
    assert pitches[:8] == list(GENRES["rock"])  # the lead's top line, not bass, chord or drums
    assert all(n[0] % 240 == 0 for n in piece["notes"])
    assert piece["meter"] == [4, 4]
    assert {p["split"] for p in data["pieces"]} <= {"train", "val", "test"}
    # the split depends on the piece alone
    assert all(p["split"] == melody_data.split_of(p["id"], 0) for p in data["pieces"])
    # cached: the second build reads the cache
    files = list(cache.glob("melody_data_*.json.gz"))
    assert len(files) == 1
    again = melody_data.build_dataset(midi_dir=str(midi_dir), cache_dir=cache, workers=1, log=lambda *a: None)
    assert again["pieces"] == data["pieces"]
    # a changed folder gives another cache key
    _write_song(midi_dir / "jazz" / "new.mid", GENRES["jazz"], 0)
    third = melody_data.build_dataset(midi_dir=str(midi_dir), cache_dir=cache, workers=1, log=lambda *a: None)
    assert len(third["pieces"]) == 13 and len(list(cache.glob("melody_data_*.json.gz"))) == 2


def test_eda_report(midi_dir, tmp_path):
    data = melody_data.build_dataset(midi_dir=str(midi_dir), cache_dir=tmp_path / "c", workers=1, log=lambda *a: None)
    md = melody_data.write_eda(data, tmp_path / "report")
    text = md.read_text()
    assert "| rock | 6 |" in text and "| jazz | 6 |" in text
    for png in ("pieces_notes.png", "pitch_range.png", "pitch_classes.png", "intervals.png", "note_lengths.png",
                "meters.png"):
        assert (tmp_path / "report" / png).stat().st_size > 1000
        assert png in text


@pytest.mark.slow
def test_training_command_on_a_midi_folder(midi_dir, tmp_path, monkeypatch):
    pytest.importorskip("keras")
    from training.__main__ import main

    monkeypatch.setattr(melody_data, "CACHE_DIR", tmp_path / "cache")
    out = tmp_path / "models"
    rc = main(["melody", "--midi-dir", str(midi_dir), "--epochs", "1", "--units", "8", "--layers", "1",
               "--window", "32", "--out", str(out), "--report-dir", str(tmp_path / "rep")])
    assert rc == 0
    # a MIDI-folder run gets its own names, so it never overwrites the bundled models
    assert sorted(f.name for f in out.iterdir()) == ["melody_midi.json", "melody_midi.keras",
                                                     "melody_midi_chords.json.gz",
                                                     "style_classifier_midi.json", "style_classifier_midi.keras"]
    card = json.loads((out / "melody_midi.json").read_text())
    assert card["styles"] == ["jazz", "rock"] and card["command"].endswith(f"--midi-dir {midi_dir}")
    from gtzcomposer.ml.melody.generator import MelodyGenerator
    from tests.helpers import melody_song

    gen = MelodyGenerator.load("melody_midi", out)
    assert gen.critic is not None and gen.critic.styles == ["jazz", "rock"]
    song = melody_song()
    c = gen.continue_melody(song.tracks[0].notes, song, GenerationSettings("jazz", bars=1, variations=2, seed=0))
    assert len(c.variations) == 2
