"""The training job's entry point on the instance (SageMaker runs it from the "code" channel).

    python3 /opt/ml/input/data/code/training/cloud/entry.py JOB [--no-install]

Installs training/cloud/requirements.txt (unless --no-install), runs the job's commands from its
job file with the channels at /opt/ml/input/data/<name> and the model folder /opt/ml/model (SageMaker
archives that folder to the job's output when the job ends), then records in every card the
job wrote where and how it was made: instance type, GPUs, replicas, wall time and a cost
estimate. On failure it writes /opt/ml/output/failure, which SageMaker reports as the reason.
``GTZ_SM_ROOT`` moves /opt/ml (the local engine and the tests use it).

Standard library only: it runs before the requirements are installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

CODE = Path(__file__).resolve().parents[2]


def gpu_names() -> list[str]:
    if not shutil.which("nvidia-smi"):
        return []
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


def fill(cmd: list[str], inputs: dict[str, str], model_dir: str) -> list[str]:
    out = []
    for arg in cmd:
        arg = arg.replace("{model_dir}", model_dir)
        for name, path in inputs.items():
            arg = arg.replace(f"{{input:{name}}}", path)
        out.append(arg)
    return out


def record(card_path: Path, job: dict, wall: float, gpus: list[str], prices: dict) -> None:
    card = json.loads(card_path.read_text(encoding="utf-8"))
    itype = os.environ.get("GTZ_INSTANCE_TYPE", "")
    row = prices.get("instances", {}).get(itype, {})
    usd = row.get("usd_per_hour")
    devices = (card.get("training") or {}).get("devices") or {}
    spot = os.environ.get("GTZ_SPOT") == "1"
    cloud = {
        "job": job["name"], "job_name": os.environ.get("TRAINING_JOB_NAME", ""), "instance_type": itype,
        "gpus": len(gpus) if gpus else row.get("gpus", 0), "gpu": gpus[0] if gpus else row.get("gpu"),
        "replicas": devices.get("replicas", 1), "region": os.environ.get("GTZ_REGION", ""), "spot": spot,
        "wall_seconds": round(wall, 1),
        "commands": [" ".join(c) for c in job["commands"]],
    }
    if usd is not None:
        startup = float(prices.get("startup_seconds", 0))
        rate = usd * (1 - float(prices.get("spot_saving_estimate", 0))) if spot else usd
        cloud["cost_estimate_usd"] = round(rate * (wall + startup) / 3600, 4)
        cloud["cost_estimate_basis"] = (f"(wall {wall:.0f} s + start-up {startup:.0f} s) x {rate:.3f} USD/h "
                                        f"({'spot estimate, ' if spot else ''}list price as of {prices.get('prices_as_of')})")
    card["cloud"] = cloud
    tmp = card_path.with_name(card_path.name + ".part")
    tmp.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, card_path)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    install = "--no-install" not in argv
    args = [a for a in argv if a != "--no-install"]
    if len(args) != 1:
        print("usage: entry.py JOB [--no-install]", file=sys.stderr)
        return 2
    root = Path(os.environ.get("GTZ_SM_ROOT", "/opt/ml"))
    output = root / "output"
    output.mkdir(parents=True, exist_ok=True)
    job_file = CODE / "training" / "cloud" / "jobs" / f"{args[0]}.json"
    if not job_file.is_file():
        (output / "failure").write_text(f"no job file {job_file.name} in the uploaded code\n", encoding="utf-8")
        return 2
    job = json.loads(job_file.read_text(encoding="utf-8"))
    prices = json.loads((CODE / "training" / "cloud" / "prices.json").read_text(encoding="utf-8"))
    model_dir = root / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    inputs = {name: str(root / "input" / "data" / name) for name in job.get("inputs", {})}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(CODE), os.environ.get("PYTHONPATH")])),
           "PYTHONUNBUFFERED": "1"}
    gpus = gpu_names()
    print(f"entry: job {job['name']} on {os.environ.get('GTZ_INSTANCE_TYPE') or 'this machine'}; "
          f"GPUs: {', '.join(gpus) if gpus else 'none'}", flush=True)
    if install:
        req = CODE / "training" / "cloud" / "requirements.txt"
        print(f"entry: pip install -r {req.relative_to(CODE)}", flush=True)
        rc = subprocess.call([sys.executable, "-m", "pip", "install", "-q", "--no-cache-dir", "-r", str(req)])
        if rc:
            (output / "failure").write_text(f"pip install of {req.name} failed (exit {rc})\n", encoding="utf-8")
            return rc
    t0 = time.time()
    for cmd in job["commands"]:
        line = fill(cmd, inputs, str(model_dir))
        if line[0] == "python":
            line[0] = sys.executable
        print(f"entry: running {' '.join(cmd)}", flush=True)
        rc = subprocess.call(line, cwd=CODE, env=env)
        if rc:
            (output / "failure").write_text(f"{' '.join(cmd[:4])} exited with status {rc} (see the log)\n",
                                            encoding="utf-8")
            return rc
    wall = time.time() - t0
    for name in job["models"]:
        card = model_dir / f"{name}.json"
        if not card.is_file():
            (output / "failure").write_text(f"the job ran but wrote no {card.name}\n", encoding="utf-8")
            return 1
        record(card, job, wall, gpus, prices)
    for name in job.get("files", []):
        if not (model_dir / name).is_file():
            (output / "failure").write_text(f"the job ran but wrote no {name}\n", encoding="utf-8")
            return 1
    print(f"entry: done in {wall / 60:.1f} min; cards record instance, GPUs, wall time and cost", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
