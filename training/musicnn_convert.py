"""python -m training convert-musicnn: port musicnn 0.1.0's MSD_musicnn checkpoint to Keras 3.

Needs the musicnn wheel, installed WITHOUT its dependencies (it pins an ancient numpy):

    pip install --no-deps musicnn==0.1.0
    python -m training convert-musicnn

Reads the TF1 checkpoint inside the wheel (``musicnn/MSD_musicnn/``) with
``tf.compat.v1.train.NewCheckpointReader`` (only here, never at run time), builds the Keras 3 port
(:mod:`gtzcomposer.ml.musicnn_arch`), copies every variable in (convolution and dense kernels
and biases, batch-norm gamma/beta/moving mean/moving variance; optimizer slots are skipped) and
fails if any checkpoint variable or model weight is left unmapped.  Then it checks the port
against the original implementation's outputs stored in ``tests/data/musicnn_reference`` and
writes ``models/msd_musicnn.keras``, its card ``models/msd_musicnn.json`` and the musicnn licence
``models/msd_musicnn.LICENSE.md``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
REFERENCE_DIR = REPO / "tests" / "data" / "musicnn_reference"
COMMAND = "pip install --no-deps musicnn==0.1.0 && python -m training convert-musicnn"
VERSION = "1.0"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "convert-musicnn",
        help="convert musicnn 0.1.0's MSD_musicnn TF1 checkpoint to models/msd_musicnn.keras",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("--checkpoint", type=Path, help="musicnn's MSD_musicnn folder (default: the installed wheel's)")
    p.add_argument("--out", type=Path, default=REPO / "models", help="output folder (default: models/)")
    p.add_argument("--reference", type=Path, default=REFERENCE_DIR, help="equivalence fixture folder")
    p.add_argument("--tolerance", type=float, default=1e-4, help="max |port - original| on tag outputs")
    p.set_defaults(func=run)


def musicnn_package_dir() -> Path:
    spec = importlib.util.find_spec("musicnn")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("musicnn is not installed: pip install --no-deps musicnn==0.1.0")
    return Path(next(iter(spec.submodule_search_locations)))


def msd_labels(pkg: Path) -> list[str]:
    """MSD_LABELS from musicnn/configuration.py, read without importing musicnn (it imports TF1 code)."""
    import ast

    tree = ast.parse((pkg / "configuration.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "MSD_LABELS" for t in node.targets):
            return list(ast.literal_eval(node.value))
    raise RuntimeError("MSD_LABELS not found in musicnn/configuration.py")


def read_checkpoint(ckpt_dir: Path) -> dict[str, np.ndarray]:
    import tensorflow as tf

    reader = tf.compat.v1.train.NewCheckpointReader(str(ckpt_dir) + "/")
    out = {}
    for name in reader.get_variable_to_shape_map():
        if name.endswith(("/Adam", "/Adam_1")) or name in ("beta1_power", "beta2_power"):
            continue  # optimizer state, not part of the model
        out[name] = reader.get_tensor(name)
    return out


def copy_weights(model, variables: dict[str, np.ndarray]) -> int:
    """Copy checkpoint variables into the port; returns how many arrays were copied."""
    from gtzcomposer.ml.musicnn_arch import CHECKPOINT_MAP

    unused = set(variables)
    copied = 0
    mapped_layers = set()
    for layer_name, scope in CHECKPOINT_MAP.items():
        layer = model.get_layer(layer_name)
        if layer.__class__.__name__ == "BatchNormalization":
            keys = ["gamma", "beta", "moving_mean", "moving_variance"]
        else:
            keys = ["kernel", "bias"]
        arrays = []
        for key, current in zip(keys, layer.get_weights(), strict=True):
            name = f"{scope}/{key}"
            if name not in variables:
                raise KeyError(f"checkpoint has no variable {name} for layer {layer_name}")
            value = variables[name]
            if value.size != current.size:
                raise ValueError(f"{name}: shape {value.shape} does not fit {layer_name} {current.shape}")
            arrays.append(value.reshape(current.shape))  # conv2d kernel (7, W, 1, F) -> conv1d (7, W, F)
            unused.discard(name)
        layer.set_weights(arrays)
        copied += len(arrays)
        mapped_layers.add(layer_name)
    if unused:
        raise RuntimeError(f"checkpoint variables left unmapped: {sorted(unused)}")
    unmapped = [w.path for layer in model.layers if layer.name not in mapped_layers for w in layer.weights]
    if unmapped:
        raise RuntimeError(f"model weights left without a checkpoint value: {unmapped}")
    return copied


def check_equivalence(model, ref_dir: Path) -> dict:
    """Run the port on the fixture clips; compare with the original musicnn's stored outputs."""
    import soundfile as sf

    from gtzcomposer.ml.features import audio_to_patches
    from gtzcomposer.ml.features import patches as patches_of
    from gtzcomposer.ml.musicnn_arch import feature_model

    ref = np.load(ref_dir / "reference.npz")
    info = json.loads((ref_dir / "reference.json").read_text())
    fm = feature_model(model)
    worst = {"tags": 0.0, "tags_from_reference_spectrogram": 0.0, "penultimate_first_patch": 0.0,
             "max_pool_relative": 0.0, "mean_pool": 0.0}
    n_patches = 0
    for clip in info["clips"]:
        y, sr = sf.read(str(ref_dir / f"{clip}.flac"), dtype="float32")
        assert sr == 16000, sr
        patches, _ = audio_to_patches(y)
        tags, pen, max_pool, mean_pool = fm.predict_on_batch(patches)
        expected = ref[f"{clip}/taggram"]
        if tags.shape != expected.shape:
            raise RuntimeError(f"{clip}: port gives {tags.shape} tag outputs, reference {expected.shape}")
        ref_patches, _ = patches_of(ref[f"{clip}/spectrogram"])
        worst["tags"] = max(worst["tags"], float(np.max(np.abs(tags - expected))))
        worst["tags_from_reference_spectrogram"] = max(
            worst["tags_from_reference_spectrogram"],
            float(np.max(np.abs(model.predict_on_batch(ref_patches) - expected))),
        )
        # musicnn 0.1.0's extractor repeats the first batch's penultimate features for every later
        # batch (a stale variable in its loop), so only the first patch is comparable.
        worst["penultimate_first_patch"] = max(
            worst["penultimate_first_patch"], float(np.max(np.abs(pen[0] - ref[f"{clip}/penultimate"][0])))
        )
        ref_max = ref[f"{clip}/max_pool"]
        worst["max_pool_relative"] = max(
            worst["max_pool_relative"], float(np.max(np.abs(max_pool - ref_max)) / np.max(np.abs(ref_max)))
        )
        worst["mean_pool"] = max(worst["mean_pool"], float(np.max(np.abs(mean_pool - ref[f"{clip}/mean_pool"]))))
        n_patches += len(patches)
    return {
        "clips": len(info["clips"]),
        "patches": n_patches,
        "max_abs_diff": worst,
        "reference": "tests/data/musicnn_reference (made by make_reference.py with the original musicnn code)",
    }


