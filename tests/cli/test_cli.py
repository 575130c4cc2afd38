import json
import subprocess
import sys

import pytest

from gtzcomposer import __version__
from gtzcomposer.cli import main


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for name in ("convert", "info", "models", "gui"):
        assert name in out


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["convert"])
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        main(["no-such-command"])
    assert e.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_bad_input_exits_2_with_a_sentence(tmp_path, capsys):
    assert main(["convert", str(tmp_path / "a.mid"), str(tmp_path / "b.doc")]) == 2
    err = capsys.readouterr().err
    assert "unknown file type '.doc'" in err and "Traceback" not in err


def test_internal_error_exits_1(monkeypatch, capsys):
    from gtzcomposer.commands import models

    def broken(args):
        raise RuntimeError("boom")

    monkeypatch.setattr(models, "run", broken)
    assert main(["models"]) == 1
    assert "internal error" in capsys.readouterr().err


def test_models_lists_cards_from_the_models_folder(tmp_path, monkeypatch, capsys):
    from gtzcomposer import resources

    card = {"name": "demo", "version": "1.2", "task": "demo task", "labels": ["a", "b"],
            "metrics": {"acc": 0.5, "beats_baseline": True}}
    (tmp_path / "demo.json").write_text(json.dumps(card))
    monkeypatch.setenv("GTZCOMPOSER_MODELS_DIR", str(tmp_path))
    resources._find.cache_clear()
    try:
        assert main(["models"]) == 0
        out = capsys.readouterr().out
        assert "demo  v1.2  demo task" in out and "labels: a, b" in out and "acc: 0.5" in out
        assert "beats_baseline: yes" in out
        assert main(["models", "--json"]) == 0
        listed = json.loads(capsys.readouterr().out)
        assert listed[0]["name"] == "demo" and listed[0]["file"] == "demo.keras"
    finally:
        resources._find.cache_clear()


def test_module_entry_point_runs():
    r = subprocess.run([sys.executable, "-m", "gtzcomposer", "--version"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and __version__ in r.stdout
