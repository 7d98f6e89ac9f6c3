"""Human review: the review list fed by the state machine, reviewers' decisions, and multi-shot pairing."""

from __future__ import annotations

import json
import re
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from packshot.errors import (
    InvalidDecisionError,
    PackshotError,
    ReviewError,
    ReviewNotFoundError,
    ReviewTokenExpiredError,
)
from packshot.pipeline import CORRECTION_PREFIX, utc_now
from packshot.ports import ObjectStore, Presigner, Record, RecordReader, ReviewItems, TaskTokens
from packshot.status import REVIEWER_DECISIONS, WAITING_STATUSES, ReviewDecision, Status

REVIEW, SENIOR = "review", "senior"
# A corrected cutout is decoded here, in a function sized for this (ReviewApiFunction's memory): the same pixel
# limit as an upload (MAX_PIXELS), checked from the PNG header first, and a byte limit checked from HeadObject.
MAX_CORRECTION_PIXELS = 100_000_000
MAX_CORRECTION_BYTES = 200_000_000
# The photo that carries a multi-shot product's composite; the others are merged into it.
PRIMARY_ROLES = ("front", "main")


@dataclass(frozen=True)
class Decision:
    """What a waiting execution resumes with (the task output); every field present so ASL paths resolve."""

    step: str
    decision: ReviewDecision
    reviewer: str
    at: str
    reason: str = ""
    # The reviewer's identity compared canonically (case-folded, one form per IAM user or role).
    principal: str = ""
    corrected_cutout_key: str = ""
    # For decisions that end the image here (reject, merged): its terminal status and the reason on the record.
    status: Status | Literal[""] = ""
    summary: str = ""


def review_id(image_id: str, step: str) -> str:
    return f"{image_id}:{step}"


_ASSUMED_ROLE = re.compile(r"^arn:(?P<partition>[^:]+):sts::(?P<account>\d+):assumed-role/(?P<role>[^/]+)/.+$")
_IAM_ENTITY = re.compile(
    r"^arn:(?P<partition>[^:]+):iam::(?P<account>\d+):(?P<kind>user|role)/(?:.*/)?(?P<name>[^/]+)$")


def canonical_principal(identity: str) -> str:
    """One spelling per principal, for comparing who decided: case-folded, IAM paths dropped, and a role
    session folded into its role.

    IAM user and role names are unique without regard to case. A session name is chosen by whoever assumes the
    role, so it proves nothing: two sessions of one role are one principal (give seniors a role or user of their
    own). A local operator's name is compared the same way ('alice' is 'Alice').
    """
    text = identity.strip()
    assumed = _ASSUMED_ROLE.match(text)
    if assumed:
        return f"arn:{assumed['partition']}:iam::{assumed['account']}:role/{assumed['role']}".casefold()
    entity = _IAM_ENTITY.match(text)
    if entity:
        return f"arn:{entity['partition']}:iam::{entity['account']}:{entity['kind']}/{entity['name']}".casefold()
    return text.casefold()


