"""Per-image AWS cost from measured stage durations and the template's memory sizes. `make cost` (and `make bench`).

Durations are measured by running a few example photos through the embedded AWS with each handler in a worker
process, one invoke at a time (wall and CPU time per invoke); requests to S3, DynamoDB and Step Functions are
counted on the handlers' own clients in the workers. Prices are
us-east-1 list prices (on-demand, no free tier); edit PRICES for another region or a later price list.
"""

from __future__ import annotations

import argparse
import math
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from evidence.common import embedded, print_json

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = ["box_on_white.jpg", "teal_glass_bottle.jpg", "red_sneaker.jpg", "headphones.jpg"]

PRICES = {
    "lambda_arm64_gb_second": 0.0000133334,
    "lambda_request": 0.20 / 1e6,
    "sfn_standard_transition": 0.025 / 1000,
    "sqs_request": 0.40 / 1e6,
    "s3_put": 0.005 / 1000,
    "s3_get": 0.0004 / 1000,
    "s3_gb_month": 0.023,
    "ddb_write_unit": 0.625 / 1e6,
    "ddb_read_unit": 0.125 / 1e6,
}
# Lambda bills by the millisecond; the in-process run uses one core, as a function under 1,769 MB does.
DAYS_KEPT_PER_MONTH = 30


def measure(aws: Any, names: list[str]) -> dict[str, Any]:
    from packshot.local.lambda_runtime import handler_specs

    first = len(aws.runtime.timings)
    keys = aws.upload([REPO / "examples" / n for n in names], REPO / "examples")
    aws.wait(keys, timeout_s=900)
    durations: dict[str, list[float]] = defaultdict(list)
    compute: dict[str, list[float]] = defaultdict(list)
    requests: Counter[str] = Counter()
    for timing in aws.runtime.timings[first:]:
        durations[timing.function_name].append(timing.wall_s)
        compute[timing.function_name].append(timing.cpu_s)
        requests.update(timing.requests)
    sfn = aws.client("stepfunctions")
    transitions = [sum(1 for e in sfn.get_execution_history(executionArn=x["executionArn"], maxResults=1000)["events"]
                       if e["type"].endswith("StateEntered")) for x in aws.executions()]
    s3 = aws.client("s3")
    stored = sum(o["Size"] for bucket in (aws.work_bucket, aws.export_bucket)
                 for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))
    records = aws.records_by_key()
    record_kb = max(len(str(r).encode()) for r in records.values()) / 1024
    specs = {spec.function_name: spec for spec in handler_specs(aws.stack).values()}
    return {"images": len(keys), "durations": dict(durations), "compute": dict(compute), "requests": dict(requests),
            "transitions": transitions, "stored_bytes": stored, "record_kb": record_kb,
            "memory_mb": {name: spec.memory_mb for name, spec in specs.items()},
            "logical": {name: spec.logical_id for name, spec in specs.items()},
            "statuses": dict(Counter(r.get("status") for r in records.values()))}


def model(m: dict[str, Any]) -> dict[str, Any]:
    """Dollars per image, by service, from one measurement."""
    n = m["images"]
    lines: dict[str, float] = {}
    stages = {}
    for name, seconds in m["durations"].items():
        gb = m["memory_mb"][name] / 1024
        per_image = sum(math.ceil(s * 1000) / 1000 for s in seconds) / n
        stages[m["logical"][name]] = {"seconds_per_image": round(per_image, 3),
                                      "compute_seconds_per_image": round(sum(m["compute"][name]) / n, 3),
                                      "memory_mb": m["memory_mb"][name],
                                      "usd_per_image": per_image * gb * PRICES["lambda_arm64_gb_second"]}
    invokes = sum(len(s) for s in m["durations"].values()) / n
    lines["lambda"] = sum(s["usd_per_image"] for s in stages.values()) + invokes * PRICES["lambda_request"]
    lines["step_functions"] = sum(m["transitions"]) / n * PRICES["sfn_standard_transition"]
    # S3 sends one message per upload; the event source receives and deletes in batches of up to 10.
    lines["sqs"] = 1.2 * PRICES["sqs_request"]
    requests = m["requests"]
    puts = sum(c for k, c in requests.items() if k in ("s3:PUT", "s3:POST")) / n + 1  # + the upload itself
    gets = sum(c for k, c in requests.items() if k in ("s3:GET", "s3:HEAD")) / n
    lines["s3_requests"] = puts * PRICES["s3_put"] + gets * PRICES["s3_get"]
    lines["s3_storage_month"] = m["stored_bytes"] / n / 1e9 * PRICES["s3_gb_month"]
    write_units = math.ceil(m["record_kb"])
    writes = sum(c for k, c in requests.items() if k in ("PutItem", "UpdateItem", "DeleteItem")) / n
    reads = sum(c for k, c in requests.items() if k in ("GetItem", "Query")) / n
    # + the state machine's own failure write on the rare failure, + idempotency records (export: 2 writes).
    lines["dynamodb"] = (writes + 2) * write_units * PRICES["ddb_write_unit"] + reads * PRICES["ddb_read_unit"]
    total = sum(lines.values())
    return {"usd_per_image": total, "usd_per_1000_images": total * 1000,
            "usd_per_month_at_7500_a_day": total * 7500 * DAYS_KEPT_PER_MONTH,
            "lambda_seconds_per_image": round(sum(s["seconds_per_image"] for s in stages.values()), 3),
            "lambda_compute_seconds_per_image": round(sum(s["compute_seconds_per_image"] for s in stages.values()), 3),
            "by_service_usd_per_image": lines, "stages": stages,
            "transitions_per_image": sum(m["transitions"]) / n, "requests_per_image":
            {k: round(c / n, 2) for k, c in sorted(requests.items())}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", nargs="*", default=EXAMPLES)
    args = parser.parse_args()
    # One invocation at a time, each in a worker process of its own: a stage's time is its own (on AWS each runs
    # in its own execution environment), its compute the worker's CPU time, onnxruntime's threads included.
    with embedded(processes=True, max_concurrency=1) as aws:
        measured = measure(aws, args.examples)
    result = model(measured)
    print(f"{'stage':<22}{'s/image':>9}{'CPU s':>7}{'MB':>7}{'$/1000 images':>16}")
    for stage, s in result["stages"].items():
        print(f"{stage:<22}{s['seconds_per_image']:>9.3f}{s['compute_seconds_per_image']:>7.3f}{s['memory_mb']:>7}"
              f"{s['usd_per_image'] * 1000:>16.4f}")
    print(f"{'Lambda stage time per image (s)':<38}{result['lambda_seconds_per_image']:>16.3f}")
    print(f"{'Lambda stage compute per image (CPU s)':<38}{result['lambda_compute_seconds_per_image']:>16.3f}")
    for service, usd in result["by_service_usd_per_image"].items():
        print(f"{service:<38}{usd * 1000:>16.4f}")
    print(f"{'total per 1,000 images (USD)':<38}{result['usd_per_1000_images']:>16.4f}")
    print(f"{'per month at 7,500 images a day (USD)':<38}{result['usd_per_month_at_7500_a_day']:>16.2f}")
    print_json({k: v for k, v in result.items() if k not in ("stages", "by_service_usd_per_image")}
               | {"measured_statuses": measured["statuses"]})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
