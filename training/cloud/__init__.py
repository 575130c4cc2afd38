"""python -m training cloud MODEL: rebuild a bundled model on a rented AWS GPU (SageMaker training job).

    python -m training cloud genre --dry-run                       # the plan; needs nothing
    python -m training cloud melody --out s3://BUCKET/gtz --role ARN --fetch
    python -m training cloud all --gpus 4 --spot --region eu-west-1 --out s3://BUCKET/gtz --role ARN

Jobs are data files (training/cloud/jobs/*.json), prices a dated table (training/cloud/prices.json),
the SageMaker request a template (training/cloud/sagemaker-training-job.json). See
docs/training-on-aws.md for the account set-up (IAM, quotas), costs and resuming.

Exit status: 0 done, 2 bad usage or input or account state (one sentence says what), 1 the
training job failed (its log and reason are printed), 130 stopped by Ctrl-C (the job is stopped).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

from . import plan as planmod
from .plan import CloudError

ENV_ROLE = "GTZ_SAGEMAKER_ROLE"


def register(sub) -> None:
    jobs = planmod.load_jobs()
    names = sorted(n for n in set(planmod.model_names(jobs)) if "_" not in n) + ["all"]  # card names work too
    p = sub.add_parser("cloud", help="rebuild models on an AWS GPU (SageMaker); --dry-run shows the plan and price",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", metavar="MODEL", help=f"one of: {', '.join(names)}")
    p.add_argument("--gpus", type=int, metavar="N", help="GPUs (picks the cheapest instance type with N GPUs)")
    p.add_argument("--instance-type", metavar="T", help="SageMaker instance type, e.g. ml.g5.xlarge "
                   f"(known: {planmod.PRICES_FILE.relative_to(planmod.REPO)})")
    p.add_argument("--spot", action="store_true", help="managed spot capacity (cheaper; resumes from checkpoints)")
    p.add_argument("--region", metavar="R", help=f"AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, else "
                   f"{planmod.DEFAULT_REGION}); the buckets must be there")
    p.add_argument("--data", metavar="S3", help="S3 prefix of the content-addressed upload cache (default OUT/data)")
    p.add_argument("--out", metavar="S3", help="S3 prefix for the job outputs (model.tar.gz) and checkpoints")
    p.add_argument("--input", action="append", metavar="NAME=PATH", default=[],
                   help="a job input from another folder or from S3, e.g. --input gtzan=~/data/gtzan "
                        "or --input gtzan=s3://BUCKET/gtzan (repeatable)")
    p.add_argument("--role", metavar="ARN", default=os.environ.get(ENV_ROLE, ""),
                   help=f"SageMaker execution role (default ${ENV_ROLE})")
    p.add_argument("--image", metavar="URI", help="training image (default: the AWS TensorFlow Deep Learning Container "
                   "named in training/cloud/sagemaker-training-job.json)")
    p.add_argument("--scaling", choices=("linear", "none"), default="linear",
                   help="batch size and learning rate with several GPUs: linear = x replicas (default), none = as one GPU")
    p.add_argument("--job-name", metavar="NAME", help="name the job (default gtz-JOB-UTCSTAMP); an existing job of that "
                   "name is followed (and fetched) instead of started again")
    p.add_argument("--dry-run", action="store_true", help="print the plan and the price; needs no credentials, touches nothing")
    p.add_argument("--fetch", action="store_true", help="when the job completes, install its models into models/ and "
                   "its reports into training/reports/")
    p.add_argument("--engine", choices=("sagemaker", "local"), default="sagemaker",
                   help="local: rehearse the job as a process on this machine (no AWS; results stay local)")
    p.add_argument("--models-dir", type=Path, default=planmod.REPO / "models", help=argparse.SUPPRESS)
    p.add_argument("--reports-dir", type=Path, default=planmod.REPO / "training" / "reports", help=argparse.SUPPRESS)
    p.add_argument("--poll", type=float, default=15.0, help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def make_plans(args) -> tuple[list[planmod.JobPlan], dict, dict]:
    jobs = planmod.load_jobs()
    prices = planmod.load_prices()
    template = planmod.load_json(planmod.TEMPLATE_FILE)
    names = planmod.resolve_jobs(args.model, jobs)
    if args.job_name and len(names) > 1:
        raise CloudError("--job-name names one job; with 'all' leave it out")
    if args.job_name and not re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", args.job_name):
        raise CloudError(f"--job-name {args.job_name!r}: use up to 63 letters, digits and dashes")
    inputs = planmod.parse_input_overrides(args.input)
    code = planmod.code_tree()
    plans = []
    for name in names:
        job = jobs[name]
        mine = {k: v for k, v in inputs.items() if k in job.get("inputs", {})}
        if len(names) == 1:
            mine = inputs  # unknown names are an error for a single job
        plans.append(planmod.build_plan(
            job, prices=prices, template=template, gpus=args.gpus, instance_type=args.instance_type, spot=args.spot,
            region=args.region, data=args.data, out=args.out, inputs=mine, scaling=args.scaling, role=args.role,
            image=args.image, job_name=args.job_name, models_dir=args.models_dir, code=code))
    return plans, prices, template


def print_plans(plans: list[planmod.JobPlan], prices: dict) -> None:
    for p in plans:
        print(planmod.describe(p, prices))
        print()
    if len(plans) > 1:
        total = sum(p.expected_cost for p in plans)
        hours = sum(p.expected_seconds for p in plans) / 3600
        print(f"all {len(plans)} jobs: about {hours:.2f} hours, {total:.2f} USD")
    print(f"prices: {prices['source']}, as of {prices['prices_as_of']} ({prices['checked']})")


def run(args) -> int:
    try:
        plans, prices, template = make_plans(args)
        if args.dry_run:
            print_plans(plans, prices)
            print("dry run: nothing was uploaded or started")
            return 0
        return launch(args, plans, prices, template)
    except CloudError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("stopped by Ctrl-C", file=sys.stderr)
        return 130


def launch(args, plans, prices, template) -> int:
    from . import engine as enginemod
    from . import orchestrate

    if args.engine == "local":
        session = None
        eng = enginemod.LocalEngine(Path(tempfile.mkdtemp(prefix="gtz-cloud-local-")))
        print(f"local engine: jobs run under {eng.work} (the S3 locations below are not used)")
    else:
        from . import storage

        if args.out is None:
            raise CloudError("a real run needs --out s3://BUCKET/PREFIX for the results (and, by default, the upload "
                             "cache under it); --dry-run shows the plan without one")
        region = plans[0].region
        session = storage.make_session(region)
        if not args.role:
            raise CloudError(f"a real run needs the SageMaker execution role: --role arn:aws:iam::ACCOUNT:role/NAME or "
                             f"${ENV_ROLE} (docs/training-on-aws.md, IAM, shows how to create it)")
        eng = enginemod.SageMakerEngine(session, region)
    for p in plans:
        print(planmod.describe(p, prices))
        rc = orchestrate.run_job(p, eng, session, template, prices, fetch_results=args.fetch, models_dir=args.models_dir,
                            reports_dir=args.reports_dir, poll=args.poll)
        if rc:
            return rc
    return 0
