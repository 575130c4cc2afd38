"""S3 for cloud training: credentials and bucket checks, content-addressed upload, atomic download.

Decisions:
- Layout: a local folder (a Tree) goes to ``<data>/sha256/<tree digest>/<relative name>``; its
  manifest ``<data>/sha256/<tree digest>.json`` is written last and means "complete". A second run
  finds the manifest and uploads nothing; the training job only ever reads a prefix whose manifest
  exists, so an interrupted upload cannot be trained on.
- Every object is written whole or not at all: files up to ``part_size`` with one PutObject (atomic
  in S3); bigger ones with a multipart upload that is aborted on any exception, Ctrl-C included. A
  process killed outright (SIGKILL, power) cannot abort, so each upload first aborts the multipart
  uploads left under its own content-addressed prefix (nobody else writes there).
- After an interruption the next run re-uploads only the files that are not there yet with the
  same size and SHA-256 (kept in the object's metadata).
- Downloads go to ``<name>.part`` beside the target and are renamed over it when complete.
- boto3 is imported here only (lazily, by the functions), never by the dry run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .plan import CloudError, Tree, parse_s3

PART_SIZE = 16 * 1024 * 1024  # S3's minimum part is 5 MiB
CREDENTIALS_HELP = ("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary keys), "
                    "or AWS_PROFILE after `aws configure` or `aws sso login`, or run on a machine with an IAM role; "
                    "the permissions needed are in docs/training-on-aws.md")


def boto3_module():
    try:
        import boto3
    except ImportError as exc:
        raise CloudError("cloud training needs boto3: pip install 'gtzcomposer[training]' "
                         "(or pip install boto3)") from exc
    return boto3


def make_session(region: str):
    """A boto3 session with credentials, or CloudError naming what is missing and how to provide it."""
    boto3 = boto3_module()
    from botocore.exceptions import BotoCoreError

    try:
        session = boto3.Session(region_name=region)
        creds = session.get_credentials()
    except BotoCoreError as exc:  # a broken profile, an unreadable config file
        raise CloudError(f"cannot read the AWS credentials ({exc}): {CREDENTIALS_HELP}") from exc
    if creds is None or not creds.access_key:
        raise CloudError(f"no AWS credentials found: {CREDENTIALS_HELP}")
    return session


def client(session, service: str, region: str):
    from botocore.config import Config

    return session.client(service, region_name=region,
                          config=Config(retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=10,
                                        read_timeout=60))


def explain(exc: Exception, what: str) -> CloudError:
    """A botocore failure as one sentence."""
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

    if isinstance(exc, NoCredentialsError):
        return CloudError(f"no AWS credentials found: {CREDENTIALS_HELP}")
    if isinstance(exc, EndpointConnectionError):
        return CloudError(f"cannot reach AWS for {what} ({exc}): check the network and --region")
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        msg = exc.response.get("Error", {}).get("Message", "")
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidClientTokenId",
                    "UnrecognizedClientException"):
            return CloudError(f"AWS rejected the credentials for {what} ({code}): {CREDENTIALS_HELP}")
        if code in ("AccessDenied", "AccessDeniedException", "403", "Forbidden"):
            return CloudError(f"AWS denied {what} for these credentials ({msg or code}): grant the permissions in "
                              "docs/training-on-aws.md")
        return CloudError(f"AWS refused {what}: {code} {msg}".rstrip())
    return CloudError(f"{what} failed: {exc}")


def check_bucket(s3, uri: str, region: str) -> None:
    """The bucket of ``uri`` exists, these credentials may list it, and it lives in ``region``."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _ = parse_s3(uri)
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        actual = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("x-amz-bucket-region")
        if code in ("404", "NoSuchBucket", "NotFound"):
            raise CloudError(f"the S3 bucket {bucket!r} (from {uri}) does not exist: create it with "
                             f"`aws s3 mb s3://{bucket} --region {region}` or name another bucket") from exc
        if code in ("301", "PermanentRedirect") or (actual and actual != region):
            raise CloudError(f"the S3 bucket {bucket!r} is in region {actual or 'another region'}, not {region}: "
                             f"pass --region {actual or 'REGION'} (SageMaker reads and writes S3 in its own region)") from exc
        if code in ("403", "AccessDenied", "Forbidden"):
            raise CloudError(f"these credentials may not use the S3 bucket {bucket!r} (403): they need s3:ListBucket, "
                             "s3:GetObject and s3:PutObject on it (docs/training-on-aws.md)") from exc
        raise explain(exc, f"checking the S3 bucket {bucket!r}") from exc
    except BotoCoreError as exc:
        raise explain(exc, f"checking the S3 bucket {bucket!r}") from exc
    try:
        loc = s3.get_bucket_location(Bucket=bucket).get("LocationConstraint") or "us-east-1"
    except (ClientError, BotoCoreError) as exc:
        raise explain(exc, f"reading the region of the S3 bucket {bucket!r}") from exc
    loc = {"EU": "eu-west-1"}.get(loc, loc)
    if loc != region:
        raise CloudError(f"the S3 bucket {bucket!r} is in region {loc}, not {region}: pass --region {loc} "
                         "(SageMaker reads and writes S3 in its own region), or use a bucket in " + region)


