"""Nothing stuck: an execution that ends without finishing its image leaves a terminal record with the cause, and
`packshot redrive` starts such an image again."""

from __future__ import annotations

import threading
import time

from packshot.adapters.operations import StackNames
from packshot.cli import redrive_images
from tests.conftest import EXAMPLES


def wait_for(predicate, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)


def stop_during_classify(aws) -> dict:
    """Upload a photo and stop its execution while the classify stage is running (a stage held open)."""
    entered, release = threading.Event(), threading.Event()

    def hold_classify(function_name: str, event: object) -> None:
        if function_name.endswith("ClassifyFunction") and not release.is_set():
            entered.set()
            release.wait(60)

    aws.runtime.fault_injector = hold_classify
    aws.upload([EXAMPLES / "box_on_white.jpg"], EXAMPLES)
    assert entered.wait(120)
    (execution,) = aws.executions()
    aws.client("stepfunctions").stop_execution(executionArn=execution["executionArn"])
    release.set()
    aws.runtime.fault_injector = None
    return execution


def test_an_execution_stopped_mid_way_ends_its_record_as_stopped_with_the_cause(embedded) -> None:
    aws = embedded

    execution = stop_during_classify(aws)

    wait_for(lambda: aws.records_by_key()["box_on_white.jpg"]["status"] != "processing")
    record = aws.records_by_key()["box_on_white.jpg"]
    assert record["status"] == "stopped"
    assert "was stopped" in record["reasons"][0] and "packshot redrive" in record["reasons"][0]
    assert record["failure"]["execution"] == execution["executionArn"]


def test_packshot_redrive_starts_again_an_image_whose_execution_was_stopped(embedded) -> None:
    aws = embedded
    first = stop_during_classify(aws)
    wait_for(lambda: aws.records_by_key()["box_on_white.jpg"]["status"] == "stopped")
    names = StackNames(records_table=aws.records_table, queues={}, state_machine=aws.state_machine_arn)

    restarted = redrive_images(names, aws.client("dynamodb"), aws.client("stepfunctions"))

    assert [r["image_id"] for r in restarted] == [first["name"]]
    assert aws.wait(["box_on_white.jpg"], timeout_s=240).by_status == {"exported": 1}
    record = aws.records_by_key()["box_on_white.jpg"]
    assert record["redrives"][0]["status"] == "stopped" and record["execution_name"] != first["name"]
    assert record["exports"]
    # Finished: nothing left to restart.
    assert redrive_images(names, aws.client("dynamodb"), aws.client("stepfunctions")) == []
