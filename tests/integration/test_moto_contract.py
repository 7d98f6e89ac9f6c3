"""The one private moto API the embedded runner depends on: fail loudly if it moves."""

from __future__ import annotations

import inspect
from importlib.metadata import version


def test_moto_is_the_minor_version_the_runner_was_written_for() -> None:
    assert version("moto").startswith("5.2."), "re-check packshot/local/lambda_runtime.py before moving moto"


def test_moto_still_routes_lambda_invokes_through_invoke_lambda() -> None:
    from moto.awslambda.models import LambdaFunction

    params = list(inspect.signature(LambdaFunction._invoke_lambda).parameters)
    assert params[:2] == ["self", "event"]
    assert "self._invoke_lambda(" in inspect.getsource(LambdaFunction.invoke)


def test_a_step_functions_task_reaches_our_handler_through_that_method(embedded_without_event_sources) -> None:
    aws = embedded_without_event_sources
    lam = aws.client("lambda")
    name = aws.physical("PreprocessFunction")
    before = aws.runtime.invocations[name]
    resp = lam.invoke(FunctionName=name, Payload=b'{"image_id": "img-none"}')
    assert resp.get("FunctionError") == "Handled"  # no bucket/key: the handler ran and raised
    assert aws.runtime.invocations[name] == before + 1


def test_moto_still_parses_the_definition_per_execution_and_makes_a_lambda_client_per_task() -> None:
    # What packshot/local/moto_speedups.py caches: if these move, the cache silently stops working (or breaks).
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    assert "AmazonStateLanguageParser.parse(" in inspect.getsource(ExecutionWorker._get_evaluation_entrypoint)
    assert isinstance(AmazonStateLanguageParser.__dict__["parse"], staticmethod)
    assert "boto_client_for(" in inspect.getsource(lambda_eval_utils)
    assert list(inspect.signature(lambda_eval_utils.boto_client_for).parameters) == [
        "region", "service", "state_credentials"]


def test_moto_server_still_lists_its_package_per_request_through_the_backends_module() -> None:
    # The third cache in moto_speedups: the server must look the list up on the module at call time.
    from moto import backends
    from moto.moto_server import werkzeug_app

    assert "backends.list_of_moto_modules()" in inspect.getsource(werkzeug_app.DomainDispatcherApplication)
    original = backends.list_of_moto_modules
    from packshot.local.moto_speedups import install

    uninstall = install()
    try:
        assert backends.list_of_moto_modules() is backends.list_of_moto_modules()
        assert list(backends.list_of_moto_modules()) == list(original())
        assert "s3" in backends.list_of_moto_modules() and "dynamodb" in backends.list_of_moto_modules()
    finally:
        uninstall()
    assert backends.list_of_moto_modules is original


def test_the_cached_parse_serves_every_execution_and_the_patch_comes_off_with_the_embedded_aws(model_file) -> None:
    import warnings

    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    from packshot.local.embedded import EmbeddedAws

    original = AmazonStateLanguageParser.__dict__["parse"]
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    with EmbeddedAws(log_level="ERROR", event_sources=False) as aws:
        definition = aws.stack.state_machine_definition(next(iter(aws.stack.of_type("AWS::Serverless::StateMachine"))))
        first, _ = AmazonStateLanguageParser.parse(definition)
        assert AmazonStateLanguageParser.parse(definition)[0] is first
        assert lambda_eval_utils.boto_client_for("us-east-1", "lambda") is \
            lambda_eval_utils.boto_client_for("us-east-1", "lambda")
        # Every Lambda task passes the execution's role: the cache must serve those calls too (it once skipped them,
        # and each task built a client: 14 ms of the embedded AWS's CPU each), one client per role.
        from moto.stepfunctions.parser.asl.component.state.exec.state_task.credentials import StateCredentials

        role = StateCredentials(role_arn="arn:aws:iam::1:role/a")
        other = StateCredentials(role_arn="arn:aws:iam::1:role/b")
        first_task = lambda_eval_utils.boto_client_for("us-east-1", "lambda", role)
        assert lambda_eval_utils.boto_client_for("us-east-1", "lambda", StateCredentials(role.role_arn)) is first_task
        assert lambda_eval_utils.boto_client_for("us-east-1", "lambda", other) is not first_task
    assert AmazonStateLanguageParser.__dict__["parse"] is original


