"""The review service with small fakes for its ports: the list, pairing, decisions and the HTTP mapping."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pytest
from PIL import Image

from packshot.errors import InvalidDecisionError, ReviewNotFoundError
from packshot.review import ReviewService, command_from_http
from tests.fakes import FakePresigner, FakeRecords, FakeReviewItems, FakeStore, FakeTokens


@pytest.fixture()
def service() -> ReviewService:
    return ReviewService(FakeReviewItems(), FakeRecords(), FakeTokens(), FakePresigner(), FakeStore(), "work",
                         now=lambda: "2026-01-02T03:04:05.000+00:00")


def wait_for_review(service: ReviewService, image_id: str, *, step: str = "review", sku: str = "",
                    role: str = "", route: str = "medium", client: str = "", batch: str = "shoot") -> None:
    service.records.update(image_id, {"name": f"{image_id}.jpg", "sku": sku, "role": role, "qc_score": 80,
                                      "client": client, "batch": batch,
                                      "qc_parts": {"background": 25, "edge_quality": 10},
                                      "reasons": ["edges are rough"]})
    state = {"image_id": image_id, "name": f"{image_id}.jpg", "route": route, "master_key": f"work/{image_id}/m.png",
             "cutout_key": f"work/{image_id}/c.png", "final_key": f"work/{image_id}/f.png"}
    service.enqueue(step, f"token-{image_id}-{step}", state, "exec")


def png(alpha_value: int) -> bytes:
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 3] = alpha_value
    rgba[1:3, 1:3, 3] = 255
    out = io.BytesIO()
    Image.fromarray(rgba).save(out, format="PNG")
    return out.getvalue()


def test_enqueue_keeps_the_token_on_the_item_and_marks_the_record_waiting(service) -> None:
    wait_for_review(service, "a")
    wait_for_review(service, "b", step="senior")

    assert service.items.items["a:review"]["task_token"] == "token-a-review"
    assert service.records.get("a")["status"] == "needs_review"
    assert service.records.get("b")["status"] == "needs_senior"


def test_the_list_shows_qc_and_reasons_but_never_a_task_token(service) -> None:
    wait_for_review(service, "a")

    (task,) = service.pending()

    (member,) = task["members"]
    assert member["qc_score"] == 80 and member["qc_parts"]["edge_quality"] == 10
    assert member["reasons"] == ["edges are rough"]
    assert set(member["images"]) == {"before", "after", "cutout"}
    assert "token-a" not in json.dumps(task)



def test_the_list_shows_the_gate_findings_and_its_map_for_the_cutout_the_gate_judged_only(service) -> None:
    gate = {"confidence": 0.3, "passes": False, "min_confidence": 0.95, "fired": ["closed_off"],
            "regions": {"closed_off": [[5, 6, 7, 8]]}, "cutout_key": "work/a/c.png", "overlay_key": "work/a/gate.png"}
    service.records.update("a", {"gate": gate})
    service.records.update("b", {"gate": {**gate, "cutout_key": "work/b/c.png", "overlay_key": "work/b/gate.png"}})
    wait_for_review(service, "a")
    wait_for_review(service, "b")
    # b's cutout was replaced by a correction after the gate judged the first one: its findings are not b's now.
    service.items.items["b:review"]["cutout_key"] = "corrections/b/x.png"

    by_id = {t["members"][0]["image_id"]: t["members"][0] for t in service.pending()}
    judged, corrected = by_id["a"], by_id["b"]
    assert judged["images"]["gate"] == "https://signed.example/work/a/gate.png?sig=secret"
    assert judged["gate"]["fired"][0]["signal"] == "closed_off"
    assert judged["gate"]["fired"][0]["regions"] == [[5, 6, 7, 8]]
    assert corrected["gate"] is None and "gate" not in corrected["images"]

def test_an_item_whose_record_moved_on_is_not_offered(service) -> None:
    wait_for_review(service, "a")
    service.records.update("a", {"status": "review_expired"})

    assert service.pending() == []


def test_photos_of_one_sku_with_roles_are_one_task_and_one_approval_resumes_both(service) -> None:
    wait_for_review(service, "z-label", sku="SKU-1", role="inside_label")
    wait_for_review(service, "y-front", sku="SKU-1", role="front")
    wait_for_review(service, "other", sku="SKU-1")  # no role: a photo of its own

    tasks = service.pending()

    (pair,) = [t for t in tasks if t["multi_shot"]]
    assert [m["role"] for m in pair["members"]] == ["front", "inside_label"]
    service.decide(pair["members"][1]["review_id"], "approve", "alice")
    assert {t: o["decision"] for t, o in service.tokens.sent.items()} == {
        "token-y-front-review": "approve", "token-z-label-review": "approve"}
    assert [t["task_id"] for t in service.pending()] == ["other:review"]


def test_photos_of_one_sku_from_another_client_or_another_batch_are_never_paired() -> None:
    service = ReviewService(FakeReviewItems(), FakeRecords(), FakeTokens(), FakePresigner(), FakeStore(), "work")
    wait_for_review(service, "acme-front", sku="SKU-1", role="front", client="acme", batch="spring")
    wait_for_review(service, "rival-label", sku="SKU-1", role="inside_label", client="rival", batch="spring")
    wait_for_review(service, "acme-label-autumn", sku="SKU-1", role="inside_label", client="acme", batch="autumn")
    upload = service.upload_url("acme-front:review")
    service.store.put("work", upload["key"], png(0), "image/png")

    assert [t["multi_shot"] for t in service.pending()] == [False, False, False]
    result = service.decide("acme-front:review", "corrected", "alice", corrected_cutout_key=upload["key"])

    # The acme editor's composite closes nobody else's photo as merged.
    assert [p["image_id"] for p in result["photos"]] == ["acme-front"]
    assert set(service.tokens.sent) == {"token-acme-front-review"}


def test_a_corrected_composite_goes_to_the_front_shot_and_the_other_shots_are_merged(service) -> None:
    wait_for_review(service, "y-front", sku="SKU-1", role="front")
    wait_for_review(service, "z-label", sku="SKU-1", role="inside_label")
    upload = service.upload_url("z-label:review")
    service.store.put("work", upload["key"], png(0), "image/png")

    service.decide("z-label:review", "corrected", "alice", corrected_cutout_key=upload["key"])

    front, label = service.tokens.sent["token-y-front-review"], service.tokens.sent["token-z-label-review"]
    assert (front["decision"], front["corrected_cutout_key"]) == ("corrected", upload["key"])
    assert (label["decision"], label["status"]) == ("merged", "merged")
    assert "y-front" in label["summary"]


def test_a_reject_needs_a_reason_and_records_who_rejected_it(service) -> None:
    wait_for_review(service, "a")
    with pytest.raises(InvalidDecisionError, match="reason"):
        service.decide("a:review", "reject", "alice")

    service.decide("a:review", "reject", "alice", reason="label is upside down")

    sent = service.tokens.sent["token-a-review"]
    assert sent["status"] == "rejected_by_reviewer"
    assert sent["summary"] == "rejected by alice at the review step: label is upside down"
    assert (sent["reviewer"], sent["at"]) == ("alice", "2026-01-02T03:04:05.000+00:00")


def test_the_senior_sign_off_must_come_from_someone_else(service) -> None:
    wait_for_review(service, "a", step="senior", route="complex")
    service.records.update("a", {"decisions": [{"step": "review", "decision": "approve", "reviewer": "alice"}]})

    with pytest.raises(InvalidDecisionError, match="someone else"):
        service.decide("a:senior", "approve", "alice")
    service.decide("a:senior", "approve", "bob")

    assert service.tokens.sent["token-a-senior"]["step"] == "senior"


@pytest.mark.parametrize("approver, senior", [
    ("alice", "Alice"),
    ("alice", " ALICE "),
    ("arn:aws:iam::123456789012:user/alice", "arn:aws:iam::123456789012:user/Alice"),
    ("arn:aws:iam::123456789012:user/staff/alice", "arn:aws:iam::123456789012:user/alice"),
    ("arn:aws:sts::123456789012:assumed-role/Reviewers/alice", "arn:aws:iam::123456789012:role/Reviewers"),
    ("arn:aws:sts::123456789012:assumed-role/Reviewers/alice", "arn:aws:sts::123456789012:assumed-role/reviewers/bob"),
    ("arn:aws:iam::123456789012:role/team/Reviewers", "arn:aws:sts::123456789012:assumed-role/Reviewers/x"),
])
def test_the_senior_must_be_another_principal_whatever_the_case_or_the_arn_form(service, approver, senior) -> None:
    wait_for_review(service, "a", step="senior", route="complex")
    service.records.update("a", {"decisions": [{"step": "review", "decision": "approve", "reviewer": approver}]})

    with pytest.raises(InvalidDecisionError, match="someone else"):
        service.decide("a:senior", "approve", senior)
    assert service.tokens.sent == {}


def test_principals_compare_canonically() -> None:
    from packshot.review import canonical_principal

    role = "arn:aws:iam::123456789012:role/reviewers"
    assert canonical_principal("arn:aws:sts::123456789012:assumed-role/Reviewers/alice@example.com") == role
    assert canonical_principal("arn:aws:iam::123456789012:role/path/to/Reviewers") == role
    assert canonical_principal("arn:aws-cn:iam::1:user/Ops/Bob") == "arn:aws-cn:iam::1:user/bob"
    assert canonical_principal("  Alice ") == "alice"
    assert canonical_principal("arn:aws:iam::1:user/alice") != canonical_principal("arn:aws:iam::2:user/alice")


def test_every_photo_of_a_multi_shot_group_is_checked_for_who_approved_it(service) -> None:
    wait_for_review(service, "y-front", step="senior", sku="SKU-1", role="front", route="complex")
    wait_for_review(service, "z-label", step="senior", sku="SKU-1", role="inside_label", route="complex")
    service.records.update("y-front", {"decisions": [{"step": "review", "decision": "approve", "reviewer": "bob"}]})
    service.records.update("z-label", {"decisions": [{"step": "review", "decision": "approve", "reviewer": "alice"}]})

    with pytest.raises(InvalidDecisionError, match="someone else"):
        service.decide("y-front:senior", "approve", "alice")


def test_a_token_nothing_waits_on_is_reported_and_its_item_removed(service) -> None:
    wait_for_review(service, "a")
    service.tokens.dead.add("token-a-review")

    result = service.decide("a:review", "approve", "alice")

    assert result["photos"][0]["result"].startswith("expired")
    assert service.items.items == {}
    with pytest.raises(ReviewNotFoundError):
        service.decide("a:review", "approve", "alice")


@pytest.mark.parametrize("key, data, problem", [
    ("elsewhere/a/x.png", png(0), "upload URL"),
    ("review/a/opaque.png", png(255), "transparency"),
    ("review/a/junk.png", b"not a png", "not a PNG"),
])
def test_a_corrected_cutout_must_be_an_uploaded_rgba_png(service, key, data, problem) -> None:
    wait_for_review(service, "a")
    service.store.put("work", key, data, "image/png")

    with pytest.raises(InvalidDecisionError, match=problem):
        service.decide("a:review", "corrected", "alice", corrected_cutout_key=key)
    assert service.tokens.sent == {}


def png_header(width: int, height: int) -> bytes:
    """A PNG that claims width x height (RGBA) with one tiny compressed row: a decompression bomb's header."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")


