"""Operations rules that hold for every resource in the template, including ones added later: alarms, DLQs, IAM."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from packshot.local.embedded import DEFAULT_TEMPLATE
from packshot.local.template import Stack

# Actions that IAM only grants on "*": each such statement in the template also needs a comment saying why.
STAR_RESOURCE_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "cloudwatch:PutMetricData",
                         "states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"}
# SAM policy templates that can write to a bucket.
S3_WRITE_TEMPLATES = {"S3CrudPolicy", "S3WritePolicy", "S3FullAccessPolicy"}
# Event sources that invoke a function asynchronously (Lambda keeps the event and retries it twice, then drops it).
ASYNC_EVENT_TYPES = {"S3", "SNS", "EventBridgeRule", "CloudWatchEvent", "Schedule", "ScheduleV2", "IoTRule"}


def stack(**parameters: str) -> Stack:
    return Stack.from_file(DEFAULT_TEMPLATE, parameters=parameters or None)


def alarms(s: Stack) -> list[dict[str, Any]]:
    return [s.resolve(s.properties(logical)) | {"logical": logical} for logical in s.of_type("AWS::CloudWatch::Alarm")]


def alarms_on(s: Stack, namespace: str, metric: str, dimension: str, value: str) -> list[dict[str, Any]]:
    return [a for a in alarms(s) if a.get("Namespace") == namespace and a.get("MetricName") == metric
            and {"Name": dimension, "Value": value} in a.get("Dimensions", [])]


def functions(s: Stack) -> dict[str, dict[str, Any]]:
    return {logical: s.properties(logical) for logical in s.of_type("AWS::Serverless::Function")}


def dead_letter_queues(s: Stack) -> set[str]:
    """Queues that a queue's RedrivePolicy or a function's DeadLetterQueue / OnFailure destination points at."""
    targets = {s.resolve(s.properties(q).get("RedrivePolicy", {})).get("deadLetterTargetArn")
               for q in s.of_type("AWS::SQS::Queue")}
    for props in functions(s).values():
        targets.add(s.resolve(props.get("DeadLetterQueue", {}).get("TargetArn")))
        targets.add(s.resolve(props.get("EventInvokeConfig", {}).get("DestinationConfig", {})
                              .get("OnFailure", {}).get("Destination")))
    return {q for q in s.of_type("AWS::SQS::Queue") if s.physical[q]["Arn"] in targets}


def test_every_alarm_notifies_the_one_alarm_topic() -> None:
    s = stack()
    topic = s.physical["AlarmTopic"]["Ref"]
    for alarm in alarms(s):
        assert alarm["AlarmActions"] == [topic], alarm["logical"]


def test_every_function_has_error_throttle_and_duration_alarms() -> None:
    s = stack()
    missing = []
    for logical, props in functions(s).items():
        name = s.physical[logical]["Ref"]
        for metric in ("Errors", "Throttles"):
            found = alarms_on(s, "AWS/Lambda", metric, "FunctionName", name)
            if not any(a["Threshold"] == 0 and a["ComparisonOperator"] == "GreaterThanThreshold" for a in found):
                missing.append(f"{logical}: {metric} > 0")
        timeout_ms = 1000 * int(props.get("Timeout", 3))
        durations = alarms_on(s, "AWS/Lambda", "Duration", "FunctionName", name)
        if not any(a["Threshold"] <= 0.8 * timeout_ms and a.get("Statistic", a.get("ExtendedStatistic")) in
                   ("Maximum", "p99") for a in durations):
            missing.append(f"{logical}: Duration (Maximum or p99) > 80% of {timeout_ms} ms")
    assert not missing, "add these alarms to template.yaml: " + "; ".join(missing)


def test_every_queue_has_a_dead_letter_queue_and_an_age_alarm_and_every_dead_letter_queue_a_depth_alarm() -> None:
    s = stack()
    dlqs = dead_letter_queues(s)
    problems = []
    for logical in s.of_type("AWS::SQS::Queue"):
        name = s.physical[logical]["QueueName"]
        if logical in dlqs:
            depth = alarms_on(s, "AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", name)
            if not any(a["Threshold"] == 0 and a["ComparisonOperator"] == "GreaterThanThreshold" for a in depth):
                problems.append(f"{logical}: no alarm on ApproximateNumberOfMessagesVisible > 0")
            continue
        if "RedrivePolicy" not in s.properties(logical):
            problems.append(f"{logical}: no RedrivePolicy (dead-letter queue)")
        if not alarms_on(s, "AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", name):
            problems.append(f"{logical}: no alarm on ApproximateAgeOfOldestMessage")
    assert s.of_type("AWS::SQS::Queue") and dlqs
    assert not problems, problems


def test_every_queue_that_feeds_a_function_hides_a_message_for_six_function_timeouts() -> None:
    s = stack()
    for logical, props in functions(s).items():
        for event in props.get("Events", {}).values():
            if event["Type"] != "SQS":
                continue
            queue = next(q for q in s.of_type("AWS::SQS::Queue")
                         if s.physical[q]["Arn"] == s.resolve(event["Properties"]["Queue"]))
            assert int(s.properties(queue)["VisibilityTimeout"]) >= 6 * int(props["Timeout"]), (logical, queue)


def test_every_asynchronously_invoked_function_has_somewhere_to_put_a_failed_event() -> None:
    s = stack()
    for logical, props in functions(s).items():
        if any(e["Type"] in ASYNC_EVENT_TYPES for e in props.get("Events", {}).values()):
            on_failure = props.get("EventInvokeConfig", {}).get("DestinationConfig", {}).get("OnFailure")
            assert props.get("DeadLetterQueue") or on_failure, f"{logical} is invoked asynchronously without a DLQ"


def test_the_state_machine_alarms_on_failed_timed_out_and_aborted_executions() -> None:
    s = stack()
    for logical in s.of_type("AWS::Serverless::StateMachine"):
        arn = s.physical[logical]["Ref"]
        for metric in ("ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"):
            assert alarms_on(s, "AWS/States", metric, "StateMachineArn", arn), (logical, metric)


def test_business_alarm_thresholds_are_template_parameters() -> None:
    s = stack(QcRejectRatePercent="35", ReviewBacklogMax="7", ReviewBacklogMaxAgeSeconds="3600")
    by_name = {a["logical"]: a for a in alarms(s)}
    assert by_name["QcRejectRateAlarm"]["Threshold"] == "35"
    expression = next(m for m in by_name["QcRejectRateAlarm"]["Metrics"] if m.get("ReturnData"))["Expression"]
    assert "rejected" in expression and "scored" in expression
    assert by_name["ReviewBacklogCountAlarm"]["Threshold"] == "7"
    assert by_name["ReviewBacklogAgeAlarm"]["Threshold"] == "3600"


def test_the_alarm_e_mail_subscription_exists_only_when_an_address_is_given() -> None:
    assert not stack().of_type("AWS::SNS::Subscription")
    subscriptions = stack(AlarmEmail="ops@example.com").of_type("AWS::SNS::Subscription")
    assert len(subscriptions) == 1


def test_the_dashboard_has_a_row_for_every_function() -> None:
    s = stack()
    (dashboard,) = s.of_type("AWS::CloudWatch::Dashboard")
    widgets = json.loads(s.resolve(s.properties(dashboard)["DashboardBody"]))["widgets"]
    rows: dict[int, set[str]] = {}
    for widget in widgets:
        for metric in widget["properties"]["metrics"]:
            rows.setdefault(widget["y"], set()).update(str(part) for part in metric)
    for logical in functions(s):
        name = s.physical[logical]["Ref"]
        assert any(name in names for names in rows.values()), f"no dashboard row for {logical}"


def test_every_function_logs_to_a_group_with_a_retention() -> None:
    s = stack()
    groups = {s.physical[g]["Ref"]: s.resolve(s.properties(g)) for g in s.of_type("AWS::Logs::LogGroup")}
    for logical in functions(s):
        group = groups.get(f"/aws/lambda/{s.physical[logical]['Ref']}")
        assert group and int(group["RetentionInDays"]) > 0, f"{logical} has no log group with a retention"


def test_no_function_may_write_to_the_input_bucket_so_originals_are_never_changed() -> None:
    s = stack(ModelUri="s3://models/u2netp/u2netp-dynamic.onnx")
    input_bucket = s.physical["InputBucket"]["Ref"]
    input_arn = s.physical["InputBucket"]["Arn"]
    for logical, props in functions(s).items():
        # Resolved, so a statement behind !If (present only when a parameter is set) is checked too.
        for policy in s.resolve(props.get("Policies", [])):
            if not isinstance(policy, dict):
                continue
            for name, arg in policy.items():
                if name in S3_WRITE_TEMPLATES:
                    assert s.resolve(arg["BucketName"]) != input_bucket, f"{logical} may write the input bucket"
            for statement in policy.get("Statement", []):
                actions = statement.get("Action", [])
                actions = [actions] if isinstance(actions, str) else actions
                resources = json.dumps(s.resolve(statement.get("Resource", [])))
                writes = [a for a in actions if a.startswith("s3:") and not a.startswith(("s3:Get", "s3:List"))]
                assert not (writes and (input_arn in resources or resources == '"*"')), (logical, statement)


def test_star_resources_are_only_where_iam_requires_them_and_each_says_why(repo: Path) -> None:
    s = stack(ModelUri="s3://models/u2netp/u2netp-dynamic.onnx")
    for logical, props in functions(s).items():
        for policy in s.resolve(props.get("Policies", [])):
            for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
                if statement.get("Resource") in ("*", ["*"]):
                    actions = statement["Action"]
                    actions = {actions} if isinstance(actions, str) else set(actions)
                    assert actions <= STAR_RESOURCE_ACTIONS, (logical, actions)
    lines = (repo / "template.yaml").read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if re.match(r'\s*(- )?Resource: ["\']\*["\']', line):
            assert lines[i - 1].strip().startswith("#"), f"template.yaml:{i + 1}: say why this Resource is '*'"


def test_buckets_deny_requests_without_tls() -> None:
    s = stack()
    policies = {s.resolve(s.properties(p))["Bucket"]: s.resolve(s.properties(p))["PolicyDocument"]
                for p in s.of_type("AWS::S3::BucketPolicy")}
    for logical in s.of_type("AWS::S3::Bucket"):
        statements = policies.get(s.physical[logical]["Ref"], {}).get("Statement", [])
        assert any(st["Effect"] == "Deny" and st["Condition"]["Bool"]["aws:SecureTransport"] == "false"
                   for st in statements), f"{logical} accepts plain HTTP"


def test_queues_and_tables_are_encrypted_at_rest() -> None:
    s = stack()
    for logical in s.of_type("AWS::SQS::Queue"):
        props = s.properties(logical)
        assert props.get("SqsManagedSseEnabled") or props.get("KmsMasterKeyId"), logical
    for logical in s.of_type("AWS::DynamoDB::Table"):
        assert s.properties(logical)["SSESpecification"]["SSEEnabled"], logical


def test_every_task_in_the_state_machine_catches_into_a_failure_record_and_lambda_tasks_retry_transients() -> None:
    s = stack()
    definition = json.loads(s.state_machine_definition("PipelineStateMachine"))
    tasks = {n: st for n, st in definition["States"].items() if st["Type"] == "Task"}
    recorders = {n for n, st in tasks.items() if "dynamodb" in st["Resource"] and "failed" in json.dumps(st)}
    assert recorders, "a Task that writes the failure record"
    for name, state in tasks.items():
        if name in recorders:
            assert state.get("Retry"), name  # the last word: retried, and an ExecutionsFailed alarm behind it
            continue
        assert any("States.ALL" in c["ErrorEquals"] for c in state.get("Catch", [])), f"{name} has no Catch"
        if "lambda" in state["Resource"]:
            retried = {e for r in state.get("Retry", []) for e in r["ErrorEquals"]}
            assert "TransientStorageError" in retried, name
            assert all(r.get("BackoffRate", 1) > 1 for r in state["Retry"]), f"{name} retries without backoff"


@pytest.mark.parametrize("value, expected", [("", False), ("ops@example.com", True)])
def test_conditions_resolve_fn_if_and_drop_no_value(value: str, expected: bool) -> None:
    s = stack(AlarmEmail=value)
    assert s.condition("HasAlarmEmail") is expected
    resolved = s.resolve({"Fn::If": ["HasAlarmEmail", "yes", {"Ref": "AWS::NoValue"}]})
    assert resolved == ("yes" if expected else s.resolve({"Ref": "AWS::NoValue"}))
    assert s.resolve({"A": {"Fn::If": ["HasAlarmEmail", 1, {"Ref": "AWS::NoValue"}]}}) == ({"A": 1} if expected else {})


def test_the_embedded_aws_creates_every_alarm_the_dashboard_and_the_log_groups(embedded_without_event_sources) -> None:
    aws = embedded_without_event_sources
    s = aws.stack
    names = {a["AlarmName"] for a in aws.client("cloudwatch").describe_alarms()["MetricAlarms"]}
    assert names == {s.physical[a]["Ref"] for a in s.of_type("AWS::CloudWatch::Alarm")}
    assert aws.client("cloudwatch").list_dashboards()["DashboardEntries"]
    groups = {g["logGroupName"]: g for g in aws.client("logs").describe_log_groups()["logGroups"]}
    for logical in s.of_type("AWS::Serverless::Function"):
        assert groups[f"/aws/lambda/{s.physical[logical]['Ref']}"]["retentionInDays"] > 0
    # The TLS-only denial is checked on the template above; moto cannot evaluate aws:SecureTransport (it denies
    # every request, and the embedded AWS speaks plain HTTP), so the embedded runner leaves that statement out.
    with pytest.raises(ClientError, match="NoSuchBucketPolicy"):
        aws.client("s3").get_bucket_policy(Bucket=aws.input_bucket)


def _metric_names(text: str) -> set[str]:
    """Metric names in add_metric calls; an f-string's fixed start as a prefix ending in "*" (Route*)."""
    lines = [line for line in text.splitlines() if "add_metric(" in line]
    return ({name for line in lines for name in re.findall(r'"([A-Z][A-Za-z]+)"', line)}
            | {f"{prefix}*" for line in lines for prefix in re.findall(r'f"([A-Z][A-Za-z]+)\{', line)})


