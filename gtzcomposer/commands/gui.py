"""gtzcomposer [FILE] / gtzcomposer gui [FILE] [--screenshot PNG]"""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("gui", help="open the desktop app (the default with no command)")
    p.add_argument("file", nargs="?", metavar="FILE", help="a .mid, .musicxml or .gtzc file to open")
    p.add_argument("--screenshot", metavar="PNG", help="render one frame offscreen, save it, exit")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..core.errors import GtzError

    raise GtzError("the desktop app is not part of this build yet; use the subcommands (see --help)")
