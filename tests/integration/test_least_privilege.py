"""Least privilege, checked against the code that runs: every action a function is granted, on every resource, is
one its code paths use, and every AWS call its code makes is granted.

moto does not enforce IAM, so the embedded AWS cannot show a missing grant; and no scanner can tell a grant that
nothing uses. This test runs a batch that takes every path (export, review, correction, senior sign-off, a
deleted original, a poison message, an idempotent retry, a delivery with a file changed since export, the
backlog, a stopped execution), records each boto3 call a handler makes (and each presigned URL, which S3 checks
against the signer's role when it is used), maps it to its IAM action and resource, and compares both ways with
the template's statements.
"""

from __future__ import annotations

import fnmatch
import io
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from packshot.local.embedded import DEFAULT_TEMPLATE
from packshot.local.function_url import EmbeddedReviewApi
from packshot.local.template import ACCOUNT_ID, REGION, Stack
from tests.conftest import EXAMPLES

# Grants no run here exercises, each with the code path that needs it. Keep this list short and true.
NOT_EXERCISED = {
    # Powertools' idempotency deletes its in-progress record when the export handler raises.
    ("ExportFunction", "dynamodb:DeleteItem", "IdempotencyTable"),
}
# The AWS calls the state machine's own Tasks make (lambda:invoke, dynamodb:updateItem, dynamodb:deleteItem).
_SFN_INTEGRATIONS = {"arn:aws:states:::lambda:invoke": "lambda:InvokeFunction",
                     "arn:aws:states:::lambda:invoke.waitForTaskToken": "lambda:InvokeFunction",
                     "arn:aws:states:::dynamodb:updateItem": "dynamodb:UpdateItem",
                     "arn:aws:states:::dynamodb:deleteItem": "dynamodb:DeleteItem"}


def stack() -> Stack:
    return Stack.from_file(DEFAULT_TEMPLATE)


def granted(s: Stack, logical: str) -> list[tuple[str, str]]:
    """(action, resource pattern) for every Allow statement in a function's or state machine's Policies."""
    pairs = []
    for policy in s.resolve(s.properties(logical).get("Policies", [])):
        assert isinstance(policy, dict) and set(policy) == {"Statement"}, \
            f"{logical}: write statements, not SAM policy templates ({policy})"
        for statement in policy["Statement"]:
            assert statement["Effect"] == "Allow"
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            assert all("*" not in a for a in actions), f"{logical}: a wildcard action ({actions})"
            pairs += [(a, r) for a in actions for r in resources]
    return pairs


def test_no_function_or_state_machine_uses_a_sam_policy_template() -> None:
    s = stack()
    for logical in [*s.of_type("AWS::Serverless::Function"), *s.of_type("AWS::Serverless::StateMachine")]:
        granted(s, logical)  # asserts on each policy's shape


def test_the_state_machine_is_granted_exactly_what_its_tasks_call() -> None:
    s = stack()
    definition = json.loads(s.state_machine_definition("PipelineStateMachine"))
    needed = set()
    for state in definition["States"].values():
        if state["Type"] != "Task":
            continue
        action = _SFN_INTEGRATIONS[state["Resource"]]
        target = state["Parameters"].get("FunctionName") or state["Parameters"]["TableName"]
        arn = target if target.startswith("arn:") else next(
            s.physical[t]["Arn"] for t in s.of_type("AWS::DynamoDB::Table") if s.physical[t]["Ref"] == target)
        needed.add((action, arn))

    assert set(granted(s, "PipelineStateMachine")) == needed


# ---------- the run ----------
def iam_for(service: str, operation: str, params: dict[str, Any], error: str) -> list[tuple[str, str]]:
    """The IAM action(s) and resource an API call needs (AWS's service authorization reference)."""
    if service == "s3":
        bucket, key = params.get("Bucket", ""), params.get("Key", "")
        needs = {"GetObject": "s3:GetObject", "HeadObject": "s3:GetObject", "PutObject": "s3:PutObject"}
        action = needs[operation]
        if action == "s3:GetObject" and params.get("VersionId"):
            action = "s3:GetObjectVersion"
        pairs = [(action, f"arn:aws:s3:::{bucket}/{key}")]
        if error in {"404", "NoSuchKey", "NoSuchVersion", "NotFound"}:
            # Only with s3:ListBucket does S3 answer 404 for a missing key; otherwise 403.
            pairs.append(("s3:ListBucket", f"arn:aws:s3:::{bucket}"))
        return pairs
    if service == "dynamodb":
        table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{params['TableName']}"
        if params.get("IndexName"):
            table += f"/index/{params['IndexName']}"
        return [(f"dynamodb:{operation}", table)]
    if service == "stepfunctions":
        resource = params.get("stateMachineArn") or params.get("executionArn") or "*"
        return [(f"states:{operation}", "*" if operation.startswith("SendTask") else resource)]
    raise AssertionError(f"map {service}:{operation} to its IAM action in this test")


