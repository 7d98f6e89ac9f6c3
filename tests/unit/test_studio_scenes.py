"""The real-shape set: studio scenes built from real cutouts, and the fixed split by object."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from eval.shared import devset_dir
from eval.studio import RealObject, load_objects, render_studio_scene, split


def _object(name: str, thin: bool = False, light: bool = False) -> RealObject:
    return RealObject(name=name, category="test/thing", light_product=light, thin_or_holes=thin, source="test")


def test_the_split_holds_out_two_in_five_of_every_stratum_and_never_moves_an_object() -> None:
    objects = [_object(f"thing-{i}", thin=i % 3 == 0, light=i % 4 == 0) for i in range(60)]
    parts = split(objects)
    assert parts == split(list(reversed(objects)))  # the order objects are listed in does not matter
    for stratum in {o.stratum for o in objects}:
        members = [o for o in objects if o.stratum == stratum]
        held_out = sum(parts[o.name] == "eval" for o in members)
        assert abs(held_out - 0.4 * len(members)) <= 1


def test_the_devset_split_holds_out_thin_and_light_objects() -> None:
    if not (devset_dir() / "index.csv").is_file():
        pytest.skip(f"{devset_dir()} is absent: the devset lives beside the repository (see eval/shared.py)")
    objects = load_objects()
    parts = split(objects)
    held_out = [o for o in objects if parts[o.name] == "eval"]
    assert 0.3 * len(objects) <= len(held_out) <= 0.5 * len(objects)
    assert any(o.thin_or_holes for o in held_out) and any(o.light_product for o in held_out)
    assert any(o.thin_or_holes for o in objects if parts[o.name] == "fit")


def test_a_studio_scene_keeps_the_object_alpha_as_truth_and_puts_only_backdrop_and_shadow_around_it() -> None:
    # A ring: a hole in the middle must stay backdrop in the photo and 0 in the truth.
    yy, xx = np.mgrid[0:400, 0:400]
    radius = np.hypot(yy - 200, xx - 200)
    alpha = (((radius < 190) & (radius > 90)) * 255).astype(np.uint8)
    rgba = np.dstack([np.full((400, 400, 3), (200, 30, 40), np.uint8), alpha])
    photo, truth, info = render_studio_scene(rgba, _object("ring"), 0, "eval")
    pixels = np.asarray(Image.open(io.BytesIO(photo)).convert("RGB")).astype(int)
    assert truth.shape == pixels.shape[:2] == (info.height, info.width)
    assert max(info.width, info.height) >= 1100  # the pipeline's minimum side, with margin
    rows, cols = np.nonzero(truth > 127)
    scale = (cols.max() - cols.min() + 1) / 380  # the ring is 380 px across; small objects are scaled up
    assert abs(int((truth > 127).sum()) / (int((alpha > 127).sum()) * scale**2) - 1.0) < 0.03
    centre = (int(rows.mean()), int(cols.mean()))
    assert truth[centre] == 0
    assert np.abs(pixels[centre] - np.array([200, 30, 40])).max() > 60  # the hole shows the backdrop
    product = pixels[truth == 255]
    assert np.abs(product.mean(axis=0) - np.array([200, 30, 40])).max() < 6


def test_studio_scenes_are_deterministic_and_vary_the_backdrop_by_index() -> None:
    rgba = np.zeros((300, 200, 4), np.uint8)
    rgba[20:280, 30:170] = (40, 90, 200, 255)
    first = render_studio_scene(rgba, _object("box"), 1, "fit")
    again = render_studio_scene(rgba, _object("box"), 1, "fit")
    assert first[0] == again[0] and np.array_equal(first[1], again[1])
    backdrops = {render_studio_scene(rgba, _object("box"), i, "fit")[2].backdrop for i in range(4)}
    assert len(backdrops) == 4
