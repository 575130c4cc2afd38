"""The one terminal progress bar the long commands share."""

from __future__ import annotations

import sys
from collections.abc import Callable

Progress = Callable[[float, str], None]


def terminal_progress(name: str, enabled: bool = True) -> tuple[Progress | None, Callable[[], None]]:
    """(progress callback, close): a tqdm bar on stderr when it is a terminal, else nothing."""
    if not enabled or not sys.stderr.isatty():
        return None, lambda: None
    from tqdm import tqdm

    bar = tqdm(total=100, desc=name, unit="%", leave=False, file=sys.stderr,
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}")

    def progress(fraction: float, message: str = "") -> None:
        bar.n = int(round(100 * max(0.0, min(1.0, fraction))))
        bar.set_postfix_str(message, refresh=False)
        bar.refresh()

    return progress, bar.close
