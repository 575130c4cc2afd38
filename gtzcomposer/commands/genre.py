"""gtzcomposer genre AUDIO... [--json] [--segments]

Prints the 10 GTZAN genre probabilities of each file (and, with --segments, of each ~10 s
segment). The --json schema is documented in docs/genre.md. A file that fails is reported on
stderr (table mode) or as an "error" entry (JSON mode) while the others are still processed; the
exit code is then 2.
"""

from __future__ import annotations

import json
import sys

from ._progress import terminal_progress

SCHEMA_VERSION = 1


def register(sub) -> None:
    p = sub.add_parser("genre", help="genre probabilities of audio files (and per segment)",
                       description="Genre probabilities (10 GTZAN genres) of audio files: wav, au, flac, ogg, "
                                   "mp3 (m4a/aac with ffmpeg).")
    p.add_argument("audio", nargs="+", metavar="AUDIO", help="audio files")
    p.add_argument("--json", action="store_true", help="print one JSON object (schema in docs/genre.md)")
    p.add_argument("--segments", action="store_true", help="also give per-segment (10 s) probabilities")
    p.add_argument("--top", type=int, default=10, metavar="N", help="genres shown per file in the table (default 10)")
    p.set_defaults(func=run)


def analyse(paths, segments: bool, detector=None, progress_for=terminal_progress) -> list[dict]:
    """One dict per path: the result (GenreResult.to_dict plus "file") or {"file", "error"}."""
    from pathlib import Path

    from ..core.errors import GtzError
    from ..io.audio import AUDIO_EXTENSIONS, audio_info
    from ..ml.genre import GenreDetector

    detector = detector or GenreDetector()
    out = []
    for path in paths:
        if Path(path).suffix.lower() in AUDIO_EXTENSIONS and Path(path).is_file():
            try:  # the header alone refuses lying or huge files, before any model loads
                audio_info(path)
            except GtzError as exc:
                out.append({"file": str(path), "error": str(exc)})
                continue
        progress, close = progress_for(str(path))
        try:
            result = detector.detect(path, progress=progress)
        except GtzError as exc:
            out.append({"file": str(path), "error": str(exc)})
            continue
        finally:
            close()
        out.append({"file": str(path), **result.to_dict(segments=segments)})
    return out


def _table(entry: dict, top: int, segments: bool) -> str:
    lines = [f"{entry['file']}  ({entry['duration']:.1f} s)  top: {entry['top']}"]
    if entry.get("warning"):
        lines.append(f"  warning: {entry['warning']}")
    for g in entry["genres"][:top]:
        p = g["probability"]
        lines.append(f"  {g['genre']:<10} {p:6.1%}  {'#' * int(round(p * 40))}")
    if segments:
        lines.append("  segments:")
        for s in entry["segments"]:
            p = s["probabilities"][s["top"]]
            lines.append(f"    {s['start']:7.1f}-{s['end']:7.1f} s  {s['top']:<10} {p:6.1%}")
    return "\n".join(lines)


def run(args, detector=None) -> int:
    from ..ml.genre import GENRES

    entries = analyse(args.audio, args.segments, detector)
    if args.json:
        print(json.dumps({"schema": SCHEMA_VERSION, "labels": list(GENRES), "files": entries}, indent=2))
    else:
        shown = 0
        for e in entries:
            if "error" in e:
                print(f"gtzcomposer genre: error: {e['error']}", file=sys.stderr)
                continue
            if shown:
                print()
            print(_table(e, max(1, args.top), args.segments))
            shown += 1
    return 2 if any("error" in e for e in entries) else 0