def make_card(labels: list[str], equivalence: dict, size_bytes: int) -> dict:
    from gtzcomposer.ml import features as F

    return {
        "name": "msd_musicnn",
        "version": VERSION,
        "task": "music tagging backbone",
        "description": "musicnn's MSD_musicnn tagger re-implemented in Keras 3 with the original weights; "
        "50 Million Song Dataset tag probabilities per 3 s patch, plus 200-d penultimate and 753-d "
        "max/mean pooled features (gtzcomposer.ml.musicnn.load_features_model) for transfer learning.",
        "source": {
            "package": "musicnn==0.1.0 (PyPI), checkpoint musicnn/MSD_musicnn/",
            "model": "MSD_musicnn",
            "authors": "Jordi Pons and Xavier Serra",
            "paper": "Pons & Serra, 'musicnn: pre-trained convolutional neural networks for music audio "
            "tagging', ISMIR 2019 late-breaking/demo; Pons et al., 'End-to-end learning for music audio "
            "tagging at scale', ISMIR 2018",
            "copyright": "Copyright (c) Music Technology Group, Universitat Pompeu Fabra 2019. "
            "Code developed by Jordi Pons.",
        },
        "licence": "ISC (see msd_musicnn.LICENSE.md)",
        "training_data": "Million Song Dataset audio previews with Last.fm top-50 tags (by the musicnn authors); "
        "not retrained here",
        "labels": labels,
        "input": {
            "sample_rate": F.SR,
            "mono": True,
            "n_fft": F.N_FFT,
            "hop_length": F.HOP,
            "window": "hann (periodic), centred frames, zero padding",
            "n_mels": F.N_MELS,
            "mel": "slaney scale and norm (librosa defaults), power 2",
            "scaling": "round to float16, back to float32, log10(10000 * x + 1)",
            "patch_frames": F.PATCH_FRAMES,
            "patch_hop_frames": F.PATCH_HOP,
            "patch_seconds": round(F.PATCH_FRAMES * F.HOP / F.SR, 3),
            "shape": [None, F.PATCH_FRAMES, F.N_MELS],
            "features_code": "gtzcomposer.ml.features.audio_to_patches",
        },
        "outputs": {
            "tags": "sigmoid (50), order of 'labels'",
            "penultimate": "200 (batch-normed dense layer before the output)",
            "max_pool": "753 (max over time of the front- and mid-end features)",
            "mean_pool": "753 (mean over time)",
        },
        "equivalence": equivalence,
        "file_size_bytes": size_bytes,
        "command": COMMAND,
    }


