"""`make eval`: run the stages' own decision code over labelled photos and report quality and routing.

Run: python -m eval.run [--sets real,rendered] [--out build/eval] [--workers 2] [--masks DIR --label NAME]

Two sets, each scored on its own:
- real: the evaluation part of the real-shape set (eval/studio.py: real products with the alpha a person cut,
  composited into studio scenes). Never used to fit a threshold or train a model.
- rendered: the rendered scenes of eval/make_dataset.py (boxes, bottles, mugs, rings, chains, glass, empty frames).

Each photo goes through what the Lambdas run, file in: decode (preprocess), the shoot's reference white,
classify, cut out (the stored pixels and alpha), finish (white balance, crop, composite, QC, route rules).
The routing table is printed twice: as classified, and with every image forced to the simple route by a
category rule, as a client's manifest can do. With --masks the alpha PNGs another tool wrote are scored instead
(the bench scores rembg this way). Writes OUT/report.json (or OUT/report-NAME.json).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from eval.make_dataset import build as build_rendered
from eval.metrics import score_mask
from eval.shared import extra_devsets
from eval.studio import scene_rows

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "build" / "eval"
# A cutout is shippable (good) when its IoU with the true alpha is at least this: the issue's acceptance line.
GOOD_IOU = 0.95
RENDERED_COUNT = 120
SETS = ("real", "rendered")
# Confidence bins of the reliability table.
CONFIDENCE_BINS = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0001)


def simple_category() -> str:
    """A category whose rule routes to "simple" (what a manifest says to skip the careful path)."""
    from packshot.imaging.complexity import ClassifyRules

    return next(name for name, route in sorted(ClassifyRules().categories.items()) if route == "simple")


def scenes_of(name: str, out: Path) -> list[dict[str, Any]]:
    """The photos of one set: path, truth path, and what each shows (kind, hard-case flags)."""
    if name == "rendered":
        data = out / "rendered"
        return [
            {**asdict(info), "set": name, "photo": str(data / f"{info.name}.jpg"),
             "truth": str(data / "masks" / f"{info.name}.png")}
            for info in build_rendered(data, RENDERED_COUNT)
        ]
    if name == "real":
        return scene_rows(out / "real-eval", "eval", name)
    for root in extra_devsets():
        if name == root.name:
            return scene_rows(out / f"{name}-eval", "eval", name, devset=root)
    raise ValueError(f"no such set {name!r}: choose from {', '.join(available_sets())}")


def available_sets() -> tuple[str, ...]:
    """The built-in sets, then one per extra devset (PACKSHOT_EXTRA_DEVSETS), named after its folder."""
    return (*SETS, *(root.name for root in extra_devsets()))


# -- one photo through the stages' code -------------------------------------------------------------------

_worker: dict[str, Any] = {}


def _init_worker(model_name: str | None) -> None:
    from packshot.config import Settings
    from packshot.models.registry import default_path_for, load_model

    settings = Settings.from_env()
    name = model_name or settings.model_name
    _worker["settings"] = settings
    _worker["model"] = load_model(name, settings.model_path or default_path_for(name), threads=1)


def evaluate_photo(data: bytes, truth: np.ndarray, model: Any, settings: Any) -> dict[str, Any]:
    """The pipeline's decisions for one photo file, as classified and forced simple, with its mask scores."""
    from packshot.errors import ImageRejectedError
    from packshot.imaging.colour import measure_shoot, shoot_group
    from packshot.imaging.complexity import classify
    from packshot.imaging.decode import decode_image
    from packshot.stages.cutout import cut_out_photo
    from packshot.stages.finish import finish_cutout

    started = time.perf_counter()
    try:
        decoded = decode_image(data, min_side=settings.min_side, max_pixels=settings.max_pixels)
    except ImageRejectedError as exc:
        return {"decision": "reject", "decision_simple": "reject", "reasons": [exc.reason], "iou": 0.0,
                "boundary_f": 0.0, "mae": 1.0, "halo": 0.0, "confidence": 0.0, "seconds": 0.0}
    rgb = decoded.pixels
    reference = shoot_group("eval", measure_shoot(rgb)).reference_white
    cutout = cut_out_photo(rgb, model)
    row: dict[str, Any] = {"confidence": cutout.confidence, "model": cutout.result.model,
                           "gate": cutout.verdict.as_record()}
    if cutout.result.signals is not None:
        row["signals"] = asdict(cutout.result.signals)
    for suffix, category in (("", None), ("_simple", simple_category())):
        route = classify(rgb, category).route
        done = finish_cutout(cutout.pixels, cutout.alpha, route=route, verdict=cutout.verdict,
                             reference_white=reference, settings=settings, backdrop=cutout.backdrop)
        row[f"route{suffix}"] = route
        row[f"decision{suffix}"] = done.decision
        row[f"qc_score{suffix}"] = done.qc.score
        row[f"reasons{suffix}"] = list(done.reasons)
    row["seconds"] = round(time.perf_counter() - started, 3)
    if truth.shape != cutout.alpha.shape:
        raise ValueError(f"truth {truth.shape} and cutout {cutout.alpha.shape} differ: the photo was rotated?")
    row.update(asdict(score_mask(cutout.alpha, truth)))
    return row


