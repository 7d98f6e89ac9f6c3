"""Every platform in the rules file: a real photo exported, and the decoded file checked against the rules."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest
from PIL import Image, ImageCms

from packshot.imaging.export import JPEG_QUALITY, PLATFORMS, render, verify_export
from packshot.imaging.finish import crop_to_fill
from packshot.imaging.icc import adobe_rgb_1998_profile
from packshot.platforms import FORMATS, default_document
from tests.conftest import EXAMPLES


@pytest.fixture(scope="module")
def sneaker() -> tuple[np.ndarray, np.ndarray]:
    """The red sneaker example and its exact mask, finished the way the pipeline does (85% fill)."""
    photo = Image.open(EXAMPLES / "red_sneaker.jpg").convert("RGB")
    mask = Image.open(EXAMPLES / "masks" / "red_sneaker.png").convert("L")
    # Half size keeps the test quick; platforms with a minimum upscale it, as they would a small photo.
    size = (photo.width // 2, photo.height // 2)
    rgb = np.array(photo.resize(size, Image.Resampling.LANCZOS))
    alpha = np.array(mask.resize(size, Image.Resampling.LANCZOS))
    return crop_to_fill(rgb, alpha, fill=0.85)


def test_the_rules_file_covers_the_platforms_the_issue_names() -> None:
    wanted = {"amazon_main", "amazon_secondary", "shopify", "google_shopping", "ebay", "walmart", "etsy",
              "zalando", "print_catalog"}
    assert wanted <= set(default_document()["platforms"]) == set(PLATFORMS)


CASES = [(name, fmt) for name, spec in sorted(PLATFORMS.items()) for fmt in spec.formats]


@pytest.mark.parametrize(("platform", "fmt"), CASES, ids=[f"{p}-{f}" for p, f in CASES])
def test_each_platform_file_decodes_to_what_its_rules_say(sneaker, platform: str, fmt: str) -> None:
    spec = PLATFORMS[platform]
    rgb, alpha = sneaker

    rendered = render(rgb, alpha, spec, fmt)

    check = verify_export(rendered.data, spec, rendered.alpha, fmt)
    assert check.ok, check.problems
    # The same facts read here directly, so a verifier bug cannot hide a bad file.
    image = Image.open(io.BytesIO(rendered.data))
    image.load()
    assert image.format == fmt and rendered.extension == FORMATS[fmt]
    assert len(rendered.data) <= spec.max_bytes
    width, height = image.size
    if spec.size:
        assert image.size == spec.size
    assert spec.min_longest_side <= max(width, height) <= spec.max_longest_side
    assert min(width, height) >= spec.min_shortest_side
    profile = ImageCms.ImageCmsProfile(io.BytesIO(image.info["icc_profile"]))
    description = ImageCms.getProfileDescription(profile)
    assert ("Adobe RGB (1998)" if spec.colour_space == "Adobe RGB (1998)" else "sRGB") in description
    if spec.dpi:
        assert tuple(round(float(d)) for d in image.info["dpi"]) == (spec.dpi, spec.dpi)
    pixels = np.asarray(image)
    if spec.background == "transparent":
        assert image.mode == "RGBA" and pixels[0, 0, 3] == 0
    else:
        assert image.mode == "RGB"
        corners = pixels[[0, 0, -1, -1], [0, -1, 0, -1]]
        assert (corners == 255).all()
    if spec.fill is not None:
        assert check.fill == pytest.approx(spec.fill, abs=0.03)


def test_zalando_gets_the_1_to_1_44_frame_with_the_product_still_at_85_percent(sneaker) -> None:
    spec = PLATFORMS["zalando"]
    rendered = render(*sneaker, spec)
    assert (rendered.width, rendered.height) == (1801, 2600)
    assert verify_export(rendered.data, spec, rendered.alpha).fill == pytest.approx(0.85, abs=0.01)


def test_print_files_are_adobe_rgb_so_srgb_red_becomes_adobe_red() -> None:
    spec = dataclasses.replace(PLATFORMS["print_catalog"], min_longest_side=8)
    rgb = np.zeros((16, 16, 3), np.uint8)
    rgb[..., 0] = 255
    alpha = np.full((16, 16), 255, np.uint8)
    rendered = render(rgb, alpha, spec)
    image = Image.open(io.BytesIO(rendered.data))
    assert image.format == "TIFF" and image.info["icc_profile"] == adobe_rgb_1998_profile()
    red = np.asarray(image)[8, 8]
    # sRGB red sits inside Adobe RGB: about (219, 0, 0) there.
    assert abs(int(red[0]) - 219) <= 2 and red[1] <= 2 and red[2] <= 2


def test_a_print_file_tagged_srgb_fails_verification() -> None:
    spec = PLATFORMS["print_catalog"]
    buffer = io.BytesIO()
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.new("RGB", (1500, 1500), (255, 255, 255)).save(buffer, format="TIFF", icc_profile=srgb, dpi=(72, 72))
    check = verify_export(buffer.getvalue(), spec)
    assert not check.ok
    text = " | ".join(check.problems)
    assert "is not Adobe RGB (1998)" in text and "needs 300 ppi" in text


def test_a_file_without_a_profile_fails_verification() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 1200), (255, 255, 255)).save(buffer, format="JPEG", quality=92, subsampling=0)
    check = verify_export(buffer.getvalue(), PLATFORMS["amazon_secondary"])
    assert check.problems == ("no ICC profile embedded; amazon_secondary needs sRGB",)


def noisy(side: int = 1200) -> tuple[np.ndarray, np.ndarray]:
    """Pure noise compresses worst of all: the deliberately oversize case."""
    rng = np.random.default_rng(7)
    rgb = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
    alpha = np.zeros((side, side), np.uint8)
    margin = side // 14
    alpha[margin:-margin, margin:-margin] = 255
    return rgb, alpha


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_an_oversize_file_is_brought_under_the_limit_by_lowering_quality(fmt: str) -> None:
    unlimited = dataclasses.replace(PLATFORMS["google_shopping"], min_longest_side=1200, max_bytes=10**9)
    rgb, alpha = noisy()
    first = render(rgb, alpha, unlimited, fmt)
    spec = dataclasses.replace(unlimited, max_bytes=int(len(first.data) * 0.6))
    assert first.quality == JPEG_QUALITY and len(first.data) > spec.max_bytes  # oversize at the start

    rendered = render(rgb, alpha, spec, fmt)

    assert len(rendered.data) <= spec.max_bytes
    assert rendered.quality is not None and rendered.quality < JPEG_QUALITY and not rendered.downscaled
    assert (rendered.width, rendered.height) == (first.width, first.height)
    assert verify_export(rendered.data, spec, rendered.alpha, fmt).ok


def test_when_quality_alone_cannot_fit_the_frame_is_made_smaller_but_stays_legal() -> None:
    spec = dataclasses.replace(PLATFORMS["amazon_secondary"], min_longest_side=500, max_bytes=150_000)
    rgb, alpha = noisy()

    rendered = render(rgb, alpha, spec)

    assert len(rendered.data) <= spec.max_bytes
    assert rendered.downscaled and 500 <= max(rendered.width, rendered.height) < 1200
    assert verify_export(rendered.data, spec, rendered.alpha).ok


def test_a_limit_no_legal_frame_can_meet_is_reported_not_hidden() -> None:
    spec = dataclasses.replace(PLATFORMS["walmart"], max_bytes=20_000)  # fixed 2200x2200: cannot shrink
    rgb, alpha = noisy(600)
    rendered = render(rgb, alpha, spec)
    check = verify_export(rendered.data, spec, rendered.alpha)
    assert not check.ok and any("byte limit" in p for p in check.problems)


def test_pure_white_survives_the_quality_search_on_a_white_background_platform() -> None:
    spec = dataclasses.replace(PLATFORMS["amazon_main"], max_bytes=400_000)
    rgb, alpha = noisy()
    rendered = render(rgb, alpha, spec)
    assert len(rendered.data) <= spec.max_bytes
    check = verify_export(rendered.data, spec, rendered.alpha)
    assert check.ok, check.problems