class Recorder:
    """Every AWS call a handler makes, as (function, action, resource), and each presigned URL it signs."""

    def __init__(self, aws: Any) -> None:
        self.aws = aws
        self.logical = {spec.function_name: spec.logical_id for spec in aws.runtime._specs.values()}
        self.used: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()

    def record(self, service: str, operation: str, params: dict[str, Any], error: str = "") -> None:
        function = self.logical.get(self.aws.runtime.current_function())
        if function:
            with self._lock:
                self.used |= {(function, a, r) for a, r in iam_for(service, operation, params, error)}

    @classmethod
    def install(cls, aws: Any, monkeypatch: pytest.MonkeyPatch) -> Recorder:
        import botocore.client
        from botocore.exceptions import ClientError

        from packshot.adapters import review

        recorder = cls(aws)
        original = botocore.client.BaseClient._make_api_call

        def recording(client: Any, operation: str, params: dict[str, Any]) -> Any:
            service = client.meta.service_model.service_name
            try:
                result = original(client, operation, params)
            except ClientError as exc:
                recorder.record(service, operation, params, str(exc.response.get("Error", {}).get("Code", "")))
                raise
            recorder.record(service, operation, params)
            return result

        monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
        get_url, put_url = review.S3Presigner.get_url, review.S3Presigner.put_url

        def presigned_get(presigner: Any, key: str) -> str:
            recorder.record("s3", "GetObject", {"Bucket": presigner._bucket, "Key": key})
            return get_url(presigner, key)

        def presigned_put(presigner: Any, key: str, content_type: str) -> str:
            recorder.record("s3", "PutObject", {"Bucket": presigner._bucket, "Key": key})
            return put_url(presigner, key, content_type)

        monkeypatch.setattr(review.S3Presigner, "get_url", presigned_get)
        monkeypatch.setattr(review.S3Presigner, "put_url", presigned_put)
        return recorder


def invoke(aws: Any, logical: str, event: dict[str, Any]) -> dict[str, Any]:
    response = aws.client("lambda").invoke(FunctionName=aws.physical(logical), Payload=json.dumps(event))
    payload = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, payload
    return dict(payload)


def corrected_cutout() -> bytes:
    rgba = np.zeros((1200, 1200, 4), np.uint8)
    rgba[300:900, 300:900] = (240, 240, 240, 255)
    out = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(out, "PNG")
    return out.getvalue()


def put_presigned(url: str, data: bytes) -> None:
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(url, data=data, method="PUT",
                                                  headers={"Content-Type": "image/png"})).read()


def wait_for(predicate: Any, timeout_s: float = 240) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)


