"""TensorFlow at training time only: the app's commands work with the training packages unimportable,
the install's dependencies leave them out, and the desktop bundle's spec keeps them out."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
TRAINING_ONLY = ("tensorflow", "keras", "librosa", "numba", "llvmlite", "sklearn", "scipy")
CLIP = ROOT / "tests" / "data" / "musicnn_reference" / "jazz_combo.flac"
SEED = ROOT / "tests" / "data" / "music21_test06.mid"

# Run the CLI with every training-only package made unimportable (as in a lean install).
BLOCKED_CLI = """
import sys
for name in {blocked!r}:
    sys.modules[name] = None  # `import name` now raises ImportError
from gtzcomposer.cli import main
rc = main(sys.argv[1:])
print("LOADED", sorted(m for m in {blocked!r} if sys.modules.get(m) is not None))
sys.exit(rc)
"""


def _run_blocked(args, tmp_path):
    code = BLOCKED_CLI.format(blocked=TRAINING_ONLY)
    env = {"PYTHONPATH": str(ROOT), "HOME": str(tmp_path), "QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=300)


def _requirement_names(reqs):
    return {re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0].lower() for r in reqs}


def test_genre_continue_and_models_work_without_the_training_packages(tmp_path):
    r = _run_blocked(["genre", "--json", "--segments", str(CLIP)], tmp_path)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.split("LOADED")[0])
    entry = out["files"][0]
    assert entry["patches"] == 6 and abs(sum(g["probability"] for g in entry["genres"]) - 1) < 1e-4
    assert r.stderr == ""
    r = _run_blocked(["continue", str(SEED), "--style", "folk", "--bars", "2", "--variations", "2", "--seed", "3",
                      "-o", str(tmp_path / "cont")], tmp_path)
    assert r.returncode == 0, r.stderr
    summary = json.loads((tmp_path / "cont" / "continuations.json").read_text())
    assert len(summary["results"]) == 2
    assert all((tmp_path / "cont" / Path(r["file"]).name).is_file() for r in summary["results"])
    r = _run_blocked(["models"], tmp_path)
    assert r.returncode == 0 and "msd_musicnn" in r.stdout and "genre_head" in r.stdout, r.stderr


def test_the_install_brings_no_training_package_and_the_training_extra_does():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = _requirement_names(project["dependencies"])
    assert not runtime & {"tensorflow", "tensorflow-cpu", "keras", "librosa", "scikit-learn", "scipy", "numba"}
    training = _requirement_names(project["optional-dependencies"]["training"])
    assert {"keras", "tensorflow", "tensorflow-cpu", "scikit-learn", "librosa"} <= training
    install = (ROOT / "scripts" / "install.sh").read_text()
    assert re.search(r'pip install -q "\.\[dev,training\]"', install)  # CI runs the Keras reference tests


def test_bundle_spec_keeps_the_training_packages_out_and_the_app_in(tmp_path):
    sys.path.insert(0, str(ROOT))
    try:
        import build_installer as B
    finally:
        sys.path.remove(str(ROOT))
    spec = B.spec_text(tmp_path / "entry.py")
    excluded = set(B.EXCLUDES)
    assert set(TRAINING_ONLY) <= excluded and "matplotlib" in excluded
    assert f"excludes={B.EXCLUDES!r}" in spec and "librosa" not in spec.split("excludes=")[0]
    runtime = _requirement_names(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])
    import_names = {"pyside6-essentials": "PySide6", "python-rtmidi": "rtmidi", "pyfluidsynth": "fluidsynth"}
    for req in runtime:
        assert import_names.get(req, req.replace("-", "_")) not in excluded, f"{req} is needed at run time"
    assert "collect_submodules('gtzcomposer')" in spec and "'gtzcomposer/_models'" in spec


def test_bundle_size_report_groups_components(tmp_path):
    sys.path.insert(0, str(ROOT))
    try:
        import build_installer as B
    finally:
        sys.path.remove(str(ROOT))
    inner = tmp_path / "gtzcomposer" / "_internal"
    (inner / "PySide6").mkdir(parents=True)
    (inner / "PySide6" / "QtCore.so").write_bytes(b"x" * 3_000_000)
    (inner / "libfoo.so.1").write_bytes(b"x" * 1_000_000)
    (inner / "libfoo.so.1.2").write_bytes(b"x" * 1_000_000)
    (tmp_path / "gtzcomposer" / "gtzcomposer").write_bytes(b"x" * 500_000)
    total, rows = B.size_report(tmp_path / "gtzcomposer")
    assert total == pytest.approx(5.5)
    assert rows == [("PySide6", 3.0), ("libfoo (libraries)", 2.0)]


def test_missing_fluidsynth_in_a_bundle_is_one_sentence_without_pip(monkeypatch):
    from gtzcomposer.audio import synth

    monkeypatch.setattr(synth, "_module", None)
    monkeypatch.setattr(synth, "_import_error", None)
    monkeypatch.setitem(sys.modules, "fluidsynth", None)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    with pytest.raises(synth.SynthError) as err:
        synth._fluidsynth()
    msg = str(err.value)
    assert "apt install libfluidsynth3" in msg and "pip" not in msg and "pyfluidsynth" not in msg
    assert msg.count(". ") == 0  # one sentence
    monkeypatch.setattr(sys, "frozen", False)
    assert "pyfluidsynth" in synth.missing_fluidsynth_message("No module named 'fluidsynth'")
    assert "pyfluidsynth" not in synth.missing_fluidsynth_message("Couldn't find the FluidSynth library.")


def test_music21_start_up_notice_never_reaches_stderr(tmp_path):
    """Without matplotlib (as in the bundle) music21 prints 'might need the optional package
    matplotlib' when imported; the app keeps it off stderr."""
    code = ("import importlib.util, sys\n"
            "real = importlib.util.find_spec\n"
            "importlib.util.find_spec = lambda n, *a: None if n == 'matplotlib' else real(n, *a)\n"
            "from gtzcomposer.io.musicxml import song_to_musicxml, musicxml_to_song\n"
            "from tests.helpers import melody_song\n"
            f"song_to_musicxml(melody_song(), {str(tmp_path / 's.musicxml')!r})\n"
            f"print(len(musicxml_to_song({str(tmp_path / 's.musicxml')!r}).tracks[0].notes))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       env={"PYTHONPATH": str(ROOT), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "8"
    assert "might need" not in r.stderr and "music21" not in r.stderr


def test_training_without_the_training_extra_says_what_to_install(tmp_path, shared_data):
    code = ("import sys\n"
            f"for name in {TRAINING_ONLY!r}: sys.modules[name] = None\n"
            "from training.__main__ import main\n"
            f"sys.exit(main(['genre', '--taggrams', {str(shared_data / 'gtzan-musicnn')!r}, '--out', {str(tmp_path)!r}]))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       env={"PYTHONPATH": str(ROOT), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}, timeout=300)
    assert r.returncode == 2
    assert "needs the training extra" in r.stderr and "pip install 'gtzcomposer[training]'" in r.stderr
    assert "Traceback" not in r.stderr and not list(tmp_path.glob("*.keras"))
