"""The `packshot` command: run the pipeline on an embedded AWS, or cut out files without AWS."""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packshot.errors import MissingExtraError
from packshot.manifest import MANIFEST_NAMES
from packshot.models.catalog import DEFAULT_FAMILY
from packshot.status import NO_RECORD
from packshot.status import Status as RecordStatus

if TYPE_CHECKING:
    from collections.abc import Mapping

    from packshot.adapters.operations import StackNames, Status
    from packshot.local.embedded import EmbeddedAws
    from packshot.local.review_page import ReviewOptions
    from packshot.ports import Record

# The modules of the `local` extra (pyproject.toml) each command imports: moto with its server (flask) and its
# Step Functions interpreter (antlr4), and jinja2 for the report and the review page.
LOCAL_EXTRA_MODULES = {"run": ("moto", "flask", "antlr4", "jinja2"), "review": ("jinja2",)}
# What `packshot cutout DIR` picks from a folder (`packshot run` uploads every file and lets the pipeline judge).
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".tif", ".tiff", ".webp", ".heic", ".heif", ".hif",
                  ".cr2", ".cr3", ".nef", ".arw", ".dng", ".kdc", ".raf", ".orf", ".rw2", ".pef"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="packshot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the whole pipeline over DIR on an embedded AWS (moto on 127.0.0.1)")
    run.add_argument("directory", type=Path)
    run.add_argument("--out", type=Path, default=Path("out"), help="where exports and the report go (default: out)")
    run.add_argument("--timeout", type=float, default=1800, help="seconds to wait for the batch (default: 1800)")
    run.add_argument("--concurrency", type=int, default=None,
                     help="Lambda invocations at once, each in its own worker process (default: one per core)")
    run.add_argument("--in-process", action="store_true",
                     help="run the handlers in threads of this process instead (one core; for debugging)")
    run.add_argument("--verbose", action="store_true", help="show the handlers' logs")
    run.add_argument("--recursive", action="store_true", help="also upload files in subfolders (keys keep the path)")
    run_review = run.add_mutually_exclusive_group()
    run_review.add_argument("--review", action="store_true",
                            help="once the batch settles, serve the review page until you press Done")
    run_review.add_argument("--approve-all", action="store_true",
                            help="once the batch settles, approve every image waiting for review (scripted)")
    _reviewer_arguments(run)

    rev = sub.add_parser("review", help="the review page (or --approve-all) for a deployed stack or a live run")
    rev.add_argument("--stack", default="", help="a deployed stack's name (its outputs name the review function)")
    rev.add_argument("--endpoint", default="", help="the embedded AWS of a running `packshot run --review`")
    rev.add_argument("--function", default="", help="the review function's name, if not from --stack")
    rev.add_argument("--region", default="", help="AWS region (default: your configuration)")
    rev.add_argument("--approve-all", action="store_true", help="approve every open review and exit")
    rev.add_argument("--profile", default="", help="--stack: the AWS profile whose credentials sign your decisions")
    rev.add_argument("--senior-profile", default="",
                     help="--stack --approve-all: the senior's AWS profile; senior sign-offs are signed with it")
    _reviewer_arguments(rev)

    dlv = sub.add_parser("deliver", help="package batches (exports + manifests, zipped) on a deployed stack or a "
                                         "live embedded AWS; re-run it after reviews to include new exports")
    dlv.add_argument("batches", nargs="+", help="batch names: the top-level folders the photos were uploaded to")
    dlv.add_argument("--stack", default="", help="a deployed stack's name (its outputs name the deliver function)")
    dlv.add_argument("--endpoint", default="", help="the embedded AWS of a running `packshot run --review`")
    dlv.add_argument("--function", default="", help="the deliver function's name, if not from --stack")
    dlv.add_argument("--region", default="", help="AWS region (default: your configuration)")
    dlv.add_argument("--out", type=Path, default=None, help="also download each package here")

    st = sub.add_parser("status", help="images by status, queue depths and alarms of a deployed stack "
                                       "(`packshot run` prints the same for its embedded AWS at the end)")
    st.add_argument("--stack", required=True, help="the CloudFormation stack name (your AWS credentials)")
    st.add_argument("--region", default=None)

    rd = sub.add_parser("redrive", help="move every dead-lettered message of a deployed stack back to its queue and "
                                        "start again every image that did not finish (failed, stopped, stuck)")
    rd.add_argument("--stack", required=True, help="the CloudFormation stack name (your AWS credentials)")
    rd.add_argument("--region", default=None)

    cut = sub.add_parser("cutout", help="cut out images without AWS: one RGBA PNG per input")
    cut.add_argument("inputs", type=Path, nargs="+")
    cut.add_argument("--out", type=Path, required=True)
    cut.add_argument("--model", default=DEFAULT_FAMILY)
    cut.add_argument("--model-path", default=None, help="local file or s3://BUCKET/KEY (downloaded once, verified)")
    cut.add_argument("--workers", type=int, default=None,
                     help="processes, each with its own model (default: every core, at most one per file)")
    cut.add_argument("--threads", type=int, default=None,
                     help="onnxruntime threads per process (default: the cores left per process, at least 1)")

    args = parser.parse_args(argv)
    if args.command in LOCAL_EXTRA_MODULES:
        try:
            require_local_extra(args.command)
        except MissingExtraError as exc:
            print(f"packshot: {exc.reason}", file=sys.stderr)
            return 2
    if args.command == "run":
        from packshot.local.review_page import ReviewOptions
        from packshot.review import canonical_principal

        reviewer = args.reviewer or _operator()
        if args.senior and canonical_principal(args.senior) == canonical_principal(reviewer):
            parser.error(f"--senior must be someone other than the reviewer ({reviewer}): a senior sign-off is a "
                         "second person's")
        reviews = ReviewOptions(mode="page" if args.review else "approve_all" if args.approve_all else "",
                                reviewer=reviewer, senior=args.senior, port=args.port)
        return run_command(args.directory, args.out, timeout_s=args.timeout, concurrency=args.concurrency,
                           verbose=args.verbose, recursive=args.recursive, reviews=reviews,
                           processes=not args.in_process)
    if args.command == "review":
        from packshot.local.review_page import review_command

        return review_command(stack=args.stack, endpoint=args.endpoint, function=args.function, region=args.region,
                              approve=args.approve_all, reviewer=args.reviewer, senior=args.senior, port=args.port,
                              profile=args.profile, senior_profile=args.senior_profile)
    if args.command == "deliver":
        return deliver_command(args.batches, stack=args.stack, endpoint=args.endpoint, function=args.function,
                               region=args.region, out=args.out)
    if args.command in ("status", "redrive"):
        return operations_command(args.command, args.stack, args.region)
    return cutout_command(args.inputs, args.out, args.model, args.model_path, args.threads, args.workers)


