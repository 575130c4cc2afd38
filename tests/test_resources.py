from pathlib import Path

from gtzcomposer import resources


def test_source_checkout_finds_repo_folders():
    repo = Path(__file__).resolve().parents[1]
    assert resources.models_dir() in (repo / "models", Path(resources.__file__).parent / "_models")
    assert (resources.models_dir() / "README.md").is_file()
    assert resources.model_path("x") == resources.models_dir() / "x.keras"
    assert resources.model_card_path("x") == resources.models_dir() / "x.json"
    assert resources.resource("README.md").is_file()


def test_environment_override_and_bundle(tmp_path, monkeypatch):
    (tmp_path / "gtzcomposer" / "_models").mkdir(parents=True)
    monkeypatch.setattr(resources.sys, "_MEIPASS", str(tmp_path), raising=False)
    monkeypatch.setattr(resources, "_PACKAGE", tmp_path / "nowhere" / "gtzcomposer")
    resources._find.cache_clear()
    try:
        assert resources.models_dir() == tmp_path / "gtzcomposer" / "_models"
        # no folder anywhere: fall back to the source layout so messages name a sensible place
        assert resources.resources_dir() == tmp_path / "nowhere" / "resources"
        monkeypatch.setenv("GTZCOMPOSER_MODELS_DIR", str(tmp_path))
        resources._find.cache_clear()
        assert resources.models_dir() == tmp_path
    finally:
        resources._find.cache_clear()
