"""`make bench`: our cutout against rembg's `remove()` with u2netp, same 2000x2000 images, one run.

Run: U2NET_HOME=<repo>/models python -m bench.run --bench-python build/bench-venv/bin/python
Each contender runs in its own process (so peak memory is its own), loaded once, warmed up once, and timed
over the same images; the contenders alternate twice so that load from other work on the machine hits both.
Then, on the same images: the cutout handler's cold start and peak memory (bench/cutout_stage.py); end to end,
files in and RGBA PNGs out, `packshot cutout` against rembg's remove() + save (alternating, a process each);
and the whole local pipeline per image (bench/pipeline.py, `packshot run`'s embedded AWS) against rembg's
remove() alone. Ratios, not timed tests: the host is shared.
It also runs rembg over the `make eval` set and scores it with the eval code, so the quality claim
("at least rembg's IoU and boundary F") is measured, not assumed. Writes build/bench/report.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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
    for extra in folder.glob("*.png"):  # from a run with more images: every contender reads the whole folder
        if not extra.stem.isdigit() or int(extra.stem) >= count:
            extra.unlink()
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
    return _json_line([python, str(ROOT / "bench" / "contender.py"), kind, *args], env)


def _json_line(command: list[str], env: dict[str, str] | None = None) -> dict:
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False, cwd=ROOT)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command[:3])} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def end_to_end(bench_python: str, folder: Path) -> dict:
    """Files in, RGBA PNGs out: `packshot cutout` against rembg's remove() + save, alternating, one process each."""
    runs: dict[str, list[dict]] = {"rembg-files": [], "packshot-files": []}
    for _ in range(2):
        for kind, python in (("rembg-files", bench_python), ("packshot-files", sys.executable)):
            out = OUT / "files" / kind
            shutil.rmtree(out, ignore_errors=True)
            runs[kind].append(contender(python, kind, str(folder), "--files-out", str(out)))
    ours = min(r["seconds_per_image"] for r in runs["packshot-files"])
    theirs = min(r["seconds_per_image"] for r in runs["rembg-files"])
    print(f"end to end (file in, RGBA PNG out) per {SIDE}x{SIDE} image: packshot cutout {ours:.3f} s, rembg remove() "
          f"+ save {theirs:.3f} s, ratio {ours / theirs:.2f} (target <= 0.5); with process start and model load: "
          f"{min(r['seconds_per_image_with_start'] for r in runs['packshot-files']):.3f} s against "
          f"{min(r['seconds_per_image_with_start'] for r in runs['rembg-files']):.3f} s")
    return {"packshot_seconds_per_image": round(ours, 3), "rembg_seconds_per_image": round(theirs, 3),
            "time_ratio": round(ours / theirs, 3), "runs": runs}


def whole_pipeline(folder: Path, rembg_seconds: float) -> dict:
    """`packshot run`'s embedded AWS over the same photos, per image, against rembg's remove() alone."""
    result = _json_line([sys.executable, "-m", "bench.pipeline", str(folder)])
    ratio = result["seconds_per_image"] / rembg_seconds
    stages = ", ".join(f"{name.removesuffix('Function').lower()} {s['cpu_seconds']:.3f}"
                       for name, s in result["stages"].items())
    print(f"whole local pipeline per image ({result['images']} photos, {result['workers']} worker processes): "
          f"{result['seconds_per_image']:.3f} s against rembg remove() alone {rembg_seconds:.3f} s, ratio "
          f"{ratio:.2f} (target <= 1.0); CPU per image: the embedded AWS "
          f"{result['embedded_aws_cpu_seconds_per_image']:.3f} s, handlers "
          f"{result['handler_cpu_seconds_per_image']:.3f} s ({stages}); statuses {result['statuses']}")
    return {**result, "rembg_seconds_per_image": round(rembg_seconds, 3), "time_ratio": round(ratio, 3)}


def cutout_stage(image: Path) -> dict:
    """The cutout handler's cold start and the stage's peak memory at 4 MP, in a fresh process."""
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'layers' / 'packshot'}")
    result = _json_line([sys.executable, str(ROOT / "bench" / "cutout_stage.py"), str(image)], env)
    print(f"cutout stage at {result['pixels'] / 1e6:.0f} MP: cold start {result['cold_start_seconds']:.2f} s "
          f"({result['cold_start_cpu_seconds']:.2f} s CPU; target <= 1.5), stage {result['stage_seconds']:.3f} s, "
          f"peak memory {result['peak_rss_mb']:.0f} MB (limit {MEMORY_LIMIT_MB})")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench-python", required=True, help="python of the virtualenv that has rembg")
    # Twelve: the pipeline's two worker processes fill and drain its stages at the start and end of a batch.
    parser.add_argument("--images", type=int, default=12)
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-end-to-end", action="store_true", help="only the core comparison (and quality)")
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
          f"ratio {ours / theirs:.2f} (target <= 0.2: the core; end to end <= 0.5)")
    print(f"peak memory (VmHWM, whole process, 4 MP images): packshot {ours_mem:.0f} MB "
          f"(limit {MEMORY_LIMIT_MB}), rembg {theirs_mem:.0f} MB")
    if not args.skip_end_to_end:
        report["cutout_stage"] = cutout_stage(sorted(folder.glob("*.png"))[0])
        report["end_to_end"] = end_to_end(args.bench_python, folder)
        report["pipeline"] = whole_pipeline(folder, theirs)
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
