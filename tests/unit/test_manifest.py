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
