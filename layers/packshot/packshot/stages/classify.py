"""Classify: score the preview's edge complexity and colour risk, and pick the route."""

from __future__ import annotations

from collections.abc import Callable

from packshot.config import Settings
from packshot.imaging.complexity import classify as classify_pixels
from packshot.pipeline import PipelineState, load_master, utc_now
from packshot.ports import ObjectStore, Record, Records
from packshot.status import Status


def run(
    state: PipelineState, store: ObjectStore, records: Records, settings: Settings, now: Callable[[], str] = utc_now
) -> PipelineState:
    """Score edge complexity and colour risk and pick the route; complex images go to a human."""

    # The preview holds exactly what classify measures on, so its answer is the master's.
    result = classify_pixels(load_master(state, store, settings, preview=True), state.get("category") or None)
    fields: Record = {
        "stage": "classify",
        "route": result.route,
        "scores": {
            "edge_complexity": result.edge_complexity,
            "colour_risk": result.colour_risk,
            "background_uniformity": result.background_uniformity,
        },
        "route_reasons": list(result.reasons),
        "updated_at": now(),
    }
    status = state.get("status", Status.PROCESSING)
    if result.route == "complex":
        # Still cut out and finished: the reviewer judges a candidate, not a blank.
        fields["reasons"] = [f"complex route: {'; '.join(result.reasons)}"]
    fields["status"] = status
    records.update(state["image_id"], fields)
    return {**state, "route": result.route, "status": status}


