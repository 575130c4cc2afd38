"""Not collected by default (no test_ prefix): test_worker_guard.py runs it to show that the UI
tests' conftest fails a test that leaves a worker running."""

import threading

from gtzcomposer.services.tasks import TaskRunner

release = threading.Event()


def _blocks(progress=None, is_cancelled=None):
    release.wait(5.0)  # longer than the guard's grace for a task that is just finishing


def test_leaves_a_worker_running(qtbot):
    runner = TaskRunner()
    runner.start(_blocks)  # and never waits for it
