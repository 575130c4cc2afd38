"""One cloud training run: check, upload, launch, stream the log, tear down, fetch.

Teardown: a job that ends by itself (completed or failed) has already given its instance back
(SageMaker releases it; the local engine's process has exited). On Ctrl-C, or on any error while
this command watches the job, the job is stopped before the command exits, and the command waits
until the engine says it is stopped. A second Ctrl-C while waiting leaves the stop request in
place (SageMaker carries it out) and exits at once.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from . import plan as planmod
from .engine import Engine, JobState
from .plan import CloudError, JobPlan


def say(msg: str = "") -> None:
    print(msg, flush=True)


# ----------------------------------------------------------------------------- upload

def upload_inputs(session, plan: JobPlan) -> None:
    from . import storage

    s3 = storage.client(session, "s3", plan.region)
    checked = set()
    for uri in (plan.data_uri, plan.out_uri, *[c.s3_uri for c in plan.channels if not c.uploads]):
        bucket, _ = planmod.parse_s3(uri)
        if bucket not in checked:
            storage.check_bucket(s3, uri, plan.region)
            checked.add(bucket)

    def progress(kind: str, key: str, done: int) -> None:
        if kind == "file":
            say(f"  uploaded {key.rsplit('/', 1)[-1]} ({planmod.human_bytes(done)})")

    current = ""
    try:
        for ch in plan.channels:
            if not ch.uploads:
                continue
            current = ch.name
            report = storage.upload_tree(s3, ch.tree, plan.data_uri, progress=progress)
            if report.complete_before:
                say(f"{ch.name}: already in S3 ({len(ch.tree.files)} files), uploaded nothing: {report.prefix_uri}")
            else:
                extra = f", aborted {report.stale_uploads_aborted} unfinished upload(s) of an earlier run" \
                    if report.stale_uploads_aborted else ""
                say(f"{ch.name}: uploaded {report.files_uploaded} files ({planmod.human_bytes(report.bytes_uploaded)}), "
                    f"{report.files_present} were there already{extra}: {report.prefix_uri}")
    except KeyboardInterrupt:
        say(f"upload of {current} interrupted: an unfinished multipart upload is aborted and a folder is marked "
            "complete only when all of it is there, so no job can read half of it; run the same command again to "
            "send the rest (files already in S3 are not sent again)")
        raise


# ----------------------------------------------------------------------------- watch

def watch(engine: Engine, job_name: str, poll: float, started: str = "") -> JobState:
    """Stream the log until the job ends; stop it on Ctrl-C or on an error here."""
    last = ""
    try:
        if started:
            say(started)
        while True:
            state = engine.state(job_name)
            for line in engine.new_log_lines(job_name):
                say(f"| {line}")
            if state.secondary and state.secondary != last:
                say(f"[{job_name}] {state.status}: {state.secondary}")
                last = state.secondary
            if state.done:
                for line in engine.new_log_lines(job_name):
                    say(f"| {line}")
                return state
            time.sleep(poll)
    except BaseException as exc:
        why = "Ctrl-C" if isinstance(exc, KeyboardInterrupt) else f"an error here ({exc})"
        say(f"stopping {job_name} after {why} ...")
        try:
            engine.stop(job_name)
            deadline = time.time() + 600
            while time.time() < deadline and not engine.state(job_name).done:
                time.sleep(min(poll, 5))
            say(f"{job_name} stopped; its instance is released")
        except KeyboardInterrupt:
            say(f"{job_name}: the stop request is sent; SageMaker finishes it (check: aws sagemaker "
                f"describe-training-job --training-job-name {job_name})")
        raise


# ----------------------------------------------------------------------------- fetch

def _safe_members(tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    out = []
    for m in tar.getmembers():
        p = Path(m.name)
        if p.is_absolute() or ".." in p.parts or not (m.isfile() or m.isdir()):
            raise CloudError(f"the job's archive holds an unsafe entry {m.name!r}; nothing was installed")
        out.append(m)
    return out


def fetch(session, plan: JobPlan, state: JobState, models_dir: Path, reports_dir: Path, prices: dict,
          engine_name: str = "sagemaker") -> list[Path]:
    """model.tar.gz -> models_dir/<model>.keras|.json and reports_dir/<report>/..., each file
    renamed into place only after the whole archive is unpacked and checked."""
    models_dir, reports_dir = Path(models_dir), Path(reports_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".cloud-fetch-", dir=models_dir) as tmp:
        tmp = Path(tmp)
        archive = tmp / "model.tar.gz"
        if state.artifact.startswith("s3://"):
            from . import storage

            storage.download(storage.client(session, "s3", plan.region), state.artifact, archive)
        else:
            shutil.copyfile(state.artifact, archive)
        unpacked = tmp / "model"
        try:
            with tarfile.open(archive) as tar:
                tar.extractall(unpacked, members=_safe_members(tar))
        except tarfile.TarError as exc:
            raise CloudError(f"the job's archive {state.artifact} is not a readable tar.gz ({exc}); nothing was installed") from exc
        names = [f"{m}{ext}" for m in plan.job["models"] for ext in (".keras", ".json")] + list(plan.job.get("files", []))
        missing = [n for n in names if not (unpacked / n).is_file()]
        if missing:
            raise CloudError(f"the job's archive {state.artifact} lacks {', '.join(missing)}; nothing was installed")
        for m in plan.job["models"]:
            card_path = unpacked / f"{m}.json"
            card = json.loads(card_path.read_text(encoding="utf-8"))
            card["cloud"] = finish_cloud_section(card.get("cloud") or {}, plan, state, prices, engine_name)
            card_path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
        moves = [(unpacked / n, models_dir / n) for n in names]
        for r in plan.job.get("reports", []):
            src = unpacked / "reports" / r
            if src.is_dir():
                moves += [(p, reports_dir / r / p.relative_to(src)) for p in sorted(src.rglob("*")) if p.is_file()]
        staged = []
        for src, dest in moves:  # same file system as the target: copy beside it, then rename over it
            dest.parent.mkdir(parents=True, exist_ok=True)
            part = dest.with_name(f".{dest.name}.part")
            shutil.copyfile(src, part)
            staged.append((part, dest))
        for part, dest in staged:
            os.replace(part, dest)
    return [dest for _, dest in staged]


def finish_cloud_section(cloud: dict, plan: JobPlan, state: JobState, prices: dict, engine_name: str) -> dict:
    """The card's record of the run: what the instance wrote, plus what the engine billed."""
    on_demand = float(prices["instances"][plan.instance_type]["usd_per_hour"])
    out = {"engine": engine_name, "job_name": plan.job_name, "instance_type": plan.instance_type,
           "gpus": plan.gpus, "gpu": plan.instance.get("gpu"), "region": plan.region, "spot": plan.spot, **cloud,
           "launched_with": " ".join(["python -m training cloud", *sys.argv[2:]]) if sys.argv[1:2] == ["cloud"] else ""}
    if engine_name == "local":
        out.pop("region", None)
        return out
    if state.billable_seconds is not None:
        out["billable_seconds"] = round(float(state.billable_seconds), 1)
        # managed spot training bills fewer seconds at the on-demand rate
        out["cost_usd"] = round(on_demand * float(state.billable_seconds) / 3600, 4)
        out["cost_basis"] = (f"billable seconds x on-demand list price {on_demand} USD/h "
                             f"({planmod.PRICES_FILE.name}, as of {prices['prices_as_of']})")
    return out


