"""`python -m training cloud ... --dry-run` for every model, the plan's choices, and the SageMaker
request every job sends, validated by botocore's own CreateTrainingJob validator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.training.moto_s3 import aws_env
from training.__main__ import main
from training.cloud import plan
from training.cloud.plan import CloudError

REPO = Path(__file__).resolve().parents[2]
JOBS = plan.load_jobs()
PRICES = plan.load_prices()
TEMPLATE = plan.load_json(plan.TEMPLATE_FILE)
MODELS = sorted(set(plan.model_names(JOBS))) + ["all"]


@pytest.mark.parametrize("model", MODELS)
def test_dry_run_of_every_model_prints_the_whole_plan(model, capsys, tmp_path):
    args = ["cloud", model, "--dry-run", "--out", "s3://gtz-bucket/runs"]
    names = plan.resolve_jobs(model, JOBS)
    needs = {k for n in names for k, spec in JOBS[n].get("inputs", {}).items() if not spec.get("local")}
    for k in sorted(needs):  # the jobs from your own GTZAN audio: a folder of it
        audio = tmp_path / "gtzan" / "blues"
        audio.mkdir(parents=True, exist_ok=True)
        (audio / "blues.00000.wav").write_bytes(b"RIFF....")
        args += ["--input", f"{k}={tmp_path / 'gtzan'}"]
    assert main(args) == 0
    out = capsys.readouterr().out
    for name in names:
        job = JOBS[name]
        itype = job["default_instance_type"]
        row = PRICES["instances"][itype]
        assert f"job {name}:" in out
        assert f"instance      {itype}: {row['gpus']} x {row['gpu']}" in out
        assert f"{row['usd_per_hour']:.3f} USD/hour (on-demand list price as of {PRICES['prices_as_of']}" in out
        assert f"s3://gtz-bucket/runs/jobs/gtz-{name}-" in out
        for cmd in job["commands"]:
            assert " ".join(cmd[:4]) in out
    for needle in ("region        us-east-1", "capacity      on-demand", "s3://gtz-bucket/runs/data/sha256/",
                   "to upload", "expected      ", "cost estimate", "dry run: nothing was uploaded or started"):
        assert needle in out
    if model == "all":
        assert "all 2 jobs: about" in out


def test_dry_run_needs_no_credentials_no_boto3_and_no_network(tmp_path):
    """In a fresh process with no AWS settings at all: exit 0, and boto3 is never imported."""
    code = ("import sys; from training.__main__ import main; rc = main(['cloud', 'all', '--dry-run', '--spot', "
            "'--gpus', '4', '--region', 'eu-west-1']); assert 'boto3' not in sys.modules and 'botocore' not in "
            "sys.modules, 'dry run imported boto3'; sys.exit(rc)")
    env = aws_env(None, tmp_path, PYTHONPATH=str(REPO), AWS_ENDPOINT_URL="http://127.0.0.1:9")  # nothing listens
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "capacity      spot" in r.stdout and "region        eu-west-1" in r.stdout
    assert "ml.g5.12xlarge: 4 x NVIDIA A10G" in r.stdout  # the 4-GPU type of the jobs' family
    assert "spot estimate" in r.stdout and "typically 5-30 % higher" in r.stdout  # region outside the table


def test_gpus_and_instance_type_choose_from_the_table():
    job = JOBS["genre"]
    assert plan.choose_instance(job, PRICES, None, None) == "ml.g4dn.xlarge"
    assert plan.choose_instance(job, PRICES, 4, None) == "ml.g4dn.12xlarge"  # same family, cheapest
    assert plan.choose_instance(JOBS["melody"], PRICES, 8, None) == "ml.g5.48xlarge"
    assert plan.choose_instance(job, PRICES, 0, None) == "ml.m5.xlarge"
    with pytest.raises(CloudError, match="has 1 GPU, not 4"):
        plan.choose_instance(job, PRICES, 4, "ml.g5.xlarge")
    with pytest.raises(CloudError, match="no instance type .* has 3 GPUs"):
        plan.choose_instance(job, PRICES, 3, None)
    with pytest.raises(CloudError, match="not in the price table"):
        plan.choose_instance(job, PRICES, None, "ml.x99.huge")


@pytest.mark.parametrize("argv, message", [
    (["cloud", "bandmodel", "--dry-run"], "unknown model 'bandmodel': choose one of"),
    (["cloud", "genre", "--dry-run", "--gpus", "3"], "has 3 GPUs"),
    (["cloud", "genre", "--dry-run", "--out", "https://bucket/x"], "is not an S3 location"),
    (["cloud", "genre", "--dry-run", "--input", "nope=/tmp"], "job 'genre' has no input nope"),
    (["cloud", "genre-audio", "--dry-run"], "needs input 'gtzan'"),
    (["cloud", "genre", "--dry-run", "--input", "taggrams=/nonexistent/dir"], "is not a folder"),
    (["cloud", "all", "--dry-run", "--job-name", "x"], "--job-name names one job"),
])
def test_bad_usage_is_one_sentence_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_expected_hours_come_from_the_card(tmp_path):
    cards = tmp_path / "models"
    cards.mkdir()
    (cards / "genre_head.json").write_text(json.dumps({"training": {"seconds": 100}}))
    p = plan.build_plan(JOBS["genre"], prices=PRICES, template=TEMPLATE, models_dir=cards)
    assert p.expected_seconds == 100 + JOBS["genre"]["extra_seconds"] + PRICES["startup_seconds"]
    # a card measured on a cloud run: its wall time wins
    cards = tmp_path / "models2"
    cards.mkdir()
    (cards / "genre_head.json").write_text(json.dumps({"training": {"seconds": 100},
                                                       "cloud": {"wall_seconds": 50, "instance_type": "ml.g5.xlarge"}}))
    p = plan.build_plan(JOBS["genre"], prices=PRICES, template=TEMPLATE, models_dir=cards, spot=True)
    assert p.expected_seconds == 50 + PRICES["startup_seconds"]
    assert p.usd_per_hour == pytest.approx(PRICES["instances"]["ml.g4dn.xlarge"]["usd_per_hour"] * 0.3)
    assert "cloud.wall_seconds" in p.expected_basis


def test_style_classifier_runs_the_melody_job_once_and_all_runs_each_bundled_job_once():
    assert plan.resolve_jobs("style-classifier", JOBS) == ["melody"]
    assert plan.resolve_jobs("style_classifier", JOBS) == ["melody"]
    assert plan.resolve_jobs("genre_head", JOBS) == ["genre"]  # the bundled recipe, not the audio variant
    assert sorted(plan.resolve_jobs("all", JOBS)) == ["genre", "melody"]
    bundled = {p.stem for p in (REPO / "models").glob("*.keras")} - {"msd_musicnn"}  # converted, not trained
    assert {m for n in plan.resolve_jobs("all", JOBS) for m in JOBS[n]["models"]} == bundled


def test_a_new_job_file_is_a_new_model(tmp_path):
    folder = tmp_path / "jobs"
    folder.mkdir()
    for p in plan.JOBS_DIR.glob("*.json"):
        (folder / p.name).write_bytes(p.read_bytes())
    (folder / "band.json").write_text(json.dumps({
        "name": "band", "models": ["band_drums", "band_bass"], "in_all": True, "inputs": {},
        "commands": [["python", "-m", "training", "band", "--out", "{model_dir}"]],
        "default_instance_type": "ml.g5.xlarge"}))
    jobs = plan.load_jobs(folder)
    assert plan.resolve_jobs("band-drums", jobs) == ["band"]
    assert "band" in plan.resolve_jobs("all", jobs)


@pytest.mark.parametrize("job", sorted(JOBS))
@pytest.mark.parametrize("spot", [False, True])
def test_every_jobs_request_passes_botocores_sagemaker_validator(job, spot, tmp_path):
    botocore_session = pytest.importorskip("botocore.session", reason="botocore comes with boto3 ('training' extra)")
    from botocore.validate import ParamValidator

    inputs = {k: str(tmp_path) for k, spec in JOBS[job].get("inputs", {}).items() if not spec.get("local")}
    (tmp_path / "blues").mkdir()
    (tmp_path / "blues" / "blues.00000.au").write_bytes(b".snd")
    p = plan.build_plan(JOBS[job], prices=PRICES, template=TEMPLATE, spot=spot, gpus=4, out="s3://gtz-bucket/runs",
                        inputs=inputs, role="arn:aws:iam::123456789012:role/gtz-training")
    req = plan.training_job_request(p, TEMPLATE)
    shape = botocore_session.get_session().get_service_model("sagemaker").operation_model("CreateTrainingJob").input_shape
    report = ParamValidator().validate(req, shape)
    assert not report.has_errors(), report.generate_report()
    assert req["ResourceConfig"]["InstanceType"] == p.instance_type and p.gpus == 4
    assert {c["ChannelName"] for c in req["InputDataConfig"]} == {"code", *JOBS[job].get("inputs", {})}
    assert req["EnableManagedSpotTraining"] is True if spot else "EnableManagedSpotTraining" not in req
    if spot:
        assert req["StoppingCondition"]["MaxWaitTimeInSeconds"] >= req["StoppingCondition"]["MaxRuntimeInSeconds"]
    # the entry point the container runs is in the code that is uploaded
    entry = req["AlgorithmSpecification"]["ContainerEntrypoint"][-1].removeprefix("/opt/ml/input/data/code/")
    assert entry in {f.rel for f in p.channels[0].tree.files}


def test_the_request_is_rejected_by_the_validator_when_broken():
    """The validator is a real check: a request with a wrong type fails it."""
    botocore_session = pytest.importorskip("botocore.session", reason="botocore comes with boto3 ('training' extra)")
    from botocore.validate import ParamValidator

    p = plan.build_plan(JOBS["genre"], prices=PRICES, template=TEMPLATE, out="s3://gtz-bucket/runs")
    req = plan.training_job_request(p, TEMPLATE)
    req["ResourceConfig"]["InstanceCount"] = "one"
    shape = botocore_session.get_session().get_service_model("sagemaker").operation_model("CreateTrainingJob").input_shape
    assert ParamValidator().validate(req, shape).has_errors()


def test_real_run_without_credentials_exits_2_naming_them(tmp_path):
    pytest.importorskip("boto3", reason="boto3 is in the 'training' extra")
    env = aws_env(None, tmp_path, PYTHONPATH=str(REPO))
    r = subprocess.run([sys.executable, "-m", "training", "cloud", "genre", "--out", "s3://gtz-bucket/runs",
                        "--role", "arn:aws:iam::123456789012:role/x"], cwd=REPO, env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" in r.stderr
    assert "aws configure" in r.stderr and r.stderr.count("\n") == 1


def test_real_run_without_role_or_out_exits_2(tmp_path):
    pytest.importorskip("boto3", reason="boto3 is in the 'training' extra")
    env = aws_env("http://127.0.0.1:9", tmp_path, PYTHONPATH=str(REPO))
    base = [sys.executable, "-m", "training", "cloud", "genre"]
    r = subprocess.run(base + ["--out", "s3://gtz-bucket/runs"], cwd=REPO, env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2 and "needs the SageMaker execution role" in r.stderr
    r = subprocess.run(base, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "needs --out s3://BUCKET/PREFIX" in r.stderr


def test_nothing_in_the_app_imports_training():
    hits = [str(p.relative_to(REPO)) for p in (REPO / "gtzcomposer").rglob("*.py")
            if "import training" in p.read_text(encoding="utf-8") or "from training" in p.read_text(encoding="utf-8")]
    assert not hits
    assert os.path.isfile(REPO / "training" / "cloud" / "entry.py")
