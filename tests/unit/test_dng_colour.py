"""A DNG's camera profile rendered to sRGB (packshot.imaging.dng): each profile tag does what the DNG
specification says it does, and a profile that is broken or hostile is ignored, never trusted."""

from __future__ import annotations

import dataclasses
import io
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
import tifffile

from packshot.imaging.decode import decode_image
from packshot.imaging.dng import DngProfile, HueSatTable, read_dng_profile, render_dng
from packshot.imaging.tiff import RATIONAL, SHORT, SRATIONAL, Tag
from tests import sample_files as sf

# The synthetic DNG's mosaic: a grey sweep whose camera values are its AsShotNeutral (0.5, 1, 2/3) x 6000,
# and a red product patch, both out of 16383 (its WhiteLevel).
WHITE_LEVEL = 16383
RED_CAMERA = (12000, 1500, 1000)
# The Canon EOS 6D's profile (Adobe Standard): ColorMatrix (XYZ -> camera) and ForwardMatrix (reference camera
# -> XYZ D50) for illuminant A and for D65.
CANON_6D = {
    "ColorMatrix A": (0.7546, -0.1435, -0.0929, -0.3846, 1.1488, 0.2692, -0.0332, 0.1209, 0.6370),
    "ColorMatrix D65": (0.7034, -0.0804, -0.1014, -0.4420, 1.2564, 0.2058, -0.0851, 0.1994, 0.5758),
    "ForwardMatrix A": (0.7763, 0.0065, 0.1815, 0.2364, 0.8351, -0.0715, -0.0059, -0.4228, 1.2538),
    "ForwardMatrix D65": (0.7464, 0.1044, 0.1135, 0.2648, 0.9173, -0.1820, 0.0113, -0.2154, 1.0292),
}


def ratios(values: Sequence[float] | np.ndarray) -> list[tuple[int, int]]:
    return [(round(v * 10000), 10000) for v in values]


def profile_of(*tags: Tag, **changes: Any) -> DngProfile:
    profile = read_dng_profile(sf.dng(64, 64, profile_tags=tags))
    assert profile is not None
    return dataclasses.replace(profile, **changes)


def camera(rgb: Sequence[float] | np.ndarray, size: int = 4) -> np.ndarray:
    """A flat patch of camera values given as fractions of the white level."""
    return np.tile(np.round(np.array(rgb) * 65535).astype(np.uint16), (size, size, 1))


def grey(profile: DngProfile, level: float) -> np.ndarray:
    """Camera values of a neutral at `level` of the brightest white the camera holds: the neutral scaled."""
    assert profile.neutral is not None
    neutral = np.array(profile.neutral)
    return camera(neutral / neutral.max() * level)


def linear(srgb16: np.ndarray) -> np.ndarray:
    """sRGB-encoded 16-bit -> linear light, per channel of the patch's first pixel."""
    v = srgb16[0, 0].astype(float) / 65535
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


# Two calibrations, so that the white the neutral names decides how the two are mixed.
CANON_6D_TAGS = (
    Tag(50721, SRATIONAL, ratios(CANON_6D["ColorMatrix A"])), Tag(50778, SHORT, [17]),
    Tag(50722, SRATIONAL, ratios(CANON_6D["ColorMatrix D65"])), Tag(50779, SHORT, [21]),
    Tag(50964, SRATIONAL, ratios(CANON_6D["ForwardMatrix A"])),
    Tag(50965, SRATIONAL, ratios(CANON_6D["ForwardMatrix D65"])),
)


@pytest.mark.parametrize("tags", [(), CANON_6D_TAGS], ids=["one ColorMatrix", "two ForwardMatrix"])
def test_the_as_shot_neutral_comes_out_grey_through_either_matrix(tags: tuple[Tag, ...]) -> None:
    profile = profile_of(*tags)
    for level in (0.02, 0.18, 0.7):
        out = render_dng(grey(profile, level), profile)[0, 0].astype(int)
        assert out.max() - out.min() <= 0.003 * out.max(), (level, out)