def run(args: argparse.Namespace) -> int:
    import keras

    from gtzcomposer.ml.musicnn_arch import build_musicnn

    pkg = musicnn_package_dir()
    ckpt = args.checkpoint or pkg / "MSD_musicnn"
    labels = msd_labels(pkg)
    variables = read_checkpoint(ckpt)
    print(f"read {len(variables)} variables from {ckpt}")
    model = build_musicnn(n_tags=len(labels))
    copied = copy_weights(model, variables)
    print(f"copied {copied} arrays into the Keras port ({model.count_params():,} parameters); none left unmapped")

    equivalence = check_equivalence(model, args.reference)
    diff = equivalence["max_abs_diff"]["tags"]
    print(f"equivalence on {equivalence['clips']} clips / {equivalence['patches']} patches: "
          f"max |port - original| = {diff:.2e} (tags), "
          + ", ".join(f"{k} {v:.2e}" for k, v in equivalence["max_abs_diff"].items() if k != "tags"))
    if not diff <= args.tolerance:
        print(f"error: tag outputs differ by {diff:.2e} > {args.tolerance:.0e}", file=sys.stderr)
        return 1
    equivalence["tolerance"] = args.tolerance

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "msd_musicnn.keras"
    model.save(path)
    # round trip: the saved file loads and gives the same outputs
    again = keras.saving.load_model(path, compile=False)
    probe = np.random.default_rng(0).uniform(0, 3, (2, 187, 96)).astype(np.float32)
    if not np.allclose(again.predict_on_batch(probe), model.predict_on_batch(probe), atol=1e-6):
        raise RuntimeError("the saved model does not reproduce the converted one")
    card = make_card(labels, equivalence, path.stat().st_size)
    (args.out / "msd_musicnn.json").write_text(json.dumps(card, indent=2) + "\n")
    shutil.copyfile(next(pkg.parent.glob("musicnn-*.dist-info")) / "LICENSE.md", args.out / "msd_musicnn.LICENSE.md")
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB), {args.out / 'msd_musicnn.json'}, "
          f"{args.out / 'msd_musicnn.LICENSE.md'}")
    return 0
