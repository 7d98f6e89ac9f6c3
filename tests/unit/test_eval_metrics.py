"""The evaluation's mask measures on small synthetic masks."""

from __future__ import annotations

import numpy as np

from eval.metrics import boundary_f, dilate, halo_score, score_mask


def square(size: int = 40, lo: int = 10, hi: int = 30) -> np.ndarray:
    mask = np.zeros((size, size), np.uint8)
    mask[lo:hi, lo:hi] = 255
    return mask


def test_a_perfect_prediction_scores_one_and_no_halo() -> None:
    scores = score_mask(square(), square())
    assert scores.iou == 1.0 and scores.boundary_f == 1.0 and scores.mae == 0.0 and scores.halo == 0.0


def test_a_mask_one_pixel_too_big_keeps_boundary_f_within_tolerance_but_shows_a_halo() -> None:
    truth, pred = square(), square(lo=9, hi=31)
    scores = score_mask(pred, truth)
    assert 0.8 < scores.iou < 0.95
    assert boundary_f(pred >= 128, truth >= 128, tolerance=2) > 0.99
    assert halo_score(pred, truth >= 128) > 0.1


def test_an_empty_frame_scores_one_only_when_nothing_is_predicted() -> None:
    empty = np.zeros((20, 20), np.uint8)
    assert score_mask(empty, empty).iou == 1.0
    assert score_mask(square(20, 5, 10), empty).iou == 0.0


def test_dilation_grows_a_point_into_a_square() -> None:
    point = np.zeros((7, 7), bool)
    point[3, 3] = True
    assert dilate(point, 2).sum() == 25


def test_the_eval_runs_the_stages_own_code_on_photo_files_and_routes_them_twice(model_file) -> None:
    from eval.make_dataset import render_scene
    from eval.run import evaluate_photo, summarise
    from packshot.config import Settings
    from packshot.models.registry import default_path_for, load_model

    settings = Settings()
    model = load_model(settings.model_name, default_path_for(settings.model_name), threads=2)
    rows = []
    for index in (2, 5, 11):  # a mug with a handle, a bag with a strap, an empty sweep
        photo, mask, info = render_scene(index)
        truth = np.asarray(mask)
        rows.append({"name": info.name, "kind": info.kind, "empty": not (truth >= 128).any(),
                     **evaluate_photo(photo, truth, model, settings)})
    summary = summarise(rows)
    assert summary["images"] == 3 and summary["with_product"] == 2
    assert rows[2]["decision"] != "approve" and rows[2]["decision_simple"] != "approve"  # nothing is never shipped
    assert {r["route_simple"] for r in rows} == {"simple"}
    assert summary["mean_iou"] > 0.9
    table = summary["forced_simple"]
    assert table["approve"] + table["review"] + table["reject"] == 3


def test_a_false_auto_approval_is_an_approved_cutout_under_the_good_iou() -> None:
    from eval.run import routing

    rows = [
        {"name": "good-approved", "iou": 0.99, "decision": "approve"},
        {"name": "bad-approved", "iou": 0.90, "decision": "approve"},
        {"name": "good-reviewed", "iou": 0.97, "decision": "review"},
        {"name": "bad-reviewed", "iou": 0.50, "decision": "review"},
    ]
    table = routing(rows)
    assert table["false_approvals"] == 1 and table["false_names"] == ["bad-approved"]
    assert table["false_share"] == 0.5
    assert table["automation"] == 0.5 and table["reviewed_but_fine"] == 1
