"""The status and decision vocabulary: the state machine writes and compares only its members, and records keep
the strings they were written with."""

from __future__ import annotations

import json
import re
import typing
from collections.abc import Iterator
from enum import StrEnum
from typing import Any

from packshot import review
from packshot.status import (
    TERMINAL_STATUSES,
    UNFINISHED_STATUSES,
    WAITING_STATUSES,
    Decision,
    ReviewDecision,
    Status,
)
from tests.conftest import REPO

ASL = REPO / "statemachine" / "pipeline.asl.json"
# Which vocabulary each compared path holds. A Choice on another status or decision path fails the test below
# until it is named here.
VOCABULARY_OF_PATH: dict[str, type[StrEnum]] = {
    "$.status": Status,
    "$.decision": Decision,
    "$.review.decision": ReviewDecision,
}


def _dicts(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _dicts(value)
    elif isinstance(node, list):
        for value in node:
            yield from _dicts(value)


def comparisons(definition: dict[str, Any]) -> list[tuple[str, str]]:
    """(path, string) of every Choice rule that compares a path with a string, nested And/Or/Not included."""
    return [(rule["Variable"], rule["StringEquals"]) for rule in _dicts(definition)
            if "Variable" in rule and "StringEquals" in rule]


def status_writes(definition: dict[str, Any]) -> list[dict[str, str]]:
    """The attribute value ({"S": ...} or {"S.$": path}) every DynamoDB task writes to a record's `status`."""
    writes = []
    for state in definition["States"].values() if "States" in definition else []:
        params = state.get("Parameters") or {}
        if state.get("Type") != "Task" or ":dynamodb:" not in str(state.get("Resource")):
            continue
        names = params.get("ExpressionAttributeNames", {})
        for alias, value in re.findall(r"([#\w]+)\s*=\s*(:\w+)", params.get("UpdateExpression", "")):
            if names.get(alias, alias) == "status":
                writes.append(params["ExpressionAttributeValues"][value])
        if "status" in params.get("Item", {}):
            writes.append(params["Item"]["status"])
    return writes


def machine() -> dict[str, Any]:
    return dict(json.loads(ASL.read_text()))


def test_the_state_machine_compares_statuses_and_decisions_only_with_members_of_their_vocabulary() -> None:
    compared = comparisons(machine())
    assert compared, "the state machine has no Choice rules: the reader below no longer reads it"
    for path, value in compared:
        if re.search(r"(status|decision)$", path):
            assert path in VOCABULARY_OF_PATH, f"{path} is compared in the ASL but has no vocabulary here"
        vocabulary = VOCABULARY_OF_PATH.get(path)
        if vocabulary is not None:
            assert value in set(vocabulary), f"the ASL compares {path} with {value!r}, not a {vocabulary.__name__}"
    # Every vocabulary is really used, so the reader cannot silently miss them all.
    assert {path for path, _ in compared} >= set(VOCABULARY_OF_PATH)


def test_every_status_the_state_machine_writes_is_a_status_member() -> None:
    writes = status_writes(machine())
    literals = [w["S"] for w in writes if "S" in w]
    assert literals, "the state machine writes no status: the reader below no longer reads it"
    for value in literals:
        assert value in set(Status), f"the ASL writes status {value!r}, not a Status member"
    # A status taken from the state is the review step's output: a field of review.Decision typed as a Status.
    for path in (w["S.$"] for w in writes if "S.$" in w):
        prefix, _, field = path.rpartition(".")
        assert prefix == "$.review", f"the ASL writes a status from {path}, which no vocabulary covers"
        assert Status in typing.get_args(typing.get_type_hints(review.Decision)[field])


def test_the_readers_find_a_status_written_outside_the_vocabulary() -> None:
    definition = machine()
    state = definition["States"]["Record the failure"]
    state["Parameters"]["ExpressionAttributeValues"][":failed"] = {"S": "kaput"}
    rule = next(r for r in _dicts(definition) if r.get("Variable") == "$.status")
    rule["StringEquals"] = "exported_ok"
    assert {"S": "kaput"} in status_writes(definition)
    assert ("$.status", "exported_ok") in comparisons(definition)
    assert "kaput" not in set(Status) and "exported_ok" not in set(Status)


def test_records_keep_the_strings_deployed_tables_and_the_asl_hold() -> None:
    # Deliberately spelled out: renaming a value strands every record written with the old one.
    assert {s.value for s in Status} == {
        "received", "processing", "approved", "needs_review", "needs_senior", "exported", "rejected", "failed",
        "redo", "rejected_by_reviewer", "review_expired", "merged", "stopped"}
    assert {d.value for d in Decision} == {"approve", "review", "reject"}
    assert {d.value for d in ReviewDecision} == {"approve", "reject", "corrected", "merged"}


def test_a_status_is_its_string_when_compared_formatted_or_serialised() -> None:
    assert Status.EXPORTED == "exported" and f"{Status.EXPORTED}" == "exported"
    assert json.dumps({"status": Status.NEEDS_REVIEW}) == '{"status": "needs_review"}'
    assert "failed" in UNFINISHED_STATUSES and "needs_senior" in WAITING_STATUSES


def test_waiting_and_unfinished_images_are_told_apart_from_terminal_ones() -> None:
    assert not WAITING_STATUSES & TERMINAL_STATUSES
    assert UNFINISHED_STATUSES <= TERMINAL_STATUSES
    assert Status.RECEIVED not in TERMINAL_STATUSES | WAITING_STATUSES

