"""The base of every error that a user's input can cause.

Each file format and feature raises its own subclass with a human sentence (which file, what is
wrong). The CLI turns these into exit code 2 and the GUI into a message box; anything else is a
bug (exit code 1).
"""

from concurrent.futures import CancelledError


class GtzError(Exception):
    """An error caused by the user's input or environment, with a message fit to show them."""


class Cancelled(GtzError, CancelledError):
    """Raised by long work (``run(..., progress, is_cancelled)``) when ``is_cancelled()`` turned
    true. It is a :class:`concurrent.futures.CancelledError` too, so either ``except`` catches it;
    the GUI's task runner reports it as a cancellation, not a failure."""
