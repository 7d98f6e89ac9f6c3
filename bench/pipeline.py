"""The whole local pipeline per image, as `packshot run` runs it, and where its time goes.

Run: python -m bench.pipeline IMAGES_DIR [--warmup 2]   (prints one JSON line; bench/run.py runs it)

The embedded AWS (moto on 127.0.0.1, the template's resources, the real event flow) with the handlers in
worker processes, one per core, as `packshot run` starts it. A warm-up batch first (every worker's cold starts),
then every photo of IMAGES_DIR uploaded at once; the clock runs from the first upload until every record has
settled. Reported per image: that wall time; the CPU this process spent meanwhile (moto, the event pollers,
the progress polling: the embedded AWS); and each function's handler time and CPU in its worker (the Lambda
stage compute, the number the cost model prices).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Any

SUFFIXES = {".png", ".jpg", ".jpeg"}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(folder: Path, warmup: int = 2, workers: int | None = None) -> dict[str, Any]:
    from packshot.cutout import usable_cores
    from packshot.local.embedded import EmbeddedAws

    warnings.filterwarnings("ignore", message="No application metrics to publish")
    photos = sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES)
    workers = workers or max(2, usable_cores())
    with tempfile.TemporaryDirectory() as tmp:
        # Keys are paths under the upload root: a warm-up folder and the measured batch.
        root = Path(tmp)
        for name, chosen in (("warmup", photos[:warmup]), ("batch", photos)):
            (root / name).mkdir()
            for photo in chosen:
                shutil.copyfile(photo, root / name / photo.name)
        with EmbeddedAws(processes=True, max_concurrency=workers, log_level="ERROR") as aws:
            aws.wait(aws.upload(sorted((root / "warmup").iterdir()), root), timeout_s=1800)
            first = len(aws.runtime.timings)
            cpu, started = cpu_seconds(), time.perf_counter()
            keys = aws.upload(sorted((root / "batch").iterdir()), root)
            progress = aws.wait(keys, timeout_s=3600)
            wall, embedded_cpu = time.perf_counter() - started, cpu_seconds() - cpu
            timings = aws.runtime.timings[first:]
    count = len(photos)
    stages: dict[str, dict[str, float]] = defaultdict(lambda: {"seconds": 0.0, "cpu_seconds": 0.0, "invokes": 0})
    for timing in timings:
        stage = stages[timing.function_name.removeprefix("packshot-local-")]
        stage["seconds"] += timing.wall_s / count
        stage["cpu_seconds"] += timing.cpu_s / count
        stage["invokes"] += 1
    return {
        "images": count,
        "workers": workers,
        "statuses": progress.by_status,
        "seconds_per_image": round(wall / count, 3),
        "embedded_aws_cpu_seconds_per_image": round(embedded_cpu / count, 3),
        "handler_seconds_per_image": round(sum(s["seconds"] for s in stages.values()), 3),
        "handler_cpu_seconds_per_image": round(sum(s["cpu_seconds"] for s in stages.values()), 3),
        "stages": {name: {k: round(v, 3) for k, v in s.items()} for name, s in sorted(stages.items())},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", type=Path)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    print(json.dumps(measure(args.images, args.warmup, args.workers)))


if __name__ == "__main__":
    main()