def test_moto_still_converts_the_whole_item_per_projected_path_and_parses_each_update_twice() -> None:
    # What the DynamoDB patches of moto_speedups replace: if these move, re-check them.
    from moto.dynamodb import responses
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.parsing.validators import Validator

    project = inspect.getsource(Item.project)
    assert "find_nested_key(expr, self.to_regular_json())" in project and "merge_dicts(result, x)" in project
    assert "UpdateExpressionParser.make(" in inspect.getsource(responses.DynamoHandler.update_item)
    assert "UpdateExpressionParser.make(" in inspect.getsource(DynamoDBBackend.update_item)
    # The cached tree is shared, so nothing may change it: moto validates (and then runs) a deep copy.
    assert "self.node_to_validate = deepcopy(expression)" in inspect.getsource(Validator.__init__)


def _awkward_item() -> object:
    from moto.dynamodb.models.dynamo_type import Item

    return Item(hash_key=None, range_key=None, attrs={
        "image_id": {"S": "img-1"}, "status": {"S": "exported"}, "size": {"N": "1.50"}, "flag": {"BOOL": False},
        "blob": {"B": "AAEC"}, "tags": {"SS": ["a", "b"]}, "nothing": {"NULL": True},
        "gate": {"M": {"signals": {"L": [{"M": {"name": {"S": "edges"}, "boxes": {"L": [{"N": "1"}, {"N": "2"}]}}},
                                         {"M": {"name": {"S": "notched"}}}]},
                       "confidence": {"N": "0.957"}, "empty": {"M": {}}}},
        "list": {"L": [{"S": "x"}, {"M": {"deep": {"S": "y"}}}]},
        "odd[1]": {"S": "an attribute whose name looks like a list element"},
    })


def test_the_projection_patch_answers_as_moto_does_for_every_kind_of_path() -> None:
    from moto.dynamodb.models.dynamo_type import Item

    from packshot.local.moto_speedups import project

    paths = [[["source_key"], ["status"], ["created_at"]], [["status"]], [["missing"]], [["gate", "confidence"]],
             [["gate"], ["gate", "confidence"]], [["gate", "confidence"], ["gate"]], [["gate", "signals"]],
             [["gate", "signals[1]", "name"]], [["gate", "signals[0]", "boxes[1]"]], [["list[1]", "deep"]],
             [["list[5]"]], [["odd[1]"]], [["size"], ["flag"], ["blob"], ["tags"], ["nothing"]], [["gate", "empty"]],
             [["image_id"], ["gate", "signals[0]", "name"], ["gate", "signals[1]", "name"], ["list[0]"]]]
    item = _awkward_item()
    for path in paths:
        theirs, ours = Item.project(item, path), project(item, path)
        assert ours == theirs and ours.to_json() == theirs.to_json(), path
    assert item == _awkward_item()  # neither changes the item it projects


def test_the_dynamodb_patches_serve_scans_and_updates_through_the_embedded_aws(model_file) -> None:
    import warnings

    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    from packshot.adapters.records import RecordsTable
    from packshot.local.embedded import EmbeddedAws

    original_project, original_make = Item.project, UpdateExpressionParser.__dict__["make"]
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    with EmbeddedAws(log_level="ERROR", event_sources=False) as aws:
        assert Item.project is not original_project
        table = RecordsTable(aws.records_table, aws.client("dynamodb"))
        for n in range(3):
            assert table.create_if_absent({"image_id": f"img-{n}", "source_key": f"b/{n}.jpg", "status": "received"})
        # The same expression (SET #f0 = :v0, #f1 = :v1) with other names and values each time: one cached tree.
        table.update("img-0", {"status": "processing", "stage": "preprocess"})
        table.update("img-1", {"route": "simple", "scores": {"edge": 0.5, "boxes": [[1, 2], [3, 4]]}})
        assert UpdateExpressionParser.make("SET #f0 = :v0, #f1 = :v1") is UpdateExpressionParser.make(
            "SET #f0 = :v0, #f1 = :v1")
        rows = {r["image_id"]: r for r in table.scan(("image_id", "status", "scores"))}
        assert rows == {"img-0": {"image_id": "img-0", "status": "processing"},
                        "img-1": {"image_id": "img-1", "status": "received",
                                  "scores": {"edge": 0.5, "boxes": [[1, 2], [3, 4]]}},
                        "img-2": {"image_id": "img-2", "status": "received"}}
        assert table.get("img-0")["stage"] == "preprocess" and "stage" not in table.get("img-1")
    assert Item.project is original_project and UpdateExpressionParser.__dict__["make"] is original_make
