"""gtzcomposer info FILE [--json]"""

from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser("info", help="describe a song file: tracks, notes, duration, tempo, meter, key")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--json", action="store_true", help="print a JSON object (schema in README)")
    p.set_defaults(func=run)


def describe(song) -> dict:
    from ..core import GM_PROGRAM_NAMES, TempoMap, note_name

    duration = TempoMap.of(song).seconds(song.end_tick)
    return {
        "title": song.title,
        "ppq": song.ppq,
        "duration_ticks": song.end_tick,
        "duration_seconds": round(duration, 3),
        "notes": song.note_count,
        "tempos": [{"tick": t.tick, "bpm": round(t.bpm, 3)} for t in song.tempos],
        "time_signatures": [
            {"tick": s.tick, "numerator": s.numerator, "denominator": s.denominator}
            for s in song.time_signatures
        ],
        "keys": [{"tick": k.tick, "key": k.name} for k in song.key_signatures],
        "tracks": [
            {
                "name": t.name,
                "channel": t.channel + 1,
                "program": t.program + 1,  # 1-128, as General MIDI numbers programs for people
                "instrument": "Drum kit" if t.is_drum else GM_PROGRAM_NAMES[t.program],
                "drums": t.is_drum,
                "notes": len(t.notes),
                "lowest": note_name(min(n.pitch for n in t.notes)) if t.notes else None,
                "highest": note_name(max(n.pitch for n in t.notes)) if t.notes else None,
            }
            for t in song.tracks
        ],
    }


def run(args) -> int:
    from ..io.formats import load_song

    info = describe(load_song(args.file))
    if args.json:
        print(json.dumps({"file": args.file, **info}, indent=2))
        return 0
    print(f"{args.file}" + (f"  ({info['title']})" if info["title"] else ""))
    print(f"  duration  {info['duration_seconds']:.2f} s ({info['duration_ticks']} ticks at {info['ppq']} PPQ)")
    print(f"  notes     {info['notes']}")
    print("  tempo     " + ", ".join(f"{t['bpm']:g} bpm @{t['tick']}" for t in info["tempos"]))
    print("  meter     " + ", ".join(f"{s['numerator']}/{s['denominator']} @{s['tick']}" for s in info["time_signatures"]))
    print("  key       " + (", ".join(f"{k['key']} @{k['tick']}" for k in info["keys"]) or "none"))
    print(f"  tracks    {len(info['tracks'])}")
    for i, t in enumerate(info["tracks"], 1):
        span = f"{t['lowest']}–{t['highest']}" if t["notes"] else "empty"
        print(f"    {i:2d}. {t['name'][:24]:24s} ch {t['channel']:2d}  {t['instrument'][:26]:26s} {t['notes']:6d} notes  {span}")
    return 0
