"""The long run of the fuzz harness (tests/fuzz_cases.py): every command on every case, with more
mutations, the 200k-note MIDI and the 2-hour WAV; prints, per format and command, how many cases
ran, how many exited 0 and 2, the worst time and the worst peak memory, then every contract break.

    .venv/bin/python benchmarks/fuzz_files.py [--seed N] [--scale long|ci] [--time-bound S] [--json OUT]

The contract: exit 0 or 2 (never 1, a signal or a traceback), within --time-bound seconds
(default 600) and adding at most 1,500 MB of memory per command run. Exit status 1 when anything breaks it. "worst MB" is
the worker's peak during a run, which includes what earlier runs loaded (TensorFlow, music21:
about 850 MB); "+MB" is the largest growth of one run over the memory it started with.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fuzz_cases import breaks, cleanup, make_cases, run_in_subprocess  # noqa: E402

MEMORY_BOUND = 1500.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scale", choices=("long", "ci"), default="long")
    ap.add_argument("--time-bound", type=float, default=600.0)
    ap.add_argument("--json", metavar="OUT", help="write every result to this JSON file")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="gtz-fuzz-") as tmp:
        folder, out = Path(tmp) / "cases", Path(tmp) / "out"
        out.mkdir()
        t0 = time.perf_counter()
        cases = make_cases(folder, seed=args.seed, scale=args.scale)
        made = time.perf_counter() - t0
        results, rc, last, stderr = run_in_subprocess(cases, out, args.time_bound, full=args.scale == "long",
                                                      timeout=24 * 3600, env={"GTZCOMPOSER_DATA_DIR": str(out / "data")})
        total = time.perf_counter() - t0
        left = [p.name for p in out.rglob("*") if p.is_file() and (p.name.endswith(".tmp") or p.stat().st_size == 0)]
        cleanup(folder)
    print(f"{len(cases)} cases (made in {made:.1f} s), {len(results)} command runs, {total:.0f} s in all; "
          f"worker exit {rc}" + (f" during {last}" if rc else ""))
    table: dict[tuple[str, str], list] = defaultdict(list)
    for r in results:
        table[(r.format, r.command)].append(r)
    print(f"{'format':9} {'command':9} {'runs':>5} {'exit 0':>7} {'exit 2':>7} {'other':>6} {'worst s':>8} "
          f"{'its cpu s':>9} {'worst MB':>9} {'+MB':>6}  worst case")
    for (fmt, command), rs in sorted(table.items()):
        worst = max(rs, key=lambda r: r.seconds)
        grew = max(r.peak_mb - r.base_mb for r in rs)
        print(f"{fmt:9} {command:9} {len(rs):5d} {sum(r.rc == 0 for r in rs):7d} {sum(r.rc == 2 for r in rs):7d} "
              f"{sum(r.rc not in (0, 2) for r in rs):6d} {worst.seconds:8.2f} {worst.cpu_s:9.2f} "
              f"{max(r.peak_mb for r in rs):9.0f} {grew:6.0f}  {worst.case}")
    worst_t = max(results, key=lambda r: r.seconds)
    worst_m = max(results, key=lambda r: r.peak_mb)
    print(f"worst time {worst_t.seconds:.1f} s ({worst_t.command} {worst_t.case}); "
          f"worst memory {worst_m.peak_mb:.0f} MB ({worst_m.command} {worst_m.case})")
    problems = breaks(results, args.time_bound, MEMORY_BOUND)
    if left:
        problems.append(f"left behind: {', '.join(left)}")
    if rc:
        problems.append(f"the worker died ({rc}) during {last}: {stderr[-500:]}")
    print(f"{len(problems)} contract breaks")
    for p in problems:
        print("  " + p)
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in results], indent=1))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
