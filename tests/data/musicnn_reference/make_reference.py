"""Make the musicnn equivalence fixture: short rendered music clips and the ORIGINAL musicnn outputs.

Run ONCE, in an isolated environment that can run musicnn 0.1.0's TF1 code (see docs/backbone.md):

    python3 -m venv /work/venv-musicnn
    /work/venv-musicnn/bin/pip install tensorflow-cpu==2.21.0 tf_keras==2.21.0 librosa soundfile \
        pretty_midi music21 soxr
    /work/venv-musicnn/bin/pip install --no-deps musicnn==0.1.0
    TF_USE_LEGACY_KERAS=1 /work/venv-musicnn/bin/python tests/data/musicnn_reference/make_reference.py

Step 1 (``render``) builds five short pieces of different kinds as MIDI (a Bach chorale from the
music21 corpus on organ; a rock groove with drums, overdriven guitar and bass; a swing jazz combo;
an electronic dance loop; a classical-style piano piece), renders them with the ``fluidsynth``
command-line program and a General MIDI soundfont, and stores each as 16 kHz mono 16-bit FLAC.

Step 2 (``reference``) runs musicnn's own ``extractor(path, model='MSD_musicnn', input_length=3,
input_overlap=1, extract_features=True)`` on each FLAC and stores, per clip, the 50 tag sigmoids
per patch (``taggram``), the log-mel spectrogram it fed to the model (``spectrogram``) and the
``penultimate``, ``mean_pool`` and ``max_pool`` features, in ``reference.npz``.

The one patch to the original code (reference run only): musicnn casts the mel spectrogram to
float16 and then computes ``np.log10(10000 * x + 1)``.  numpy 1.x promoted ``10000 * float16`` to
float32; numpy 2 keeps float16, which overflows to inf (and the model outputs NaN).  We replace
``musicnn.extractor.batch_data`` by a copy with one changed line: round to float16, convert back
to float32, then scale and take the log — what the numpy 1.x code computed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SR = 16000
CLIP_SECONDS = 8.0
SOUNDFONTS = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
)


# --------------------------------------------------------------------------------------------
# Step 1: pieces


def _add(inst, pitch: int, start: float, dur: float, vel: int = 90) -> None:
    import pretty_midi

    inst.notes.append(pretty_midi.Note(velocity=vel, pitch=pitch, start=start, end=start + dur))


def piece_chorale():
    """Bach, BWV 66.6 (music21 corpus), four voices on church organ."""
    import music21
    import pretty_midi

    score = music21.corpus.parse("bach/bwv66.6")
    with tempfile.TemporaryDirectory() as tmp:
        mid = Path(tmp) / "chorale.mid"
        score.write("midi", fp=str(mid))
        pm = pretty_midi.PrettyMIDI(str(mid))
    for inst in pm.instruments:
        inst.program = 19  # church organ
        inst.is_drum = False
    return pm


def piece_rock():
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    drums = pretty_midi.Instrument(program=0, is_drum=True, name="drums")
    gtr = pretty_midi.Instrument(program=29, name="overdriven guitar")
    bass = pretty_midi.Instrument(program=33, name="electric bass")
    beat = 0.5
    roots = [40, 40, 45, 43]  # E E A G
    for bar in range(5):
        t0 = bar * 4 * beat
        root = roots[bar % 4]
        for i in range(8):
            t = t0 + i * beat / 2
            _add(drums, 42, t, 0.1, 80)  # closed hi-hat on eighths
            _add(gtr, root + 12, t, beat / 2 * 0.9, 100)  # power chord
            _add(gtr, root + 19, t, beat / 2 * 0.9, 95)
            _add(bass, root, t, beat / 2 * 0.9, 100)
        for i in (0, 2):
            _add(drums, 36, t0 + i * beat, 0.2, 110)  # kick
        _add(drums, 36, t0 + 2.5 * beat, 0.2, 100)
        for i in (1, 3):
            _add(drums, 38, t0 + i * beat, 0.2, 115)  # snare
        if bar == 0:
            _add(drums, 49, t0, 1.0, 110)  # crash
    pm.instruments += [drums, gtr, bass]
    return pm


def piece_jazz():
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(initial_tempo=140)
    drums = pretty_midi.Instrument(program=0, is_drum=True, name="drums")
    bass = pretty_midi.Instrument(program=32, name="acoustic bass")
    piano = pretty_midi.Instrument(program=0, name="piano")
    sax = pretty_midi.Instrument(program=66, name="tenor sax")
    beat = 60 / 140
    # ii-V-I in B flat: Cm7 F7 Bbmaj7 Bbmaj7
    chords = [[48, 51, 55, 58], [53, 57, 60, 63], [46, 50, 53, 57], [46, 50, 53, 57]]
    walks = [[36, 39, 43, 46], [41, 45, 48, 51], [46, 45, 43, 41], [39, 38, 36, 34]]
    melody = [70, 72, 74, 75, 77, 75, 74, 72, 70, 69, 67, 65, 62, 65, 67, 70]
    swing = 2 * beat / 3
    for bar in range(5):
        t0 = bar * 4 * beat
        ch, walk = chords[bar % 4], walks[bar % 4]
        for i in range(4):
            t = t0 + i * beat
            _add(drums, 51, t, 0.3, 85)  # ride
            if i in (1, 3):
                _add(drums, 51, t + swing, 0.2, 70)
                _add(drums, 44, t, 0.1, 70)  # pedal hi-hat
            _add(bass, walk[i], t, beat * 0.95, 95)
        for offset in (swing, 2 * beat + swing):  # comping on the swung off-beats
            for p in ch:
                _add(piano, p + 12, t0 + offset, beat * 0.6, 70)
        for i in range(4):
            note = melody[(bar * 4 + i) % len(melody)]
            _add(sax, note - 12, t0 + i * beat, swing * 0.95, 95)
            _add(sax, note - 10, t0 + i * beat + swing, beat - swing, 80)
    pm.instruments += [drums, bass, piano, sax]
    return pm


def piece_dance():
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(initial_tempo=126)
    drums = pretty_midi.Instrument(program=0, is_drum=True, name="drums")
    bass = pretty_midi.Instrument(program=38, name="synth bass")
    lead = pretty_midi.Instrument(program=81, name="saw lead")
    pad = pretty_midi.Instrument(program=89, name="warm pad")
    beat = 60 / 126
    roots = [45, 41, 48, 43]  # Am F C G
    arp = [0, 7, 12, 15, 12, 7, 3, 7]
    for bar in range(5):
        t0 = bar * 4 * beat
        root = roots[bar % 4]
        for i in range(4):
            t = t0 + i * beat
            _add(drums, 36, t, 0.2, 120)  # four on the floor
            _add(drums, 42, t + beat / 2, 0.1, 90)
            if i in (1, 3):
                _add(drums, 39, t, 0.2, 100)  # clap
            _add(bass, root - 12, t + beat / 2, beat / 2 * 0.9, 110)
        for i in range(8):
            _add(lead, root + 24 + arp[i], t0 + i * beat / 2, beat / 2 * 0.9, 90)
        for iv in (0, 3 if root in (45,) else 4, 7):
            _add(pad, root + 12 + iv, t0, 4 * beat, 60)
    pm.instruments += [drums, bass, lead, pad]
    return pm


def piece_piano():
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(initial_tempo=96)
    piano = pretty_midi.Instrument(program=0, name="piano")
    beat = 60 / 96
    # C - Am - F - G with Alberti bass and a simple cantabile line
    triads = [(48, 52, 55), (45, 48, 52), (41, 45, 48), (43, 47, 50)]
    melody = [[76, 77, 79, 76], [72, 74, 76, 72], [69, 72, 77, 74], [74, 71, 67, 71]]
    for bar in range(4):
        t0 = bar * 4 * beat
        lo, mid, hi = triads[bar % 4]
        for i, p in enumerate([lo, hi, mid, hi] * 2):
            _add(piano, p, t0 + i * beat / 2, beat / 2 * 0.95, 60)
        for i, p in enumerate(melody[bar % 4]):
            _add(piano, p, t0 + i * beat, beat * 0.95, 85)
    pm.instruments.append(piano)
    return pm


PIECES = {
    "chorale_organ": piece_chorale,
    "rock_band": piece_rock,
    "jazz_combo": piece_jazz,
    "dance_synth": piece_dance,
    "piano_classical": piece_piano,
}


def render(out_dir: Path) -> None:
    import soundfile as sf
    import soxr

    fluidsynth = shutil.which("fluidsynth")
    if not fluidsynth:
        sys.exit("the fluidsynth command-line program is needed to render the clips")
    sf2 = next((s for s in SOUNDFONTS if Path(s).is_file()), None)
    if sf2 is None:
        sys.exit(f"no General MIDI soundfont found among {SOUNDFONTS}")
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, build in PIECES.items():
        pm = build()
        with tempfile.TemporaryDirectory() as tmp:
            mid, wav = Path(tmp) / f"{name}.mid", Path(tmp) / f"{name}.wav"
            pm.write(str(mid))
            subprocess.run(
                [fluidsynth, "-ni", "-g", "0.6", "-r", "44100", "-T", "wav", "-F", str(wav), sf2, str(mid)],
                check=True,
                capture_output=True,
            )
            audio, sr = sf.read(str(wav), dtype="float32", always_2d=True)
        mono = audio.mean(axis=1)
        y = soxr.resample(mono, sr, SR, quality="HQ")[: int(CLIP_SECONDS * SR)]
        y = y * (0.7 / float(np.max(np.abs(y))))  # peak-normalise, as mastered music would be
        sf.write(str(out_dir / f"{name}.flac"), y, SR, subtype="PCM_16")
        print(f"rendered {name}.flac ({len(y) / SR:.1f} s, peak {np.max(np.abs(y)):.2f}) with {Path(sf2).name}")


# --------------------------------------------------------------------------------------------
# Step 2: the original musicnn


def _patched_batch_data(audio_file, n_frames, overlap):
    """musicnn 0.1.0 ``extractor.batch_data`` with one changed line (see the module docstring)."""
    import librosa
    from musicnn import configuration as config

    audio, sr = librosa.load(audio_file, sr=config.SR)
    audio_rep = librosa.feature.melspectrogram(
        y=audio, sr=sr, hop_length=config.FFT_HOP, n_fft=config.FFT_SIZE, n_mels=config.N_MELS
    ).T
    audio_rep = audio_rep.astype(np.float16)
    # ORIGINAL: audio_rep = np.log10(10000 * audio_rep + 1)   (float16 overflow under numpy 2)
    audio_rep = np.log10(10000 * audio_rep.astype(np.float32) + 1)
    last_frame = audio_rep.shape[0] - n_frames + 1
    batch = np.stack([audio_rep[t : t + n_frames, :] for t in range(0, last_frame, overlap)])
    return batch, audio_rep


def reference(out_dir: Path) -> None:
    if os.environ.get("TF_USE_LEGACY_KERAS") != "1":
        sys.exit("run with TF_USE_LEGACY_KERAS=1 (musicnn needs tf_keras' tf.compat.v1.layers)")
    import librosa
    import musicnn
    import tensorflow as tf
    from musicnn import extractor as mx

    mx.batch_data = _patched_batch_data
    arrays: dict[str, np.ndarray] = {}
    names = sorted(PIECES)
    for name in names:
        path = out_dir / f"{name}.flac"
        taggram, labels, feats = mx.extractor(
            str(path), model="MSD_musicnn", input_length=3, input_overlap=1, extract_features=True
        )
        _, spec = _patched_batch_data(str(path), 187, 61)
        assert np.all(np.isfinite(taggram)), name
        arrays[f"{name}/taggram"] = np.asarray(taggram, np.float32)
        arrays[f"{name}/spectrogram"] = np.asarray(spec, np.float32)
        for key in ("penultimate", "mean_pool", "max_pool"):
            arrays[f"{name}/{key}"] = np.asarray(feats[key], np.float32)
        top = [labels[i] for i in np.argsort(-taggram.mean(axis=0))[:5]]
        print(f"{name}: {taggram.shape[0]} patches, top tags {top}")
    np.savez_compressed(out_dir / "reference.npz", **arrays)
    info = {
        "clips": names,
        "labels": list(labels),
        "call": "musicnn.extractor.extractor(path, model='MSD_musicnn', input_length=3, input_overlap=1, "
        "extract_features=True)",
        "patch": "batch_data: float16 spectrogram converted back to float32 before 10000*x+1 (numpy 2)",
        "patch_frames": 187,
        "patch_hop_frames": int(librosa.time_to_frames(1, sr=16000, n_fft=512, hop_length=256)),
        "versions": {
            "musicnn": getattr(musicnn, "__version__", "0.1.0"),
            "tensorflow": tf.__version__,
            "librosa": librosa.__version__,
            "numpy": np.__version__,
        },
    }
    (out_dir / "reference.json").write_text(json.dumps(info, indent=2) + "\n")
    print(f"wrote {out_dir / 'reference.npz'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", nargs="?", choices=("render", "reference", "all"), default="all")
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args(argv)
    if args.step in ("render", "all"):
        render(args.out)
    if args.step in ("reference", "all"):
        reference(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