@pytest.mark.parametrize("tags", [(), CANON_6D_TAGS], ids=["one ColorMatrix", "two ForwardMatrix"])
def test_analog_balance_is_the_camera_s_own_gain_so_the_same_scene_develops_the_same(tags: tuple[Tag, ...]) -> None:
    # The same scene shot with analog gains (1.25, 1, 1.5): raw values and AsShotNeutral scale with them.
    gains = (1.25, 1.0, 1.5)
    width, height = 240, 200
    gained = sf.bayer(width, height).astype(float)
    gained[0::2, 0::2] *= gains[0]
    gained[1::2, 1::2] *= gains[2]
    neutral = np.array([0.5, 1.0, 2 / 3]) * gains
    plain = decode_image(sf.dng(width, height, profile_tags=tags), min_side=200)
    balanced = decode_image(sf.dng(width, height, cfa=np.round(gained).astype(np.uint16), profile_tags=[
        *tags, Tag(50727, RATIONAL, ratios(gains)), Tag(50728, RATIONAL, ratios(neutral))]), min_side=200)
    for y, x in ((10, 10), (height // 2, width // 2)):  # the grey sweep, the red patch
        assert np.abs(plain.pixels[y, x].astype(int) - balanced.pixels[y, x].astype(int)).max() <= 1


def test_mid_grey_lands_where_adobe_s_default_tone_curve_puts_it() -> None:
    profile = profile_of()
    # Adobe's default curve (no ProfileToneCurve) takes 18% grey to 38.8% (DNG SDK, dng_tone_curve_acr3_default).
    assert np.allclose(linear(render_dng(grey(profile, 0.18), profile)), 0.388, atol=0.002)


def test_a_linear_profile_tone_curve_leaves_scene_light_as_it_is() -> None:
    profile = profile_of(tone_curve=((0.0, 0.0), (1.0, 1.0)))
    for level in (0.05, 0.18, 0.6):
        assert np.allclose(linear(render_dng(grey(profile, level), profile)), level, rtol=0.01)


def test_an_output_referred_dng_gets_no_tone_curve_on_top() -> None:
    profile = profile_of(Tag(50879, SHORT, [1]))  # ColorimetricReference: output-referred
    assert np.allclose(linear(render_dng(grey(profile, 0.18), profile)), 0.18, rtol=0.01)


def test_baseline_exposure_multiplies_light_by_two_to_its_power() -> None:
    profile = profile_of(Tag(50730, SRATIONAL, ratios([1.0])))
    assert profile.exposure == 1.0
    brighter = render_dng(grey(profile, 0.1), profile)
    same_light_twice = render_dng(grey(profile, 0.2), dataclasses.replace(profile, exposure=0.0))
    assert np.allclose(brighter, same_light_twice, rtol=0.002)


def test_negative_baseline_exposure_darkens_the_mid_tones_but_keeps_white() -> None:
    profile = profile_of(Tag(50730, SRATIONAL, ratios([-1.0])))
    plain = dataclasses.replace(profile, exposure=0.0)
    assert render_dng(grey(profile, 0.18), profile)[0, 0, 1] < render_dng(grey(plain, 0.18), plain)[0, 0, 1] * 0.85
    assert render_dng(grey(profile, 1.0), profile)[0, 0].min() >= 65534


def turn(degrees: float, divisions: tuple[int, int, int] = (1, 6, 2)) -> HueSatTable:
    values, hues, sats = divisions
    deltas = np.empty((3, values * hues * sats), dtype=np.float32)
    deltas[0], deltas[1], deltas[2] = degrees, 1.0, 1.0
    return HueSatTable(divisions, deltas)


def test_a_hue_sat_map_turns_every_hue_by_its_shift() -> None:
    red = camera(np.array(RED_CAMERA) / WHITE_LEVEL)
    profile = profile_of()
    assert np.argmax(render_dng(red, profile)[0, 0]) == 0
    turned = dataclasses.replace(profile, hue_sat_maps=(turn(120), turn(120)))
    assert np.argmax(render_dng(red, turned)[0, 0]) == 1  # red + 120 degrees is green


def test_the_two_hue_sat_maps_are_mixed_by_the_temperature_of_the_as_shot_white() -> None:
    # Map 1 is for 3000 K and turns nothing, map 2 for 6000 K turns hues by 120 degrees. A white under
    # illuminant A (2856 K) uses map 1 alone, one under D65 (6504 K) map 2 alone.
    profile = profile_of()
    matrix = profile.color_matrices[0]
    red = camera(np.array(RED_CAMERA) / WHITE_LEVEL)
    for white_xyz, expected_turn in (((1.0985, 1.0, 0.3558), 0), ((0.9504, 1.0, 1.0888), 120)):
        neutral = matrix @ np.array(white_xyz)
        shot = dataclasses.replace(profile, color_matrices=(matrix, matrix), temperatures=(3000.0, 6000.0),
                                   neutral=tuple(neutral / neutral.max()), hue_sat_maps=(turn(0), turn(120)))
        one_map = dataclasses.replace(shot, hue_sat_maps=(turn(expected_turn), turn(expected_turn)))
        assert np.array_equal(render_dng(red, shot), render_dng(red, one_map))


def test_a_look_table_scales_value_as_if_the_light_were_that_much_dimmer() -> None:
    profile = profile_of()
    halving = HueSatTable((2, 6, 2), np.tile(np.array([[0.0], [1.0], [0.5]], dtype=np.float32), 24))
    for level in (0.05, 0.3):
        looked = render_dng(grey(profile, level), dataclasses.replace(profile, look_table=halving))
        assert np.allclose(looked, render_dng(grey(profile, level / 2), profile), rtol=0.002)


def test_the_look_s_point_curve_darkens_what_it_pulls_down() -> None:
    profile = profile_of()
    pulled = dataclasses.replace(profile, look_curve=((0.0, 0.0), (0.5, 0.35), (1.0, 1.0)))
    mid = grey(profile, 0.18)
    assert render_dng(mid, pulled)[0, 0, 1] < render_dng(mid, profile)[0, 0, 1] * 0.9
    white = grey(profile, 1.0)
    assert render_dng(white, pulled)[0, 0, 1] == render_dng(white, profile)[0, 0, 1]


# --- reading: tags as tifffile writes them (floats included), XMP, and files that lie

COLOR_MATRIX = (0.6722, -0.0635, -0.0963, -0.4287, 1.2460, 0.2028, -0.0908, 0.2162, 0.5668)


def tagged(*extra: tuple[int, int, int, Any], skip: Sequence[int] = ()) -> bytes:
    """A small TIFF with a DNG IFD0: DNGVersion, ColorMatrix1 (D65), AsShotNeutral, and `extra`."""
    tags = {
        50706: (1, 4, (1, 4, 0, 0)),
        50721: (10, 9, [v for r in ratios(COLOR_MATRIX) for v in r]),
        50778: (3, 1, 21),
        50728: (5, 3, (1, 2, 1, 1, 2, 3)),
    }
    for code, kind, count, value in extra:
        tags[code] = (kind, count, value)
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.zeros((8, 8, 3), np.uint8), extratags=[
        (code, kind, count, value, True) for code, (kind, count, value) in tags.items() if code not in skip])
    return buffer.getvalue()


def xmp(body: str) -> tuple[int, int, int, bytes]:
    data = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description>' + body
            + "</rdf:Description></rdf:RDF></x:xmpmeta>").encode()
    return (700, 1, len(data), data)


