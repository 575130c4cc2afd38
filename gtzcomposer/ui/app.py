"""Start the desktop app: QApplication, style and palette, the main window, the event loop.

Start-up imports only Qt and our own light modules; Keras/TensorFlow, librosa and music21 load
later, when a panel that needs them is opened. ``GTZCOMPOSER_LAUNCH_PROBE=1`` makes the app print
``LAUNCH_READY <seconds since the epoch>`` at the first idle moment after the window is shown, and
quit (``benchmarks/launch_time.py`` uses it).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication, QStyleFactory

from .. import __version__
from .themes import apply_theme

ORG = "gtzcomposer"
APP = "gtzcomposer"


def create_app(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance()
    if app is None:
        app = QApplication(argv if argv is not None else [sys.argv[0]])
    app.setOrganizationName(ORG)
    app.setApplicationName(APP)
    app.setApplicationDisplayName("gtzcomposer")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("gtzcomposer")
    if "Fusion" in QStyleFactory.keys():
        app.setStyle("Fusion")
    from ..resources import resource

    logo = resource("icons", "gtzcomposer.svg")
    if logo.is_file():
        from PySide6.QtGui import QIcon

        app.setWindowIcon(QIcon(str(logo)))
    font = app.font()
    if font.pointSizeF() < 9.5:
        font.setPointSizeF(10)
    if not font.family() or font.family() in ("Sans Serif", "Helvetica"):
        font.setFamily("DejaVu Sans")
    font.setHintingPreference(QFont.HintingPreference.PreferFullHinting)
    app.setFont(font)
    return app


def _probe_ready(window) -> None:
    """At the first idle moment after show(): the window has painted and takes input."""
    def ready() -> None:
        print(f"LAUNCH_READY {time.time():.6f}", flush=True)
        watch = os.environ.get("GTZCOMPOSER_LAUNCH_REPORT_MODULES", "")
        loaded = [m for m in watch.split(",") if m and m in sys.modules]
        print(f"LAUNCH_MODULES {','.join(loaded)}", flush=True)
        window.shutdown()
        QApplication.instance().exit(0)

    QTimer.singleShot(0, ready)


def run_gui(file: str | None = None, screenshot: str | None = None, theme: str | None = None,
            size: tuple[int, int] = (1280, 800)) -> int:
    """Open the app (and ``file``); with ``screenshot``, render one frame to that PNG and exit."""
    if screenshot and not os.environ.get("QT_QPA_PLATFORM"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    app = create_app([sys.argv[0]])

    from .main_window import MainWindow
    from .settings import Settings

    settings = None
    if screenshot:
        # A screenshot shows the defaults, never this user's remembered window layout.
        import tempfile

        tmp = tempfile.mkdtemp(prefix="gtzcomposer-shot-")
        os.environ["GTZCOMPOSER_DATA_DIR"] = tmp
        settings = Settings(Path(tmp) / "settings.ini")
    else:
        settings = Settings()
    apply_theme(app, theme or settings.get("appearance/theme"))
    window = MainWindow(settings, autosave=not screenshot)
    if theme:
        window.set_theme(theme)

    if screenshot:
        window.resize(*size)
        if file:
            # Read it here, not through the window: a file that cannot be read is one sentence
            # on stderr and exit 2 (an error dialog would wait forever for a click offscreen).
            from ..io.formats import load_any

            window.files.show_loaded(Path(file), load_any(Path(file)))
        window.show()
        for _ in range(5):
            app.processEvents()
        window.editor.fit_to_song()
        app.processEvents()
        image = window.grab()
        out = Path(screenshot)
        out.parent.mkdir(parents=True, exist_ok=True)
        ok = image.save(str(out), "PNG")
        window.shutdown()
        window.deleteLater()
        app.processEvents()
        if not ok:
            from ..core import GtzError

            raise GtzError(f"could not write the screenshot {out}")
        print(f"wrote {out} ({image.width()}x{image.height()})")
        return 0

    window.show()
    if file:
        QTimer.singleShot(0, lambda: window.files.open_file(file, ask=False))
    window.start_background()
    if os.environ.get("GTZCOMPOSER_LAUNCH_PROBE"):
        _probe_ready(window)
    return app.exec()
