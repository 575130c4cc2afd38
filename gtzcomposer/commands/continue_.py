"""gtzcomposer continue SEED --style S [--bars N] [--variations K] ... -o OUTDIR"""

from __future__ import annotations

from ._progress import terminal_progress

SUMMARY_NAME = "continuations.json"
SCHEMA_VERSION = 1


def register(sub) -> None:
    p = sub.add_parser(
        "continue",
        help="continue a melody in a chosen style; writes K ranked MIDI files and a JSON summary",
        description="Continue the melody of one track of SEED (.mid, .musicxml or .gtzc) in a style. "
        "Each output file is the seed song with one continuation appended to the same track, "
        "named by rank (rank 1 = the style critic's favourite). A polyphonic track is reduced "
        "to its top line first. Styles: see `gtzcomposer models`.",
    )
    p.add_argument("seed_file", metavar="SEED", help="song file whose track holds the seed melody")
    p.add_argument("--style", required=True, help="target style, e.g. folk, irish, classical")
    p.add_argument("--bars", type=int, default=4, help="length of each continuation in bars (1-32, default 4)")
    p.add_argument("--variations", type=int, default=4, help="how many continuations (1-16, default 4)")
    p.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (default 1.0)")
    p.add_argument("--top-p", type=float, default=0.95, help="nucleus sampling mass (default 0.95)")
    p.add_argument("--seed", type=int, default=None, help="random seed; the same seed gives the same result")
    p.add_argument("--track", type=int, default=None,
                   help="index of the seed track (default: the first non-drum track with notes)")
    p.add_argument("--style-strength", type=float, default=None,
                   help="style guidance 0..5 (0 = plain sampling; default %(default)s = the model's default)")
    p.add_argument("--key-lock", action="store_true", help="use only pitches of the song's key")
    p.add_argument("--model", default="melody",
                   help="melody model name in the models folder (default melody; see `gtzcomposer models`)")
    p.add_argument("-o", "--out", required=True, metavar="OUTDIR", help="folder for the MIDI files and the summary")
    p.set_defaults(func=run)


def _pick_track(song, index):
    from ..core import GtzError

    if index is not None:
        if not 0 <= index < len(song.tracks):
            raise GtzError(f"--track {index}: the song has {len(song.tracks)} tracks (0..{len(song.tracks) - 1})")
        if song.tracks[index].is_drum:
            raise GtzError(f"--track {index} is a drum track; choose a melodic track")
        return index
    for i, t in enumerate(song.tracks):
        if t.notes and not t.is_drum:
            return i
    raise GtzError("the seed song has no melodic track with notes")


def _output_folder(name: str, make: bool):
    """The output folder. ``make=False`` (before any work): a sentence (exit 2) now when it is a
    file or cannot be made or written, and nothing is created yet; ``make=True``: make it."""
    import os
    from pathlib import Path

    from ..core import GtzError

    out = Path(name)
    if out.exists() and not out.is_dir():
        raise GtzError(f"-o {name}: is a file, not a folder; give a folder for the MIDI files and the summary")
    if not make:
        existing = out
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir():
            raise GtzError(f"-o {name}: cannot make the output folder ({existing} is a file)")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise GtzError(f"-o {name}: cannot make the output folder ({existing} is not writable)")
        return out
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GtzError(f"-o {name}: cannot make the output folder ({exc.strerror or exc})") from None
    return out


def run(args) -> int:
    import json
    import random
    from pathlib import Path

    from ..core import GtzError
    from ..core.generation import DEFAULT_STYLE_STRENGTH, MAX_SEED, GenerationSettings
    from ..io._files import atomic_write
    from ..io.formats import load_song, save_song
    from ..ml.melody.generator import MelodyGenerator

    if args.seed is not None and not 0 <= args.seed <= MAX_SEED:  # before the model loads
        raise GtzError(f"--seed {args.seed}: the random seed must be a whole number from 0 to {MAX_SEED}")
    out = _output_folder(args.out, make=False)  # refused now, not after the generation
    gen = MelodyGenerator.load(args.model)
    song = load_song(args.seed_file)
    ti = _pick_track(song, args.track)
    track = song.tracks[ti]
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    strength = DEFAULT_STYLE_STRENGTH if args.style_strength is None else args.style_strength

    settings = GenerationSettings(style=args.style, bars=args.bars, variations=args.variations,
                                  temperature=args.temperature, top_p=args.top_p, seed=seed,
                                  key_lock=bool(args.key_lock), strength=strength)
    progress, close = terminal_progress("continuing")
    try:
        result = gen.continue_melody(track.notes, song, settings, progress=progress)
    finally:
        close()
    _output_folder(args.out, make=True)
    stem = Path(args.seed_file).stem
    entries = []
    for v in result.variations:
        name = f"{stem}_{args.style}_rank{v.rank}.mid"
        new_song = song.with_track(ti, track.with_notes(track.notes + v.notes))
        save_song(new_song, out / name)
        entries.append({
            "rank": v.rank, "file": name, "score": round(v.score, 6), "notes": len(v.notes),
            "lowest_pitch": min((n.pitch for n in v.notes), default=None),
            "highest_pitch": max((n.pitch for n in v.notes), default=None),
        })
    sig = song.time_signature_at(result.start)
    summary = {
        "schema": SCHEMA_VERSION,
        "seed_file": str(args.seed_file),
        "track": ti,
        "style": args.style,
        "bars": args.bars,
        "variations": args.variations,
        "temperature": args.temperature,
        "top_p": args.top_p,
        "seed": seed,
        "key_lock": bool(args.key_lock),
        "style_strength": strength,
        "key": result.key.name,
        "time_signature": str(sig),
        "start_tick": result.start,
        "end_tick": result.end,
        "ppq": song.ppq,
        "reduced_to_top_line": result.reduced_to_top_line,
        "model": {k: gen.card.get(k) for k in ("name", "version", "encoder_version")},
        "results": entries,
    }
    text = (json.dumps(summary, indent=2) + "\n").encode("utf-8")
    atomic_write(out / SUMMARY_NAME, lambda fh: fh.write(text), GtzError)
    if result.reduced_to_top_line:
        print("note: the seed track is polyphonic; only its top line was continued")
    for e in entries:
        print(f"{e['rank']}. {out / e['file']}  (critic score {e['score']:.3f}, {e['notes']} notes)")
    print(f"summary: {out / SUMMARY_NAME}")
    return 0
