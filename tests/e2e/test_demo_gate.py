"""The demo as a client gets it: whatever `packshot run examples` exports without a person is a right cutout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from eval.metrics import score_mask
from packshot.cli import main as packshot_main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
GOOD_IOU = 0.95


def test_every_image_the_demo_exports_is_cut_out_right_against_its_true_mask(tmp_path: Path, model_file: Path) -> None:
    out = tmp_path / "demo"
    assert packshot_main(["run", str(EXAMPLES), "--out", str(out)]) == 0
    rows = {row["name"]: row for row in json.loads((out / "report.json").read_text())}
    exported = [name for name, row in rows.items() if row["status"] == "exported"]
    assert len(exported) >= 4, rows  # the demo still ships its clean packshots
    for name in exported:
        stem = Path(name).stem
        truth = np.asarray(Image.open(EXAMPLES / "masks" / f"{stem}.png").convert("L"))
        cutout = np.asarray(Image.open(out / rows[name]["cutout"]))[..., 3]
        iou = score_mask(cutout, truth).iou
        assert iou >= GOOD_IOU, f"{name} was exported with IoU {iou:.3f} against examples/masks"
    # The white box whose lid the model cuts away is held for a person, with the gate's reason.
    white_box = rows["white_box_on_white.jpg"]
    assert white_box["status"] != "exported"