class ReviewService:
    """Every review operation; the handler and the tests give it ports."""

    def __init__(
        self,
        items: ReviewItems,
        records: RecordReader,
        tokens: TaskTokens,
        presigner: Presigner,
        store: ObjectStore,
        work_bucket: str,
        now: Callable[[], str] = utc_now,
        *,
        max_pixels: int = MAX_CORRECTION_PIXELS,
        max_bytes: int = MAX_CORRECTION_BYTES,
    ) -> None:
        self.items, self.records, self.tokens, self.presigner = items, records, tokens, presigner
        self.store, self.work_bucket, self.now = store, work_bucket, now
        self.max_pixels, self.max_bytes = max_pixels, max_bytes

    # ---------- fed by the state machine ----------
    def enqueue(self, step: str, task_token: str, state: dict[str, Any], execution_id: str = "") -> dict[str, Any]:
        """Put an image on the review list with the token its execution waits on; mark its record waiting."""
        if step not in (REVIEW, SENIOR):
            raise InvalidDecisionError(f"unknown review step {step!r}: expected {REVIEW!r} or {SENIOR!r}")
        if not task_token:
            raise InvalidDecisionError("no task token: the state machine must pass $$.Task.Token")
        image_id = state["image_id"]
        record = self.records.get(image_id) or {}
        at = self.now()
        rid = review_id(image_id, step)
        self.items.put({
            "review_id": rid,
            "image_id": image_id,
            "step": step,
            "task_token": task_token,
            "execution_id": execution_id,
            "name": state.get("name") or record.get("name", ""),
            "sku": str(record.get("sku") or state.get("sku") or ""),
            # Pairing is scoped by these too: one client's editor must never close another client's photo.
            "client": str(record.get("client") or state.get("client") or ""),
            "batch": str(record.get("batch") or ""),
            "role": str(record.get("role") or state.get("role") or self._source_role(state)),
            "route": state.get("route", ""),
            "master_key": state.get("master_key", ""),
            "cutout_key": state.get("cutout_key", ""),
            "final_key": state.get("final_key", ""),
            "requested_at": at,
        })
        status = Status.NEEDS_SENIOR if step == SENIOR else Status.NEEDS_REVIEW
        self.records.update(image_id, {"status": status, "stage": "review", "review_step": step,
                                       "review_requested_at": at, "updated_at": at})
        return {"review_id": rid, "status": status}

    def _source_role(self, state: dict[str, Any]) -> str:
        """The shot's role (front, inside_label...) from the upload's metadata when the record has none."""
        try:
            info = self.store.head(state["bucket"], state["key"], version_id=state.get("version_id", "") or "",
                                   etag=state.get("etag", "") or "")
        except (PackshotError, KeyError):
            return ""  # the original may be gone; the photo is then reviewed on its own
        metadata = getattr(info, "metadata", None) or {}
        return str(metadata.get("role", "")).strip().lower()

    # ---------- the reviewers' side ----------
    def pending(self) -> list[dict[str, Any]]:
        """Open tasks, multi-shot photos of one SKU paired into one task; presigned image URLs included."""
        tasks = []
        for members in self._live_groups():
            first_item, _ = members[0]
            tasks.append({
                "task_id": first_item["review_id"],
                "step": first_item["step"],
                "sku": first_item["sku"],
                "multi_shot": len(members) > 1,
                "requested_at": min(i["requested_at"] for i, _ in members),
                "members": [self._member(item, record) for item, record in members],
            })
        return sorted(tasks, key=lambda t: (t["requested_at"], t["task_id"]))

    def _member(self, item: dict[str, Any], record: Record) -> dict[str, Any]:
        from packshot.gate import gate_findings

        gate = record.get("gate") or {}
        # The gate's map is shown only over the cutout it judged (a corrected upload has no verdict of its own).
        judged = bool(gate.get("cutout_key")) and gate.get("cutout_key") == item["cutout_key"]
        urls = {}
        for label, key in (("before", item["master_key"]), ("after", item["final_key"]),
                           ("cutout", item["cutout_key"]), ("gate", gate.get("overlay_key") if judged else "")):
            if key:
                urls[label] = self.presigner.get_url(key)
        return {
            "review_id": item["review_id"],
            "image_id": item["image_id"],
            "name": item["name"],
            "role": item["role"],
            "route": item["route"],
            "qc_score": record.get("qc_score"),
            "qc_parts": record.get("qc_parts", {}),
            "reasons": list(record.get("reasons", [])),
            "route_reasons": list(record.get("route_reasons", [])),
            "decisions": list(record.get("decisions", [])),
            "gate": gate_findings(gate) if judged else None,
            "images": urls,
        }

    def upload_url(self, task_id: str) -> dict[str, str]:
        """A presigned PUT for a corrected cutout (RGBA PNG); submit its key with decision `corrected`."""
        members = self._group_of(task_id)
        key = f"{CORRECTION_PREFIX}{members[0][0]['image_id']}/{uuid.uuid4().hex}.png"
        return {"key": key, "url": self.presigner.put_url(key, "image/png")}

    def decide(self, task_id: str, decision: str, reviewer: str, reason: str = "",
               corrected_cutout_key: str = "") -> dict[str, Any]:
        """Resume every execution of the task's group with the decision; returns what happened to each photo."""
        decision, reviewer, reason = decision.strip().lower(), reviewer.strip(), reason.strip()
        if decision not in REVIEWER_DECISIONS:
            raise InvalidDecisionError(f"decision {decision!r} is not one of {', '.join(REVIEWER_DECISIONS)}")
        if not reviewer:
            raise InvalidDecisionError("no authenticated reviewer: decisions come through the review API, which "
                                       "takes the identity from the signed request")
        if decision == ReviewDecision.REJECT and not reason:
            raise InvalidDecisionError("a reject needs a reason the studio can act on")
        principal = canonical_principal(reviewer)
        members = self._group_of(task_id)
        step = members[0][0]["step"]
        if step == SENIOR:
            for _, record in members:
                first = _approver(record)
                if first and canonical_principal(first) == principal:
                    raise InvalidDecisionError(f"{first} approved this at the review step; the senior sign-off must "
                                               f"come from someone else (another IAM user or role), not {reviewer}")
        if decision == ReviewDecision.CORRECTED:
            self._check_correction(corrected_cutout_key, members)
        at = self.now()
        primary = _primary(members)
        outcomes = []
        for item, _ in members:
            outcome = _decision_for(item, primary, step, decision, reviewer, at, reason, corrected_cutout_key,
                                    principal)
            try:
                self.tokens.succeed(item["task_token"], asdict(outcome))
                result: str = outcome.decision
                # Moving again from now on, so nobody waits for it as if it were parked; conditional, because
                # the execution may already have parked it again (senior step, corrected cutout re-reviewed).
                self.records.update_if(item["image_id"], {"status": Status.PROCESSING, "updated_at": at},
                                       {"status": Status.NEEDS_SENIOR if step == SENIOR else Status.NEEDS_REVIEW,
                                        "review_requested_at": item["requested_at"]})
            except ReviewTokenExpiredError:
                result = "expired: nothing waits on this review any more (decided elsewhere or past its deadline)"
            # Only the item this decision answered: the execution may already have put a new one under the same
            # id (a corrected cutout comes straight back to the review step).
            self.items.delete(item["review_id"], item["task_token"])
            outcomes.append({"image_id": item["image_id"], "name": item["name"], "result": result})
        return {"task_id": task_id, "decision": decision, "reviewer": reviewer, "at": at, "photos": outcomes}

    def _group_of(self, task_id: str) -> list[tuple[dict[str, Any], Record]]:
        for task in self._live_groups():
            if any(item["review_id"] == task_id for item, _ in task):
                return task
        raise ReviewNotFoundError(f"no open review {task_id!r}: it was decided already or its deadline passed; "
                                  "reload the list")

    def _live_groups(self) -> list[list[tuple[dict[str, Any], Record]]]:
        live = []
        for item in self.items.scan():
            record = self.records.get(item["image_id"]) or {}
            # An item whose record moved on (expired, decided) has a dead token: never offer it.
            if record.get("status") in WAITING_STATUSES and record.get("review_step", item["step"]) == item["step"]:
                live.append((item, record))
        return _groups(live)

    def _check_correction(self, key: str, members: list[tuple[dict[str, Any], Record]]) -> None:
        from packshot.imaging import png

        image_ids = {item["image_id"] for item, _ in members}
        if not key.startswith(CORRECTION_PREFIX) or key.split("/")[1] not in image_ids:
            raise InvalidDecisionError("a corrected cutout must be uploaded through this task's upload URL first")
        try:
            # Size first, then the PNG header: only a file within both limits is read and decoded.
            info = self.store.head(self.work_bucket, key)
            if int(getattr(info, "size", 0)) > self.max_bytes:
                raise InvalidDecisionError(f"the corrected cutout is {info.size:,} bytes, over the "
                                           f"{self.max_bytes:,} byte limit")
            data = self.store.get(self.work_bucket, key, etag=str(getattr(info, "etag", "") or ""))
            width, height = _png_size(data)
            if width * height > self.max_pixels:
                raise InvalidDecisionError(f"the corrected cutout is {width} x {height} px, over the "
                                           f"{self.max_pixels:,} pixel limit; upload it at the photo's size")
            _, alpha = png.decode_png_rgba(data)
        except InvalidDecisionError:
            raise
        except PackshotError as exc:
            raise InvalidDecisionError(f"the corrected cutout cannot be read: {exc.reason}") from exc
        except Exception as exc:
            raise InvalidDecisionError(f"the corrected cutout is not a PNG we can read ({exc})") from exc
        if int(alpha.min()) == 255:
            raise InvalidDecisionError("the corrected cutout has no transparency: upload an RGBA PNG whose "
                                       "background is transparent")

    # ---------- the two ways in ----------
    def open_review(self, event: dict[str, Any]) -> dict[str, Any]:
        """ReviewFunction, invoked by the state machine's "Wait for a reviewer" with a task token: enqueue only.

        This function has no URL, so a requestContext here is forged, and no body field can say who decides:
        decisions come only through the review API, whose identity is the signed request's.
        """
        if "requestContext" in event:
            raise InvalidDecisionError("this function has no URL: a requestContext here is forged; reviewers use the "
                                       "review API (ReviewApiUrl), which takes the identity from the signed request")
        if event.get("op") != "enqueue":
            raise InvalidDecisionError(f"ReviewFunction only opens reviews for the state machine (got "
                                       f"{str(event.get('op'))[:40]!r}); list, upload and decide through the review "
                                       "API (ReviewApiUrl, SigV4-signed), which knows who you are")
        try:
            return self.enqueue(event["step"], event["task_token"], event["state"], event.get("execution_id", ""))
        except KeyError as exc:
            raise InvalidDecisionError(f"the enqueue request lacks {exc.args[0]!r}") from exc

    def handle_http(self, event: dict[str, Any]) -> dict[str, Any]:
        """ReviewApiFunction, behind its Function URL (AuthType AWS_IAM): the reviewer is the signed caller."""
        command = command_from_http(event)
        op = command["op"]
        if op == "list":
            return {"tasks": self.pending()}
        if op == "upload_url":
            return self.upload_url(command["task_id"])
        return self.decide(command["task_id"], command["decision"], command["reviewer"], command["reason"],
                           command["corrected_cutout_key"])


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR, without decoding a pixel."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise InvalidDecisionError("the corrected cutout is not a PNG: upload an RGBA PNG")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _groups(live: list[tuple[dict[str, Any], Record]]) -> list[list[tuple[dict[str, Any], Record]]]:
    """Photos of one client's SKU in one batch that carry a role (front, inside_label...) and wait at the same
    step form one task; a SKU alone is no key: two clients (or two shoots) may use the same one."""
    groups: dict[str, list[tuple[dict[str, Any], Record]]] = {}
    for item, record in sorted(live, key=lambda p: (p[0]["role"] not in PRIMARY_ROLES, p[0]["role"],
                                                    p[0]["review_id"])):
        scope = json.dumps([item.get("client", ""), item.get("batch", ""), item["sku"], item["step"]])
        key = f"sku:{scope}" if item["sku"] and item["role"] else item["review_id"]
        groups.setdefault(key, []).append((item, record))
    return list(groups.values())


