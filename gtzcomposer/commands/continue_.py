"""gtzcomposer continue SEED --style S [--bars N] [--variations K] ... -o OUTDIR"""

from __future__ import annotations

from ._progress import terminal_progress


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
    p.add_argument("--style", required=True,
                   help="target style: a GTZAN genre (blues, classical, country, disco, hiphop, jazz, metal, pop, "
                        "reggae, rock; genres without melody data of their own use a stand-in style, see "
                        "`gtzcomposer models`) or chinese, folk, irish, scottish")
    p.add_argument("--bars", type=int, default=4, help="length of each continuation in bars (1-32, default 4)")
    p.add_argument("--variations", type=int, default=4, help="how many continuations (1-16, default 4)")
    p.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (default 1.0)")
    p.add_argument("--top-p", type=float, default=0.95, help="nucleus sampling mass (default 0.95)")
    p.add_argument("--seed", type=int, default=None, help="random seed; the same seed gives the same result")
    p.add_argument("--track", type=int, default=None,
                   help="index of the seed track (default: the first non-drum track with notes)")
    from ..core.generation import DEFAULT_STYLE_STRENGTH, MAX_STRENGTH  # light: no model code

    p.add_argument("--style-strength", type=float, default=None,
                   help=f"style guidance 0..{MAX_STRENGTH:g} (0 = plain sampling; default {DEFAULT_STYLE_STRENGTH:g})")
    p.add_argument("--key-lock", action="store_true", help="use only pitches of the song's key")
    p.add_argument("--model", default="melody",
                   help="melody model name in the models folder (default melody; see `gtzcomposer models`)")
    p.add_argument("--parts", default="melody",
                   help="comma-separated parts: melody,chords,bass,drums (any subset; default melody). "
                   "The band (chords, bass, drums) needs the program mma")
    from ..ml.band.styles import GENRES

    p.add_argument("--band-genre", default=None, choices=GENRES, metavar="GENRE",
                   help="GTZAN genre the band plays: " + ", ".join(GENRES) + " (default: the style, or its stand-in for a folk style)")
    p.add_argument("--band-under-seed", action="store_true", help="the band plays under the seed's bars too")
    p.add_argument("-o", "--out", required=True, metavar="OUTDIR", help="folder for the MIDI files and the summary")
    p.set_defaults(func=run)


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
    import sys
    from pathlib import Path

    from ..core import GtzError
    from ..core.generation import DEFAULT_STYLE_STRENGTH, MAX_SEED, GenerationSettings
    from ..io._files import atomic_write
    from ..io.formats import load_song, save_song
    from ..ml.melody.generator import MelodyGenerator
    from ..ml.melody.runs import SUMMARY_NAME, run_continuation

    if args.seed is not None and not 0 <= args.seed <= MAX_SEED:  # before the model loads
        raise GtzError(f"--seed {args.seed}: the random seed must be a whole number from 0 to {MAX_SEED}")
    parts = tuple(p.strip() for p in args.parts.split(",") if p.strip())
    settings_parts = GenerationSettings(parts=parts).parts  # a bad name: one sentence, exit 2
    out = _output_folder(args.out, make=False)  # refused now, not after the generation
    if len(settings_parts) > 1:
        from ..ml.band import warm_up

        warm_up(respawn=False)  # MMA starts and the drum bank loads while the melody model samples
    gen = MelodyGenerator.load(args.model)
    song = load_song(args.seed_file)
    strength = DEFAULT_STYLE_STRENGTH if args.style_strength is None else args.style_strength
    settings = GenerationSettings(style=args.style, bars=args.bars, variations=args.variations,
                                  temperature=args.temperature, top_p=args.top_p, seed=args.seed,
                                  key_lock=bool(args.key_lock), strength=strength, parts=settings_parts)
    progress, close = terminal_progress("continuing")
    try:
        run_ = run_continuation(gen, song, settings, args.track, progress=progress,
                                band_genre=args.band_genre, band_under_seed=bool(args.band_under_seed))
    finally:
        close()
    _output_folder(args.out, make=True)
    band = run_.band
    if band and band.error:
        print(f"gtzcomposer continue: the band did not play: {band.error}", file=sys.stderr)
    stem = Path(args.seed_file).stem
    for name, new_song in run_.songs(stem):
        save_song(new_song, out / name)
    summary = run_.summary(str(args.seed_file), stem)
    text = (json.dumps(summary, indent=2) + "\n").encode("utf-8")
    atomic_write(out / SUMMARY_NAME, lambda fh: fh.write(text), GtzError)
    if run_.result.reduced_to_top_line:
        print("note: the seed track is polyphonic; only its top line was continued")
    if band and band.note:
        print(f"note: {band.note}")
    if run_.result.stand_in_note:
        print(f"note: {run_.result.stand_in_note}")
    if summary["chords"]:
        print("chords: " + " | ".join(" ".join(c["chord"] for c in row["chords"]) for row in summary["chords"]))
    for e in summary["results"]:
        print(f"{e['rank']}. {out / e['file']}  (critic score {e['score']:.3f}, {e['notes']} notes)")
    print(f"summary: {out / SUMMARY_NAME}")
    return 0

