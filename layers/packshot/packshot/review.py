"""Human review: the review list fed by the state machine, reviewers' decisions, and multi-shot pairing."""

from __future__ import annotations

import json
import urllib.parse
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from packshot.errors import (
    InvalidDecisionError,
    PackshotError,
    ReviewError,
    ReviewNotFoundError,
    ReviewTokenExpiredError,
)
from packshot.pipeline import (
    MERGED,
    NEEDS_REVIEW,
    NEEDS_SENIOR,
    REJECTED_BY_REVIEWER,
    WAITING_STATUSES,
    ObjectStore,
    utc_now,
)

REVIEW, SENIOR = "review", "senior"
DECISIONS = ("approve", "reject", "corrected")
# Corrected cutouts go here in the work bucket; nothing else may be submitted as one.
CORRECTION_PREFIX = "review/"
# The photo that carries a multi-shot product's composite; the others are merged into it.
PRIMARY_ROLES = ("front", "main")


class ReviewItems(Protocol):
    """The open review tasks (one per image and step), each with its task token."""

    def put(self, item: dict[str, Any]) -> None: ...
    def delete(self, review_id: str) -> None: ...
    def scan(self) -> Iterable[dict[str, Any]]: ...


class RecordReader(Protocol):
    def get(self, image_id: str) -> dict[str, Any] | None: ...
    def update(self, image_id: str, fields: dict[str, Any]) -> None: ...
    def update_if(self, image_id: str, fields: dict[str, Any], expected: dict[str, Any]) -> bool: ...


class TaskTokens(Protocol):
    def succeed(self, token: str, output: dict[str, Any]) -> None:
        """Resume the waiting execution; raises ReviewTokenExpiredError when nothing waits on the token."""
        ...


class Presigner(Protocol):
    def get_url(self, key: str) -> str: ...
    def put_url(self, key: str, content_type: str) -> str: ...


@dataclass(frozen=True)
class Decision:
    """What a waiting execution resumes with (the task output); every field present so ASL paths resolve."""

    step: str
    decision: str
    reviewer: str
    at: str
    reason: str = ""
    corrected_cutout_key: str = ""
    # For decisions that end the image here (reject, merged): its terminal status and the reason on the record.
    status: str = ""
    summary: str = ""


