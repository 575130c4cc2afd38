"""Load on the HTTP service: throughput and p50/p95 latency of POST /v1/genre (a 30 s clip) and
POST /v1/continue (8 bars x 4 variations) at 1, 4 and 16 concurrent clients, and the server's
memory after 100 and after 1,000 requests.

    python benchmarks/server_load.py [--workers 2] [--threads 4] [--max-concurrent 2]
                                     [--genre-requests 12] [--continue-requests 60]

Starts `gtzcomposer serve` (gunicorn) on 127.0.0.1 on a free port, waits for every worker to be
ready, and runs bounded rounds: each round sends a fixed number of requests from N client threads
(each its own keep-alive session). A 429 is retried after its Retry-After and counted; any other
non-200 answer or a connection error is an error. It also times the genre function the CLI calls
(``ml.genre.analyse_files``) warm, in this process, on the same clip, for the "within 1.5x the
CLI's warm time" comparison. Memory is the resident set (VmRSS) of the master and its workers.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def music(seconds: float, sr: int = 22050):
    """A chord progression with a beat and some noise (the tests' clip, longer)."""
    import numpy as np

    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * sr)) / sr
    x = np.zeros_like(t)
    for k, root in enumerate((220.0, 174.6, 261.6, 196.0) * int(seconds // 8 + 1)):
        seg = (t >= 2 * k) & (t < 2 * k + 2)
        for ratio in (1, 1.25, 1.5):
            x[seg] += 0.15 * np.sin(2 * np.pi * root * ratio * t[seg])
    beat = (t % 0.5) < 0.03
    x[beat] += 0.4 * rng.standard_normal(beat.sum())
    return (x + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    """VmRSS of pid and its children (gunicorn's workers), in MB."""
    pids = [pid]
    try:
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    total = 0
    for p in pids:
        try:
            m = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{p}/status").read_text())
            total += int(m.group(1)) if m else 0
        except OSError:
            pass
    return total / 1024


class Client:
    def __init__(self, url: str):
        import requests

        self.url = url
        self.local = threading.local()
        self.requests = requests
        self.retries = 0
        self.lock = threading.Lock()

    def session(self):
        s = getattr(self.local, "s", None)
        if s is None:
            s = self.local.s = self.requests.Session()
        return s

    def call(self, route: str, data: bytes, ctype: str) -> tuple[float, int]:
        t0 = time.perf_counter()
        for _ in range(20):
            try:
                r = self.session().post(self.url + route, data=data, headers={"Content-Type": ctype}, timeout=300)
            except self.requests.RequestException:
                return time.perf_counter() - t0, -1
            if r.status_code != 429:
                return time.perf_counter() - t0, r.status_code
            with self.lock:
                self.retries += 1
            time.sleep(float(r.headers.get("Retry-After", "1")))
        return time.perf_counter() - t0, 429


def round_(client: Client, clients: int, n: int, route: str, data: bytes, ctype: str) -> dict:
    client.retries = 0
    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(lambda _: client.call(route, data, ctype), range(n)))
    wall = time.perf_counter() - t0
    lat = sorted(t for t, _ in results)
    errors = sum(1 for _, s in results if s != 200)
    return {"n": n, "wall": wall, "rps": n / wall, "p50": statistics.median(lat),
            "p95": lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))], "errors": errors,
            "retries": client.retries}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--max-concurrent", type=int, default=2)
    ap.add_argument("--genre-requests", type=int, default=12, help="requests per genre round (default 12)")
    ap.add_argument("--continue-requests", type=int, default=60, help="requests per continue round (default 60)")
    ap.add_argument("--clients", default="1,4,16")
    args = ap.parse_args()
    levels = [int(c) for c in args.clients.split(",")]

    import soundfile as sf

    from gtzcomposer.core import KeySignature, Note, Song, TempoChange, TimeSignature, new_track
    from gtzcomposer.io.midi import song_to_midi_bytes

    buf = io.BytesIO()
    sf.write(buf, music(30), 22050, format="WAV", subtype="PCM_16")
    clip = buf.getvalue()
    notes = tuple(Note(i * 240, p, 240, 90) for i, p in enumerate((67, 69, 71, 72, 74, 72, 71, 69, 67, 66, 67, 71,
                                                                     74, 72, 71, 69)))
    seed = song_to_midi_bytes(Song(tracks=(new_track(0, notes=notes),), tempos=(TempoChange.from_bpm(0, 110),),
                                   time_signatures=(TimeSignature(0, 4, 4),), key_signatures=(KeySignature(0, 7, "major"),)))
    genre_route = "/v1/genre"
    cont_route = "/v1/continue?style=folk&bars=8&variations=4&seed=1"

    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="server_load-", suffix=".log", delete=False)
    argv = [sys.executable, "-m", "gtzcomposer", "serve", "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(args.workers), "--threads", str(args.threads),
            "--max-concurrent", str(args.max_concurrent)]
    print("server:", " ".join(argv[2:]))
    t_start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"},
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    client = Client(url)
    try:
        while True:
            if proc.poll() is not None:
                print(Path(log.name).read_text())
                return 1
            text = Path(log.name).read_text()
            if len(re.findall(r"worker \d+ ready", text)) >= args.workers:
                break
            time.sleep(0.2)
        print(f"start-up until every worker is ready: {time.perf_counter() - t_start:.1f} s; "
              f"memory {rss_mb(proc.pid):.0f} MB")

        # the CLI's code path, warm, in this process
        from gtzcomposer.ml.genre import GenreDetector, analyse_files

        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "clip.wav"
            path.write_bytes(clip)
            det = GenreDetector().load()
            analyse_files([path], False, det)
            warm = []
            for _ in range(5):
                t = time.perf_counter()
                analyse_files([path], False, det)
                warm.append(time.perf_counter() - t)
        cli_warm = statistics.median(warm)
        print(f"genre of the 30 s clip, the CLI's function warm in-process: median {cli_warm:.3f} s")

        print(f"\n{'endpoint':<12} {'clients':>7} {'requests':>8} {'req/s':>7} {'p50 s':>7} {'p95 s':>7} "
              f"{'429 retried':>11} {'errors':>6}")
        total_errors = 0
        firsts = {}
        for name, route, data, ctype, n in (("genre", genre_route, clip, "audio/wav", args.genre_requests),
                                            ("continue", cont_route, seed, "audio/midi", args.continue_requests)):
            client.call(route, data, ctype)  # one warm call on some worker
            for c in levels:
                r = round_(client, c, max(n, c), route, data, ctype)
                total_errors += r["errors"]
                firsts.setdefault(name, r)
                print(f"{name:<12} {c:>7} {r['n']:>8} {r['rps']:>7.2f} {r['p50']:>7.3f} {r['p95']:>7.3f} "
                      f"{r['retries']:>11} {r['errors']:>6}")

        print(f"\n/v1/genre at 1 client: p50 {firsts['genre']['p50']:.3f} s = "
              f"{firsts['genre']['p50'] / cli_warm:.2f}x the CLI function's warm time")

        # memory: 100 then 1,000 requests, one genre in ten, 4 clients
        def mixed(k: int) -> int:
            def one(i):
                if i % 10 == 0:
                    return client.call(genre_route, clip, "audio/wav")[1]
                return client.call(cont_route, seed, "audio/midi")[1]

            with ThreadPoolExecutor(4) as pool:
                return sum(1 for s in pool.map(one, range(k)) if s != 200)

        total_errors += mixed(100)
        m100 = rss_mb(proc.pid)
        total_errors += mixed(900)
        m1000 = rss_mb(proc.pid)
        print(f"\nmemory (master + workers, VmRSS): after 100 requests {m100:.0f} MB, after 1,000 {m1000:.0f} MB "
              f"({(m1000 / m100 - 1) * 100:+.1f} %)")
        print(f"errors in all rounds: {total_errors}")
        return 0 if total_errors == 0 else 1
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        os.unlink(log.name)


if __name__ == "__main__":
    raise SystemExit(main())