# ----------------------------------------------------------------------------- one job

def run_job(plan: JobPlan, engine: Engine, session, template: dict, prices: dict, *, fetch_results: bool,
            models_dir: Path, reports_dir: Path, poll: float) -> int:
    if engine.exists(plan.job_name):
        say(f"{plan.job_name} exists: following it instead of starting a new job")
    else:
        if engine.name == "sagemaker":
            upload_inputs(session, plan)
        request = planmod.training_job_request(plan, template)
        engine.start(plan, request)
    t0 = time.time()
    state = watch(engine, plan.job_name, poll,
                  f"started {plan.job_name} on {plan.instance_type} ({plan.region}, "
                  f"{'spot' if plan.spot else 'on-demand'}); Ctrl-C stops it")
    wall = time.time() - t0
    if state.status != "Completed":
        say(f"{plan.job_name} {state.status.lower()}: {state.failure_reason or 'no reason given'} "
            f"(its instance is released; the log is above)")
        return 1
    billed = cost = ""
    if state.billable_seconds is not None and engine.name != "local":
        usd = float(prices["instances"][plan.instance_type]["usd_per_hour"]) * state.billable_seconds / 3600
        billed, cost = f", billed {state.billable_seconds:.0f} s", f", about {usd:.2f} USD"
    say(f"{plan.job_name} completed after {wall / 60:.1f} min{billed}{cost}; results: {state.artifact}")
    if fetch_results:
        written = fetch(session, plan, state, models_dir, reports_dir, prices, engine.name)
        say(f"fetched {len(written)} files into {models_dir} and {reports_dir}:")
        for p in written:
            say(f"  {p}")
    return 0
