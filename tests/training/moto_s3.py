"""moto's standalone AWS server (S3, SageMaker, CloudWatch Logs) on 127.0.0.1, as a real subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

FAKE_KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def moto_endpoint(tmp_path_factory):
    pytest.importorskip("boto3", reason="boto3 is in the 'training' extra: pip install -e '.[training,dev]'")
    pytest.importorskip("moto.server", reason="moto[server] is in the 'dev' extra: pip install -e '.[dev]'")
    port = free_port()
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=2).close()
            break
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                pytest.fail(f"moto server did not start (see {log.name})")
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


def aws_env(endpoint: str | None, home: Path, **extra) -> dict:
    """An environment with no AWS settings from the real user, pointing at ``endpoint`` (if given)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "GTZ_SAGEMAKER_ROLE"}
    env.update(AWS_CONFIG_FILE=str(home / "no-config"), AWS_SHARED_CREDENTIALS_FILE=str(home / "no-credentials"),
               AWS_EC2_METADATA_DISABLED="true", AWS_DEFAULT_REGION="us-east-1")
    if endpoint:
        env.update(AWS_ENDPOINT_URL=endpoint, **FAKE_KEYS)
    env.update(extra)
    return env
