"""One benchmark contender in its own process: times its cutout on the bench images, reports peak memory.

Run by bench/run.py as `PYTHON bench/contender.py rembg|packshot IMAGES_DIR [--masks-out DIR]` (the core: arrays
in, alpha out) or `rembg-files|packshot-files IMAGES_DIR --files-out DIR` (end to end: files in, RGBA PNGs out);
prints one JSON line. rembg runs in the bench virtualenv, packshot in the project's; neither imports the other.
Peak memory is the process's VmHWM (resident high-water mark), which counts onnxruntime's own allocations.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402 - the clock starts before any import
import json  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402


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


def files_rembg(files: list[Path], out: Path) -> None:
    """rembg's own file path: open, remove() (PIL in, RGBA PIL out), save the PNG, as `rembg i` does."""
    from rembg import new_session, remove

    session = new_session("u2netp")
    mark_ready()
    for path in files:
        with Image.open(path) as image:
            remove(image, session=session).save(out / f"{path.stem}.png")


def files_packshot(files: list[Path], out: Path) -> None:
    """`packshot cutout FILES --out DIR`: its worker processes start (and load the model) inside the clock."""
    from packshot.cutout import cut_out_files

    mark_ready()
    written = cut_out_files(files, out)
    assert len(written) == len(files), "packshot skipped a bench image"


_ready: list[float] = []


def mark_ready() -> None:
    _ready.append(time.perf_counter())


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=("rembg", "packshot", "rembg-files", "packshot-files"))
    parser.add_argument("images", type=Path)
    parser.add_argument("--masks-out", type=Path, default=None, help="write NAME.png alphas here (no timing)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--files-out", type=Path, default=None, help="where the -files kinds write their PNGs")
    args = parser.parse_args()
    files = sorted(p for p in args.images.iterdir() if p.suffix.lower() in (".png", ".jpg"))
    if args.kind.endswith("-files"):
        if args.files_out is None:
            parser.error(f"{args.kind} needs --files-out DIR")
        # End to end: file in, RGBA PNG out, every file once; timed from this process's start (imports, model)
        # and from the moment the contender is ready to work (its model loaded, or for packshot its pool about
        # to start).
        args.files_out.mkdir(parents=True, exist_ok=True)
        (files_rembg if args.kind == "rembg-files" else files_packshot)(files, args.files_out)
        done = time.perf_counter()
        print(json.dumps({"kind": args.kind, "images": len(files),
                          "seconds_per_image": (done - _ready[0]) / len(files),
                          "seconds_per_image_with_start": (done - STARTED) / len(files),
                          "peak_rss_mb": round(peak_rss_mb(), 1)}))
        return
    run = make_rembg() if args.kind == "rembg" else make_packshot()
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