def test_a_corrected_cutout_over_the_pixel_limit_is_refused_before_it_is_decoded(service, monkeypatch) -> None:
    import packshot.imaging.png as png

    def must_not_decode(*args: object, **kwargs: object) -> None:
        raise AssertionError("the review function decoded a bomb")

    monkeypatch.setattr(png, "decode_png_rgba", must_not_decode)
    wait_for_review(service, "a")
    service.store.put("work", "review/a/bomb.png", png_header(12_000, 9_000), "image/png")  # 108 MP

    with pytest.raises(InvalidDecisionError, match="100,000,000 pixel"):
        service.decide("a:review", "corrected", "alice", corrected_cutout_key="review/a/bomb.png")
    assert service.tokens.sent == {}


def function_url_event(method: str, path: str, body: dict | None = None, caller: str = "arn:aws:iam::1:user/alice"):
    context: dict[str, Any] = {"http": {"method": method}}
    if caller:
        context["authorizer"] = {"iam": {"userArn": caller}}
    return {"rawPath": path, "requestContext": context, "body": json.dumps(body) if body else None}


def test_over_the_function_url_the_reviewer_is_the_signed_caller_not_a_body_field() -> None:
    command = command_from_http(function_url_event("POST", "/reviews/a%3Areview/decision",
                                                   {"decision": "approve", "reviewer": "mallory"}))

    assert command == {"op": "decide", "task_id": "a:review", "decision": "approve",
                       "reviewer": "arn:aws:iam::1:user/alice", "reason": "", "corrected_cutout_key": ""}


