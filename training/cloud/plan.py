"""The plan of a cloud training run, from the data files in training/cloud/ alone (no AWS, no boto3).

Decisions:
- A *job* (training/cloud/jobs/<name>.json) is one training run on one instance; it lists the model
  cards it writes (``models``), so asking for ``style-classifier`` runs the melody job, which trains
  both. New models (band models, ...) are added by adding a job file; nothing here names a model.
- ``all`` = every job with ``in_all`` (the bundled models), each job once.
- The instance comes from ``--instance-type``, else the cheapest type with ``--gpus`` GPUs in the
  job's default family, else the job's default; prices and GPU counts come from the dated table
  training/cloud/prices.json, the only place they are written.
- Expected hours: the job's ``expected_seconds``, else the seconds a previous cloud run wrote in the
  card (``cloud.wall_seconds``), else the card's ``training.seconds`` plus the job's
  ``extra_seconds``; always plus the table's ``startup_seconds``. The source is printed with it.
- Data are content-addressed: an input folder is uploaded under ``<data>/sha256/<tree hash>/``, so
  the same files map to the same place and a second run uploads nothing (storage.py).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
JOBS_DIR = HERE / "jobs"
PRICES_FILE = HERE / "prices.json"
TEMPLATE_FILE = HERE / "sagemaker-training-job.json"
DEFAULT_REGION = "us-east-1"
PLACEHOLDER_BUCKET = "s3://your-bucket/gtzcomposer"
# What travels to the instance as the "code" channel (relative to the repository root).
CODE_PATHS = ("pyproject.toml", "LICENSE", "NOTICE", "gtzcomposer", "training", "models", "resources")
CODE_SKIP_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
CODE_SKIP_SUFFIXES = (".pyc", ".pyo")


class CloudError(ValueError):
    """Bad usage, input or account state for a cloud run: one sentence for the user (exit 2)."""


# ----------------------------------------------------------------------------- data files

def load_json(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def load_jobs(folder: Path = JOBS_DIR) -> dict[str, dict]:
    jobs = {}
    for path in sorted(Path(folder).glob("*.json")):
        job = load_json(path)
        if job.get("name") != path.stem:
            raise CloudError(f"{path}: 'name' must be the file's stem ({path.stem!r})")
        for key in ("models", "commands", "default_instance_type"):
            if key not in job:
                raise CloudError(f"{path}: lacks {key!r}")
        jobs[job["name"]] = job
    return jobs


def load_prices(path: Path = PRICES_FILE) -> dict:
    return load_json(path)


def model_names(jobs: dict[str, dict]) -> dict[str, str]:
    """Every name the command accepts -> its job: job names, the cards a job writes (genre_head,
    style_classifier, ...), with dashes or underscores, and a job's aliases."""
    names: dict[str, str] = {}
    # a card written by several jobs (genre_head) means the job that makes the bundled model (in_all)
    for name, job in sorted(jobs.items(), key=lambda kv: not kv[1].get("in_all")):
        for m in job["models"]:
            names.setdefault(m, name)
            names.setdefault(m.replace("_", "-"), name)
        for alias in job.get("aliases", {}):
            names.setdefault(alias, name)
    for name in jobs:  # a job's own name wins over a card of the same name in another job
        names[name] = name
    return names


def resolve_jobs(model: str, jobs: dict[str, dict]) -> list[str]:
    if model == "all":
        return [n for n, j in jobs.items() if j.get("in_all")]
    names = model_names(jobs)
    if model not in names:
        raise CloudError(f"unknown model {model!r}: choose one of {', '.join(sorted(set(names)) + ['all'])}")
    return [names[model]]


# ----------------------------------------------------------------------------- instance and price

def family(instance_type: str) -> str:
    return instance_type.rsplit(".", 1)[0]


