"""gtzcomposer [FILE] / gtzcomposer gui [FILE] [--screenshot PNG]"""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("gui", help="open the desktop app (the default with no command)",
                       description="Open the desktop app, optionally with a song file. With --screenshot, "
                       "render one frame offscreen to a PNG and exit (for docs and smoke tests).")
    p.add_argument("file", nargs="?", metavar="FILE", help="a .mid, .musicxml or .gtzc file to open")
    p.add_argument("--screenshot", metavar="PNG", help="render one frame offscreen, save it, exit")
    p.add_argument("--theme", choices=("light", "dark"), help="colour theme (default: the saved choice)")
    p.add_argument("--size", default="1280x800", metavar="WxH", help="window size for --screenshot (default 1280x800)")
    p.set_defaults(func=run)


def run(args) -> int:

    from ..core.errors import GtzError

    if args.file:
        from ..io._files import check_regular_file

        check_regular_file(args.file, GtzError, "song")  # missing, a folder, a FIFO, a link loop
    try:
        w, h = (int(v) for v in args.size.lower().split("x"))
        if not (200 <= w <= 8000 and 200 <= h <= 8000):
            raise ValueError
    except ValueError:
        raise GtzError(f"--size must look like 1280x800, got {args.size!r}") from None
    import os
    import sys

    if (not args.screenshot and sys.platform.startswith("linux") and not os.environ.get("QT_QPA_PLATFORM")
            and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY")):
        raise GtzError("no display found (DISPLAY and WAYLAND_DISPLAY are not set): run the app in a desktop "
                       "session, or use --screenshot PNG to render offscreen")
    from ..ui.app import run_gui

    return run_gui(args.file, screenshot=args.screenshot, theme=args.theme, size=(w, h))
