import threading
import time

import pytest

from gtzcomposer.services.tasks import Cancelled, TaskRunner


def slow_sum(n, progress, is_cancelled, delay=0.0):
    total = 0
    for i in range(n):
        if is_cancelled():
            raise Cancelled()
        total += i
        progress((i + 1) / n, f"step {i + 1}")
        time.sleep(delay)
    return total


def test_result_arrives_on_gui_thread_with_progress(qtbot):
    runner = TaskRunner(progress_interval=0.0)
    seen = []
    threads = []
    runner.progress.connect(lambda f, m: seen.append((f, m)))
    runner.finished.connect(lambda r: threads.append(threading.current_thread()))
    with qtbot.waitSignal(runner.finished, timeout=5000) as blocker:
        runner.start(slow_sum, 10, label="sum")
    assert blocker.args == [45]
    assert seen[-1] == (1.0, "step 10")
    assert threads == [threading.main_thread()]
    assert not runner.busy


def test_progress_is_throttled(qtbot):
    runner = TaskRunner(progress_interval=10.0)
    seen = []
    runner.progress.connect(lambda f, m: seen.append(f))
    with qtbot.waitSignal(runner.finished, timeout=5000):
        runner.start(slow_sum, 200)
    # the first report and the final one pass; the 198 in between are dropped
    assert seen == [pytest.approx(1 / 200), 1.0]


def test_error_is_delivered_not_raised(qtbot):
    def boom(progress, is_cancelled):
        raise ValueError("bad input")

    runner = TaskRunner()
    with qtbot.waitSignal(runner.failed, timeout=5000) as blocker:
        runner.start(boom)
    assert isinstance(blocker.args[0], ValueError)
    assert not runner.busy


def test_cancel_drops_the_result_and_stops_the_work(qtbot):
    runner = TaskRunner()
    results = []
    runner.finished.connect(results.append)
    started = threading.Event()

    def work(progress, is_cancelled):
        started.set()
        while not is_cancelled():
            time.sleep(0.01)
        return "late result"

    with qtbot.waitSignal(runner.cancelled, timeout=5000):
        runner.start(work)
        assert started.wait(5)
        runner.cancel()
    runner.wait(5000)
    qtbot.wait(50)
    assert results == [] and not runner.busy


def test_new_task_supersedes_the_running_one(qtbot):
    runner = TaskRunner()
    results = []
    runner.finished.connect(results.append)
    runner.start(slow_sum, 50, delay=0.01)
    with qtbot.waitSignal(runner.finished, timeout=5000):
        runner.start(slow_sum, 3)
    runner.wait(5000)
    qtbot.wait(50)
    assert results == [3]


def test_cancelled_exception_from_task_reports_cancelled(qtbot):
    def gives_up(progress, is_cancelled):
        raise Cancelled()

    runner = TaskRunner()
    with qtbot.waitSignal(runner.cancelled, timeout=5000):
        runner.start(gives_up)


def test_a_task_outliving_its_runner_stops_quietly(qtbot):
    import shiboken6

    runner = TaskRunner()
    started, finished = threading.Event(), threading.Event()
    seen = []

    def work(progress, is_cancelled):
        started.set()
        time.sleep(0.1)
        progress(0.5, "half")  # the runner is gone by now: must not raise
        seen.append(is_cancelled())
        finished.set()
        return 1

    runner.start(work)
    assert started.wait(5)
    shiboken6.delete(runner._emitter)
    assert finished.wait(5)
    runner.wait(5000)
    assert seen == [True]


def running_totals(n, progress, is_cancelled, partial):
    total = 0
    for i in range(n):
        total += i
        partial(total)
    return total


def test_partial_results_arrive_in_order_on_the_gui_thread_and_only_when_asked_for(qtbot):
    runner = TaskRunner()
    got, threads = [], []
    runner.partialResult.connect(lambda v: (got.append(v), threads.append(threading.current_thread())))
    with qtbot.waitSignal(runner.finished, timeout=5000) as done:
        runner.start(running_totals, 5, partial=True)
    assert got == [0, 1, 3, 6, 10] and done.args == [10]
    assert set(threads) == {threading.main_thread()}
    with qtbot.waitSignal(runner.failed, timeout=5000) as failed:
        runner.start(running_totals, 5)  # a task that wants a callback it was not given
    assert isinstance(failed.args[0], TypeError)
    runner.wait(5000)
