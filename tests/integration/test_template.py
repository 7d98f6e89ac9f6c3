"""The template and the state machine are the one source of truth: check they hold together."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from packshot.local.embedded import DEFAULT_TEMPLATE
from packshot.local.lambda_runtime import handler_specs
from packshot.local.template import Stack


def stack() -> Stack:
    return Stack.from_file(DEFAULT_TEMPLATE)


def test_cfn_lint_reports_no_errors_on_the_template(repo: Path) -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "template.yaml"],
        cwd=repo, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_state_machine_definition_has_every_substitution_it_uses() -> None:
    s = stack()
    definition = json.loads(s.state_machine_definition("PipelineStateMachine"))
    assert "${" not in json.dumps(definition)
    assert definition["StartAt"] in definition["States"]


def test_every_lambda_task_retries_transient_errors_and_catches_the_rest() -> None:
    definition = json.loads(stack().state_machine_definition("PipelineStateMachine"))
    tasks = {n: st for n, st in definition["States"].items() if st["Type"] == "Task"
             and "lambda" in st["Resource"]}
    assert len(tasks) == 6  # five stages and the review wait
    for name, state in tasks.items():
        retried = {e for r in state["Retry"] for e in r["ErrorEquals"]}
        assert "TransientStorageError" in retried, name
        assert any("States.ALL" in c["ErrorEquals"] for c in state["Catch"]), name


def test_every_state_is_reachable_and_every_next_exists() -> None:
    states = json.loads(stack().state_machine_definition("PipelineStateMachine"))["States"]
    targets = set()
    for state in states.values():
        targets.update(t for t in [state.get("Next"), state.get("Default")] if t)
        targets.update(c["Next"] for c in state.get("Choices", []) + state.get("Catch", []))
    assert targets <= set(states)
    assert set(states) - targets == {"Preprocess the photo"}


def test_every_function_has_a_handler_file_and_the_cutout_is_a_container_image() -> None:
    s = stack()
    specs = handler_specs(s)
    assert {spec.logical_id for spec in specs.values()} == {
        "IngestFunction", "PreprocessFunction", "ClassifyFunction", "CutoutFunction", "FinishFunction",
        "ExportFunction", "DeliverFunction", "ReviewFunction", "ReviewApiFunction", "BacklogFunction",
        "ExecutionEndedFunction"}
    assert s.properties("CutoutFunction")["PackageType"] == "Image"
    dockerfile = (s.root / s.resources["CutoutFunction"]["Metadata"]["Dockerfile"]).read_text()
    assert "packshot.models.describe verify /opt/models" in dockerfile, "the image must verify the models it bakes in"


def test_the_cutout_model_comes_from_the_image_unless_model_uri_is_set_and_then_only_that_object_is_readable() -> None:
    def model_reads(s: Stack) -> list[object]:
        policies = s.resolve(s.properties("CutoutFunction")["Policies"])
        return [st["Resource"] for p in policies if isinstance(p, dict) for st in p.get("Statement", [])
                if st["Action"] == "s3:GetObject"]

    default = stack()
    assert "MODEL_PATH" not in default.function_environment("CutoutFunction")  # the image's /opt/models file
    assert model_reads(default) == []
    uri = "s3://studio-models/cutout/v2/u2netp-dynamic.onnx"
    configured = Stack.from_file(DEFAULT_TEMPLATE, parameters={"ModelUri": uri, "ModelSha256": "ab" * 32})
    env = configured.function_environment("CutoutFunction")
    assert env["MODEL_PATH"] == uri and env["MODEL_SHA256"] == "ab" * 32
    assert model_reads(configured) == ["arn:aws:s3:::studio-models/cutout/v2/u2netp-dynamic.onnx"]
    for logical in configured.of_type("AWS::Serverless::Function"):
        if logical != "CutoutFunction":
            assert "MODEL_PATH" not in configured.function_environment(logical), logical


def test_the_model_name_parameter_offers_exactly_the_registry_s_models_and_reaches_the_cutout() -> None:
    from packshot.models.registry import MODELS

    template = stack()
    assert sorted(template.template["Parameters"]["ModelName"]["AllowedValues"]) == sorted(MODELS)
    assert template.function_environment("CutoutFunction")["MODEL_NAME"] == "u2netp-int8"
    chosen = Stack.from_file(DEFAULT_TEMPLATE, parameters={"ModelName": "isnet-general-use"})
    assert chosen.function_environment("CutoutFunction")["MODEL_NAME"] == "isnet-general-use"
    # A family whose file is not in the image must come with ModelUri: a deploy-time rule says so.
    rule = template.template["Rules"]["ModelFileForModelName"]
    from packshot.models.catalog import FAMILIES

    (contains,) = rule["RuleCondition"]["Fn::Not"]
    baked_in, chosen = contains["Fn::Contains"]
    assert sorted(baked_in) == sorted(n for n, f in FAMILIES.items() if f.file.in_image)
    assert chosen == {"Ref": "ModelName"}


def test_the_ingest_queue_outlives_six_function_timeouts_and_has_a_dead_letter_queue() -> None:
    s = stack()
    queue = s.properties("IngestQueue")
    timeout = s.properties("IngestFunction")["Timeout"]
    assert queue["VisibilityTimeout"] >= 6 * timeout
    assert s.resolve(queue["RedrivePolicy"]["deadLetterTargetArn"]) == s.physical["IngestDeadLetterQueue"]["Arn"]


def test_the_queue_policy_only_admits_the_input_bucket() -> None:
    s = stack()
    statement = s.resolve(s.properties("IngestQueuePolicy"))["PolicyDocument"]["Statement"][0]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == s.physical["InputBucket"]["Arn"]


def test_buckets_are_private_and_encrypted() -> None:
    s = stack()
    for logical in s.of_type("AWS::S3::Bucket"):
        props = s.properties(logical)
        assert all(props["PublicAccessBlockConfiguration"].values()), logical
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"], logical


def test_each_function_s_duration_alarm_fires_at_exactly_80_percent_of_its_timeout() -> None:
    # The Functions mapping holds both numbers side by side (CloudFormation has no arithmetic): keep them in step.
    s = stack()
    for logical in s.of_type("AWS::Serverless::Function"):
        name = s.physical[logical]["Ref"]
        (alarm,) = [a for a in s.of_type("AWS::CloudWatch::Alarm") if s.properties(a).get("MetricName") == "Duration"
                    and s.resolve(s.properties(a)["Dimensions"]) == [{"Name": "FunctionName", "Value": name}]]
        assert s.properties(alarm)["Threshold"] == 800 * s.properties(logical)["Timeout"], logical


def test_zip_functions_take_runtime_handler_and_layer_from_globals_and_the_container_image_none_of_them() -> None:
    s = stack()
    layer = {"Ref": "PackshotLayer"}
    for logical in s.of_type("AWS::Serverless::Function"):
        props = s.properties(logical)
        if logical == "CutoutFunction":
            assert not {"Runtime", "Handler", "Layers"} & set(props), "SAM refuses them on a PackageType Image function"
            assert props["Architectures"] == ["arm64"] and props["Environment"]["Variables"]["RECORDS_TABLE"]
        else:
            assert props["Runtime"] == "python3.12" and props["Handler"] == "app.lambda_handler", logical
            assert props["Layers"] == [layer], logical
