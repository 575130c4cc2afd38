"""S3 transfer of `python -m training cloud` against moto's standalone server on 127.0.0.1 (a real
S3 API over HTTP): content-addressed upload, interrupted uploads, missing bucket, wrong region,
missing credentials."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from tests.training.moto_s3 import aws_env, moto_endpoint  # noqa: F401  (fixture)
from training.cloud import plan, storage
from training.cloud.plan import CloudError

MiB = 1024 * 1024


@pytest.fixture
def s3(moto_endpoint, monkeypatch, tmp_path):  # noqa: F811
    for k, v in aws_env(moto_endpoint, tmp_path).items():
        monkeypatch.setenv(k, v)
    for k in [k for k in os.environ if k.startswith("AWS_") and k not in aws_env(moto_endpoint, tmp_path)]:
        monkeypatch.delenv(k)
    client = storage.client(storage.make_session("us-east-1"), "s3", "us-east-1")
    return client


def make_bucket(s3, name: str) -> str:
    s3.create_bucket(Bucket=name)
    return name


def folder(tmp_path: Path, sizes: dict[str, int]) -> Path:
    root = tmp_path / "data"
    for rel, size in sizes.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(hashlib.sha256(rel.encode()).digest() * (size // 32) + b"x" * (size % 32))
    return root


def keys(s3, bucket: str) -> dict[str, object]:
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for o in page.get("Contents", []):
            out[o["Key"]] = o["LastModified"]
    return out


def test_real_taggrams_upload_once_then_nothing(s3, shared_data):
    bucket = make_bucket(s3, "gtz-once")
    tree = plan.scan_tree("taggrams", shared_data / "gtzan-musicnn", ["*.npz"])
    first = storage.upload_tree(s3, tree, f"s3://{bucket}/cache", part_size=5 * MiB)
    assert (first.files_uploaded, first.bytes_uploaded) == (2, tree.size) and not first.complete_before
    before = keys(s3, bucket)
    assert set(before) == {f"cache/sha256/{tree.digest}.json"} | {f"cache/sha256/{tree.digest}/{f.rel}" for f in tree.files}
    second = storage.upload_tree(s3, tree, f"s3://{bucket}/cache", part_size=5 * MiB)
    assert second.complete_before and second.files_uploaded == 0 and second.bytes_uploaded == 0
    assert keys(s3, bucket) == before  # not even re-written
    # what S3 holds is byte for byte what is on disk
    body = s3.get_object(Bucket=bucket, Key=f"cache/sha256/{tree.digest}/{tree.files[0].rel}")["Body"].read()
    assert hashlib.sha256(body).hexdigest() == tree.files[0].sha256


def test_changed_file_goes_to_a_new_address_and_only_it_is_sent(s3, tmp_path):
    bucket = make_bucket(s3, "gtz-change")
    root = folder(tmp_path, {"a.bin": 1000, "b/c.bin": 2000})
    t1 = plan.scan_tree("d", root)
    storage.upload_tree(s3, t1, f"s3://{bucket}/c")
    (root / "a.bin").write_bytes(b"changed")
    t2 = plan.scan_tree("d", root)
    assert t2.digest != t1.digest
    r = storage.upload_tree(s3, t2, f"s3://{bucket}/c")
    # a new address: both files are written under it (a prefix is always complete in itself)
    assert r.files_uploaded == 2 and not r.complete_before
    assert f"c/sha256/{t1.digest}/a.bin" in keys(s3, bucket)  # the old version stays addressable


def test_ctrl_c_in_a_multipart_upload_leaves_nothing_half_written(s3, tmp_path):
    bucket = make_bucket(s3, "gtz-interrupt")
    root = folder(tmp_path, {"small.bin": 100, "zbig.bin": 12 * MiB})
    tree = plan.scan_tree("d", root)
    prefix = f"c/sha256/{tree.digest}/"

    def ctrl_c_after_first_part(kind, key, done):
        if kind == "part":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        storage.upload_tree(s3, tree, f"s3://{bucket}/c", part_size=5 * MiB, progress=ctrl_c_after_first_part)
    present = keys(s3, bucket)
    assert f"{prefix}zbig.bin" not in present                      # no partial object
    assert f"c/sha256/{tree.digest}.json" not in present            # not marked complete: never trained on
    assert not s3.list_multipart_uploads(Bucket=bucket).get("Uploads")  # parts aborted, nothing billed
    again = storage.upload_tree(s3, tree, f"s3://{bucket}/c", part_size=5 * MiB)
    assert (again.files_present, again.files_uploaded, again.bytes_uploaded) == (1, 1, 12 * MiB)
    body = s3.get_object(Bucket=bucket, Key=f"{prefix}zbig.bin")["Body"].read()
    assert body == (root / "zbig.bin").read_bytes()


def test_a_killed_runs_unfinished_multipart_upload_is_aborted_by_the_next_run(s3, tmp_path):
    bucket = make_bucket(s3, "gtz-killed")
    root = folder(tmp_path, {"big.bin": 6 * MiB})
    tree = plan.scan_tree("d", root)
    key = f"c/sha256/{tree.digest}/big.bin"
    # what a process killed by SIGKILL in the middle of a multipart upload leaves behind
    up = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    s3.upload_part(Bucket=bucket, Key=key, UploadId=up, PartNumber=1, Body=b"\0" * (5 * MiB))
    assert len(s3.list_multipart_uploads(Bucket=bucket)["Uploads"]) == 1
    r = storage.upload_tree(s3, tree, f"s3://{bucket}/c", part_size=5 * MiB)
    assert r.stale_uploads_aborted == 1 and r.files_uploaded == 1
    assert not s3.list_multipart_uploads(Bucket=bucket).get("Uploads")


def test_missing_bucket_and_wrong_region_are_one_sentence(s3):
    with pytest.raises(CloudError, match=r"bucket 'gtz-nowhere' .* does not exist: create it with `aws s3 mb"):
        storage.check_bucket(s3, "s3://gtz-nowhere/x", "us-east-1")
    eu = storage.client(storage.make_session("eu-west-1"), "s3", "eu-west-1")
    eu.create_bucket(Bucket="gtz-in-eu", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    with pytest.raises(CloudError, match=r"is in region eu-west-1, not us-east-1: pass --region eu-west-1"):
        storage.check_bucket(s3, "s3://gtz-in-eu/x", "us-east-1")
    storage.check_bucket(eu, "s3://gtz-in-eu/x", "eu-west-1")  # right region: fine


def test_no_credentials_names_them_and_how_to_provide_them(monkeypatch, tmp_path):
    pytest.importorskip("boto3", reason="boto3 is in the 'training' extra")
    for k in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(k)
    for k, v in aws_env(None, tmp_path).items():
        monkeypatch.setenv(k, v)
    with pytest.raises(CloudError, match=r"no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"):
        storage.make_session("us-east-1")


def test_download_is_atomic_and_a_missing_object_is_a_sentence(s3, tmp_path):
    bucket = make_bucket(s3, "gtz-down")
    s3.put_object(Bucket=bucket, Key="out/model.tar.gz", Body=b"payload")
    dest = tmp_path / "got" / "model.tar.gz"
    storage.download(s3, f"s3://{bucket}/out/model.tar.gz", dest)
    assert dest.read_bytes() == b"payload" and not list(dest.parent.glob("*.part"))
    with pytest.raises(CloudError, match="does not exist"):
        storage.download(s3, f"s3://{bucket}/out/none.tar.gz", tmp_path / "x")
    assert not (tmp_path / "x").exists() and not (tmp_path / "x.part").exists()
