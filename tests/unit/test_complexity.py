"""Routing photos by how hard they are to cut out, on synthetic frames."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from packshot.imaging.complexity import Classification, ClassifyRules, classify

SIZE = (1000, 800)


def frame(background: tuple[int, int, int] = (255, 255, 255)) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("RGB", SIZE, background)
    return image, ImageDraw.Draw(image)


def plain_box(colour: tuple[int, int, int] = (180, 40, 40), background=(255, 255, 255)) -> np.ndarray:
    image, draw = frame(background)
    draw.rectangle((250, 150, 750, 650), fill=colour)
    return np.asarray(image)


def chain() -> np.ndarray:
    image, draw = frame()
    for i in range(12):
        draw.ellipse((150 + i * 55, 370, 220 + i * 55, 430), outline=(170, 140, 50), width=4)
    return np.asarray(image)


def noisy_texture() -> np.ndarray:
    rng = np.random.default_rng(0)
    pixels = np.full((SIZE[1], SIZE[0], 3), 255, np.uint8)
    pixels[150:650, 250:750] = rng.integers(0, 256, (500, 500, 3), dtype=np.uint8)
    return pixels


def test_routes_a_plain_coloured_box_on_white_as_simple() -> None:
    result = classify(plain_box())
    assert isinstance(result, Classification)
    assert result.route == "simple"
    assert result.edge_complexity < ClassifyRules().simple_max_edge
    assert result.colour_risk < 0.1
    assert result.background_uniformity > 0.95
    assert "clean outline" in result.reasons[0]


def test_routes_a_disc_with_sensor_noise_as_simple() -> None:
    image, draw = frame()
    draw.ellipse((200, 100, 800, 700), fill=(40, 140, 40))
    rng = np.random.default_rng(1)
    noisy = np.clip(np.asarray(image).astype(int) + rng.normal(0, 4, (SIZE[1], SIZE[0], 3)), 0, 255)
    assert classify(noisy.astype(np.uint8)).route == "simple"


@pytest.mark.parametrize("make", [chain, noisy_texture], ids=["thin chain", "noisy texture"])
def test_routes_chains_and_busy_textures_to_medium_where_the_gate_judges_the_cutout(make) -> None:
    result = classify(make())
    assert result.route == "medium"
    assert result.edge_complexity >= 0.7
    assert any("edge complexity" in reason for reason in result.reasons)


def test_edge_complexity_orders_box_below_chain() -> None:
    assert classify(plain_box()).edge_complexity + 0.4 < classify(chain()).edge_complexity


def test_a_white_box_on_a_white_background_has_high_colour_risk() -> None:
    result = classify(plain_box(colour=(246, 246, 246)))
    assert result.colour_risk >= 0.9
    assert result.route == "medium"


def test_a_pale_box_on_an_off_white_background_has_high_colour_risk() -> None:
    result = classify(plain_box(colour=(228, 228, 226), background=(245, 245, 245)))
    assert result.colour_risk >= 0.7
    assert result.route == "medium"
    assert any("colour risk" in reason for reason in result.reasons)


@pytest.mark.parametrize("make", [chain, noisy_texture, lambda: plain_box(colour=(246, 246, 246))],
                         ids=["thin chain", "busy texture", "white on white"])
def test_no_measurement_routes_complex_only_a_category_rule_does(make) -> None:
    assert classify(make()).route != "complex"
    assert classify(make(), category="jewelry").route == "complex"


def test_a_mid_grey_box_has_moderate_colour_risk_and_a_dark_one_none() -> None:
    grey = classify(plain_box(colour=(200, 200, 200))).colour_risk
    dark = classify(plain_box(colour=(30, 30, 30))).colour_risk
    assert 0.2 < grey < 0.6
    assert dark < 0.05  # only the blended outline pixels are near the background


def test_a_non_uniform_background_routes_medium_and_says_why() -> None:
    pixels = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
    pixels[...] = np.linspace(40, 230, SIZE[0]).astype(np.uint8)[None, :, None]
    pixels[300:500, 400:600] = (200, 30, 30)
    result = classify(pixels)
    assert result.background_uniformity < 0.5
    assert result.route == "medium"
    assert "background not uniform" in result.reasons[0]


def test_a_known_category_wins_over_the_measurements() -> None:
    result = classify(plain_box(), category="Jewelry")
    assert result.route == "complex"
    assert result.reasons[0] == "category jewelry -> complex"
    assert "simple" in result.reasons[1]


def test_a_simple_category_can_route_a_busy_photo_simple() -> None:
    assert classify(noisy_texture(), category="electronics").route == "simple"


def test_an_unknown_category_falls_back_to_measurement() -> None:
    result = classify(plain_box(), category="garden gnomes")
    assert result.route == "simple"
    assert "no rule" in result.reasons[0]


def test_rules_can_be_replaced() -> None:
    rules = ClassifyRules(simple_max_edge=0.0, categories={"box": "medium"})
    assert classify(plain_box(), rules=rules).route == "medium"
    assert classify(plain_box(), category="box", rules=rules).route == "medium"
    assert classify(plain_box(), category="jewelry", rules=rules).route == "medium"  # not in these rules


def test_large_frames_give_the_same_answer_as_small_ones() -> None:
    small = plain_box()
    large = np.asarray(Image.fromarray(small).resize((3000, 2400), Image.Resampling.NEAREST))
    a, b = classify(small), classify(large)
    assert a.route == b.route
    assert abs(a.edge_complexity - b.edge_complexity) < 0.1
    assert abs(a.colour_risk - b.colour_risk) < 0.05


def test_rejects_a_non_rgb_array() -> None:
    with pytest.raises(ValueError):
        classify(np.zeros((10, 10), np.uint8))
