"""Each file in events/ fed to its handler on the embedded AWS, as `sam local invoke -e` would."""

from __future__ import annotations

import io
import json

import numpy as np
from PIL import Image

from packshot.adapters.records import RecordsTable
from packshot.delivery import batch_slug
from tests.conftest import EVENTS, EXAMPLES

STAGES = ["preprocess", "classify", "cutout", "finish", "export"]
# Functions a person invokes, not the state machine.
ON_DEMAND = ["deliver"]
# Invoked by the state machine with a task token (enqueue), and by reviewers over a Function URL (list, decide).
REVIEW = ["review", "review_api"]
# Invoked by a schedule (EventBridge); the embedded AWS has no clock, so tests invoke it.
SCHEDULED = ["backlog"]
# Invoked by an EventBridge rule on the state machine's execution status changes.
RULES = ["execution_ended"]


def load_event(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text())


def invoke(aws, logical: str, event: dict) -> dict:
    resp = aws.client("lambda").invoke(FunctionName=aws.physical(logical), Payload=json.dumps(event).encode())
    payload = json.loads(resp["Payload"].read())
    assert "FunctionError" not in resp, payload
    return payload


def test_every_event_file_is_fed_to_a_handler_here() -> None:
    assert sorted(p.stem for p in EVENTS.glob("*.json")) == sorted(["ingest", *STAGES, *ON_DEMAND, *REVIEW, *SCHEDULED,
                                                                    *RULES])


def test_the_ingest_event_starts_one_execution_and_acknowledges_the_test_event(embedded_without_event_sources):
    aws = embedded_without_event_sources
    event = load_event("ingest")
    s3_event = json.loads(event["Records"][0]["body"])["Records"][0]["s3"]
    key = "shoot 01/box_on_white.jpg"  # the event's key arrives URL-encoded ('+' for the space)
    assert s3_event["object"]["key"] == "shoot+01/box_on_white.jpg"
    aws.client("s3").put_object(Bucket=aws.input_bucket, Key=key, Body=(EXAMPLES / "box_on_white.jpg").read_bytes())

    result = invoke(aws, "IngestFunction", event)

    assert result == {"batchItemFailures": []}
    executions = aws.executions()
    assert len(executions) == 1
    records = aws.records_by_key()
    assert set(records) == {key}
    assert records[key]["image_id"] == executions[0]["name"]


def test_the_stage_events_run_in_order_and_each_leaves_its_mark_on_the_record(embedded_without_event_sources):
    aws = embedded_without_event_sources
    state = load_event("preprocess")
    s3 = aws.client("s3")
    put = s3.put_object(Bucket=state["bucket"], Key=state["key"], Body=(EXAMPLES / "box_on_white.jpg").read_bytes())
    table = RecordsTable(aws.records_table, aws.client("dynamodb"))
    table.create_if_absent({"image_id": state["image_id"], "source_key": state["key"], "status": "received"})
    # The sample events name version v1 of a made-up upload; a stage reads exactly the version it is given.
    upload = {"version_id": put["VersionId"], "etag": put["ETag"].strip('"')}

    out = invoke(aws, "PreprocessFunction", {**load_event("preprocess"), **upload})
    assert out["master_key"] == load_event("classify")["master_key"]
    master = Image.open(io.BytesIO(s3.get_object(Bucket=aws.work_bucket, Key=out["master_key"])["Body"].read()))
    assert master.mode == "RGB" and max(master.size) >= 1000

    out = invoke(aws, "ClassifyFunction", load_event("classify"))
    assert out["route"] in {"simple", "medium", "complex"}
    assert table.get(state["image_id"])["route"] == out["route"]

    out = invoke(aws, "CutoutFunction", load_event("cutout"))
    assert out["cutout_key"] == load_event("finish")["cutout_key"]
    cutout = Image.open(io.BytesIO(s3.get_object(Bucket=aws.work_bucket, Key=out["cutout_key"])["Body"].read()))
    assert cutout.mode == "RGBA" and cutout.size == master.size

    out = invoke(aws, "FinishFunction", load_event("finish"))
    record = table.get(state["image_id"])
    assert 0 <= record["qc_score"] <= 100
    assert set(record["qc_parts"]) == {"background", "edge_quality", "product_fill", "colour"}
    assert out["final_key"] == load_event("export")["final_key"]

    out = invoke(aws, "ExportFunction", {**load_event("export"), **upload})
    record = table.get(state["image_id"])
    assert set(record["exports"]) == {"amazon_main", "shopify"}
    for key in record["exports"].values():
        data = s3.get_object(Bucket=aws.export_bucket, Key=key)["Body"].read()
        pixels = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        assert (pixels[:4, :, :] == 255).all() and (pixels[:, :4, :] == 255).all()