CURVE = "<crs:ToneCurvePV2012><rdf:Seq><rdf:li>0, 0</rdf:li><rdf:li>64, 40</rdf:li><rdf:li>255, 255</rdf:li>" \
        "</rdf:Seq></crs:ToneCurvePV2012>"


def test_the_look_curve_is_read_from_the_xmp_look_and_not_from_the_photographer_s_own_curve() -> None:
    looked = read_dng_profile(tagged(xmp(f'<crs:Look><rdf:Description crs:Name="Adobe Color">{CURVE}'
                                         "</rdf:Description></crs:Look>")))
    assert looked is not None and looked.look_curve == ((0, 0), (64 / 255, 40 / 255), (1, 1))
    edited = read_dng_profile(tagged(xmp(CURVE)))
    assert edited is not None and edited.look_curve is None


def test_float_hue_sat_maps_and_their_dimensions_are_read_in_value_hue_saturation_order() -> None:
    data = np.arange(2 * 3 * 2 * 3, dtype=np.float32)
    profile = read_dng_profile(tagged((50937, 4, 3, (3, 2, 2)), (50938, 11, data.size, data)))
    assert profile is not None and profile.hue_sat_maps is not None
    table = profile.hue_sat_maps[0]
    assert table.divisions == (2, 3, 2)
    assert table.deltas[:, 1].tolist() == [3.0, 4.0, 5.0]  # the second cell's hue shift, sat and value scale


