"""Large metadata stays in DynamoDB and S3: no state the pipeline produces comes near Step Functions' 256 KiB."""

from __future__ import annotations

import json
from pathlib import Path

from packshot.manifest import FIELDS
from tests.conftest import EXAMPLES

STATE_LIMIT = 256 * 1024


def state_payloads(aws, execution_arn: str) -> list[str]:
    sfn = aws.client("stepfunctions")
    payloads = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
        for event in page["events"]:
            for details in (v for k, v in event.items() if k.endswith("EventDetails") and isinstance(v, dict)):
                payloads += [details[f] for f in ("input", "output") if isinstance(details.get(f), str)]
    return payloads


def test_a_huge_manifest_field_gives_a_rejected_record_and_every_state_stays_small(embedded, tmp_path: Path) -> None:
    aws = embedded
    batch = tmp_path / "big"
    batch.mkdir()
    for name in ("huge.jpg", "largest.jpg"):
        (batch / name).write_bytes((EXAMPLES / "box_on_white.jpg").read_bytes())
    def longest(name: str, letter: str) -> str:  # the longest value the manifest takes for the field
        return letter * FIELDS[name].max_length

    rows = ["filename,sku,client,category,platforms",
            f"huge.jpg,{'x' * 300_000},acme,home,amazon_main",
            f"largest.jpg,{longest('sku', 's')},{longest('client', 'c')},{longest('category', 'h')},"
            f"{' '.join(['shopify'] * (FIELDS['platforms'].many or 1))}"]
    (batch / "manifest.csv").write_text("\n".join(rows) + "\n")
    aws.upload([batch / "manifest.csv"], tmp_path)
    keys = aws.upload([batch / "huge.jpg", batch / "largest.jpg"], tmp_path)

    aws.wait(keys, timeout_s=300)
    records = aws.records_by_key()

    huge = records["big/huge.jpg"]
    assert huge["status"] == "rejected", huge
    assert "column sku" in huge["reasons"][0] and "300000 characters" in huge["reasons"][0]
    assert records["big/largest.jpg"]["status"] in {"exported", "needs_review"}, records["big/largest.jpg"]
    executions = aws.executions()
    assert [e["status"] for e in executions if e["status"] != "RUNNING"] and all(
        e["status"] in {"SUCCEEDED", "RUNNING"} for e in executions)
    sizes = [len(p.encode("utf-8")) for e in executions for p in state_payloads(aws, e["executionArn"])]
    assert sizes and max(sizes) < STATE_LIMIT / 8, max(sizes)  # far below the limit, not just under it
    assert not aws.runtime.errors
    json.dumps(records)  # the records themselves stayed storable (DynamoDB items are at most 400 KB)
