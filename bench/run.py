"""`make bench`: our cutout against rembg's `remove()` with u2netp, same 2000x2000 images, one run.

Run: U2NET_HOME=<repo>/models python -m bench.run --bench-python build/bench-venv/bin/python
Each contender runs in its own process (so peak memory is its own), loaded once, warmed up once, and timed
over the same images; the contenders alternate twice so that load from other work on the machine hits both.
It also runs rembg over the `make eval` set and scores it with the eval code, so the quality claim
("at least rembg's IoU and boundary F") is measured, not assumed. Writes build/bench/report.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "bench"
EVAL = ROOT / "build" / "eval"
SIDE = 2000
# The 4 MP cutout stage must fit the cutout Lambda with room to spare (issue 3's acceptance).
MEMORY_LIMIT_MB = 700


def bench_images(count: int) -> Path:
    """`count` eval scenes scaled to SIDE x SIDE, lossless, in build/bench/images."""
    from eval.make_dataset import render_scene

    folder = OUT / "images"
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        target = folder / f"{index:02d}.png"
        if target.is_file():
            continue
        photo, _, _ = render_scene(index * 7 + 2)  # a spread of kinds, all with a product
        import io

        rgb = Image.open(io.BytesIO(photo)).convert("RGB").resize((SIDE, SIDE), Image.Resampling.LANCZOS)
        rgb.save(target)
    return folder


def contender(python: str, kind: str, *args: str) -> dict:
    # Two threads for both: rembg's session takes the host's cores (2 here), the cutout Lambda sets 2.
    env = dict(os.environ, PYTHONPATH=str(ROOT / "layers" / "packshot"), MODEL_THREADS="2", OMP_NUM_THREADS="2")
    result = subprocess.run(
        [python, str(ROOT / "bench" / "contender.py"), kind, *args],
        capture_output=True, text=True, env=env, check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench-python", required=True, help="python of the virtualenv that has rembg")
    parser.add_argument("--images", type=int, default=6)
    parser.add_argument("--skip-quality", action="store_true")
    args = parser.parse_args(argv)
    if not os.environ.get("U2NET_HOME"):
        raise SystemExit("set U2NET_HOME to the models/ directory so rembg uses the verified u2netp.onnx offline")
    folder = bench_images(args.images)
    runs: dict[str, list[dict]] = {"rembg": [], "packshot": []}
    for _ in range(2):
        runs["rembg"].append(contender(args.bench_python, "rembg", str(folder), "--rounds", "1"))
        runs["packshot"].append(contender(sys.executable, "packshot", str(folder), "--rounds", "1"))
    ours = min(r["seconds_per_image_median"] for r in runs["packshot"])
    theirs = min(r["seconds_per_image_median"] for r in runs["rembg"])
    ours_mem = max(r["peak_rss_mb"] for r in runs["packshot"])
    theirs_mem = max(r["peak_rss_mb"] for r in runs["rembg"])
    report: dict = {
        "images": args.images,
        "size": [SIDE, SIDE],
        "packshot_seconds_per_image": round(ours, 3),
        "rembg_seconds_per_image": round(theirs, 3),
        "time_ratio": round(ours / theirs, 3),
        "packshot_peak_rss_mb": ours_mem,
        "rembg_peak_rss_mb": theirs_mem,
        "runs": runs,
    }
    print(f"time per {SIDE}x{SIDE} image: packshot {ours:.3f} s, rembg u2netp {theirs:.3f} s, "
          f"ratio {ours / theirs:.2f} (target <= 0.5)")
    print(f"peak memory (VmHWM, whole process, 4 MP images): packshot {ours_mem:.0f} MB "
          f"(limit {MEMORY_LIMIT_MB}), rembg {theirs_mem:.0f} MB")
    if not args.skip_quality:
        data = EVAL / "data"
        if not (data / "index.json").is_file():
            subprocess.run([sys.executable, "-m", "eval.run", "--out", str(EVAL)], check=True, cwd=ROOT)
        masks = EVAL / "rembg"
        if not masks.is_dir() or len(list(masks.glob("*.png"))) < len(list(data.glob("*.jpg"))):
            contender(args.bench_python, "rembg", str(data), "--masks-out", str(masks))
        subprocess.run(
            [sys.executable, "-m", "eval.run", "--out", str(EVAL), "--masks", str(masks), "--label", "rembg"],
            check=True, cwd=ROOT,
        )
        theirs_q = json.loads((EVAL / "report-rembg.json").read_text())["summary"]
        ours_file = EVAL / "report.json"
        if ours_file.is_file():
            ours_q = json.loads(ours_file.read_text())["summary"]
            print(f"quality on make eval ({ours_q['with_product']} images with a product): "
                  f"IoU packshot {ours_q['mean_iou']:.4f} vs rembg {theirs_q['mean_iou']:.4f}; "
                  f"boundary F packshot {ours_q['mean_boundary_f']:.4f} vs rembg {theirs_q['mean_boundary_f']:.4f}; "
                  f"halo packshot {ours_q['mean_halo']:.4f} vs rembg {theirs_q['mean_halo']:.4f}")
            report["quality"] = {"packshot": ours_q, "rembg": theirs_q}
        else:
            print("no build/eval/report.json: run `make eval` for our side of the quality comparison")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "report.json").write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