def test_a_dng_without_a_usable_color_matrix_has_no_profile_and_libraw_colours_it() -> None:
    assert read_dng_profile(tagged(skip=[50721])) is None
    decoded = decode_image(sf.dng(240, 200, profile_tags=[Tag(50721, SRATIONAL, ratios([0.0] * 9))]), min_side=200)
    assert decoded.icc_profile is not None and "by LibRaw" in decoded.icc_profile


def test_a_camera_raw_that_is_not_a_dng_is_still_coloured_by_libraw_alone() -> None:
    decoded = decode_image(sf.nef())  # the same mosaic as the DNG, without DNG tags
    assert decoded.icc_profile is not None and decoded.icc_profile.startswith("NEF camera colour")
    assert "by LibRaw" in decoded.icc_profile


def test_a_dng_says_which_parts_of_its_profile_rendered_it() -> None:
    decoded = decode_image(sf.dng(240, 200, profile_tags=[*CANON_6D_TAGS, Tag(50730, SRATIONAL, ratios([0.5]))]),
                           min_side=200)
    assert decoded.icc_profile is not None
    assert "ForwardMatrix" in decoded.icc_profile and "BaselineExposure +0.50 EV" in decoded.icc_profile


BROKEN: dict[str, bytes] = {
    "a ColorMatrix of 8 numbers": tagged((50721, 10, 8, [1, 1] * 8)),
    "a rational over zero": tagged((50721, 10, 9, [1, 0] * 9)),
    "a hue/sat map shorter than its dimensions": tagged((50937, 4, 3, (90, 30, 1)),
                                                        (50938, 11, 12, np.ones(12, np.float32))),
    "a hue/sat map holding NaN": tagged((50937, 4, 3, (2, 2, 1)), (50938, 11, 12, np.full(12, np.nan, np.float32))),
    "an all-zero ColorMatrix": tagged((50721, 10, 9, [0, 1] * 9)),
    "a singular CameraCalibration": tagged((50723, 10, 9, [1, 1] + [0, 1] * 8)),
    "no TIFF at all": b"II*\0" + b"\xff" * 64,
    "nothing": b"",
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_a_broken_profile_is_no_profile(name: str) -> None:
    assert read_dng_profile(BROKEN[name]) is None


def test_a_hue_sat_map_claiming_billions_of_cells_is_ignored_without_allocating_them() -> None:
    started = time.perf_counter()
    profile = read_dng_profile(tagged((50937, 4, 3, (100_000, 100_000, 100)), (50938, 11, 12, np.ones(12, np.float32))))
    assert profile is not None and profile.hue_sat_maps is None
    assert time.perf_counter() - started < 2


def test_a_zero_in_the_as_shot_neutral_falls_back_to_a_daylight_white() -> None:
    profile = read_dng_profile(tagged((50728, 5, 3, (0, 1, 1, 1, 1, 1))))
    assert profile is not None and profile.neutral is None
    out = render_dng(camera((0.3, 0.3, 0.3)), profile)
    assert out.min() > 0


def test_an_xmp_of_looks_that_never_end_is_read_at_once() -> None:
    # A lazy regex over "<crs:Look" repeated without its end was quadratic: 80 KB of XMP took 10 s.
    started = time.perf_counter()
    profile = read_dng_profile(tagged(xmp("<crs:Look><crs:ToneCurvePV2012>" * 30_000)))
    assert profile is not None and profile.look_curve is None
    assert time.perf_counter() - started < 1