def choose_instance(job: dict, prices: dict, gpus: int | None, instance_type: str | None) -> str:
    table = prices["instances"]
    if instance_type:
        if instance_type not in table:
            raise CloudError(f"instance type {instance_type!r} is not in the price table {PRICES_FILE.relative_to(REPO)} "
                            f"(known: {', '.join(table)}); add it there with its GPUs and hourly price")
        have = table[instance_type]["gpus"]
        if gpus is not None and gpus != have:
            raise CloudError(f"{instance_type} has {have} GPU{'s' if have != 1 else ''}, not {gpus}: "
                            "drop --gpus or pick another --instance-type")
        return instance_type
    if gpus is None:
        return job["default_instance_type"]
    if gpus < 0:
        raise CloudError("--gpus must be 0 or more")
    fits = [t for t, row in table.items() if row["gpus"] == gpus]
    if not fits:
        counts = sorted({row["gpus"] for row in table.values()})
        raise CloudError(f"no instance type in {PRICES_FILE.name} has {gpus} GPUs (available: {counts})")
    same = [t for t in fits if family(t) == family(job["default_instance_type"])]
    return min(same or fits, key=lambda t: table[t]["usd_per_hour"])


def hourly_price(prices: dict, instance_type: str, spot: bool) -> tuple[float, str]:
    usd = float(prices["instances"][instance_type]["usd_per_hour"])
    how = f"on-demand list price as of {prices['prices_as_of']}"
    if spot:
        usd = usd * (1 - float(prices["spot_saving_estimate"]))
        how = (f"spot estimate: on-demand list price as of {prices['prices_as_of']} less "
               f"{prices['spot_saving_estimate']:.0%}")
    return usd, how


def expected_seconds(job: dict, prices: dict, models_dir: Path) -> tuple[float, str]:
    startup = float(prices.get("startup_seconds", 0))
    if "expected_seconds" in job:
        return float(job["expected_seconds"]) + startup, f"job file ({job['expected_seconds']} s) + start-up {startup:.0f} s"
    from gtzcomposer.ml.registry import ModelCardError, read_card

    card_seconds, source = 0.0, []
    for name in job["models"]:
        try:
            card = read_card(name, models_dir)
        except ModelCardError:
            continue  # a model not made yet: no figure from it
        path = card.path
        cloud = card.get("cloud") or {}
        if cloud.get("wall_seconds"):
            return (float(cloud["wall_seconds"]) + startup,
                    f"card {path.name}: cloud.wall_seconds {cloud['wall_seconds']:.0f} s on {cloud.get('instance_type')} "
                    f"+ start-up {startup:.0f} s")
        secs = (card.get("training") or {}).get("seconds")
        if secs:
            card_seconds += float(secs)
            source.append(f"{path.name} training.seconds {float(secs):.0f} s")
    extra = float(job.get("extra_seconds", 0))
    what = " + ".join(source) if source else "no card figure"
    return card_seconds + extra + startup, f"{what} + data/eval {extra:.0f} s (job file) + start-up {startup:.0f} s"


# ----------------------------------------------------------------------------- inputs and hashes

def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class TreeFile:
    rel: str
    path: Path
    size: int
    sha256: str


@dataclass
class Tree:
    """A set of local files addressed by content: the hash covers every relative name and content."""

    name: str
    root: Path
    files: list[TreeFile]

    @property
    def digest(self) -> str:
        h = hashlib.sha256()
        for f in sorted(self.files, key=lambda f: f.rel):
            h.update(f"{f.rel}\0{f.sha256}\0{f.size}\n".encode())
        return h.hexdigest()

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


def _matches(rel: str, include: list[str] | None) -> bool:
    return not include or any(fnmatch.fnmatchcase(rel, pat) for pat in include)


