"""The HTTP inference service (``gtzcomposer serve``): genre detection and melody continuation
over HTTP from the same code the desktop app and the command line use.

Layers: above ``ml``, ``io`` and ``audio``; it never imports Qt (import-linter contracts in
pyproject.toml). Modules: :mod:`.config` (the settings), :mod:`.models` (models loaded once per
worker, and the concurrency slots), :mod:`.uploads` (files into a private temporary folder),
:mod:`.app` (the Flask application factory and routes), :mod:`.openapi` (the API document),
:mod:`.wsgi` (gunicorn, or waitress where gunicorn does not run). See docs/deploy-on-aws.md.
"""

from .app import create_app
from .config import ServerConfig

__all__ = ["ServerConfig", "create_app"]
