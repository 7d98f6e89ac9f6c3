"""Per-image metadata from a batch manifest (CSV or JSON) or S3 object metadata, with defaults."""

from __future__ import annotations

import json

import pytest

from packshot.manifest import (
    ImageMetadata,
    ManifestError,
    batch_of,
    from_object_metadata,
    is_manifest_key,
    manifest_keys,
    parse_manifest,
    resolve,
)

CSV = b"""filename,sku,asin,category,client,platforms,title
*,,,,Acme Studio,amazon_main;shopify,
mug.jpg,PS-1,b000test01,Home,,,"Mug, blue"
ring.jpg,PS-2,,jewelry,Other Client,amazon_main,Ring
"""


def test_a_csv_manifest_gives_each_file_its_row_over_the_batch_defaults() -> None:
    manifest = parse_manifest(CSV, "batch/manifest.csv")
    mug = manifest.lookup("batch/mug.jpg")
    assert mug == ImageMetadata(category="home", sku="PS-1", asin="B000TEST01", client="Acme Studio",
                                platforms=("amazon_main", "shopify"))
    ring = manifest.lookup("batch/ring.jpg")
    assert (ring.client, ring.platforms, ring.category) == ("Other Client", ("amazon_main",), "jewelry")
    assert manifest.lookup("batch/unlisted.jpg") == ImageMetadata(client="Acme Studio",
                                                                  platforms=("amazon_main", "shopify"))


def test_a_json_manifest_with_defaults_and_images_reads_like_the_csv() -> None:
    document = {"defaults": {"client": "Acme Studio", "platforms": ["amazon_main"]},
                "images": {"mug.jpg": {"sku": "PS-1", "category": "home"}}}
    manifest = parse_manifest(json.dumps(document).encode(), "manifest.json")
    assert manifest.lookup("mug.jpg") == ImageMetadata(category="home", sku="PS-1", client="Acme Studio",
                                                       platforms=("amazon_main",))


def test_a_json_list_manifest_is_accepted() -> None:
    manifest = parse_manifest(b'[{"filename": "a.jpg", "asin": "B0TEST0001"}]', "manifest.json")
    assert manifest.lookup("a.jpg").asin == "B0TEST0001"