def test_the_cutout_handler_loads_its_model_from_the_s3_object_the_model_uri_parameter_names(
    model_file, tmp_path, monkeypatch
):
    import warnings

    from packshot.local.embedded import EmbeddedAws
    from packshot.models.catalog import FAMILIES

    INT8_FILENAME = FAMILIES["u2netp-int8"].file.filename  # noqa: N806

    warnings.filterwarnings("ignore", message="No application metrics to publish")
    uri = f"s3://studio-models/cutout/v2/{INT8_FILENAME}"
    monkeypatch.setenv("MODEL_CACHE_DIR", str(tmp_path))
    with EmbeddedAws(log_level="ERROR", event_sources=False, parameters={"ModelUri": uri}) as aws:
        s3 = aws.client("s3")
        s3.create_bucket(Bucket="studio-models")
        s3.upload_file(str(model_file.parent / INT8_FILENAME), "studio-models", f"cutout/v2/{INT8_FILENAME}")
        state = load_event("cutout")
        master = io.BytesIO()
        Image.open(EXAMPLES / "box_on_white.jpg").convert("RGB").save(master, "PNG")
        s3.put_object(Bucket=aws.work_bucket, Key=state["master_key"], Body=master.getvalue())
        table = RecordsTable(aws.records_table, aws.client("dynamodb"))
        table.create_if_absent({"image_id": state["image_id"], "source_key": state["key"], "status": "processing"})

        out = invoke(aws, "CutoutFunction", state)

        cutout = Image.open(io.BytesIO(s3.get_object(Bucket=aws.work_bucket, Key=out["cutout_key"])["Body"].read()))
        assert cutout.mode == "RGBA" and table.get(state["image_id"])["model"] == "u2netp-int8"
    # The session was built from the downloaded copy, not from models/: exactly one file in the cache.
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [INT8_FILENAME]


def test_the_deliver_event_packages_the_batch_exports_with_manifests_and_checksums(embedded_without_event_sources):
    import csv
    import hashlib
    import zipfile

    aws = embedded_without_event_sources
    batch = load_event("deliver")["batch"]
    s3 = aws.client("s3")
    table = RecordsTable(aws.records_table, aws.client("dynamodb"))
    jpeg = (EXAMPLES / "box_on_white.jpg").read_bytes()
    s3.put_object(Bucket=aws.export_bucket, Key="exports/amazon_main/box.jpg", Body=jpeg)
    table.create_if_absent({
        "image_id": "img-1", "source_key": f"{batch}/box.jpg", "batch": batch, "status": "exported",
        "sku": "PS-1001", "qc_score": 95, "export_files": [{
            "platform": "amazon_main", "format": "JPEG", "key": "exports/amazon_main/box.jpg",
            "name": "B00TEST123.MAIN.jpg", "sha256": hashlib.sha256(jpeg).hexdigest(), "width": 1000,
            "height": 1000}]})
    table.create_if_absent({"image_id": "img-2", "source_key": f"{batch}/jar.jpg", "batch": batch,
                            "status": "rejected", "reasons": ["too small"]})
    table.create_if_absent({"image_id": "img-3", "source_key": "other/x.jpg", "batch": "other",
                            "status": "exported", "export_files": []})

    result = invoke(aws, "DeliverFunction", load_event("deliver"))

    assert result["files"] == 1 and result["images"] == 1 and result["not_delivered"] == 1
    assert result["keys"]["zip"] == f"deliveries/{batch_slug('shoot 01')}/{batch_slug('shoot 01')}.zip"
    package = s3.get_object(Bucket=aws.export_bucket, Key=result["keys"]["zip"])["Body"].read()
    archive = zipfile.ZipFile(io.BytesIO(package))
    assert sorted(archive.namelist()) == ["amazon_main/B00TEST123.MAIN.jpg", "manifest.csv", "manifest.json"]
    assert archive.read("amazon_main/B00TEST123.MAIN.jpg") == jpeg
    rows = list(csv.DictReader(io.StringIO(
        s3.get_object(Bucket=aws.export_bucket, Key=result["keys"]["manifest_csv"])["Body"].read().decode())))
    assert rows == [{"source": f"{batch}/box.jpg", "image_id": "img-1", "sku": "PS-1001", "platform": "amazon_main",
                     "format": "JPEG", "file": "amazon_main/B00TEST123.MAIN.jpg", "bytes": str(len(jpeg)),
                     "sha256": hashlib.sha256(jpeg).hexdigest(), "qc_score": "95", "width": "1000",
                     "height": "1000", "naming_note": ""}]
    manifest = json.loads(archive.read("manifest.json"))
    assert [n["source"] for n in manifest["not_delivered"]] == [f"{batch}/jar.jpg"]


