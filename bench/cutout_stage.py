"""Cold start and peak memory of the cutout handler in a fresh process: `python bench/cutout_stage.py IMAGE`.

Cold start: from this process's first line to the handler module loaded (its imports, settings, clients, the
model file checked and its session made), which is what Lambda's init phase runs; its wall time and this
process's CPU time until then (steadier on a shared host). Then the stage itself on the
photo as its master (decode the stage file, cut out, encode, hand the bytes to the store) three times, with a
store in memory; peak memory is the process's VmHWM, onnxruntime's allocations included. Prints one JSON line.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import importlib.util  # noqa: E402 - the clock starts before any import
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    os.environ.update(RECORDS_TABLE="records", WORK_BUCKET="work", AWS_DEFAULT_REGION="us-east-1",
                      POWERTOOLS_TRACE_DISABLED="true", POWERTOOLS_METRICS_DISABLED="true")
    spec = importlib.util.spec_from_file_location("cutout_app", ROOT / "functions" / "cutout" / "app.py")
    assert spec is not None and spec.loader is not None
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)  # module scope: settings, clients, the model session
    cold, cold_cpu = time.perf_counter() - STARTED, time.process_time()
    import numpy as np
    from PIL import Image

    from bench.contender import peak_rss_mb
    from bench.preprocess_memory import MemoryStore, NoRecords
    from packshot import pipeline
    from packshot.imaging.png import encode_png
    from packshot.stages import cutout as cutout_stage

    rgb = np.asarray(Image.open(sys.argv[1]).convert("RGB"))
    store, records = MemoryStore(), NoRecords()
    store.objects["work", "work/img/master.png"] = encode_png(rgb)
    state: pipeline.PipelineState = {"image_id": "img", "master_key": "work/img/master.png", "route": "simple"}
    seconds = []
    for _ in range(3):
        started = time.perf_counter()
        cutout_stage.run(state, store, records, app.settings, app.model)
        seconds.append(time.perf_counter() - started)
    print(json.dumps({"pixels": int(rgb.shape[0] * rgb.shape[1]), "cold_start_seconds": round(cold, 3),
                      "cold_start_cpu_seconds": round(cold_cpu, 3),
                      "stage_seconds": round(min(seconds), 3), "peak_rss_mb": round(peak_rss_mb(), 1),
                      "cutout_file_bytes": store.sizes["work/img/cutout.png"]}))


if __name__ == "__main__":
    main()
