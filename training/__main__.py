"""python -m training COMMAND ...  (each command lives in training/<module>.py with register())"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# command module -> registered by that module's register(subparsers)
MODULES = ("musicnn_convert", "genre", "melody", "melody_eval", "cloud", "band")
# what the `training` extra brings (the app itself needs none of them)
TRAINING_PACKAGES = {"keras", "tensorflow", "sklearn", "matplotlib", "librosa", "scipy", "boto3", "botocore"}


def main(argv: list[str] | None = None) -> int:
    try:
        parser = argparse.ArgumentParser(prog="python -m training", description="Reproduce the bundled models.")
        sub = parser.add_subparsers(dest="command", metavar="COMMAND")
        for name in MODULES:
            importlib.import_module(f"training.{name}").register(sub)
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        return int(args.func(args) or 0)
    except ModuleNotFoundError as exc:  # a lean install: the app runs without these, training needs them
        top = (exc.name or "").split(".")[0]
        if top not in TRAINING_PACKAGES:
            raise
        print(f"error: python -m training needs the training extra ({top} is not installed): "
              "pip install 'gtzcomposer[training]' (in a checkout: pip install '.[training]')", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
