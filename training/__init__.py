"""Reproduces every file in models/ from its data: ``python -m training COMMAND``.

Imports gtzcomposer.ml and gtzcomposer.io, never the reverse.
"""