def scan_tree(name: str, root: Path, include: list[str] | None = None, skip_dirs: set[str] = frozenset(),
              paths: tuple[str, ...] | None = None) -> Tree:
    root = Path(root)
    if not root.is_dir():
        raise CloudError(f"input {name!r}: {root} is not a folder")
    tops = [root / p for p in paths] if paths else [root]
    files = []
    for top in tops:
        candidates = [top] if top.is_file() else sorted(top.rglob("*")) if top.is_dir() else []
        for p in candidates:
            if not p.is_file() or p.suffix in CODE_SKIP_SUFFIXES or any(part in skip_dirs for part in p.relative_to(root).parts):
                continue
            rel = p.relative_to(root).as_posix()
            if _matches(rel, include):
                files.append(TreeFile(rel, p, p.stat().st_size, sha256_file(p)))
    if not files:
        raise CloudError(f"input {name!r}: no files in {root}" + (f" match {', '.join(include)}" if include else ""))
    if include and not any(ch in "".join(include) for ch in "*?["):
        missing = sorted(set(include) - {f.rel for f in files})
        if missing:
            raise CloudError(f"input {name!r}: {root} lacks {', '.join(missing)}")
    return Tree(name, root, files)


def code_tree(repo: Path = REPO) -> Tree:
    return scan_tree("code", repo, paths=CODE_PATHS, skip_dirs=CODE_SKIP_DIRS)


# ----------------------------------------------------------------------------- S3 locations

S3_URI = re.compile(r"^s3://([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])(/.*)?$")


def parse_s3(uri: str) -> tuple[str, str]:
    """'s3://bucket/a/b/' -> ('bucket', 'a/b') (the prefix without slashes at either end)."""
    m = S3_URI.match(uri or "")
    if not m:
        raise CloudError(f"{uri!r} is not an S3 location: write s3://BUCKET/PREFIX (bucket names are 3-63 lowercase "
                        "letters, digits, dots or dashes)")
    return m.group(1), (m.group(2) or "").strip("/")


def s3_join(uri: str, *parts: str) -> str:
    return "/".join([uri.rstrip("/"), *[p.strip("/") for p in parts if p]])


# ----------------------------------------------------------------------------- the plan

@dataclass
class Channel:
    name: str
    about: str
    tree: Tree | None = None       # a local folder to upload
    s3_uri: str = ""               # where the channel's files are (after upload)

    @property
    def uploads(self) -> bool:
        return self.tree is not None


@dataclass
class JobPlan:
    job: dict
    instance_type: str
    instance: dict
    region: str
    spot: bool
    usd_per_hour: float
    price_basis: str
    expected_seconds: float
    expected_basis: str
    data_uri: str
    out_uri: str
    job_name: str
    channels: list[Channel] = field(default_factory=list)
    scaling: str = "linear"
    role: str = ""
    image: str = ""

    @property
    def name(self) -> str:
        return self.job["name"]

    @property
    def gpus(self) -> int:
        return int(self.instance["gpus"])

    @property
    def expected_cost(self) -> float:
        return self.usd_per_hour * self.expected_seconds / 3600

    @property
    def max_runtime_seconds(self) -> int:
        return int(float(self.job.get("max_runtime_hours", 4)) * 3600)

    @property
    def artifact_uri(self) -> str:
        """Where SageMaker writes /opt/ml/model as a tarball when the job ends."""
        return s3_join(self.out_uri, "jobs", self.job_name, "output", "model.tar.gz")

    def command_lines(self) -> list[str]:
        return [" ".join(fill_command(cmd, self.channel_dirs(), "/opt/ml/model")) for cmd in self.job["commands"]]

    def channel_dirs(self, root: str = "/opt/ml/input/data") -> dict[str, str]:
        return {c.name: f"{root}/{c.name}" for c in self.channels}


def fill_command(cmd: list[str], inputs: dict[str, str], model_dir: str) -> list[str]:
    """The job's command as the instance's entry point fills it (``entry.fill``, the one
    implementation), refusing a placeholder it would leave unfilled."""
    from .entry import fill

    out = fill(cmd, inputs, model_dir)
    for arg in out:
        if "{" in arg and "}" in arg:
            raise CloudError(f"unknown placeholder in job command argument {arg!r}")
    return out


