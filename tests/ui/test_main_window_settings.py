"""Settings: typed reads with defaults, bad values fall back, recent files, schema version."""

from PySide6.QtCore import QSettings

from gtzcomposer.ui.settings import MAX_RECENT, SCHEMA_VERSION, Settings, data_dir, settings_path


def test_fixture_points_settings_and_data_at_temp_dirs(fresh_settings, tmp_path):
    assert settings_path() == fresh_settings
    assert data_dir().is_relative_to(tmp_path)


def test_defaults_and_typed_round_trip():
    s = Settings()
    assert s.get("autosave/interval_s") == 60 and s.get("autosave/enabled") is True
    assert s.get("files/recent") == [] and s.get("appearance/theme") == "light"
    s.set("autosave/interval_s", 15)
    s.set("editor/snap", False)
    s.sync()
    again = Settings()
    assert again.get("autosave/interval_s") == 15 and again.get("editor/snap") is False
    assert again.schema == SCHEMA_VERSION


def test_hand_edited_bad_values_fall_back_to_defaults(fresh_settings):
    fresh_settings.parent.mkdir(parents=True, exist_ok=True)
    fresh_settings.write_text("[autosave]\ninterval_s=soon\nenabled=maybe\n[editor]\nsnap=0\n")
    s = Settings()
    assert s.get("autosave/interval_s") == 60
    assert s.get("autosave/enabled") is True
    assert s.get("editor/snap") is False


def test_settings_file_is_ini_with_a_schema_version(fresh_settings):
    Settings().sync()
    q = QSettings(str(fresh_settings), QSettings.Format.IniFormat)
    assert int(q.value("meta/schema")) == SCHEMA_VERSION


def test_newer_schema_is_left_alone(fresh_settings):
    fresh_settings.parent.mkdir(parents=True, exist_ok=True)
    fresh_settings.write_text("[meta]\nschema=99\n")
    assert Settings().schema == 99


def test_recent_files_newest_first_no_duplicates_capped(tmp_path):
    s = Settings()
    for i in range(MAX_RECENT + 3):
        s.add_recent(tmp_path / f"{i}.mid")
    s.add_recent(tmp_path / "5.mid")
    recent = Settings().recent_files()
    assert len(recent) == MAX_RECENT
    assert recent[0] == str((tmp_path / "5.mid").resolve())
    assert recent.count(recent[0]) == 1
    s.clear_recent()
    assert Settings().recent_files() == []


def test_one_recent_file_reads_back_as_a_list(tmp_path):
    s = Settings()
    s.add_recent(tmp_path / "a.gtzc")
    s.sync()
    assert Settings().recent_files() == [str((tmp_path / "a.gtzc").resolve())]