def review_id(image_id: str, step: str) -> str:
    return f"{image_id}:{step}"


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
    ) -> None:
        self.items, self.records, self.tokens, self.presigner = items, records, tokens, presigner
        self.store, self.work_bucket, self.now = store, work_bucket, now

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
        status = NEEDS_SENIOR if step == SENIOR else NEEDS_REVIEW
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

    def _member(self, item: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
        urls = {}
        for label, key in (("before", item["master_key"]), ("after", item["final_key"]),
                           ("cutout", item["cutout_key"])):
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
        if decision not in DECISIONS:
            raise InvalidDecisionError(f"decision {decision!r} is not one of {', '.join(DECISIONS)}")
        if not reviewer:
            raise InvalidDecisionError("say who decides: a reviewer name or identity is required")
        if decision == "reject" and not reason:
            raise InvalidDecisionError("a reject needs a reason the studio can act on")
        members = self._group_of(task_id)
        step = members[0][0]["step"]
        if step == SENIOR:
            first = _approver(members[0][1])
            if first and first == reviewer:
                raise InvalidDecisionError(f"{reviewer} approved this at the review step; the senior sign-off "
                                           "must come from someone else")
        if decision == "corrected":
            self._check_correction(corrected_cutout_key, members)
        at = self.now()
        primary = _primary(members)
        outcomes = []
        for item, _ in members:
            outcome = _decision_for(item, primary, step, decision, reviewer, at, reason, corrected_cutout_key)
            try:
                self.tokens.succeed(item["task_token"], asdict(outcome))
                result = outcome.decision
                # Moving again from now on, so nobody waits for it as if it were parked; conditional, because
                # the execution may already have parked it again (senior step, corrected cutout re-reviewed).
                self.records.update_if(item["image_id"], {"status": "processing", "updated_at": at},
                                       {"status": NEEDS_SENIOR if step == SENIOR else NEEDS_REVIEW,
                                        "review_requested_at": item["requested_at"]})
            except ReviewTokenExpiredError:
                result = "expired: nothing waits on this review any more (decided elsewhere or past its deadline)"
            self.items.delete(item["review_id"])
            outcomes.append({"image_id": item["image_id"], "name": item["name"], "result": result})
        return {"task_id": task_id, "decision": decision, "reviewer": reviewer, "at": at, "photos": outcomes}

    def _group_of(self, task_id: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        for task in self._live_groups():
            if any(item["review_id"] == task_id for item, _ in task):
                return task
        raise ReviewNotFoundError(f"no open review {task_id!r}: it was decided already or its deadline passed; "
                                  "reload the list")

    def _live_groups(self) -> list[list[tuple[dict[str, Any], dict[str, Any]]]]:
        live = []
        for item in self.items.scan():
            record = self.records.get(item["image_id"]) or {}
            # An item whose record moved on (expired, decided) has a dead token: never offer it.
            if record.get("status") in WAITING_STATUSES and record.get("review_step", item["step"]) == item["step"]:
                live.append((item, record))
        return _groups(live)

    def _check_correction(self, key: str, members: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
        from packshot.imaging.decode import decode_png_rgba

        image_ids = {item["image_id"] for item, _ in members}
        if not key.startswith(CORRECTION_PREFIX) or key.split("/")[1] not in image_ids:
            raise InvalidDecisionError("a corrected cutout must be uploaded through this task's upload URL first")
        try:
            data = self.store.get(self.work_bucket, key)
            _, alpha = decode_png_rgba(data)
        except PackshotError as exc:
            raise InvalidDecisionError(f"the corrected cutout cannot be read: {exc.reason}") from exc
        except Exception as exc:
            raise InvalidDecisionError(f"the corrected cutout is not a PNG we can read ({exc})") from exc
        if int(alpha.min()) == 255:
            raise InvalidDecisionError("the corrected cutout has no transparency: upload an RGBA PNG whose "
                                       "background is transparent")

    # ---------- commands, as the handler receives them ----------
    def handle(self, command: dict[str, Any]) -> dict[str, Any]:
        op = command.get("op", "")
        try:
            if op == "enqueue":
                return self.enqueue(command["step"], command["task_token"], command["state"],
                                    command.get("execution_id", ""))
            if op == "list":
                return {"tasks": self.pending()}
            if op == "upload_url":
                return self.upload_url(command["task_id"])
            if op == "decide":
                return self.decide(command["task_id"], command.get("decision", ""), command.get("reviewer", ""),
                                   command.get("reason", ""), command.get("corrected_cutout_key", ""))
        except KeyError as exc:
            raise InvalidDecisionError(f"the {op!r} request lacks {exc.args[0]!r}") from exc
        raise InvalidDecisionError(f"unknown operation {op!r}: expected list, upload_url or decide")


def _groups(live: list[tuple[dict[str, Any], dict[str, Any]]]) -> list[list[tuple[dict[str, Any], dict[str, Any]]]]:
    """Photos of one client's SKU in one batch that carry a role (front, inside_label...) and wait at the same
    step form one task; a SKU alone is no key: two clients (or two shoots) may use the same one."""
    groups: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    for item, record in sorted(live, key=lambda p: (p[0]["role"] not in PRIMARY_ROLES, p[0]["role"],
                                                    p[0]["review_id"])):
        scope = json.dumps([item.get("client", ""), item.get("batch", ""), item["sku"], item["step"]])
        key = f"sku:{scope}" if item["sku"] and item["role"] else item["review_id"]
        groups.setdefault(key, []).append((item, record))
    return list(groups.values())


def _primary(members: list[tuple[dict[str, Any], dict[str, Any]]]) -> str:
    return members[0][0]["image_id"]  # _groups sorts the front shot first


def _approver(record: dict[str, Any]) -> str:
    approvals = [d for d in record.get("decisions", []) if d.get("step") == REVIEW and d.get("decision") == "approve"]
    return str(approvals[-1].get("reviewer", "")) if approvals else ""


def _decision_for(item: dict[str, Any], primary: str, step: str, decision: str, reviewer: str, at: str,
                  reason: str, corrected_key: str) -> Decision:
    if decision == "reject":
        return Decision(step, "reject", reviewer, at, reason, status=REJECTED_BY_REVIEWER,
                        summary=f"rejected by {reviewer} at the {step} step: {reason}")
    if decision == "corrected" and item["image_id"] != primary:
        return Decision(step, "merged", reviewer, at, reason, status=MERGED,
                        summary=f"merged by {reviewer} into the composite uploaded for {primary}")
    if decision == "corrected":
        return Decision(step, "corrected", reviewer, at, reason, corrected_cutout_key=corrected_key)
    return Decision(step, "approve", reviewer, at, reason)


# ---------- the Function URL (IAM-signed HTTP) ----------
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
        if event.get("isBase64Encoded"):
            import base64

            raw = base64.b64decode(raw).decode("utf-8")
        body = json.loads(raw)
    parts = [urllib.parse.unquote(p) for p in path.split("/") if p]
    if method == "GET" and parts == ["reviews"]:
        return {"op": "list"}
    if method == "POST" and len(parts) == 3 and parts[0] == "reviews" and parts[2] == "upload":
        return {"op": "upload_url", "task_id": parts[1]}
    if method == "POST" and len(parts) == 3 and parts[0] == "reviews" and parts[2] == "decision":
        return {"op": "decide", "task_id": parts[1], "decision": body.get("decision", ""), "reviewer": caller,
                "reason": body.get("reason", ""), "corrected_cutout_key": body.get("corrected_cutout_key", "")}
    raise ReviewNotFoundError(f"no route {method} {path or '/'}: use GET /reviews, POST /reviews/ID/upload "
                              "or POST /reviews/ID/decision")


def http_response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"content-type": "application/json", "cache-control": "no-store"},
            "body": json.dumps(body, default=str)}


def http_status(exc: ReviewError) -> int:
    if isinstance(exc, ReviewNotFoundError):
        return 404
    return 400