@pytest.mark.parametrize("data,name,message", [
    (b"sku,category\nPS-1,home\n", "manifest.csv", "no 'filename' column"),
    (b"{not json", "manifest.json", "not valid JSON"),
    (b'{"images": 3}', "manifest.json", "expected a list"),
    (b"\xff\xfe\x00bad", "manifest.csv", "not UTF-8"),
    (b"filename,sku\n,PS-1\n", "manifest.csv", "row 1 has no filename"),
])
def test_a_broken_manifest_is_refused_with_a_reason(data: bytes, name: str, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        parse_manifest(data, name)


def test_object_metadata_overrides_the_manifest_which_overrides_the_deployment_defaults() -> None:
    manifest = parse_manifest(CSV, "manifest.csv")
    resolved = resolve("mug.jpg", manifest, {"category": "Kitchen", "platforms": "shopify"}, ("amazon_main",))
    assert resolved == ImageMetadata(category="kitchen", sku="PS-1", asin="B000TEST01", client="Acme Studio",
                                     platforms=("shopify",))
    assert resolve("x.jpg", None, {}, ("amazon_main", "shopify")) == ImageMetadata(
        platforms=("amazon_main", "shopify"))


def test_object_metadata_is_read_with_or_without_the_amz_prefix() -> None:
    meta = from_object_metadata({"x-amz-meta-sku": "PS-9", "Client": "Acme", "asin": "b0test0009"})
    assert (meta.sku, meta.client, meta.asin) == ("PS-9", "Acme", "B0TEST0009")


def test_manifests_are_recognised_by_name_and_looked_for_beside_the_photo() -> None:
    assert is_manifest_key("shoot-7/manifest.csv") and is_manifest_key("MANIFEST.JSON")
    assert not is_manifest_key("shoot-7/manifest.csv.jpg")
    assert manifest_keys("shoot-7/a/mug.jpg") == ["shoot-7/a/manifest.csv", "shoot-7/a/manifest.json"]
    assert manifest_keys("mug.jpg") == ["manifest.csv", "manifest.json"]
    assert (batch_of("shoot-7/a/mug.jpg"), batch_of("mug.jpg")) == ("shoot-7/a", "")


# --- each row checked against the declared schema; a bad row costs its own photo only


def rejected_reason(manifest_data: bytes, name: str, key: str) -> str:
    from packshot.manifest import ManifestRowError

    manifest = parse_manifest(manifest_data, name)
    with pytest.raises(ManifestRowError) as caught:
        manifest.lookup(key)
    return caught.value.reason


def json_rows(*rows: object) -> bytes:
    return json.dumps(list(rows)).encode()


def test_a_one_element_list_is_that_value_and_the_jewellery_category_survives() -> None:
    manifest = parse_manifest(json_rows({"filename": "ring.jpg", "category": ["jewelry"]}), "manifest.json")
    assert manifest.lookup("ring.jpg").category == "jewelry"


def test_a_list_of_two_for_a_single_valued_field_rejects_that_row_naming_row_and_column() -> None:
    data = json_rows({"filename": "mug.jpg", "sku": "PS-1"}, {"filename": "ring.jpg", "category": ["jewelry", "home"]})
    reason = rejected_reason(data, "manifest.json", "ring.jpg")
    assert "row 2" in reason and "category" in reason and "one value" in reason
    assert parse_manifest(data, "manifest.json").lookup("mug.jpg").sku == "PS-1"


@pytest.mark.parametrize("value,words", [
    (5, "a number"),
    ({"a": 1}, "an object"),
    (True, "true/false"),
    ([[["amazon_main"]]], "nested"),
    (["amazon_main", "no such place!"], "not a platform name"),
])
def test_a_wrong_typed_platforms_field_rejects_only_its_row(value: object, words: str) -> None:
    data = json_rows({"filename": "a.jpg", "platforms": value}, {"filename": "b.jpg", "platforms": ["shopify"]})
    reason = rejected_reason(data, "manifest.json", "a.jpg")
    assert "row 1" in reason and "platforms" in reason and words in reason, reason
    assert parse_manifest(data, "manifest.json").lookup("b.jpg").platforms == ("shopify",)


def test_unknown_platforms_are_refused_when_the_known_ones_are_given() -> None:
    data = json_rows({"filename": "a.jpg", "platforms": ["amazon_main", "etsyy"]})
    manifest = parse_manifest(data, "manifest.json", known_platforms={"amazon_main", "etsy"})
    with pytest.raises(Exception, match="etsyy"):
        manifest.lookup("a.jpg")


def test_an_over_long_field_rejects_only_its_row() -> None:
    data = b"filename,sku,category\na.jpg," + b"X" * 5000 + b",home\nb.jpg,PS-2,home\n"
    reason = rejected_reason(data, "manifest.csv", "a.jpg")
    assert "row 1" in reason and "sku" in reason and "5000 characters" in reason
    assert parse_manifest(data, "manifest.csv").lookup("b.jpg").sku == "PS-2"


def test_a_deeply_nested_field_rejects_only_its_row_and_the_rest_is_read() -> None:
    deep = "[" * 5000 + "]" * 5000
    text = '[{"filename": "a.jpg", "category": ' + deep + '}, {"filename": "b.jpg", "category": "home"}]'
    manifest = parse_manifest(text.encode(), "manifest.json")
    assert manifest.lookup("b.jpg").category == "home"
    with pytest.raises(Exception, match="row 1"):
        manifest.lookup("a.jpg")


def test_a_category_written_as_a_python_list_in_a_csv_is_refused_not_made_a_category() -> None:
    reason = rejected_reason(b"filename,category\nring.jpg,['jewelry']\n", "manifest.csv", "ring.jpg")
    assert "row 1" in reason and "category" in reason


def test_an_unterminated_quote_is_reported_and_photos_it_may_have_swallowed_are_rejected() -> None:
    data = b'filename,sku,title\nmug.jpg,PS-1,"Mug\nring.jpg,PS-2,Ring\nvase.jpg,PS-3,Vase\n'
    manifest = parse_manifest(data, "manifest.csv")
    assert manifest.problems and "line 2" in manifest.problems[0] and "quote" in manifest.problems[0]
    reason = rejected_reason(data, "manifest.csv", "ring.jpg")
    assert "quote" in reason and "line 2" in reason


def test_rows_before_an_unterminated_quote_are_used() -> None:
    data = b'filename,sku,title\nbox.jpg,PS-0,Box\nmug.jpg,PS-1,"Mug\nring.jpg,PS-2,Ring\n'
    assert parse_manifest(data, "manifest.csv").lookup("box.jpg").sku == "PS-0"


def test_two_different_rows_for_one_file_reject_it_naming_both_rows() -> None:
    data = b"filename,sku\nmug.jpg,PS-1\nvase.jpg,PS-3\nmug.jpg,PS-2\n"
    reason = rejected_reason(data, "manifest.csv", "mug.jpg")
    assert "rows 1 and 3" in reason and "mug.jpg" in reason
    assert parse_manifest(data, "manifest.csv").lookup("vase.jpg").sku == "PS-3"


def test_the_same_row_twice_is_harmless() -> None:
    data = b"filename,sku\nmug.jpg,PS-1\nmug.jpg,PS-1\n"
    assert parse_manifest(data, "manifest.csv").lookup("mug.jpg").sku == "PS-1"


def test_gtin_ean_upc_and_isbn_columns_are_read_and_their_check_digits_checked() -> None:
    data = b"filename,gtin,ean,upc,isbn\na.jpg,00012345678905,4006381333931,036000291452,9780306406157\n" \
           b"b.jpg,00012345678906,,,\n"
    entry = parse_manifest(data, "manifest.csv").lookup("a.jpg")
    assert (entry.gtin, entry.ean, entry.upc, entry.isbn) == ("00012345678905", "4006381333931", "036000291452",
                                                              "9780306406157")
    assert "check digit" in rejected_reason(data, "manifest.csv", "b.jpg")
    assert entry.as_record()["gtin"] == "00012345678905"
