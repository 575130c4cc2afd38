"""gtzcomposer render IN OUT.wav [--soundfont SF2] [--sample-rate HZ] [--bit-depth 16|24]"""

from __future__ import annotations

from ._progress import terminal_progress


def register(sub) -> None:
    p = sub.add_parser(
        "render",
        help="render a song (.mid, .musicxml, .gtzc) to a .wav or .flac file with FluidSynth",
        description="Render a song's audible tracks (mute/solo respected) to audio with FluidSynth "
        "and a General MIDI soundfont. The output type follows OUT's extension (.wav or .flac). "
        "Without --soundfont the first of these is used: $GTZCOMPOSER_SOUNDFONT, a system GM font "
        "(e.g. /usr/share/sounds/sf2/FluidR3_GM.sf2), the TimGM6mb font inside pretty_midi.",
    )
    p.add_argument("input", metavar="IN", help="song file: .mid/.midi, .musicxml/.xml/.mxl or .gtzc")
    p.add_argument("output", metavar="OUT", help="audio file to write: .wav or .flac")
    p.add_argument("--soundfont", metavar="SF2", help="a .sf2 or .sf3 soundfont")
    p.add_argument("--sample-rate", metavar="HZ", type=int, default=44100, help="44100 (default) or 48000")
    p.add_argument("--bit-depth", type=int, choices=(16, 24), default=16, help="16 (default) or 24")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    p.set_defaults(func=run)


def run(args) -> int:
    import threading

    from ..audio.render import check_options, keep_soundfont, render_song
    from ..audio.soundfont import resolve_soundfont
    from ..core.errors import GtzError
    from ..core.timing import TempoMap
    from ..io.formats import load_song

    # Refuse bad options and a bad soundfont before reading (and rendering) anything.
    check_options(args.output, args.sample_rate, args.bit_depth)
    soundfont = resolve_soundfont(args.soundfont)

    def preload() -> None:  # the soundfont's samples load while the song is read
        try:
            keep_soundfont(soundfont)
        except GtzError:
            pass  # the render itself reports a soundfont FluidSynth refuses

    loader = threading.Thread(target=preload, name="gtz-soundfont", daemon=True)
    loader.start()
    try:
        song = load_song(args.input)
    finally:
        loader.join()
    progress, close = terminal_progress("render", enabled=not args.quiet)
    try:
        result = render_song(song, args.output, soundfont=soundfont, sample_rate=args.sample_rate,
                             bit_depth=args.bit_depth, progress=progress)
    finally:
        close()
    if not args.quiet:
        music = TempoMap.of(song).seconds(song.end_tick)
        note = f", scaled by {result.scaled:.2f} to avoid clipping" if result.scaled < 1.0 else ""
        print(f"wrote {args.output} ({result.seconds:.2f} s, {music:.2f} s of music + release tail, "
              f"{args.sample_rate} Hz, {args.bit_depth}-bit, soundfont {soundfont.path}{note})")
    return 0
