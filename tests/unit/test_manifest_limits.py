"""The batch manifest is client data: its size is checked before it is downloaded, its fields before they travel."""

from __future__ import annotations

import pytest

from packshot.manifest import MAX_MANIFEST_BYTES
from tests import sample_files as sf
from tests.unit.test_preprocess_stage import INPUT, run_preprocess


def test_a_manifest_over_the_limit_is_never_downloaded_and_the_record_says_why() -> None:
    huge = b"filename,sku\n" + b"mug.jpg," + b"x" * MAX_MANIFEST_BYTES + b"\n"

    state, store, records = run_preprocess("shoot/mug.jpg", sf.jpeg(), extra={"shoot/manifest.csv": huge})

    assert (INPUT, "shoot/manifest.csv") not in store.reads  # only its HeadObject size was read
    record = records.items["img-1"]
    assert record["status"] == "processing"  # the photo goes on with object metadata and defaults
    assert record["metadata_notes"][0].startswith("manifest ignored: shoot/manifest.csv is")
    assert f"over the {MAX_MANIFEST_BYTES:,} byte limit" in record["metadata_notes"][0]


def test_a_manifest_field_longer_than_the_csv_module_s_default_limit_is_read_not_crashed_on() -> None:
    from packshot.manifest import FIELDS, ManifestRowError, parse_manifest

    manifest = parse_manifest(b"filename,sku\nmug.jpg," + b"x" * 300_000 + b"\n", "shoot/manifest.csv")

    # Read whole (csv's own limit is 131,072), then its row is refused with a reason naming row and column.
    with pytest.raises(ManifestRowError, match=f"row 1, column sku: 300000 characters is over the "
                                               f"{FIELDS['sku'].max_length} it may have"):
        manifest.lookup("shoot/mug.jpg")