def _evaluate_scene(scene: dict[str, Any]) -> dict[str, Any]:
    truth = np.asarray(Image.open(scene["truth"]).convert("L"))
    row = evaluate_photo(Path(scene["photo"]).read_bytes(), truth, _worker["model"], _worker["settings"])
    return {**scene, **row, "empty": not (truth >= 128).any()}


def _score_masks(scene: dict[str, Any], masks: Path) -> dict[str, Any]:
    truth = np.asarray(Image.open(scene["truth"]).convert("L"))
    pred = np.asarray(Image.open(masks / scene["set"] / f"{Path(scene['photo']).stem}.png").convert("L"))
    return {**scene, **asdict(score_mask(pred, truth)), "empty": not (truth >= 128).any()}


# -- summaries --------------------------------------------------------------------------------------------


def routing(rows: list[dict[str, Any]], suffix: str = "") -> dict[str, Any]:
    """Auto-approved, false auto-approvals, automation and reviewed-but-fine for one routing of the rows."""
    decision = f"decision{suffix}"
    good = [r for r in rows if r["iou"] >= GOOD_IOU and not r.get("empty")]
    approved = [r for r in rows if r[decision] == "approve"]
    false = [r for r in approved if r["iou"] < GOOD_IOU or r.get("empty")]
    return {
        "approve": len(approved),
        "review": sum(r[decision] == "review" for r in rows),
        "reject": sum(r[decision] == "reject" for r in rows),
        "false_approvals": len(false),
        "false_share": round(len(false) / len(approved), 4) if approved else 0.0,
        "false_names": [r["name"] for r in false],
        "good": len(good),
        "automation": round(sum(r[decision] == "approve" for r in good) / len(good), 4) if good else 0.0,
        "reviewed_but_fine": sum(r[decision] == "review" for r in good),
        "rejected_but_fine": sum(r[decision] == "reject" for r in good),
    }


