"""Command line: ``gtzcomposer [FILE]`` opens the GUI; subcommands do the work headless.

Exit codes: 0 ok, 2 usage or bad input (a :class:`GtzError`), 1 internal error.
Each subcommand lives in ``gtzcomposer.commands.<name>`` with ``register(subparsers)``; the
modules import their heavy dependencies inside ``run`` so that ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback

from . import __version__
from .core.errors import GtzError

# Order is the order shown by --help.
COMMANDS = ("gui", "genre", "continue_", "render", "convert", "info", "models", "serve")

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's own exit code is 2 as well; keep its message
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="gtzcomposer",
        description="Compose music with machine help. With no subcommand (or just a FILE) the "
        "desktop app opens.",
        epilog="Run 'gtzcomposer COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"gtzcomposer {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(f"gtzcomposer.commands.{name}").register(sub)
    return parser


def _looks_like_file(arg: str) -> bool:
    return not arg.startswith("-") and ("." in arg or "/" in arg)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    known = {name.rstrip("_") for name in COMMANDS}
    # `gtzcomposer`, `gtzcomposer song.mid`: open the GUI.
    if not argv or (argv[0] not in known and _looks_like_file(argv[0])):
        argv = ["gui", *argv]
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except GtzError as exc:
        print(f"gtzcomposer: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("gtzcomposer: interrupted", file=sys.stderr)
        return 130
    except Exception:  # noqa: BLE001 - the last line of defence: report, exit 1
        traceback.print_exc()
        print("gtzcomposer: internal error (a bug); please report it with the trace above", file=sys.stderr)
        return EXIT_INTERNAL
