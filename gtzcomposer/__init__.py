"""gtzcomposer: compose music with machine help."""

__version__ = "0.1.0"
