"""Delivered file names: platform schemes from metadata, safe on every file system, unique in a delivery."""

from __future__ import annotations

import pytest

from packshot.naming import AMAZON_NAME, MAX_NAME_LENGTH, file_name, safe_filename, unique_names
from packshot.platforms import load_platforms

PLATFORMS = load_platforms()


def test_amazon_main_is_named_id_dot_main_from_the_asin() -> None:
    name = file_name(PLATFORMS["amazon_main"].naming, {"asin": "B00TEST123", "sku": "PS-1"}, "shoot/a.jpg",
                     "amazon_main", "jpg")
    assert name.name == "B00TEST123.MAIN.jpg" and name.note == ""


def test_amazon_secondary_uses_the_variant_or_pt01_and_an_ean_when_there_is_no_asin() -> None:
    template = PLATFORMS["amazon_secondary"].naming
    assert file_name(template, {"ean": "4006381333931"}, "a.jpg", "amazon_secondary", "jpg").name == \
        "4006381333931.PT01.jpg"
    assert file_name(template, {"asin": "B0X", "variant": "pt03"}, "a.jpg", "amazon_secondary", "jpg").name == \
        "B0X.PT03.jpg"


def test_walmart_is_named_after_the_gtin_and_accepts_a_upc() -> None:
    template = PLATFORMS["walmart"].naming
    assert file_name(template, {"gtin": "00012345678905"}, "a.jpg", "walmart", "jpg").name == "00012345678905.jpg"
    assert file_name(template, {"upc": "012345678905"}, "a.jpg", "walmart", "jpg").name == "012345678905.jpg"


def test_a_missing_id_falls_back_to_the_source_name_and_says_why() -> None:
    name = file_name(PLATFORMS["amazon_main"].naming, {"sku": "PS-1"}, "shoot 01/Red Shoe.jpg", "amazon_main",
                     "jpg")
    assert name.name == "shoot-01_Red-Shoe.jpg"
    assert "no asin, ean, upc or isbn" in name.note and "amazon_main" in name.note


def test_a_malformed_gtin_is_not_used() -> None:
    name = file_name("{gtin}.{ext}", {"gtin": "12-34"}, "a.jpg", "walmart", "jpg")
    assert name.name == "a.jpg" and "not 8, 12, 13 or 14 digits" in name.note


def test_a_client_template_uses_sku_and_view() -> None:
    name = file_name("{sku}_{view}.{ext}", {"sku": "PS 1001/A", "view": "front"}, "a.jpg", "shopify", "jpg")
    assert name.name == "PS-1001-A_front.jpg"


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("../../etc/passwd.jpg", "etc-passwd.jpg"),
        ("a/b\\c:d*e?.jpg", "a-b-c-d-e.jpg"),
        ("tab\there\x00.jpg", "tab-here.jpg"),
        ("CON.jpg", "_CON.jpg"),
        ("lpt1.MAIN.jpg", "_lpt1.MAIN.jpg"),
        ("Crème brûlée.jpg", "Creme-brulee.jpg"),
        ("...jpg", "image.jpg"),
        ("-.jpg", "image.jpg"),
        ("", "image"),
    ],
)
def test_names_are_safe_on_any_file_system(raw: str, safe: str) -> None:
    assert safe_filename(raw) == safe


def test_long_names_are_cut_but_keep_their_extension() -> None:
    name = safe_filename("x" * 500 + ".webp")
    assert len(name) == MAX_NAME_LENGTH and name.endswith(".webp")


def test_collisions_get_a_deterministic_suffix_ignoring_case() -> None:
    assert unique_names(["a.jpg", "A.jpg", "a.jpg", "b.jpg"]) == ["a.jpg", "A_2.jpg", "a_3.jpg", "b.jpg"]


def test_amazon_secondary_collisions_take_the_next_free_pt_number() -> None:
    names = unique_names(["B0X.PT01.jpg", "B0X.PT01.jpg", "B0X.PT02.jpg"])
    assert names == ["B0X.PT01.jpg", "B0X.PT02.jpg", "B0X.PT03.jpg"]


def test_two_main_images_for_one_asin_get_valid_amazon_names() -> None:
    names = unique_names(["B0X.MAIN.jpg", "B0X.MAIN.jpg", "b0x.main.jpg", "B0Y.MAIN.jpg"])
    assert names == ["B0X.MAIN.jpg", "B0X.PT01.jpg", "b0x.PT02.jpg", "B0Y.MAIN.jpg"]
    assert all(AMAZON_NAME.match(n) for n in names if n)


def test_a_tenth_image_for_one_asin_gets_no_name_rather_than_an_invalid_one() -> None:
    names = unique_names(["B0X.MAIN.jpg"] * 10 + ["B0X.SWCH.jpg", "B0X.SWCH.jpg"])
    assert names[:9] == ["B0X.MAIN.jpg"] + [f"B0X.PT0{n}.jpg" for n in range(1, 9)]
    assert names[9] is None  # Amazon takes MAIN and PT01-PT08: there is no valid name left
    assert names[10:] == ["B0X.SWCH.jpg", None]
