"""UI test setup: every test gets fresh settings and an empty app-data folder in a temp dir,
so nothing reads or writes the developer's own settings or recovery files; and a test that
leaves a background task running fails (its worker would run on into the next test)."""

import weakref

import pytest


@pytest.fixture(autouse=True)
def fresh_settings(tmp_path, monkeypatch):
    settings_file = tmp_path / "settings" / "gtzcomposer.ini"
    data = tmp_path / "appdata"
    monkeypatch.setenv("GTZCOMPOSER_SETTINGS", str(settings_file))
    monkeypatch.setenv("GTZCOMPOSER_DATA_DIR", str(data))
    return settings_file


_runners: "weakref.WeakSet" = weakref.WeakSet()


@pytest.fixture(autouse=True)
def no_worker_left_running(monkeypatch):
    """Fail the test if a worker thread is still busy when it ends (after waiting up to 10 s for
    it, so that the next test starts clean)."""
    from PySide6.QtCore import QThreadPool

    from gtzcomposer.services import tasks

    original = tasks.TaskRunner.__init__

    def tracked(self, *args, **kwargs):
        original(self, *args, **kwargs)
        _runners.add(self)
        self._test_pool = kwargs.get("pool") or (args[1] if len(args) > 1 else None) or QThreadPool.globalInstance()

    monkeypatch.setattr(tasks.TaskRunner, "__init__", tracked)
    yield
    pools = {id(QThreadPool.globalInstance()): QThreadPool.globalInstance()}
    for runner in list(_runners):
        try:
            pools[id(runner._test_pool)] = runner._test_pool
        except RuntimeError:  # its C++ side is gone with its window: so is its pool
            continue
    left = 0
    for pool in pools.values():
        try:
            # a task whose result was just delivered may still be leaving its thread: allow it a
            # moment; one still running after that was really left behind
            pool.waitForDone(1000)
            busy = pool.activeThreadCount()
        except RuntimeError:
            continue
        if busy:
            left += busy
            pool.waitForDone(10000)
    _runners.clear()
    if left:
        pytest.fail(f"the test left {left} background task(s) running: cancel and wait for them "
                    "(runner.cancel(); runner.wait()) before it ends", pytrace=False)