def require_local_extra(command: str) -> None:
    """Stop before `command` starts when the modules of the `local` extra it needs are not installed."""
    import importlib.util

    missing = [module for module in LOCAL_EXTRA_MODULES[command] if importlib.util.find_spec(module) is None]
    if missing:
        raise MissingExtraError(f"`packshot {command}` needs the `local` extra, which a plain install leaves out "
                                f"(missing: {', '.join(missing)}); install it with: pip install 'packshot[local]' "
                                "(in a clone of packshot: pip install -e '.[local]')")


def _reviewer_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reviewer", default="", help="on the embedded AWS: the operator the review page and "
                                                       "--approve-all decide as (default: your user name)")
    parser.add_argument("--senior", default="", help="on the embedded AWS: who signs complex products off with "
                                                     "--approve-all; required when there are any, never a default, "
                                                     "never the reviewer")
    parser.add_argument("--port", type=int, default=0, help="review page port on 127.0.0.1 (default: any free)")


def _operator() -> str:
    import getpass

    return getpass.getuser()


def discover(directory: Path, recursive: bool = False) -> list[Path]:
    """Every file in the folder but the manifest, whatever its type or name (dot-files too): each gets a row.

    Odd types are uploaded and rejected with a reason; only hidden folders (.git, .Trash) are not walked.
    """
    candidates = directory.rglob("*") if recursive else directory.iterdir()
    return sorted(p for p in candidates if p.is_file() and p.name.lower() not in MANIFEST_NAMES
                  and not any(part.startswith(".") for part in p.relative_to(directory).parts[:-1]))


def find_manifests(directory: Path, recursive: bool = False) -> list[Path]:
    """The batch manifests (manifest.csv / manifest.json) beside the photos, uploaded as they are."""
    candidates = directory.rglob("*") if recursive else directory.iterdir()
    return sorted(p for p in candidates if p.is_file() and p.name.lower() in MANIFEST_NAMES)