@pytest.mark.parametrize("body, encoded", [("%%%not base64", True), ("//79", True), ("[1]", False), ("{oops", False)])
def test_a_function_url_body_that_is_not_a_json_object_is_a_bad_request_not_a_crash(body: str, encoded: bool) -> None:
    event = function_url_event("POST", "/reviews/a%3Areview/decision")
    event.update(body=body, isBase64Encoded=encoded)

    with pytest.raises(InvalidDecisionError):
        command_from_http(event)


def test_the_function_url_refuses_unsigned_requests_and_cannot_enqueue() -> None:
    with pytest.raises(InvalidDecisionError, match="unsigned"):
        command_from_http(function_url_event("GET", "/reviews", caller=""))
    with pytest.raises(ReviewNotFoundError):
        command_from_http(function_url_event("POST", "/enqueue", {"task_token": "t"}))


class FakeApi:
    # Not tests/fakes.py's: a ReviewApi scripted round by round for the approve-all loop, not a stand-in for AWS.
    """Hands out the review step first, then the senior step of the same photo, then nothing.

    `who` is the identity this API signs as; the commands themselves never name anyone.
    """

    def __init__(self, who: str = "alice", rounds: list[list[dict[str, str]]] | None = None) -> None:
        self.who = who
        self.rounds = rounds if rounds is not None else [[{"task_id": "a:review", "step": "review"}],
                                                         [{"task_id": "a:senior", "step": "senior"}], []]
        self.decided: list[tuple[str, str]] = []
        self.gone = False

    def as_(self, who: str) -> FakeApi:
        other = FakeApi(who, self.rounds)
        other.decided = self.decided
        return other

    def call(self, command: dict[str, Any]) -> dict[str, Any]:
        from packshot.errors import ReviewError

        if self.gone:
            raise ReviewError("cannot reach the review function")
        if command["op"] == "list":
            return {"tasks": self.rounds[0]}
        assert "reviewer" not in command
        self.decided.append((command["task_id"], self.who))
        self.rounds.pop(0)
        return {"decision": "approve", "reviewer": self.who, "photos": []}


