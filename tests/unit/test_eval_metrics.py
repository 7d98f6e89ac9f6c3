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


def test_the_eval_runs_the_pipeline_decisions_on_three_rendered_scenes(model_file) -> None:
    import io

    from PIL import Image

    from eval.make_dataset import render_scene
    from eval.run import evaluate_image, summarise
    from packshot.config import Settings
    from packshot.models.derive import derive
    from packshot.models.registry import load_model

    model = load_model("u2netp-fast", derive(model_file.parent), threads=2)
    rows = []
    for index in (2, 5, 11):  # a mug with a handle, a bag with a strap, an empty sweep
        photo, mask, info = render_scene(index)
        rgb = np.asarray(Image.open(io.BytesIO(photo)).convert("RGB"))
        truth = np.asarray(mask)
        rows.append({"name": info.name, "kind": info.kind, "empty": not (truth >= 128).any(),
                     **evaluate_image(rgb, truth, model, Settings())})
    summary = summarise(rows)
    assert summary["images"] == 3 and summary["with_product"] == 2
    assert rows[2]["decision"] != "approve"  # nothing in the frame is never shipped
    assert summary["mean_iou"] > 0.9