def make_job_name(job: str, now: float | None = None) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(time.time() if now is None else now))
    return f"gtz-{job}-{stamp}"[:63]


def default_region(region: str | None) -> str:
    return region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def parse_input_overrides(items: list[str] | None) -> dict[str, str]:
    out = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise CloudError(f"--input {item!r}: write NAME=FOLDER or NAME=s3://BUCKET/PREFIX")
        out[name] = value
    return out


def image_for(template: dict, instance: dict, region: str) -> str:
    return template["images"]["gpu" if instance["gpus"] else "cpu"].replace("{region}", region)


def build_plan(job: dict, *, prices: dict, template: dict, gpus: int | None = None, instance_type: str | None = None,
               spot: bool = False, region: str | None = None, data: str | None = None, out: str | None = None,
               inputs: dict[str, str] | None = None, scaling: str = "linear", role: str = "", image: str | None = None,
               job_name: str | None = None, models_dir: Path = REPO / "models", repo: Path = REPO,
               code: Tree | None = None) -> JobPlan:
    inputs = dict(inputs or {})
    unknown = sorted(set(inputs) - set(job.get("inputs", {})))
    if unknown:
        known = ", ".join(job.get("inputs", {})) or "none"
        raise CloudError(f"job {job['name']!r} has no input {', '.join(unknown)} (its inputs: {known})")
    itype = choose_instance(job, prices, gpus, instance_type)
    region = default_region(region)
    out_uri = (out or PLACEHOLDER_BUCKET).rstrip("/")
    parse_s3(out_uri)
    data_uri = (data or s3_join(out_uri, "data")).rstrip("/")
    parse_s3(data_uri)
    usd, basis = hourly_price(prices, itype, spot)
    secs, secs_basis = expected_seconds(job, prices, models_dir)
    channels = [Channel("code", "the gtzcomposer source tree, training/ and models/ (content-addressed)",
                        tree=code or code_tree(repo))]
    for name, spec in job.get("inputs", {}).items():
        where = inputs.get(name) or spec.get("local")
        if not where:
            raise CloudError(f"job {job['name']!r} needs input {name!r}: {spec.get('about', '')}; "
                            f"give it with --input {name}=FOLDER or --input {name}=s3://BUCKET/PREFIX")
        if where.startswith("s3://"):
            parse_s3(where)
            channels.append(Channel(name, spec.get("about", ""), s3_uri=where.rstrip("/") + "/"))
            continue
        folder = Path(where).expanduser()
        if not folder.is_absolute():
            folder = ((repo / folder) if name not in inputs else folder).resolve()
        channels.append(Channel(name, spec.get("about", ""), tree=scan_tree(name, folder, spec.get("include"))))
    for ch in channels:
        if ch.tree is not None:
            ch.s3_uri = s3_join(data_uri, "sha256", ch.tree.digest) + "/"
    instance = prices["instances"][itype]
    return JobPlan(job=job, instance_type=itype, instance=instance, region=region, spot=spot, usd_per_hour=usd,
                   price_basis=basis, expected_seconds=secs, expected_basis=secs_basis, data_uri=data_uri,
                   out_uri=out_uri, job_name=job_name or make_job_name(job["name"]), channels=channels,
                   scaling=scaling, role=role, image=image or image_for(template, instance, region))