def test_approve_all_signs_the_senior_step_as_the_senior() -> None:
    from packshot.local.review_page import approve_all

    api = FakeApi("alice")

    done = approve_all(api, api.as_("bob"), settle=lambda: None, say=lambda line: None)

    assert done.made == 2 and done.needs_senior == []
    assert api.decided == [("a:review", "alice"), ("a:senior", "bob")]


def test_approve_all_without_a_senior_leaves_the_senior_step_open_and_says_so() -> None:
    from packshot.local.review_page import approve_all

    api = FakeApi("alice")

    done = approve_all(api, None, settle=lambda: None, say=lambda line: None)

    assert done.made == 1 and done.needs_senior == ["a:senior"]
    assert api.decided == [("a:review", "alice")]


def test_approve_all_against_a_run_that_finished_stops_quietly_only_after_deciding_something() -> None:
    from packshot.errors import ReviewError
    from packshot.local.review_page import approve_all

    api = FakeApi()
    assert approve_all(api, api.as_("bob"), settle=lambda: setattr(api, "gone", True), say=lambda line: None,
                       gone_means_done=True).made == 1
    with pytest.raises(ReviewError):
        approve_all(api, None, settle=lambda: None, say=lambda line: None, gone_means_done=True)


def test_a_decided_photo_is_moving_again_unless_its_execution_has_already_parked_it_anew(service) -> None:
    wait_for_review(service, "a")
    wait_for_review(service, "b")
    service.records.update("b", {"review_requested_at": "later: already waiting again"})

    service.decide("a:review", "approve", "alice")
    service.decide("b:review", "approve", "alice")

    assert service.records.get("a")["status"] == "processing"
    assert service.records.get("b")["status"] == "needs_review"