def run_command(directory: Path, out: Path, *, timeout_s: float, concurrency: int | None, verbose: bool,
                recursive: bool = False, reviews: ReviewOptions | None = None, processes: bool = True) -> int:
    from packshot.local.embedded import EmbeddedAws
    from packshot.local.report import write_outputs
    from packshot.local.review_page import ReviewOptions, work_reviews_in_run

    if not directory.is_dir():
        print(f"packshot: {directory} is not a directory", file=sys.stderr)
        return 2
    files = discover(directory, recursive)
    if not files:
        print(f"packshot: no image files in {directory}", file=sys.stderr)
        return 2
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    started = time.monotonic()
    print("packshot: starting the embedded AWS (moto on 127.0.0.1) from template.yaml ...", file=sys.stderr)
    from packshot.cutout import usable_cores

    # At least two at once even on one core: a review wait or a slow stage must not hold up the rest.
    concurrency = concurrency or max(2, usable_cores())
    with EmbeddedAws(max_concurrency=concurrency, log_level="INFO" if verbose else "ERROR",
                     processes=processes) as aws:
        print(f"packshot: uploading {len(files)} files to s3://{aws.input_bucket}/", file=sys.stderr)
        # The manifest goes first: pre-processing reads it beside each photo, so it must be there when they arrive.
        aws.upload(find_manifests(directory, recursive), directory)
        # A name S3 refuses (over 1,024 bytes) must not abort the batch: it gets a row saying so.
        refused: dict[str, str] = {}
        keys = aws.upload(files, directory, refused=refused)
        last = ""

        def show(progress: object) -> None:
            nonlocal last
            line = f"[{time.monotonic() - started:6.1f}s] {progress.line()}"  # type: ignore[attr-defined]
            if line.split("] ", 1)[1] != last:
                print(line, file=sys.stderr)
                last = line.split("] ", 1)[1]

        progress = aws.wait(keys, timeout_s=timeout_s, on_progress=show)
        progress = work_reviews_in_run(aws, keys, progress, reviews or ReviewOptions(), timeout_s=timeout_s,
                                       on_progress=show, say=lambda line: print(line, file=sys.stderr))
        buckets = {"work": aws.work_bucket, "export": aws.export_bucket}
        s3 = aws.client("s3")
        from packshot.local.embedded import object_key

        records: dict[str, Record] = {**aws.records_by_key(),
                                      **{key: {"status": RecordStatus.REJECTED, "reasons": [f"not uploaded: {reason}"]}
                                         for key, reason in refused.items()}}
        rows = write_outputs(records, keys + list(refused), directory, out,
                             lambda alias, key: s3.get_object(Bucket=buckets[alias], Key=key)["Body"].read(),
                             sources={object_key(path, directory): path for path in files})
        delivered = deliver_batches(aws.client("lambda"), s3, aws.physical("DeliverFunction"),
                                    batches_of(aws.records_by_key(), keys), out / "deliveries")
        executions = aws.executions()
        status = embedded_status(aws)
    print("\n".join(status.lines()), file=sys.stderr)
    # A RUNNING execution here is parked on a review task token (wait() settles only then).
    failed = [r for r in rows if r["status"] in (RecordStatus.FAILED, NO_RECORD)] + [
        e for e in executions if e["status"] not in ("SUCCEEDED", "RUNNING")]
    print(f"packshot: {len(rows)} images, {len(executions)} executions, "
          + ", ".join(f"{n} {s}" for s, n in sorted(progress.by_status.items())), file=sys.stderr)
    print(f"packshot: wrote {out / 'report.html'}, report.csv, report.json, exports/ and cutouts/", file=sys.stderr)
    for result in delivered:
        print(f"packshot: delivery {result['batch']!r}: {result['files']} files of {result['images']} images "
              f"({result['not_delivered']} not delivered) in {out / result['keys']['zip']}", file=sys.stderr)
    if progress.finished + progress.waiting < progress.total or progress.dead_letters:
        print(f"packshot: the batch did not finish ({progress.line()}, {progress.dead_letters} dead letters)",
              file=sys.stderr)
        return 1
    if failed:
        print(f"packshot: {len(failed)} pipeline failures; see report.json", file=sys.stderr)
        return 1
    if reviews is not None and reviews.mode == "approve_all" and progress.by_status.get(RecordStatus.NEEDS_SENIOR):
        print("packshot: --approve-all left senior sign-offs open: pass --senior NAME (someone other than "
              f"{reviews.reviewer})", file=sys.stderr)
        return 2
    return 0


def embedded_status(aws: EmbeddedAws) -> Status:
    """The `packshot status` view of the embedded AWS (nothing can attach to it from outside during a run)."""
    from packshot.adapters.operations import StackNames, collect_status

    s = aws.stack
    names = StackNames(records_table=aws.records_table,
                       queues={q: s.physical[q]["Ref"] for q in s.of_type("AWS::SQS::Queue")},
                       alarms=sorted(s.physical[a]["Ref"] for a in s.of_type("AWS::CloudWatch::Alarm")))
    return collect_status(names, aws.client("dynamodb"), aws.client("sqs"), aws.client("cloudwatch"))


