"""The wheel must carry every subpackage and the bundled models/resources."""

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "gtzcomposer").rglob("__init__.py")
    }
    assert found - listed == set(), "add these to [tool.setuptools] packages"
    mapped = config["tool"]["setuptools"]["package-dir"]
    assert mapped["gtzcomposer._models"] == "models" and mapped["gtzcomposer._resources"] == "resources"


def test_every_bundled_model_has_a_card_with_its_command():
    import json

    for model in (ROOT / "models").glob("*.keras"):
        card = json.loads(model.with_suffix(".json").read_text())
        text = json.dumps(card)
        assert "python -m training" in text, f"{model.name}: the card must say how to reproduce it"