def _primary(members: list[tuple[dict[str, Any], Record]]) -> str:
    return members[0][0]["image_id"]  # _groups sorts the front shot first


def _approver(record: Record) -> str:
    approvals = [d for d in record.get("decisions", [])
                 if d.get("step") == REVIEW and d.get("decision") == ReviewDecision.APPROVE]
    return str(approvals[-1].get("reviewer", "")) if approvals else ""


def _decision_for(item: dict[str, Any], primary: str, step: str, decision: str, reviewer: str, at: str,
                  reason: str, corrected_key: str, principal: str) -> Decision:
    if decision == ReviewDecision.REJECT:
        return Decision(step, ReviewDecision.REJECT, reviewer, at, reason, principal,
                        status=Status.REJECTED_BY_REVIEWER,
                        summary=f"rejected by {reviewer} at the {step} step: {reason}")
    if decision == ReviewDecision.CORRECTED and item["image_id"] != primary:
        return Decision(step, ReviewDecision.MERGED, reviewer, at, reason, principal, status=Status.MERGED,
                        summary=f"merged by {reviewer} into the composite uploaded for {primary}")
    if decision == ReviewDecision.CORRECTED:
        return Decision(step, ReviewDecision.CORRECTED, reviewer, at, reason, principal,
                        corrected_cutout_key=corrected_key)
    return Decision(step, ReviewDecision.APPROVE, reviewer, at, reason, principal)


