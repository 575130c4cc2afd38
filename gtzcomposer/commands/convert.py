"""gtzcomposer convert IN OUT"""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser(
        "convert",
        help="convert between .mid, .musicxml/.xml/.mxl and .gtzc (by extension)",
        description="Convert a song between MIDI, MusicXML and the .gtzc project format. The "
        "formats are chosen by the file extensions.",
    )
    p.add_argument("input", metavar="IN")
    p.add_argument("output", metavar="OUT")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..io.formats import load_song, save_song, song_format

    song_format(args.output)  # refuse an unknown output type before reading anything
    song = load_song(args.input)
    for note in save_song(song, args.output):
        print(f"note: {note}")
    print(f"wrote {args.output} ({len(song.tracks)} tracks, {song.note_count} notes)")
    return 0