def training_job_request(plan: JobPlan, template: dict) -> dict:
    """The CreateTrainingJob request: the template with the plan's values filled in."""
    values = {
        "job_name": plan.job_name, "role": plan.role or "arn:aws:iam::123456789012:role/ROLE-NOT-SET",
        "image": plan.image, "job": plan.name, "instance_type": plan.instance_type, "out": plan.out_uri,
        "spot": "1" if plan.spot else "0", "region": plan.region, "scaling": plan.scaling,
    }

    def fill(node):
        if isinstance(node, dict):
            return {k: fill(v) for k, v in node.items()}
        if isinstance(node, list):
            return [fill(v) for v in node]
        if node == "{max_runtime_seconds}":
            return plan.max_runtime_seconds
        if isinstance(node, str):
            for k, v in values.items():
                node = node.replace(f"{{{k}}}", v)
            if re.search(r"\{[a-z_]+\}", node):
                raise CloudError(f"{TEMPLATE_FILE.name}: unknown placeholder in {node!r}")
        return node

    req = fill(template["request"])
    req["InputDataConfig"] = [
        {"ChannelName": ch.name, "InputMode": "File",
         "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": ch.s3_uri,
                                         "S3DataDistributionType": "FullyReplicated"}}}
        for ch in plan.channels]
    if plan.spot:
        req["EnableManagedSpotTraining"] = True
        req["StoppingCondition"]["MaxWaitTimeInSeconds"] = 2 * plan.max_runtime_seconds
    return req


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"


def describe(plan: JobPlan, prices: dict) -> str:
    """The plan as text (what --dry-run prints for one job)."""
    inst = plan.instance
    gpu = f"{plan.gpus} x {inst['gpu']}" if plan.gpus else "no GPU (CPU instance)"
    hours = plan.expected_seconds / 3600
    region_note = "" if plan.region in prices.get("regions", []) else f" ({prices.get('other_regions_note', '')})"
    lines = [
        f"job {plan.name}: {plan.job.get('description', '')}",
        f"  writes        models/{', models/'.join([m + '.keras' for m in plan.job['models']] + list(plan.job.get('files', [])))} (+ cards)"
        + (f", training/reports/{', training/reports/'.join(plan.job.get('reports', []))}/" if plan.job.get("reports") else ""),
        "  engine        AWS SageMaker training job (one instance; gone when the job ends)",
        f"  job name      {plan.job_name}",
        f"  instance      {plan.instance_type}: {gpu}, {inst['vcpus']} vCPUs, {inst['memory_gib']} GiB",
        f"  replicas      {max(1, plan.gpus)} (tf.distribute.MirroredStrategy over all GPUs; "
        f"batch and learning rate scaling: {plan.scaling})",
        f"  region        {plan.region}",
        f"  capacity      {'spot (managed spot training; resumes from checkpoints if reclaimed)' if plan.spot else 'on-demand'}",
        f"  image         {plan.image}",
        f"  role          {plan.role or '(not set: a real run needs --role or GTZ_SAGEMAKER_ROLE)'}",
        f"  data          {plan.data_uri}/sha256/<content hash>/  (content-addressed upload cache)",
        f"  output        {plan.artifact_uri}",
        f"  checkpoints   {s3_join(plan.out_uri, 'checkpoints', plan.job_name)}/",
        "  inputs",
    ]
    total = 0
    for ch in plan.channels:
        if ch.tree is not None:
            total += ch.tree.size
            lines.append(f"    {ch.name:<12}{len(ch.tree.files)} files, {human_bytes(ch.tree.size)} from {ch.tree.root}")
            lines.append(f"    {'':<12}-> {ch.s3_uri}  (uploaded only if not there yet)")
        else:
            lines.append(f"    {ch.name:<12}already in S3: {ch.s3_uri}")
    lines.append(f"    {'':<12}at most {human_bytes(total)} to upload")
    lines.append("  command on the instance")
    lines += [f"    {c}" for c in plan.command_lines()]
    lines += [
        f"  price         {plan.usd_per_hour:.3f} USD/hour ({plan.price_basis}, {PRICES_FILE.relative_to(REPO)})"
        + region_note,
        f"  expected      {hours:.2f} hours ({plan.expected_basis})",
        f"  cost estimate {plan.expected_cost:.2f} USD (at most {plan.usd_per_hour * plan.max_runtime_seconds / 3600:.2f} "
        f"USD: the job is stopped after {plan.max_runtime_seconds / 3600:g} hours)",
    ]
    return "\n".join(lines)