def reliability(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Confidence bins against the measured share of good cutouts in each."""
    table = []
    for low, high in zip(CONFIDENCE_BINS, CONFIDENCE_BINS[1:], strict=False):
        inside = [r for r in rows if low <= r["confidence"] < high and not r.get("empty")]
        good = sum(r["iou"] >= GOOD_IOU for r in inside)
        table.append({"confidence": f"{low:.2f}-{min(high, 1.0):.2f}", "images": len(inside), "good": good,
                      "good_share": round(good / len(inside), 3) if inside else None})
    return table


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Mask quality over the images with a product; routing tables and reliability when decisions were made."""
    with_product = [r for r in rows if not r.get("empty")]

    def mean(key: str) -> float:
        return round(float(np.mean([r[key] for r in with_product])), 4) if with_product else 0.0

    summary: dict[str, Any] = {
        "images": len(rows),
        "with_product": len(with_product),
        "mean_iou": mean("iou"),
        "mean_boundary_f": mean("boundary_f"),
        "mean_mae": mean("mae"),
        "mean_halo": mean("halo"),
        "shippable": round(sum(r["iou"] >= GOOD_IOU for r in with_product) / len(with_product), 4)
        if with_product else 0.0,
    }
    thin = [r for r in with_product if r.get("thin_or_holes")]
    if thin:
        summary["thin_or_holes_iou"] = round(float(np.mean([r["iou"] for r in thin])), 4)
    if rows and "decision" in rows[0]:
        summary["as_classified"] = routing(rows)
        summary["forced_simple"] = routing(rows, "_simple")
        summary["reliability"] = reliability(rows)
        summary["mean_seconds"] = round(float(np.mean([r["seconds"] for r in rows])), 3)
    return summary


def print_summary(name: str, rows: list[dict[str, Any]], summary: dict[str, Any], label: str) -> None:
    print(f"\n== {name} set [{label}]: {summary['images']} images ({summary['with_product']} with a product)")
    print(f"{'kind':<14}{'n':>4}{'IoU':>8}{'bF':>8}{'ship':>7}{'halo':>8}  as classified a/r/x   forced simple a/r/x")
    for kind in sorted({str(r["kind"]) for r in rows}):
        group = [r for r in rows if r["kind"] == kind]
        line = (f"{kind:<14}{len(group):>4}{np.mean([r['iou'] for r in group]):>8.3f}"
                f"{np.mean([r['boundary_f'] for r in group]):>8.3f}"
                f"{np.mean([r['iou'] >= GOOD_IOU for r in group]):>7.0%}{np.mean([r['halo'] for r in group]):>8.4f}")
        if "decision" in group[0]:
            for suffix in ("", "_simple"):
                line += "   " + "/".join(str(sum(r[f"decision{suffix}"] == d for r in group))
                                         for d in ("approve", "review", "reject")).ljust(17)
        print(line)
    thin = summary.get("thin_or_holes_iou")
    print(f"mean IoU {summary['mean_iou']:.4f}, boundary F {summary['mean_boundary_f']:.4f}, shippable "
          f"(IoU >= {GOOD_IOU}) {summary['shippable']:.1%}, MAE {summary['mean_mae']:.4f}, "
          f"halo {summary['mean_halo']:.4f}" + (f", thin parts or holes IoU {thin:.4f}" if thin is not None else ""))
    for key, title in (("as_classified", "as classified"), ("forced_simple", "forced simple")):
        if key not in summary:
            continue
        t = summary[key]
        print(f"routing {title:<14} approve {t['approve']:>3}, review {t['review']:>3}, reject {t['reject']:>3} | "
              f"false auto-approvals {t['false_approvals']} ({t['false_share']:.1%} of approved) | automation "
              f"{t['automation']:.1%} of {t['good']} good | reviewed but fine {t['reviewed_but_fine']}, "
              f"redo but fine {t['rejected_but_fine']}" + (f" | false: {t['false_names']}" if t["false_names"] else ""))
    if "reliability" in summary:
        bins = [b for b in summary["reliability"] if b["images"]]
        cells = ", ".join(f"{b['confidence']}: {b['good']}/{b['images']}" for b in bins)
        print(f"reliability (confidence: good/images) {cells}")


def run(sets: Iterable[str], out: Path, workers: int, model: str | None, masks: Path | None) -> dict[str, Any]:
    scenes = [scene for name in sets for scene in scenes_of(name, out)]
    if masks is not None:
        rows = [_score_masks(scene, masks) for scene in scenes]
    else:
        with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(model,)) as pool:
            rows = list(pool.map(_evaluate_scene, scenes, chunksize=2))
    return {name: [r for r in rows if r["set"] == name] for name in sets}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(available_sets()),
                        help=f"comma-separated, of {', '.join(available_sets())}")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--masks", type=Path, help="score alpha PNGs (SET/NAME.png) from this folder instead")
    parser.add_argument("--label", default="packshot")
    parser.add_argument("--model", default=None, help="model name (default: Settings' model)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    by_set = run(sets, args.out, args.workers, args.model, args.masks)
    report: dict[str, Any] = {"label": args.label, "sets": {}}
    for name, rows in by_set.items():
        summary = summarise(rows)
        print_summary(name, rows, summary, args.label)
        report["sets"][name] = {"summary": summary, "images": rows}
    seconds = time.perf_counter() - started
    report["seconds"] = round(seconds, 1)
    path = args.out / ("report.json" if args.label == "packshot" else f"report-{args.label}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1))
    print(f"\nwrote {path}; eval took {seconds:.0f} s", file=sys.stderr)
    print(f"eval runtime: {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