@dataclass
class UploadReport:
    tree: str
    prefix_uri: str
    files_uploaded: int = 0
    bytes_uploaded: int = 0
    files_present: int = 0
    stale_uploads_aborted: int = 0
    complete_before: bool = False


def _key(prefix: str, *parts: str) -> str:
    return "/".join(p.strip("/") for p in (prefix, *parts) if p.strip("/"))


def _same_object(s3, bucket: str, key: str, size: int, sha256: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return int(head.get("ContentLength", -1)) == size and head.get("Metadata", {}).get("sha256") == sha256


def _put_file(s3, bucket: str, key: str, path: Path, size: int, sha256: str, part_size: int,
              progress: Callable[[str, str, int], None] | None) -> None:
    meta = {"sha256": sha256}
    if size <= part_size:
        with open(path, "rb") as f:
            s3.put_object(Bucket=bucket, Key=key, Body=f, ContentLength=size, Metadata=meta)
        if progress:
            progress("file", key, size)
        return
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, Metadata=meta)["UploadId"]
    try:
        parts, done = [], 0
        with open(path, "rb") as f:
            for number in range(1, 10001):
                block = f.read(part_size)
                if not block:
                    break
                etag = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=block)["ETag"]
                parts.append({"ETag": etag, "PartNumber": number})
                done += len(block)
                if progress:
                    progress("part", key, done)
        s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts})
    except BaseException:
        try:
            s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        except Exception:  # noqa: BLE001 - the next run aborts what is left (abort_stale_uploads)
            pass
        raise
    if progress:
        progress("file", key, size)


def abort_stale_uploads(s3, bucket: str, prefix: str) -> int:
    """Abort the multipart uploads a killed run left under ``prefix``; -> how many."""
    n = 0
    kwargs = {"Bucket": bucket, "Prefix": prefix}
    while True:
        page = s3.list_multipart_uploads(**kwargs)
        for up in page.get("Uploads", []) or []:
            s3.abort_multipart_upload(Bucket=bucket, Key=up["Key"], UploadId=up["UploadId"])
            n += 1
        if not page.get("IsTruncated"):
            return n
        kwargs.update(KeyMarker=page.get("NextKeyMarker", ""), UploadIdMarker=page.get("NextUploadIdMarker", ""))


def upload_tree(s3, tree: Tree, data_uri: str, *, part_size: int = PART_SIZE,
                progress: Callable[[str, str, int], None] | None = None) -> UploadReport:
    """Upload ``tree`` content-addressed under ``data_uri``; nothing if its manifest is already there."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, base = parse_s3(data_uri)
    digest = tree.digest
    prefix = _key(base, "sha256", digest) + "/"
    manifest_key = _key(base, "sha256", f"{digest}.json")
    report = UploadReport(tree.name, f"s3://{bucket}/{prefix}")
    try:
        if _manifest_ok(s3, bucket, manifest_key, digest):
            report.complete_before = True
            report.files_present = len(tree.files)
            return report
        report.stale_uploads_aborted = abort_stale_uploads(s3, bucket, prefix)
        for f in sorted(tree.files, key=lambda f: f.rel):
            key = prefix + f.rel
            if _same_object(s3, bucket, key, f.size, f.sha256):
                report.files_present += 1
                continue
            _put_file(s3, bucket, key, f.path, f.size, f.sha256, part_size, progress)
            report.files_uploaded += 1
            report.bytes_uploaded += f.size
        manifest = {"digest": digest, "name": tree.name,
                    "files": [{"name": f.rel, "size": f.size, "sha256": f.sha256} for f in tree.files]}
        s3.put_object(Bucket=bucket, Key=manifest_key, Body=json.dumps(manifest, indent=1).encode(),
                      ContentType="application/json")
    except (ClientError, BotoCoreError) as exc:
        raise explain(exc, f"uploading {tree.name} to s3://{bucket}/{prefix}") from exc
    return report


def _manifest_ok(s3, bucket: str, key: str, digest: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    try:
        return json.loads(body).get("digest") == digest
    except ValueError:
        return False


def download(s3, uri: str, dest: Path) -> Path:
    """Copy one S3 object to ``dest`` (written as dest.part, renamed when complete)."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, key = parse_s3(uri)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        s3.download_file(bucket, key, str(part))
    except ClientError as exc:
        part.unlink(missing_ok=True)
        if str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound"):
            raise CloudError(f"{uri} does not exist") from exc
        raise explain(exc, f"downloading {uri}") from exc
    except BaseException as exc:
        part.unlink(missing_ok=True)
        if isinstance(exc, BotoCoreError):
            raise explain(exc, f"downloading {uri}") from exc
        raise
    os.replace(part, dest)
    return dest
