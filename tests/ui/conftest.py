"""UI test setup: every test gets fresh settings and an empty app-data folder in a temp dir,
so nothing reads or writes the developer's own settings or recovery files."""

import pytest


@pytest.fixture(autouse=True)
def fresh_settings(tmp_path, monkeypatch):
    settings_file = tmp_path / "settings" / "gtzcomposer.ini"
    data = tmp_path / "appdata"
    monkeypatch.setenv("GTZCOMPOSER_SETTINGS", str(settings_file))
    monkeypatch.setenv("GTZCOMPOSER_DATA_DIR", str(data))
    return settings_file