def test_the_review_event_puts_the_image_on_the_review_list_without_showing_its_token(embedded_without_event_sources):
    from packshot.local.function_url import EmbeddedReviewApi

    aws = embedded_without_event_sources
    event = load_event("review")
    image_id = event["state"]["image_id"]
    table = RecordsTable(aws.records_table, aws.client("dynamodb"))
    table.create_if_absent({"image_id": image_id, "source_key": event["state"]["key"], "status": "processing",
                            "qc_score": 84, "reasons": ["edge quality 12/25"]})

    assert invoke(aws, "ReviewFunction", event) == {"review_id": f"{image_id}:review", "status": "needs_review"}

    assert table.get(image_id)["status"] == "needs_review"
    api = EmbeddedReviewApi(aws.client("lambda"), aws.physical("ReviewApiFunction"), "alice")
    listed = api.call({"op": "list"})
    (task,) = listed["tasks"]
    assert task["members"][0]["reasons"] == ["edge quality 12/25"]
    assert event["task_token"] not in json.dumps(listed)
    # No execution waits on the sample token: the decision says so and the dead item leaves the list.
    result = api.call({"op": "decide", "task_id": task["task_id"], "decision": "approve"})
    assert result["photos"][0]["result"].startswith("expired")
    assert result["reviewer"] == "arn:aws:iam::123456789012:user/alice"
    assert api.call({"op": "list"}) == {"tasks": []}


def test_the_review_api_event_lists_open_reviews_for_the_caller_the_function_url_verified(
        embedded_without_event_sources):
    aws = embedded_without_event_sources

    response = invoke(aws, "ReviewApiFunction", load_event("review_api"))

    assert response["statusCode"] == 200 and json.loads(response["body"]) == {"tasks": []}
    unsigned = {**load_event("review_api"), "requestContext": {"http": {"method": "GET"}}}
    assert invoke(aws, "ReviewApiFunction", unsigned)["statusCode"] == 400


def raw_invoke(aws, logical: str, event: dict) -> tuple[bool, dict]:
    resp = aws.client("lambda").invoke(FunctionName=aws.physical(logical), Payload=json.dumps(event).encode())
    return "FunctionError" in resp, json.loads(resp["Payload"].read())


def test_a_decision_sent_by_lambda_invoke_is_refused_whatever_identity_it_claims(embedded_without_event_sources):
    aws = embedded_without_event_sources
    event = load_event("review")
    image_id = event["state"]["image_id"]
    table = RecordsTable(aws.records_table, aws.client("dynamodb"))
    table.create_if_absent({"image_id": image_id, "source_key": event["state"]["key"], "status": "processing"})
    invoke(aws, "ReviewFunction", event)
    task_id = f"{image_id}:review"
    forged = {"rawPath": f"/reviews/{task_id}/decision", "body": json.dumps({"decision": "approve"}),
              "requestContext": {"http": {"method": "POST"},
                                 "authorizer": {"iam": {"userArn": "arn:aws:iam::123456789012:user/senior-boss"}}}}

    for attempt in ({"op": "decide", "task_id": task_id, "decision": "approve", "reviewer": "mallory"},
                    {"op": "list"}, forged):
        errored, payload = raw_invoke(aws, "ReviewFunction", attempt)
        assert errored and payload["errorType"] == "InvalidDecisionError", payload

    assert table.get(image_id)["status"] == "needs_review"  # nothing was decided
    assert "decisions" not in table.get(image_id)


def test_the_scheduled_backlog_event_counts_open_reviews_and_the_oldest_age(embedded_without_event_sources):
    aws = embedded_without_event_sources
    table = aws.physical("ReviewTable")
    ddb = aws.client("dynamodb")
    for i, at in enumerate(["2026-01-01T00:00:00.000+00:00", "2026-01-01T01:00:00.000+00:00"]):
        ddb.put_item(TableName=table, Item={"review_id": {"S": f"r{i}"}, "requested_at": {"S": at}})

    result = invoke(aws, "BacklogFunction", load_event("backlog"))

    assert result["open_reviews"] == 2
    assert result["oldest_age_s"] > 3600  # older than the newer task: the oldest one counts


def test_the_execution_ended_event_closes_an_open_record_as_stopped_with_the_cause(embedded_without_event_sources):
    aws = embedded_without_event_sources
    event = load_event("execution_ended")
    image_id = event["detail"]["name"]
    table = RecordsTable(aws.records_table, aws.client("dynamodb"))
    table.create_if_absent({"image_id": image_id, "status": "processing", "execution_name": image_id})

    result = invoke(aws, "ExecutionEndedFunction", event)

    assert result == {"image_id": image_id, "closed": True, "status": "stopped"}
    record = table.get(image_id)
    assert record["status"] == "stopped" and "ManualStop stopped by an operator" in record["reasons"][0]
    assert invoke(aws, "ExecutionEndedFunction", event)["closed"] is False  # terminal now: a re-delivery is a no-op