def operations_command(command: str, stack: str, region: str | None) -> int:
    """`status` and `redrive` against a deployed stack, with the caller's own AWS credentials."""
    import boto3

    from packshot.adapters.operations import StackNames, collect_status, dead_letter_sources, redrive

    session = boto3.Session(region_name=region)
    names = StackNames.from_cloudformation(session.client("cloudformation"), stack)
    sqs = session.client("sqs")
    if command == "status":
        status = collect_status(names, session.client("dynamodb"), sqs, session.client("cloudwatch"))
        print("\n".join(status.lines()))
        return 0
    for dead_letters, source in dead_letter_sources(sqs, names.queues).items():
        print(f"packshot: {dead_letters} -> {source}: {redrive(sqs, dead_letters, source)}")
    restarted = redrive_images(names, session.client("dynamodb"), session.client("stepfunctions"))
    for image in restarted:
        print(f"packshot: {image['image_id']} ({image['from']}) started again as {image['execution']}")
    print(f"packshot: {len(restarted)} images that did not finish were started again")
    return 0


def redrive_images(names: StackNames, dynamodb: Any, sfn: Any) -> list[dict[str, Any]]:
    """Start again every image that did not finish (failed, stopped, or stuck with no execution running)."""
    from packshot.adapters.executions import PipelineStarter
    from packshot.adapters.records import RecordsTable
    from packshot.pipeline import restart_unfinished

    if not (names.records_table and names.state_machine):
        return []
    return restart_unfinished(RecordsTable(names.records_table, dynamodb), PipelineStarter(names.state_machine, sfn))


def batches_of(records: Mapping[str, Record], keys: list[str]) -> list[str]:
    """The delivery batches of the uploaded keys, as their records name them."""
    from packshot.delivery import batch_for

    return sorted({str(records.get(key, {}).get("batch") or batch_for(key)) for key in keys})


def deliver_batches(lambda_client: object, s3_client: object, function: str, batches: list[str],
                    out_dir: Path | None) -> list[dict[str, Any]]:
    """Invoke the deliver function per batch and, with out_dir, download each package there."""
    from packshot.adapters.delivery import download_package, invoke_deliver

    results = []
    for batch in batches:
        result = invoke_deliver(lambda_client, function, batch)
        if out_dir is not None:
            download_package(s3_client, result, out_dir)
        results.append(result)
    return results


def deliver_command(batches: list[str], *, stack: str, endpoint: str, function: str, region: str,
                    out: Path | None) -> int:
    """`packshot deliver`: package batches on a deployed stack (your credentials) or a live embedded AWS."""
    from packshot.adapters.aws import client_factory
    from packshot.adapters.delivery import DeliveryError, function_from_stack

    if not (stack or function or endpoint):
        print("packshot deliver: say where: --stack NAME (a deployed stack) or --endpoint URL (a running "
              "`packshot run --review`, which prints it)", file=sys.stderr)
        return 2
    make = client_factory(endpoint=endpoint, region=region)
    try:
        name = function or (function_from_stack(stack, make("cloudformation")) if stack
                            else "packshot-local-DeliverFunction")
        results = deliver_batches(make("lambda"), make("s3"), name, batches, out)
    except DeliveryError as exc:
        print(f"packshot deliver: {exc.reason}", file=sys.stderr)
        return 1
    for result in results:
        where = out / result["keys"]["zip"].removeprefix("deliveries/") if out else \
            f"s3://{result['bucket']}/{result['keys']['zip']}"
        print(f"packshot deliver: {result['batch']!r}: {result['files']} files of {result['images']} images "
              f"({result['not_delivered']} not delivered), sha256 {result['zip_sha256'][:12]}..., {where}",
              file=sys.stderr)
    return 0


def cutout_command(inputs: list[Path], out: Path, model: str, model_path: str | None, threads: int | None,
                   workers: int | None = None) -> int:
    from packshot.cutout import cut_out_files

    local_model: Path | None = None
    if model_path:
        from packshot.adapters.model_files import resolve_model_file
        from packshot.config import Settings
        from packshot.errors import ModelError

        settings = Settings.from_env()
        try:  # an s3:// file lands in the model cache (MODEL_CACHE_DIR) first, checked by MODEL_SHA256
            local_model = resolve_model_file(
                model_path, expected_sha256=settings.model_sha256, cache_dir=Path(settings.model_cache_dir)
            ).path
        except ModelError as exc:
            print(f"packshot: {exc.reason}", file=sys.stderr)
            return 2
    files = [f for p in inputs for f in ([d for d in discover(p) if d.suffix.lower() in IMAGE_SUFFIXES]
                                         if p.is_dir() else [p])]
    written = cut_out_files(files, out, model_name=model, model_path=local_model, threads=threads, workers=workers)
    print(f"packshot: wrote {len(written)} cutouts to {out}", file=sys.stderr)
    return 0 if len(written) == len(files) else 1


if __name__ == "__main__":
    sys.exit(main())
