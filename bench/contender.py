"""One benchmark contender in its own process: times its cutout on the bench images, reports peak memory.

Run by bench/run.py as `PYTHON bench/contender.py rembg|packshot IMAGES_DIR [--masks-out DIR]`; prints one
JSON line. rembg runs in the bench virtualenv, packshot in the project's; neither imports the other.
Peak memory is the process's VmHWM (resident high-water mark), which counts onnxruntime's own allocations.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from PIL import Image


def make_rembg():  # type: ignore[no-untyped-def]
    from rembg import new_session, remove

    session = new_session("u2netp")

    def run(rgb: np.ndarray) -> np.ndarray:
        out = remove(Image.fromarray(rgb), session=session)  # PIL in, RGBA PIL out: rembg's default path
        return np.asarray(out)[..., 3]

    return run


def make_packshot():  # type: ignore[no-untyped-def]
    from packshot.config import Settings
    from packshot.cutout import cut_out
    from packshot.models.registry import default_path_for, load_model

    settings = Settings.from_env()
    model = load_model(settings.model_name, default_path_for(settings.model_name), threads=settings.model_threads)

    def run(rgb: np.ndarray) -> np.ndarray:
        return cut_out(rgb, model).alpha

    return run


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=("rembg", "packshot"))
    parser.add_argument("images", type=Path)
    parser.add_argument("--masks-out", type=Path, default=None, help="write NAME.png alphas here (no timing)")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    run = make_rembg() if args.kind == "rembg" else make_packshot()
    files = sorted(p for p in args.images.iterdir() if p.suffix.lower() in (".png", ".jpg"))
    if args.masks_out is not None:
        args.masks_out.mkdir(parents=True, exist_ok=True)
        for path in files:
            alpha = run(np.asarray(Image.open(path).convert("RGB")))
            Image.fromarray(alpha).save(args.masks_out / f"{path.stem}.png")
        print(json.dumps({"kind": args.kind, "masks": len(files)}))
        return
    images = [np.asarray(Image.open(p).convert("RGB")) for p in files]
    run(images[0])  # warm-up: the session's first run allocates its arenas
    times: list[float] = []
    for _ in range(args.rounds):
        for rgb in images:
            started = time.perf_counter()
            run(rgb)
            times.append(time.perf_counter() - started)
    print(json.dumps({
        "kind": args.kind,
        "images": len(images),
        "size": list(images[0].shape[:2]),
        "seconds_per_image_median": float(np.median(times)),
        "seconds_per_image_mean": float(np.mean(times)),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }))


if __name__ == "__main__":
    main()
