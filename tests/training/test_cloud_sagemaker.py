"""`python -m training cloud` end to end against moto's standalone server on 127.0.0.1: S3 uploads,
the SageMaker CreateTrainingJob request, following the job, fetching its model archive, and the
second run that uploads nothing. (moto's SageMaker accepts and describes jobs but runs nothing: a
job is "Completed" at once, so the archive it would have written is put there by the test, made of
the bundled model files; the training itself is tested with the local engine.)"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.training.moto_s3 import aws_env, moto_endpoint  # noqa: F401  (fixture)

REPO = Path(__file__).resolve().parents[2]
ROLE = "arn:aws:iam::123456789012:role/gtz-training"


def cli(endpoint: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = aws_env(endpoint, tmp_path, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "training", "cloud", *args, "--poll", "0.2",
                           "--models-dir", str(tmp_path / "models"), "--reports-dir", str(tmp_path / "reports")],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def archive_of_bundled_genre_head() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name in ("genre_head.keras", "genre_head.json"):
            tar.add(REPO / "models" / name, arcname=name)
        tar.add(REPO / "training" / "reports" / "genre" / "README.md", arcname="reports/genre/README.md")
    return buf.getvalue()


@pytest.fixture
def aws(moto_endpoint, tmp_path, monkeypatch):  # noqa: F811
    import boto3

    for k, v in aws_env(moto_endpoint, tmp_path).items():
        monkeypatch.setenv(k, v)
    return boto3.Session(region_name="us-east-1")


def jobs(aws) -> set[str]:
    return {j["TrainingJobName"] for j in aws.client("sagemaker").list_training_jobs()["TrainingJobSummaries"]}


def listing(s3, bucket: str) -> dict:
    return {o["Key"]: o["LastModified"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}


def test_launch_follow_fetch_then_a_second_run_uploads_nothing(aws, moto_endpoint, tmp_path, shared_data):  # noqa: F811
    s3, sm = aws.client("s3"), aws.client("sagemaker")
    s3.create_bucket(Bucket="gtz-e2e")
    s3.put_object(Bucket="gtz-e2e", Key="runs/jobs/gtz-genre-e2e/output/model.tar.gz", Body=archive_of_bundled_genre_head())
    r = cli(moto_endpoint, tmp_path, "genre", "--out", "s3://gtz-e2e/runs", "--role", ROLE, "--job-name", "gtz-genre-e2e",
            "--fetch")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "taggrams: uploaded 2 files (6.6 MB)" in r.stdout and "code: uploaded" in r.stdout
    assert "started gtz-genre-e2e on ml.g4dn.xlarge (us-east-1, on-demand)" in r.stdout
    # the request SageMaker got: our image, instance, channels pointing at complete content-addressed prefixes
    job = sm.describe_training_job(TrainingJobName="gtz-genre-e2e")
    assert job["ResourceConfig"]["InstanceType"] == "ml.g4dn.xlarge" and job["RoleArn"] == ROLE
    assert job["AlgorithmSpecification"]["TrainingImage"].endswith("tensorflow-training:2.16.2-gpu-py310-cu123-ubuntu20.04-sagemaker")
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in job["InputDataConfig"]}
    assert set(channels) == {"code", "taggrams"}
    keys = listing(s3, "gtz-e2e")
    for uri in channels.values():
        prefix = uri.removeprefix("s3://gtz-e2e/")
        assert prefix.rstrip("/") + ".json" in keys  # its manifest: complete
        manifest = json.loads(s3.get_object(Bucket="gtz-e2e", Key=prefix.rstrip("/") + ".json")["Body"].read())
        assert {prefix + f["name"] for f in manifest["files"]} <= set(keys)
    assert any(k.endswith("/training/cloud/entry.py") for k in keys)
    # fetched: the archive's files in models/ and reports/, the card with where and how it was made
    models = tmp_path / "models"
    assert (models / "genre_head.keras").read_bytes() == (REPO / "models" / "genre_head.keras").read_bytes()
    assert (tmp_path / "reports" / "genre" / "README.md").is_file()
    card = json.loads((models / "genre_head.json").read_text())
    assert card["metrics"] == json.loads((REPO / "models" / "genre_head.json").read_text())["metrics"]
    cloud = card["cloud"]
    assert (cloud["engine"], cloud["instance_type"], cloud["gpus"], cloud["gpu"]) == \
        ("sagemaker", "ml.g4dn.xlarge", 1, "NVIDIA T4 16 GB")
    assert cloud["job_name"] == "gtz-genre-e2e" and "cost_usd" in cloud and "billable_seconds" in cloud

    # the second run (a new job): everything is in S3 already; nothing is uploaded or rewritten
    r2 = cli(moto_endpoint, tmp_path, "genre", "--out", "s3://gtz-e2e/runs", "--role", ROLE, "--job-name", "gtz-genre-e2e2")
    assert r2.returncode == 0, r2.stdout + r2.stderr
    assert "code: already in S3" in r2.stdout and "taggrams: already in S3 (2 files), uploaded nothing" in r2.stdout
    assert listing(s3, "gtz-e2e") == keys

    # the same job name again: followed, not started twice
    r3 = cli(moto_endpoint, tmp_path, "genre", "--out", "s3://gtz-e2e/runs", "--role", ROLE, "--job-name", "gtz-genre-e2e")
    assert r3.returncode == 0 and "gtz-genre-e2e exists: following it" in r3.stdout


def test_missing_bucket_and_wrong_region_from_the_command_line(aws, moto_endpoint, tmp_path, shared_data):  # noqa: F811
    r = cli(moto_endpoint, tmp_path, "genre", "--out", "s3://gtz-not-there/runs", "--role", ROLE)
    assert r.returncode == 2 and "the S3 bucket 'gtz-not-there' (from s3://gtz-not-there/runs/data) does not exist" in r.stderr
    aws.client("s3", region_name="eu-west-1").create_bucket(
        Bucket="gtz-eu-e2e", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    r = cli(moto_endpoint, tmp_path, "genre", "--out", "s3://gtz-eu-e2e/runs", "--role", ROLE, "--region", "us-east-1")
    assert r.returncode == 2 and "is in region eu-west-1, not us-east-1: pass --region eu-west-1" in r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert not aws.client("s3").list_objects_v2(Bucket="gtz-eu-e2e").get("Contents")  # touched nothing


def test_a_job_whose_archive_lacks_a_model_installs_nothing(aws, moto_endpoint, tmp_path, shared_data):  # noqa: F811
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="gtz-partial")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(REPO / "models" / "genre_head.json", arcname="genre_head.json")  # no .keras
    s3.put_object(Bucket="gtz-partial", Key="runs/jobs/gtz-genre-part/output/model.tar.gz", Body=buf.getvalue())
    r = cli(moto_endpoint, tmp_path, "genre", "--out", "s3://gtz-partial/runs", "--role", ROLE, "--job-name",
            "gtz-genre-part", "--fetch")
    assert r.returncode == 2 and "lacks genre_head.keras; nothing was installed" in r.stderr
    assert not list((tmp_path / "models").glob("*"))


def test_the_log_is_streamed_from_cloudwatch_once_line_by_line(aws):
    from training.cloud.engine import LOG_GROUP, SageMakerEngine

    logs = aws.client("logs")
    logs.create_log_group(logGroupName=LOG_GROUP)
    stream = "gtz-logs-1/algo-1-1700000000"
    logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
    logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName="gtz-other-job/algo-1-1")

    def put(*lines):
        import time

        now = int(time.time() * 1000)
        logs.put_log_events(logGroupName=LOG_GROUP, logStreamName=stream,
                            logEvents=[{"timestamp": now + i, "message": m} for i, m in enumerate(lines)])

    put("entry: job genre", "epoch 1")
    engine = SageMakerEngine(aws, "us-east-1")
    assert engine.new_log_lines("gtz-logs-1") == ["entry: job genre", "epoch 1"]
    assert engine.new_log_lines("gtz-logs-1") == []          # nothing twice
    put("epoch 2")
    assert engine.new_log_lines("gtz-logs-1") == ["epoch 2"]
    assert engine.new_log_lines("gtz-not-started") == []     # no stream yet: no lines, no error


def test_ctrl_c_during_the_upload_says_so_and_leaves_nothing_half_written(aws, moto_endpoint, tmp_path):  # noqa: F811
    import os
    import re
    import signal
    import time

    s3 = aws.client("s3")
    s3.create_bucket(Bucket="gtz-ctrl-c")
    before = jobs(aws)
    big = tmp_path / "taggrams"
    big.mkdir()
    for name in ("training_data_GTZAN_MSDmusicnn_taggram.npz", "evaluation_data_GTZAN_MSDmusicnn_taggram.npz"):
        (big / name).write_bytes(os.urandom(24 * 1024 * 1024))
    env = aws_env(moto_endpoint, tmp_path, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "training", "cloud", "genre", "--out", "s3://gtz-ctrl-c/runs",
                             "--role", ROLE, "--input", f"taggrams={big}"], cwd=REPO, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if line.startswith("code: uploaded"):  # the big files' multipart upload starts now
            time.sleep(0.3)
            proc.send_signal(signal.SIGINT)
            break
    rest, _ = proc.communicate(timeout=120)
    out = "".join(seen) + rest
    assert proc.returncode == 130, out
    assert re.search(r"upload of (code|taggrams) interrupted", out) and "run the same command again" in out
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="gtz-ctrl-c").get("Contents", [])]
    # no partial object: a file finished before the signal may stay (whole), but its folder has no
    # manifest, so no job reads it and the next run completes it
    for k in (k for k in keys if k.endswith("taggram.npz")):
        assert s3.head_object(Bucket="gtz-ctrl-c", Key=k)["ContentLength"] == 24 * 1024 * 1024, k
        assert k.rsplit("/", 1)[0] + ".json" not in keys, keys
    assert not s3.list_multipart_uploads(Bucket="gtz-ctrl-c").get("Uploads")
    assert jobs(aws) == before  # no job was started


def test_the_melody_job_takes_the_shared_datasets_and_fetches_its_chord_model(aws, moto_endpoint, tmp_path,  # noqa: F811
                                                                               shared_data):
    s3, sm = aws.client("s3"), aws.client("sagemaker")
    s3.create_bucket(Bucket="gtz-melody")
    names = ["melody.keras", "melody.json", "style_classifier.keras", "style_classifier.json"]

    def archive(with_chords: bool) -> bytes:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            for name in names + (["melody_chords.json.gz"] if with_chords else []):
                tar.add(REPO / "models" / name, arcname=name)
        return buf.getvalue()

    s3.put_object(Bucket="gtz-melody", Key="runs/jobs/gtz-mel-a/output/model.tar.gz", Body=archive(False))
    r = cli(moto_endpoint, tmp_path, "melody", "--out", "s3://gtz-melody/runs", "--role", ROLE, "--job-name",
            "gtz-mel-a", "--fetch")
    assert r.returncode == 2 and "lacks melody_chords.json.gz; nothing was installed" in r.stderr, r.stdout + r.stderr
    assert not list((tmp_path / "models").glob("*"))
    job = sm.describe_training_job(TrainingJobName="gtz-mel-a")
    assert {c["ChannelName"] for c in job["InputDataConfig"]} == {"code", "shared"}
    # the shared channel holds the four datasets the melody data build reads, and nothing else
    uri = next(c["DataSource"]["S3DataSource"]["S3Uri"] for c in job["InputDataConfig"] if c["ChannelName"] == "shared")
    manifest = json.loads(s3.get_object(Bucket="gtz-melody", Key=uri.removeprefix("s3://gtz-melody/").rstrip("/") + ".json")
                          ["Body"].read())
    tops = {f["name"].split("/")[0] for f in manifest["files"]}
    assert tops == {"wjd", "pop909", "openewld", "openscore-lieder"}
    assert any(f["name"].startswith("wjd/csv/csv_beats/") for f in manifest["files"])

    s3.put_object(Bucket="gtz-melody", Key="runs/jobs/gtz-mel-b/output/model.tar.gz", Body=archive(True))
    r = cli(moto_endpoint, tmp_path, "melody", "--out", "s3://gtz-melody/runs", "--role", ROLE, "--job-name",
            "gtz-mel-b", "--fetch")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "shared: already in S3" in r.stdout  # the first run uploaded it
    for name in names + ["melody_chords.json.gz"]:
        assert (tmp_path / "models" / name).is_file(), name
    assert (tmp_path / "models" / "melody_chords.json.gz").read_bytes() == \
        (REPO / "models" / "melody_chords.json.gz").read_bytes()