@pytest.fixture()
def every_path(embedded, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[Any, Recorder]]:
    aws = embedded
    recorder = Recorder.install(aws, monkeypatch)
    s3 = aws.client("s3")
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    (shoot / "manifest.csv").write_text("filename,category\nchain.jpg,jewelry\n")
    for name, source in (("box.jpg", "box_on_white.jpg"), ("chain.jpg", "chain_necklace.jpg")):
        (shoot / name).write_bytes((EXAMPLES / source).read_bytes())
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "white_box.jpg").write_bytes((EXAMPLES / "white_box_on_white.jpg").read_bytes())
    aws.upload([shoot / "manifest.csv"], tmp_path)
    keys = aws.upload([shoot / "box.jpg", shoot / "chain.jpg", tmp_path / "plain" / "white_box.jpg"], tmp_path)
    assert aws.wait(keys, timeout_s=300).by_status == {"exported": 1, "needs_review": 2}

    # A poison message, delivered twice: a rejected record, then the same record again.
    poison = {"Records": [{"messageId": "poison", "receiptHandle": "r", "body": '{"Records":[1]}',
                           "attributes": {}, "messageAttributes": {}, "eventSource": "aws:sqs"}]}
    invoke(aws, "IngestFunction", poison)
    invoke(aws, "IngestFunction", poison)

    alice = EmbeddedReviewApi(aws.client("lambda"), aws.physical("ReviewApiFunction"), "alice")
    bob = EmbeddedReviewApi(aws.client("lambda"), aws.physical("ReviewApiFunction"), "bob")
    tasks = {t["members"][0]["name"]: t for t in alice.call({"op": "list"})["tasks"]}
    # The white box (held by the gate) loses its original for good while it waits: review and export still work.
    held = aws.records_by_key()["plain/white_box.jpg"]
    s3.delete_object(Bucket=aws.input_bucket, Key="plain/white_box.jpg", VersionId=held["version_id"])
    target = alice.call({"op": "upload_url", "task_id": tasks["white_box.jpg"]["task_id"]})
    put_presigned(target["url"], corrected_cutout())
    alice.call({"op": "decide", "task_id": tasks["white_box.jpg"]["task_id"], "decision": "corrected",
                "corrected_cutout_key": target["key"]})
    alice.call({"op": "decide", "task_id": tasks["chain.jpg"]["task_id"], "decision": "approve"})
    assert aws.wait(keys, timeout_s=300).by_status == {"exported": 1, "needs_review": 1, "needs_senior": 1}
    for task in alice.call({"op": "list"})["tasks"]:
        (bob if task["step"] == "senior" else alice).call({"op": "decide", "task_id": task["task_id"],
                                                          "decision": "approve"})
    assert aws.wait(keys, timeout_s=300).by_status == {"exported": 3}

    # A retried export finds its first result (Powertools idempotency).
    box = aws.records_by_key()["shoot/box.jpg"]
    invoke(aws, "ExportFunction", {"image_id": box["image_id"], "bucket": aws.input_bucket, "key": "shoot/box.jpg",
                                   "etag": box["etag"], "version_id": box["version_id"],
                                   "final_key": box["outputs"]["final"]})
    # A delivery with one file changed since it was exported: left out, and its record says so.
    s3.put_object(Bucket=aws.export_bucket, Key=box["exports"]["amazon_main"], Body=b"overwritten")
    invoke(aws, "DeliverFunction", {"batch": "shoot"})
    invoke(aws, "BacklogFunction", {})

    # An execution stopped mid-way: closed by the execution-ended rule.
    entered, release = threading.Event(), threading.Event()

    def hold(function_name: str, event: object) -> None:
        if function_name.endswith("ClassifyFunction") and not release.is_set():
            entered.set()
            release.wait(60)

    aws.runtime.fault_injector = hold
    (tmp_path / "shoot" / "stop.jpg").write_bytes((EXAMPLES / "teal_glass_bottle.jpg").read_bytes())
    aws.upload([tmp_path / "shoot" / "stop.jpg"], tmp_path)
    assert entered.wait(120)
    running = [e for e in aws.executions() if e["status"] == "RUNNING"]
    aws.client("stepfunctions").stop_execution(executionArn=running[0]["executionArn"])
    release.set()
    wait_for(lambda: aws.records_by_key()["shoot/stop.jpg"]["status"] == "stopped")
    yield aws, recorder


def test_every_grant_is_used_by_a_code_path_and_every_call_is_granted(every_path) -> None:
    aws, recorder = every_path
    s = aws.stack
    names = {logical: s.physical[logical].get("Arn", "") for logical in s.resources}
    not_exercised = {(fn, action, names[target]) for fn, action, target in NOT_EXERCISED}
    ungranted, unused = [], []
    for logical in s.of_type("AWS::Serverless::Function"):
        grants = granted(s, logical)
        used = {(a, r) for fn, a, r in recorder.used if fn == logical}
        ungranted += [f"{logical}: {a} on {r}" for a, r in sorted(used)
                      if not any(a == ga and fnmatch.fnmatchcase(r, gr) for ga, gr in grants)]
        unused += [f"{logical}: {ga} on {gr}" for ga, gr in grants
                   if (logical, ga, gr) not in not_exercised
                   and not any(a == ga and fnmatch.fnmatchcase(r, gr) for a, r in used)]

    assert not ungranted, "the code makes these calls without a grant (moto does not enforce IAM):\n" + \
        "\n".join(ungranted)
    assert not unused, "granted, but no code path used them (remove them, or name the path in NOT_EXERCISED):\n" \
        + "\n".join(unused)