# ---------- the Function URL (IAM-signed HTTP) ----------
def http_request_for(command: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """(method, path, JSON body) of a list / upload_url / decide command: what a client sends to the review API.

    Nothing in it says who decides: the API takes that from the request's signature.
    """
    op, task = command.get("op"), urllib.parse.quote(str(command.get("task_id", "")), safe="")
    if op == "list":
        return "GET", "/reviews", {}
    if op == "upload_url":
        return "POST", f"/reviews/{task}/upload", {}
    if op == "decide":
        return "POST", f"/reviews/{task}/decision", {k: command[k] for k in ("decision", "reason",
                                                                              "corrected_cutout_key") if k in command}
    raise InvalidDecisionError(f"unknown operation {op!r}: expected list, upload_url or decide")


def command_from_http(event: dict[str, Any]) -> dict[str, Any]:
    """Map a Function URL request to a command; the reviewer is the signed caller, never a body field."""
    http = event.get("requestContext", {}).get("http", {})
    method, path = http.get("method", "GET").upper(), event.get("rawPath", "/").rstrip("/")
    caller = (event.get("requestContext", {}).get("authorizer", {}).get("iam", {}) or {}).get("userArn", "")
    if not caller:
        raise InvalidDecisionError("unsigned request: the review API needs SigV4-signed requests (AuthType AWS_IAM)")
    body: dict[str, Any] = {}
    if event.get("body"):
        raw = event["body"]
        try:
            if event.get("isBase64Encoded"):
                import base64

                raw = base64.b64decode(raw, validate=True).decode("utf-8")
            body = json.loads(raw)
        except ValueError as exc:  # binascii.Error and UnicodeDecodeError are ValueErrors too
            raise InvalidDecisionError("the request body is not JSON") from exc
        if not isinstance(body, dict):
            raise InvalidDecisionError("the request body must be a JSON object")
    parts = [urllib.parse.unquote(p) for p in path.split("/") if p]
    if method == "GET" and parts == ["reviews"]:
        return {"op": "list"}
    if method == "POST" and len(parts) == 3 and parts[0] == "reviews" and parts[2] == "upload":
        return {"op": "upload_url", "task_id": parts[1]}
    if method == "POST" and len(parts) == 3 and parts[0] == "reviews" and parts[2] == "decision":
        return {"op": "decide", "task_id": parts[1], "decision": str(body.get("decision", "")), "reviewer": caller,
                "reason": str(body.get("reason", ""))[:2000],
                "corrected_cutout_key": str(body.get("corrected_cutout_key", ""))}
    raise ReviewNotFoundError(f"no route {method} {path or '/'}: use GET /reviews, POST /reviews/ID/upload "
                              "or POST /reviews/ID/decision")


def http_response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"content-type": "application/json", "cache-control": "no-store"},
            "body": json.dumps(body, default=str)}


def http_status(exc: ReviewError) -> int:
    if isinstance(exc, ReviewNotFoundError):
        return 404
    return 400
