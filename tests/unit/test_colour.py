"""Shoot grouping from the studio background and white balance that removes its cast, consistently per group."""

from __future__ import annotations

import numpy as np
import pytest

from packshot.imaging.colour import apply_gains, measure_shoot, shoot_group, white_balance

H, W = 200, 240


def shot(background: tuple[int, int, int], product: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    rgb = np.empty((H, W, 3), dtype=np.uint8)
    rgb[:] = background
    alpha = np.zeros((H, W), dtype=np.uint8)
    rgb[50:150, 60:180] = product
    alpha[50:150, 60:180] = 255
    return rgb, alpha


def cast(rgb: tuple[int, ...], light: tuple[float, float, float]) -> tuple[int, int, int]:
    return tuple(round(c * f) for c, f in zip(rgb, light, strict=True))  # type: ignore[return-value]


WARM = (1.0, 0.96, 0.88)


def test_the_shoot_condition_is_measured_on_the_border_not_the_product() -> None:
    rgb, _ = shot((240, 232, 220), (20, 20, 200))
    shoot = measure_shoot(rgb)
    assert shoot.background == (240.0, 232.0, 220.0)
    assert shoot.red_cast > 0 and shoot.blue_cast < 0


def test_two_images_of_one_shoot_share_a_group_and_a_different_backdrop_does_not() -> None:
    first, _ = shot((240, 232, 220), (20, 20, 200))
    second, _ = shot((241, 233, 221), (200, 30, 30))
    other_light, _ = shot((220, 232, 245), (200, 30, 30))
    batch = "client/shoot-1"
    assert shoot_group(batch, measure_shoot(first)) == shoot_group(batch, measure_shoot(second))
    assert shoot_group(batch, measure_shoot(first)) != shoot_group(batch, measure_shoot(other_light))
    assert shoot_group("client/shoot-2", measure_shoot(first)) != shoot_group(batch, measure_shoot(first))


def test_a_warm_cast_is_removed_from_the_background_and_a_grey_product_lit_by_it() -> None:
    rgb, alpha = shot(cast((245, 245, 245), WARM), cast((128, 128, 128), WARM))
    balance = white_balance(rgb, alpha)
    assert balance.applied and balance.source == "image"
    balanced = apply_gains(rgb, balance.gains)
    for pixel in (balanced[5, 5], balanced[H // 2, W // 2]):
        assert int(pixel.max()) - int(pixel.min()) <= 2, pixel
    # Luminance is kept: the correction changes colour, not exposure.
    weights = np.array([0.2126, 0.7152, 0.0722])
    assert abs(float(balanced[5, 5] @ weights) - float(rgb[5, 5] @ weights)) < 1.0


def test_a_neutral_product_is_never_shifted_off_neutral_by_a_tinted_backdrop() -> None:
    rgb, alpha = shot(cast((245, 245, 245), WARM), (128, 128, 128))
    balance = white_balance(rgb, alpha)
    assert not balance.applied
    assert "already neutral" in balance.note
    assert np.array_equal(apply_gains(rgb, balance.gains), rgb)


def test_a_coloured_backdrop_is_left_alone() -> None:
    rgb, alpha = shot((120, 160, 230), (200, 30, 30))
    balance = white_balance(rgb, alpha)
    assert not balance.applied and "coloured backdrop" in balance.note


def test_a_neutral_background_needs_no_correction() -> None:
    rgb, alpha = shot((245, 245, 245), (200, 30, 30))
    assert white_balance(rgb, alpha).gains == (1.0, 1.0, 1.0)


def test_every_image_of_a_group_gets_the_same_gains() -> None:
    batch = "client/shoot-1"
    images = [shot(cast((245, 245, 245), WARM), p) for p in ((200, 30, 30), (30, 30, 200), (40, 160, 40))]
    # Slightly different exposures of the same light: measured whites differ by a level or two.
    images[1][0][alpha_free(images[1][1])] = cast((246, 246, 246), WARM)
    groups = {shoot_group(batch, measure_shoot(rgb)) for rgb, _ in images}
    assert len(groups) == 1
    group = groups.pop()
    gains = {white_balance(rgb, alpha, group.reference_white).gains for rgb, alpha in images}
    assert len(gains) == 1
    assert white_balance(*images[0], group.reference_white).source == "group"


def alpha_free(alpha: np.ndarray) -> np.ndarray:
    return alpha == 0


def test_an_image_whose_background_disagrees_with_its_group_uses_its_own_white() -> None:
    rgb, alpha = shot(cast((245, 245, 245), WARM), (200, 30, 30))
    balance = white_balance(rgb, alpha, reference_white=(230.0, 240.0, 250.0))
    assert balance.source == "image"


def test_too_little_background_leaves_the_colours_alone() -> None:
    rgb = np.full((40, 40, 3), 128, dtype=np.uint8)
    assert white_balance(rgb, np.full((40, 40), 255, dtype=np.uint8)).source == "none"


def test_gains_clip_at_255_and_keep_uint8() -> None:
    out = apply_gains(np.full((2, 2, 3), 250, dtype=np.uint8), (1.1, 1.0, 0.9))
    assert out.dtype == np.uint8 and tuple(out[0, 0]) == (255, 250, 225)


def test_colour_functions_refuse_non_rgb_input() -> None:
    with pytest.raises(ValueError):
        measure_shoot(np.zeros((4, 4), dtype=np.uint8))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_background_white_is_the_median_of_the_light_backdrop_pixels(seed: int) -> None:
    from packshot.imaging.colour import background_white

    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 256, (300 + seed, 500, 3), dtype=np.uint8)
    alpha = np.where(rng.random((300 + seed, 500)) < 0.3, 255, 0).astype(np.uint8)
    backdrop = rgb[alpha == 0]
    light = backdrop[backdrop.min(axis=1) >= 60].astype(np.float64)
    assert background_white(rgb, alpha) == tuple(float(v) for v in np.median(light, axis=0))



def test_the_shoot_background_is_the_plain_median_of_the_border_samples(monkeypatch: pytest.MonkeyPatch) -> None:
    from packshot.imaging import colour

    samples: list[np.ndarray] = []

    def spy(pixels: np.ndarray, selected: np.ndarray) -> tuple[tuple[int, int], ...] | None:
        samples.append(pixels[selected])
        return middle_levels(pixels, selected)

    middle_levels = colour.middle_levels
    monkeypatch.setattr(colour, "middle_levels", spy)
    rng = np.random.default_rng(7)
    for height, width in [(1, 1), (2, 3), (31, 17), (200, 240), (401, 333)]:
        for rgb in (rng.integers(0, 256, (height, width, 3)).astype(np.uint8),
                    np.full((height, width, 3), 254, np.uint8),
                    rng.choice(np.array([0, 128, 255], np.uint8), (height, width, 3))):
            background = measure_shoot(rgb).background
            plain = np.median(samples[-1].astype(np.float64), axis=0)
            assert len(samples[-1]) >= 1 and background == tuple(round(float(v), 2) for v in plain), (height, width)