def _emits(names: set[str], metric: str) -> bool:
    return metric in names or any(n.endswith("*") and metric.startswith(n[:-1]) for n in names)


def emitted_by_function() -> dict[str, set[str]]:
    """Each function's custom metric names: its own add_metric calls and those of the observability helpers it calls."""
    repo = Path(__file__).resolve().parents[2]
    helpers = {}
    for chunk in (repo / "layers/packshot/packshot/observability.py").read_text().split("\ndef ")[1:]:
        helpers[chunk.split("(", 1)[0]] = _metric_names(chunk)
    out = {}
    for path in sorted((repo / "functions").glob("*/app.py")):
        text = path.read_text()
        names = _metric_names(text)
        for helper, helper_names in helpers.items():
            # stage.finished(...) is bootstrap's call of emit_stage_metrics.
            if f"{helper}(" in text or (helper == "emit_stage_metrics" and "stage.finished(" in text):
                names |= helper_names
        out[path.parent.name] = names
    return out


def test_every_custom_metric_on_the_dashboard_is_one_its_function_emits_with_those_dimensions() -> None:
    # A widget on a metric nobody emits is an empty graph an operator reads as "nothing happened" (four rows
    # graphed ImagesProcessed for functions that never emit it).
    repo = Path(__file__).resolve().parents[2]
    emitted = emitted_by_function()
    untagged = {path.parent.name for path in (repo / "functions").glob("*/app.py")
                if "stage_dimension=False" in path.read_text()}
    s = stack()
    (dashboard,) = s.of_type("AWS::CloudWatch::Dashboard")
    widgets = json.loads(s.resolve(s.properties(dashboard)["DashboardBody"]))["widgets"]
    custom = [m for w in widgets for m in w["properties"]["metrics"] if m[0] == "Packshot"]
    assert len(custom) >= 9
    for metric in custom:
        parts = [part for part in metric if not isinstance(part, dict)]  # a trailing dict holds display options
        name, dimensions = parts[1], dict(zip(parts[2::2], parts[3::2], strict=True))
        stage = dimensions.get("Stage")
        # With a Stage dimension the named function emits it; without one, a function that adds no Stage does.
        sources = [stage] if stage is not None else sorted(untagged)
        assert stage is None or stage not in untagged, metric
        assert any(_emits(emitted.get(source, set()), name) for source in sources), \
            f"{name} {dimensions} is graphed but no function emits it with those dimensions"
