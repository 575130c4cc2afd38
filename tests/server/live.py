"""Start the real service in a subprocess on 127.0.0.1 (a free port) and talk HTTP to it."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"

# Every (method, route, status) a test saw, for the check that the OpenAPI document lists them.
SEEN: set[tuple[str, str, int]] = set()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dockerfile_instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction of the last stage-agnostic parse: continuation
    lines joined, comments dropped."""
    out, buf = [], ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if not buf and (not line.strip() or line.lstrip().startswith("#")):
            continue
        buf += line.rstrip()
        if buf.endswith("\\"):
            buf = buf[:-1] + " "
            continue
        word, _, rest = buf.strip().partition(" ")
        out.append((word.upper(), rest.strip()))
        buf = ""
    return out


def _exec_form(word: str) -> list[str]:
    found = [json.loads(args) for w, args in dockerfile_instructions() if w == word]
    return found[-1] if found else []


def dockerfile_cmd() -> list[str]:
    """ENTRYPOINT + CMD: what `docker run IMAGE` runs (and SageMaker's `docker run IMAGE serve`)."""
    return _exec_form("ENTRYPOINT") + _exec_form("CMD")


def dockerfile_env() -> dict[str, str]:
    env = {}
    for word, args in dockerfile_instructions():
        if word == "ENV":
            for item in shlex.split(args):
                k, _, v = item.partition("=")
                env[k] = v
    return env


def as_started_by_dockerfile(port: int) -> tuple[list[str], dict[str, str]]:
    """(argv, environment) of the image's command with the address changed to 127.0.0.1:port,
    run by this Python (``python -m gtzcomposer`` is the ``gtzcomposer`` console script's entry)."""
    cmd = dockerfile_cmd()
    assert cmd[0] == "gtzcomposer", cmd
    env = {k: v for k, v in dockerfile_env().items() if k != "PATH"}
    env.update(GTZCOMPOSER_HOST="127.0.0.1", GTZCOMPOSER_PORT=str(port))
    return [sys.executable, "-m", "gtzcomposer", *cmd[1:]], env


class LiveServer:
    def __init__(self, argv: list[str], port: int, tmpdir: Path, log: Path, env: dict | None = None):
        self.argv, self.port, self.tmpdir, self.log_path, self.env = argv, port, tmpdir, log, dict(env or {})
        self.url = f"http://127.0.0.1:{port}"
        full_env = {**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(tmpdir), "TF_CPP_MIN_LOG_LEVEL": "2",
                    **(env or {})}
        self._log = open(log, "wb")
        self.proc = subprocess.Popen(argv, cwd=REPO, env=full_env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def wait_ready(self, workers: int = 0, timeout: float = 300) -> None:
        """Until /readyz answers 200 and (gunicorn) ``workers`` workers logged that they are ready."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited ({self.proc.returncode}):\n{self.log()}")
            try:
                if (requests.get(self.url + "/readyz", timeout=5).status_code == 200
                        and len(re.findall(r"worker \d+ ready", self.log())) >= workers):
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"the server was not ready within {timeout} s:\n{self.log()}")

    def wait_until_up(self, timeout: float = 120) -> None:
        """Until /healthz answers (whatever /readyz says)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited ({self.proc.returncode}):\n{self.log()}")
            try:
                if requests.get(self.url + "/healthz", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"the server did not answer within {timeout} s:\n{self.log()}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def request(self, method: str, route: str, **kw) -> requests.Response:
        kw.setdefault("timeout", 120)
        r = requests.request(method, self.url + route, **kw)
        SEEN.add((method.upper(), route.split("?")[0], r.status_code))
        return r

    def get(self, route: str, **kw) -> requests.Response:
        return self.request("GET", route, **kw)

    def post(self, route: str, **kw) -> requests.Response:
        return self.request("POST", route, **kw)

    def stop(self) -> int:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._log.close()
        return self.proc.returncode
