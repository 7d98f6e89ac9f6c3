"""`make eval`: render the labelled set, run the pipeline's decisions on every image, score and route.

Run: python -m eval.run [--count 120] [--out build/eval] [--masks DIR --label NAME]

For each scene it calls the same pure functions the stages call (classify -> cut_out -> crop_to_fill ->
composite_on_white -> score_qc), without AWS, then compares the cutout's alpha with the exact mask. With
--masks it instead scores alpha PNGs another tool wrote (the bench scores rembg this way).
Prints a table and writes OUT/report.json (or OUT/report-NAME.json).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from eval.make_dataset import DEFAULT_OUT, build
from eval.metrics import score_mask

ROOT = Path(__file__).resolve().parents[1]
# Auto-approved images must be at least this good: the issue's acceptance line.
GOOD_IOU = 0.95


def evaluate_image(
    rgb: np.ndarray, truth: np.ndarray, model: Any, settings: Any, category: str | None = None
) -> dict[str, Any]:
    """The pipeline's decision for one photo plus its mask scores; mirrors pipeline.classify/cut_out/finish."""
    from packshot.cutout import cut_out
    from packshot.imaging.complexity import classify
    from packshot.imaging.finish import composite_on_white, crop_to_fill
    from packshot.imaging.qc import QcThresholds, score_qc

    started = time.perf_counter()
    route = classify(rgb, category)
    result = cut_out(rgb, model)
    cut_seconds = time.perf_counter() - started
    row: dict[str, Any] = {"route": route.route, "confidence": result.confidence, "seconds": round(cut_seconds, 3)}
    if result.signals is not None:
        row["signals"] = asdict(result.signals)
    if route.route == "complex":
        row.update(decision="review", qc_score=None, reasons=[f"complex route: {'; '.join(route.reasons)}"])
    else:
        framed_rgb, framed_alpha = crop_to_fill(rgb, result.alpha, fill=settings.fill)
        final_rgb = composite_on_white(framed_rgb, framed_alpha)
        qc = score_qc(
            rgb,
            result.alpha,
            final_rgb,
            framed_alpha,
            confidence=float(result.confidence),
            thresholds=QcThresholds(
            approve=settings.qc_approve,
            review=settings.qc_review,
            target_fill=settings.fill,
            min_confidence=settings.qc_min_confidence,
        ),
        )
        row.update(decision=qc.decision, qc_score=qc.score, reasons=list(qc.reasons))
    row.update(asdict(score_mask(result.alpha, truth)))
    return row


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Means over the images with a product, and the routing table over all."""
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
    }
    if rows and "decision" in rows[0]:
        approved = [r for r in rows if r["decision"] == "approve"]
        bad = [r["name"] for r in approved if r["iou"] < GOOD_IOU]
        summary["routing"] = {d: sum(r["decision"] == d for r in rows) for d in ("approve", "review", "reject")}
        summary["approved_below_iou"] = len(bad)
        summary["approved_below_iou_share"] = round(len(bad) / len(approved), 4) if approved else 0.0
        summary["approved_below_iou_names"] = bad
        summary["mean_cutout_seconds"] = round(float(np.mean([r["seconds"] for r in rows])), 3)
    return summary


def print_table(rows: list[dict[str, Any]], summary: dict[str, Any], label: str) -> None:
    kinds = sorted({r["kind"] for r in rows})
    print(f"{'kind':<12}{'n':>4}{'IoU':>8}{'bF':>8}{'MAE':>8}{'halo':>8}  approve/review/reject")
    for kind in kinds:
        group = [r for r in rows if r["kind"] == kind]
        decisions = ""
        if "decision" in group[0]:
            decisions = "/".join(str(sum(r["decision"] == d for r in group)) for d in ("approve", "review", "reject"))
        print(
            f"{kind:<12}{len(group):>4}{np.mean([r['iou'] for r in group]):>8.3f}"
            f"{np.mean([r['boundary_f'] for r in group]):>8.3f}{np.mean([r['mae'] for r in group]):>8.4f}"
            f"{np.mean([r['halo'] for r in group]):>8.4f}  {decisions}"
        )
    print(
        f"[{label}] images {summary['images']} (with a product {summary['with_product']}): mean IoU "
        f"{summary['mean_iou']:.4f}, boundary F {summary['mean_boundary_f']:.4f}, MAE {summary['mean_mae']:.4f}, "
        f"halo {summary['mean_halo']:.4f}"
    )
    if "routing" in summary:
        routing = summary["routing"]
        print(
            f"[{label}] routing: approve {routing['approve']}, review {routing['review']}, reject {routing['reject']};"
            f" auto-approved with IoU < {GOOD_IOU}: {summary['approved_below_iou']}"
            f" ({summary['approved_below_iou_share']:.1%}) {summary['approved_below_iou_names']};"
            f" mean cutout {summary['mean_cutout_seconds']} s/image"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=120)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT.parent)
    parser.add_argument("--masks", type=Path, help="score alpha PNGs (NAME.png) from this folder instead")
    parser.add_argument("--label", default="packshot")
    parser.add_argument("--model", default=None, help="model name (default: Settings' model)")
    args = parser.parse_args(argv)
    data = args.out / "data"
    started = time.perf_counter()
    infos = build(data, args.count)
    print(f"dataset: {len(infos)} scenes in {data} ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    rows: list[dict[str, Any]] = []
    model = settings = None
    if args.masks is None:
        from packshot.config import Settings
        from packshot.models.registry import default_path_for, load_model

        settings = Settings.from_env()
        name = args.model or settings.model_name
        model = load_model(name, settings.model_path or default_path_for(name), threads=2)
    for info in infos:
        truth = np.asarray(Image.open(data / "masks" / f"{info.name}.png"))
        row: dict[str, Any] = {**asdict(info), "empty": not (truth >= 128).any()}
        if args.masks is not None:
            pred = np.asarray(Image.open(args.masks / f"{info.name}.png").convert("L"))
            row.update(asdict(score_mask(pred, truth)))
        else:
            rgb = np.asarray(Image.open(data / f"{info.name}.jpg").convert("RGB"))
            row.update(evaluate_image(rgb, truth, model, settings))
        rows.append(row)
        if len(rows) % 20 == 0:
            print(f"  {len(rows)}/{len(infos)} ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    summary = summarise(rows)
    print_table(rows, summary, args.label)
    report = args.out / ("report.json" if args.label == "packshot" else f"report-{args.label}.json")
    report.write_text(json.dumps({"label": args.label, "summary": summary, "images": rows}, indent=1))
    print(f"wrote {report} ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
