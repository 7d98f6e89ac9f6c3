"""Load: 1,000 uploads at once on the embedded AWS -> 1,000 settled records, none lost. `make soak`.

The photos are 256 px and the run lowers MinSidePx to 200 so they are valid: the soak measures the event flow
(S3 -> SQS -> ingest -> 1,000 executions -> every stage -> records), not the image maths, on a 2-core machine.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from evidence.common import embedded, print_json, product_photo

SIZE = 256
PARAMETERS = {"MinSidePx": "200"}


def run(aws: Any, n: int = 1000, timeout_s: float = 7200) -> dict[str, Any]:
    from evidence.common import settle

    photo = {i: product_photo(i, size=SIZE) for i in range(50)}
    s3 = aws.client("s3")
    started = time.monotonic()

    def put(i: int) -> str:
        key = f"soak/photo-{i:05d}.jpg"
        # 50 distinct photos, each object new (its own key): 1,000 executions, not 50.
        s3.put_object(Bucket=aws.input_bucket, Key=key, Body=photo[i % 50], Metadata={"sku": f"SOAK-{i:05d}"})
        return key

    with ThreadPoolExecutor(max_workers=16) as pool:
        keys = list(pool.map(put, range(n)))
    uploaded_in = time.monotonic() - started
    outcome = settle(aws, keys, started, timeout_s=timeout_s)
    names = [e["name"] for e in outcome.executions]
    problems = list(outcome.problems)
    if len(set(names)) != n:
        problems.append(f"{len(set(names))} distinct executions for {n} uploads")
    return {**outcome.summary(), "problems": problems, "uploads": n, "upload_seconds": round(uploaded_in, 1),
            "images_per_minute": round(60 * n / max(outcome.seconds, 1e-9), 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=2, help="Lambda invocations at once (default: 2)")
    args = parser.parse_args()
    with embedded(max_concurrency=args.concurrency, parameters=PARAMETERS) as aws:
        result = run(aws, n=args.n)
    print_json(result)
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
