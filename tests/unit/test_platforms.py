"""The platform rules file, its validation, client overrides, and the Adobe RGB profile print exports embed."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image, ImageCms

from packshot.imaging.icc import adobe_rgb_1998_profile
from packshot.platforms import PlatformRulesError, load_platforms, parse_overrides


def test_the_shipped_rules_load_and_carry_the_facts_values() -> None:
    rules = load_platforms()
    assert rules["zalando"].size == (1801, 2600) and rules["zalando"].formats == ("JPEG",)
    assert rules["walmart"].size == (2200, 2200) and rules["walmart"].max_bytes == 5_000_000
    assert rules["google_shopping"].formats == ("WEBP", "JPEG") and rules["google_shopping"].max_pixels == 64_000_000
    assert rules["print_catalog"].colour_space == "Adobe RGB (1998)" and rules["print_catalog"].dpi == 300
    assert rules["amazon_main"].naming == "{amazon_id}.MAIN.{ext}"
    assert rules["etsy"].min_shortest_side == 2000


def test_an_override_changes_only_the_fields_it_names() -> None:
    rules = load_platforms({"platforms": {"walmart": {"max_bytes": 2_000_000, "naming": "{sku}_{view}.{ext}"}}})
    assert rules["walmart"].max_bytes == 2_000_000 and rules["walmart"].naming == "{sku}_{view}.{ext}"
    assert rules["walmart"].size == (2200, 2200)
    assert load_platforms()["walmart"].max_bytes == 5_000_000  # the defaults are not changed for others


def test_a_client_adds_a_platform_by_extending_one() -> None:
    rules = load_platforms({"platforms": {"my_shop": {"extends": "shopify", "size": [1000, 1000],
                                                      "min_longest_side": 1000}}})
    assert rules["my_shop"].size == (1000, 1000) and rules["my_shop"].formats == ("JPEG",)
    assert rules["my_shop"].name == "my_shop"


@pytest.mark.parametrize(
    ("override", "field", "words"),
    [
        ({"zalando": {"size": [1801, 2000]}}, "platforms.zalando.aspect", "does not match size"),
        ({"shopify": {"formats": ["HEIC"]}}, "platforms.shopify.formats", "non-empty list"),
        ({"shopify": {"fill": 1.5}}, "platforms.shopify.fill", "(0, 1]"),
        ({"shopify": {"colour_space": "CMYK"}}, "platforms.shopify.colour_space", "one of"),
        ({"shopify": {"naming": "{title}.{ext}"}}, "platforms.shopify.naming", "unknown placeholder"),
        ({"shopify": {"naming": "{sku}.jpg"}}, "platforms.shopify.naming", "{ext}"),
        ({"shopify": {"max_bytes": "20MB"}}, "platforms.shopify.max_bytes", "whole number"),
        ({"shopify": {"colour": "sRGB"}}, "platforms.shopify.colour", "unknown field"),
        ({"brand_new": {"formats": ["JPEG"]}}, "platforms.brand_new.size", "missing"),
        ({"x": {"extends": "nope"}}, "platforms.x.extends", "no platform named"),
        ({"amazon_main": {"pure_white_required": "yes"}}, "platforms.amazon_main.pure_white_required", "true or false"),
    ],
)
def test_a_bad_field_is_named_in_the_error(override: dict, field: str, words: str) -> None:
    with pytest.raises(PlatformRulesError) as caught:
        load_platforms({"platforms": override})
    assert caught.value.field == field
    assert words in caught.value.reason


def test_overrides_parse_from_json_and_yaml() -> None:
    as_json = parse_overrides(json.dumps({"platforms": {"etsy": {"max_bytes": 900000}}}), "rules.json")
    as_yaml = parse_overrides("platforms:\n  etsy:\n    max_bytes: 900000\n", "s3://b/rules.yaml")
    assert as_json == as_yaml
    assert load_platforms(as_yaml)["etsy"].max_bytes == 900_000


def test_an_overrides_file_that_does_not_parse_says_which_file() -> None:
    with pytest.raises(PlatformRulesError, match="rules.json does not parse"):
        parse_overrides("{not json", "rules.json")
    with pytest.raises(PlatformRulesError, match="must hold a mapping"):
        parse_overrides("[1, 2]", "rules.json")


def test_the_adobe_rgb_profile_loads_and_maps_srgb_primaries_where_adobe_rgb_puts_them() -> None:
    adobe = ImageCms.ImageCmsProfile(io.BytesIO(adobe_rgb_1998_profile()))
    assert ImageCms.getProfileDescription(adobe).strip() == "Adobe RGB (1998)"
    # The D50-adapted red colorant every Adobe RGB (1998) profile carries.
    assert adobe.profile.red_colorant[0] == pytest.approx((0.6097, 0.3111, 0.0195), abs=0.0005)
    transform = ImageCms.buildTransform(ImageCms.createProfile("sRGB"), adobe, "RGB", "RGB",
                                        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)
    image = Image.new("RGB", (4, 1))
    for x, colour in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)]):
        image.putpixel((x, 0), colour)
    out = ImageCms.applyTransform(image, transform)
    got = [out.getpixel((x, 0)) for x in range(4)]
    expected = [(219, 0, 0), (144, 255, 60), (0, 0, 250), (255, 255, 255)]
    for pixel, wanted in zip(got, expected, strict=True):
        assert all(abs(a - b) <= 2 for a, b in zip(pixel, wanted, strict=True)), (got, expected)
