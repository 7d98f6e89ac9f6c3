"""Finish and score: the step (read the cutout, write the finished file) and the pure core (white balance, crop to the
fill, composite on white, QC, and the route rules)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from packshot.config import Settings
from packshot.gate import GateVerdict, default_gate
from packshot.imaging.colour import WhiteBalance, apply_gains, white_balance, white_balance_from
from packshot.imaging.finish import (
    BackgroundCheck,
    bounding_box,
    composite_on_white,
    crop_to_fill,
    verify_background,
)
from packshot.imaging.png import decode_png_rgba, encode_png
from packshot.imaging.qc import QcResult, QcThresholds, score_qc
from packshot.pipeline import CORRECTION_PREFIX, PipelineState, utc_now, work_key
from packshot.ports import ObjectStore, Records
from packshot.stages.backdrop import Backdrop
from packshot.status import Decision, Status

# The decision a finished image gets, and the record status it leads to ("processing" until the review item
# with its task token exists: only then is the record waiting).
STATUS_OF_DECISION = {Decision.APPROVE: Status.APPROVED, Decision.REVIEW: Status.PROCESSING,
                      Decision.REJECT: Status.REDO}
COMPLEX_ROUTE_REASON = "complex route: a reviewer and a senior editor sign off before export"
UNJUDGED_REASON = "the cutout was not judged by the auto-approval gate (a corrected upload): a person looks"
# How far a finished frame may be enlarged to reach the deployment's zoom minimum (MIN_SIDE_PX) before it looks
# soft: a product photographed too small for its frame goes to a person, never out on its own.
MAX_UPSCALE = 4.0
EMPTY_CUTOUT_REASON = (
    "the model separated no product from the backdrop: a person cuts it out (upload a corrected cutout)"
    " or rejects it for a reshoot on a backdrop that contrasts with the product"
)


@dataclass(frozen=True)
class Finished:
    """What finishing made of one cutout, and what happens to it next."""

    final_rgb: np.ndarray  # the square-ish canvas on pure white
    final_alpha: np.ndarray  # the product's alpha on that canvas
    qc: QcResult
    balance: WhiteBalance
    background: BackgroundCheck
    decision: Decision  # after the route rules
    reasons: tuple[str, ...]
    # The canvas before compositing: the product's own colours (edges decontaminated by the cutout), 255 where
    # alpha is 0. What the stage file carries, so a transparent export has no white fringe on a dark page.
    product_rgb: np.ndarray | None = None

    @property
    def status(self) -> Status:
        return STATUS_OF_DECISION[self.decision]


def thresholds_from(settings: Settings) -> QcThresholds:
    approve = settings.qc_approve if settings.qc_approve is not None else default_gate().qc_approve_min
    return QcThresholds(approve=approve, review=settings.qc_review, target_fill=settings.fill)


def finish_cutout(
    rgb: np.ndarray,
    alpha: np.ndarray,
    *,
    route: str,
    verdict: GateVerdict | None,
    reference_white: tuple[float, float, float] | None,
    settings: Settings,
    backdrop: Backdrop | None = None,
) -> Finished:
    """Finish one RGBA cutout (the cutout stage's pixels and alpha) and decide: approve, review or reject.

    The background's colour cast comes off the product first, with the shoot group's white; QC then compares
    the result with this white-balanced original, so the correction is not scored as a colour shift.
    Only a cutout the gate passes can be approved: QC judges the picture, the gate the cutout. No route skips
    the gate; the complex route (a category rule) sends the image to a person whatever both say.
    `backdrop` is what the cutout stage measured behind the product (its file carries no photo there); without
    it, the backdrop is measured on rgb under alpha 0 (a file that still carries the photo there).
    """
    if backdrop is None:
        balance = white_balance(rgb, alpha, reference_white)
    else:
        balance = white_balance_from(backdrop.white, rgb, alpha, reference_white)
    rgb = apply_gains(rgb, balance.gains)
    empty = bounding_box(alpha) is None
    if empty:
        # Nothing to frame: a white canvas of the photo's size; QC scores it as "no product separated".
        framed_rgb, framed_alpha = np.full_like(rgb, 255), np.zeros_like(alpha)
    else:
        framed_rgb, framed_alpha = crop_to_fill(rgb, alpha, fill=settings.fill)
    final_rgb = composite_on_white(framed_rgb, framed_alpha, white_behind=True)  # crop_to_fill whitened it
    background = verify_background(final_rgb, framed_alpha)
    qc = score_qc(rgb, alpha, final_rgb, framed_alpha, thresholds=thresholds_from(settings),
                  background_check=background)
    decision, reasons = qc.decision, list(qc.reasons)
    if verdict is None or not verdict.passes:
        if decision == Decision.APPROVE:
            decision = Decision.REVIEW
        reasons.extend(verdict.reasons() if verdict is not None else [UNJUDGED_REASON])
    if empty:
        # Pre-processing turned blank frames away, so a product is there and the machine missed it.
        decision = Decision.REVIEW
        reasons.insert(0, EMPTY_CUTOUT_REASON)
    else:
        # Pre-processing turns away photos under MIN_SIDE_PX, so in the pipeline the target is MIN_SIDE_PX; a smaller
        # photo handed to this core directly (the evaluation's renders) is held to its own size.
        target = min(settings.min_side, max(alpha.shape))
        if (upscale := target / framed_alpha.shape[0]) > MAX_UPSCALE:
            if decision == Decision.APPROVE:
                decision = Decision.REVIEW
            reasons.insert(0, small_product_reason(framed_alpha, upscale, target))
    if route == "complex":
        # Whatever QC says: its colour and edge checks are least reliable exactly where the route is complex.
        decision = Decision.REVIEW
        reasons.insert(0, COMPLEX_ROUTE_REASON)
    return Finished(final_rgb, framed_alpha, qc, balance, background, decision, tuple(reasons), framed_rgb)


def small_product_reason(framed_alpha: np.ndarray, upscale: float, target: int) -> str:
    box = bounding_box(framed_alpha)
    across = max(box[2] - box[0], box[3] - box[1]) if box is not None else 0
    return (
        f"the product is {across} px across in the photo: its frame must be enlarged {upscale:.0f}x to reach the"
        f" {target} px marketplaces need for zoom, and will look soft: not shipped without a person (a closer shot"
        " fixes it)"
    )


def run(
    state: PipelineState, store: ObjectStore, records: Records, settings: Settings, now: Callable[[], str] = utc_now
) -> PipelineState:
    """Crop to the fill, composite on pure white, verify the background and score QC; route by the score."""

    rgb, alpha = decode_png_rgba(store.get(settings.work_bucket, state["cutout_key"]))
    gate = state.get("gate") or {}
    # Only the cutout the gate judged can pass it; a corrected upload has another key and goes to a person.
    verdict = GateVerdict.from_record(gate) if gate.get("cutout_key") == state["cutout_key"] else None
    done = finish_cutout(
        rgb,
        alpha,
        route=str(state.get("route", "")),
        verdict=verdict,
        reference_white=reference_white_of(state),
        settings=settings,
        # A reviewer's corrected cutout is of the same photo: the cutout stage's measurement still holds.
        backdrop=Backdrop.from_state(state.get("backdrop")),
    )
    qc, balance, background = done.qc, done.balance, done.background
    final_key = work_key(state, "final.png")
    # The product's colours and alpha, not the composite: export composites on white where a platform wants it
    # and keeps the decontaminated edge where it wants transparency.
    product_rgb = done.product_rgb if done.product_rgb is not None else done.final_rgb
    store.put(settings.work_bucket, final_key, encode_png(product_rgb, done.final_alpha), "image/png")
    decision, reasons = done.decision, list(done.reasons)
    if state["cutout_key"].startswith(CORRECTION_PREFIX):
        # Whatever QC says: an uploaded cutout is anybody's pixels until a person has seen it finished.
        decision = Decision.REVIEW
        reasons.insert(0, "corrected cutout: finished and scored again; a person checks the result before export")
    status = STATUS_OF_DECISION[decision]
    records.update(
        state["image_id"],
        {
            "stage": "finish",
            "status": status,
            "qc_score": qc.score,
            "qc_decision": qc.decision,
            "qc_parts": {
                "background": qc.background,
                "edge_quality": qc.edge_quality,
                "product_fill": qc.product_fill,
                "colour": qc.colour,
            },
            "background_check": {
                "perimeter_passed": background.perimeter_passed,
                "perimeter_samples": background.perimeter_samples,
                "non_white_background_pixels": background.non_white_background_pixels,
            },
            "colour_normalisation": {
                "gains": list(balance.gains),
                "source": balance.source,
                "shoot_group": state.get("shoot_group", ""),
                "measured_background": list(balance.measured_background or []),
                "note": balance.note,
            },
            "reasons": reasons,
            "outputs": {"master": state["master_key"], "cutout": state["cutout_key"], "final": final_key,
                        **({"gate_overlay": gate["overlay_key"]} if verdict is not None else {})},
            "updated_at": now(),
        },
    )
    return {**state, "final_key": final_key, "decision": decision, "status": status, "qc_score": qc.score}


def reference_white_of(state: PipelineState) -> tuple[float, float, float] | None:
    white = state.get("reference_white")
    return (float(white[0]), float(white[1]), float(white[2])) if white and len(white) == 3 else None


