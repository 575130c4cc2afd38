"""The training engines behind one small interface: start, state, new log lines, stop.

- ``SageMakerEngine``: AWS SageMaker training jobs through boto3 (CreateTrainingJob,
  DescribeTrainingJob, StopTrainingJob, and the job's CloudWatch log streams). SageMaker owns the
  instance: it is provisioned for the job and released when the job ends, whether it completed,
  failed or was stopped, and MaxRuntimeInSeconds stops a job that runs away. So teardown is:
  StopTrainingJob on Ctrl-C or a local error, nothing to do otherwise.
- ``LocalEngine``: the same job (same entry script, same /opt/ml layout, same output archive) as a
  process on this machine. For rehearsing a job without AWS, and the engine the teardown tests
  drive, since no SageMaker can run here.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .plan import REPO, CloudError, JobPlan

TERMINAL = ("Completed", "Failed", "Stopped")
LOG_GROUP = "/aws/sagemaker/TrainingJobs"


@dataclass
class JobState:
    status: str                      # InProgress, Stopping, Completed, Failed or Stopped
    secondary: str = ""
    failure_reason: str = ""
    billable_seconds: float | None = None
    artifact: str = ""               # s3:// URI or local path of model.tar.gz

    @property
    def done(self) -> bool:
        return self.status in TERMINAL


class Engine(Protocol):
    name: str

    def exists(self, job_name: str) -> bool: ...
    def start(self, plan: JobPlan, request: dict) -> None: ...
    def state(self, job_name: str) -> JobState: ...
    def new_log_lines(self, job_name: str) -> list[str]: ...
    def stop(self, job_name: str) -> None: ...


# ----------------------------------------------------------------------------- SageMaker

class SageMakerEngine:
    name = "sagemaker"

    def __init__(self, session, region: str):
        from . import storage

        self.sm = storage.client(session, "sagemaker", region)
        self.logs = storage.client(session, "logs", region)
        self._tokens: dict[str, str | None] = {}

    def _explain(self, exc, what: str) -> CloudError:
        from . import storage

        code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
        msg = getattr(exc, "response", {}).get("Error", {}).get("Message", "")
        if code == "ResourceLimitExceeded":
            return CloudError(f"AWS refused {what}: {msg} -- request a higher SageMaker quota for this instance type "
                              "('<type> for training job usage', or '... for spot training job usage' with --spot) in "
                              "Service Quotas (docs/training-on-aws.md, Quotas)")
        if code == "ValidationException" and "role" in msg.lower():
            return CloudError(f"AWS refused {what}: {msg} -- --role must be a SageMaker execution role this account may "
                              "pass (docs/training-on-aws.md, IAM)")
        return storage.explain(exc, what)

    def exists(self, job_name: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.sm.describe_training_job(TrainingJobName=job_name)
            return True
        except ClientError as exc:
            if "Could not find" in exc.response.get("Error", {}).get("Message", ""):
                return False
            raise self._explain(exc, f"looking up the training job {job_name}") from exc

    def start(self, plan: JobPlan, request: dict) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.sm.create_training_job(**request)
        except (ClientError, BotoCoreError) as exc:
            raise self._explain(exc, f"starting the training job {plan.job_name}") from exc

    def state(self, job_name: str) -> JobState:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            d = self.sm.describe_training_job(TrainingJobName=job_name)
        except (ClientError, BotoCoreError) as exc:
            raise self._explain(exc, f"reading the state of the training job {job_name}") from exc
        billable = d.get("BillableTimeInSeconds")
        if billable is None and d.get("TrainingStartTime") and d.get("TrainingEndTime"):
            billable = (d["TrainingEndTime"] - d["TrainingStartTime"]).total_seconds()
        return JobState(status=d.get("TrainingJobStatus", ""), secondary=d.get("SecondaryStatus", ""),
                        failure_reason=d.get("FailureReason", ""), billable_seconds=billable,
                        artifact=(d.get("ModelArtifacts") or {}).get("S3ModelArtifacts", ""))

    def new_log_lines(self, job_name: str) -> list[str]:
        from botocore.exceptions import BotoCoreError, ClientError

        lines: list[str] = []
        try:
            streams = self.logs.describe_log_streams(logGroupName=LOG_GROUP, logStreamNamePrefix=f"{job_name}/")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return lines  # the instance has not written a line yet
            raise self._explain(exc, f"reading the log of {job_name}") from exc
        except BotoCoreError as exc:
            raise self._explain(exc, f"reading the log of {job_name}") from exc
        for stream in sorted(s["logStreamName"] for s in streams.get("logStreams", [])):
            token = self._tokens.get(stream)
            while True:
                kwargs = {"logGroupName": LOG_GROUP, "logStreamName": stream, "startFromHead": True}
                if token:
                    kwargs["nextToken"] = token
                page = self.logs.get_log_events(**kwargs)
                lines += [e["message"].rstrip("\n") for e in page.get("events", [])]
                if page.get("nextForwardToken") in (None, token):
                    break
                token = page["nextForwardToken"]
            self._tokens[stream] = token
        return lines

    def stop(self, job_name: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.sm.stop_training_job(TrainingJobName=job_name)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ValidationException" and self.state(job_name).done:
                return  # it ended on its own meanwhile: nothing left to stop
            raise self._explain(exc, f"stopping the training job {job_name}") from exc
        except BotoCoreError as exc:
            raise self._explain(exc, f"stopping the training job {job_name}") from exc


# ----------------------------------------------------------------------------- local process

class LocalEngine:
    """The job as a process group on this machine, laid out like a SageMaker container:
    ``<work>/<job>/input/data/<channel>`` (links to the local folders), ``<work>/<job>/model``,
    ``<work>/<job>/output/model.tar.gz`` when it completed."""

    name = "local"

    def __init__(self, work: Path, python: str = sys.executable):
        self.work = Path(work)
        self.python = python
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, object] = {}
        self.stopped: set[str] = set()
        self.t0: dict[str, float] = {}

    def root(self, job_name: str) -> Path:
        return self.work / job_name

    def exists(self, job_name: str) -> bool:
        return job_name in self.procs

    def start(self, plan: JobPlan, request: dict) -> None:
        root = self.root(plan.job_name)
        data = root / "input" / "data"
        data.mkdir(parents=True, exist_ok=True)
        (root / "model").mkdir(exist_ok=True)
        (root / "output").mkdir(exist_ok=True)
        for ch in plan.channels:
            if ch.name == "code":
                continue
            if ch.tree is None:
                raise CloudError(f"input {ch.name!r} is in S3 ({ch.s3_uri}); the local engine needs a local folder")
            (data / ch.name).symlink_to(ch.tree.root, target_is_directory=True)
        env = {**os.environ, **request.get("Environment", {}), "GTZ_SM_ROOT": str(root), "TRAINING_JOB_NAME": plan.job_name,
               "GTZ_INSTANCE_TYPE": "local",
               "PYTHONPATH": str(REPO)}
        log = open(root / "log.txt", "w+b")  # noqa: SIM115 - closed when the job ends
        self.logs[plan.job_name] = (log, 0)
        entry = REPO / "training" / "cloud" / "entry.py"
        self.procs[plan.job_name] = subprocess.Popen(
            [self.python, str(entry), plan.name, "--no-install"], cwd=REPO, env=env, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)
        self.t0[plan.job_name] = time.time()
        (root / "pid").write_text(f"{self.procs[plan.job_name].pid}\n", encoding="utf-8")

    def state(self, job_name: str) -> JobState:
        proc = self.procs[job_name]
        rc = proc.poll()
        wall = time.time() - self.t0[job_name]
        if rc is None:
            return JobState("Stopping" if job_name in self.stopped else "InProgress", "Training")
        if job_name in self.stopped:
            return JobState("Stopped", "Stopped", billable_seconds=wall)
        root = self.root(job_name)
        if rc != 0:
            failure = root / "output" / "failure"
            reason = failure.read_text(encoding="utf-8").strip() if failure.is_file() else f"exit status {rc}"
            return JobState("Failed", "Failed", failure_reason=reason, billable_seconds=wall)
        archive = root / "output" / "model.tar.gz"
        if not archive.is_file():
            with tarfile.open(archive.with_suffix(".part"), "w:gz") as tar:
                for p in sorted((root / "model").rglob("*")):
                    tar.add(p, arcname=p.relative_to(root / "model").as_posix(), recursive=False)
            os.replace(archive.with_suffix(".part"), archive)
        return JobState("Completed", "Completed", billable_seconds=wall, artifact=str(archive))

    def new_log_lines(self, job_name: str) -> list[str]:
        log, pos = self.logs[job_name]
        log.seek(pos)
        data = log.read()
        cut = data.rfind(b"\n") + 1  # whole lines only
        self.logs[job_name] = (log, pos + cut)
        return data[:cut].decode("utf-8", "replace").splitlines()

    def stop(self, job_name: str) -> None:
        """SIGTERM to the job's process group (the entry and the trainers it started), SIGKILL to
        what is left after 15 s; returns when no process of the group runs any more."""
        proc = self.procs[job_name]
        self.stopped.add(job_name)
        for sig, grace in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 10.0)):
            if not _group_running(proc.pid) and proc.poll() is not None:
                break
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass
            deadline = time.time() + grace
            while time.time() < deadline and (proc.poll() is None or _group_running(proc.pid)):
                time.sleep(0.05)
        proc.wait()


def _group_running(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs (zombies waiting to be reaped do not count)."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
            return True
        except ProcessLookupError:
            return False
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return True
    return False
