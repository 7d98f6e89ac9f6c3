"""The one private moto API the embedded runner depends on: fail loudly if it moves."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from contextlib import contextmanager
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


def test_moto_still_deep_copies_each_item_a_scan_returns_through_its_table_module() -> None:
    # What the scan patch of moto_speedups relies on: Table.scan's only deep copies are of the items it returns.
    from moto.dynamodb.models import table

    source = inspect.getsource(table.Table.scan)
    assert source.count("copy.deepcopy(") == 2 and "results.append(copy.deepcopy(item))" in source
    assert "results = [r.project(projection_expression) for r in results]" in source
    # And UpdateItem's handler copies the old item once, for ReturnValues only.
    from moto.dynamodb import responses

    update = inspect.getsource(responses.DynamoHandler.update_item)
    assert update.count("copy.deepcopy(") == 1 and "existing_item = copy.deepcopy(" in update
    assert list(inspect.signature(table.Table.scan).parameters)[:8] == [
        "self", "filters", "limit", "exclusive_start_key", "filter_expression", "index_name", "consistent_read",
        "projection_expression"]


def _scans(client: object) -> list[object]:
    """The pages of scans of every shape the patch touches (and some it must not), as the client sees them."""
    kinds = [{}, {"ProjectionExpression": "image_id, #s", "ExpressionAttributeNames": {"#s": "status"}},
             {"ProjectionExpression": "gate.signals[1].#n, gate.signals[0].boxes[1]",
              "ExpressionAttributeNames": {"#n": "name"}},
             {"ProjectionExpression": "image_id, gate", "FilterExpression": "#s = :s",
              "ExpressionAttributeNames": {"#s": "status"}, "ExpressionAttributeValues": {":s": {"S": "exported"}}},
             {"ProjectionExpression": "image_id, tags", "Limit": 2},
             {"ProjectionExpression": "image_id", "IndexName": "by-status"},
             {"ProjectionExpression": "absent_field"}]
    pages = []
    for kind in kinds:
        start: dict = {}
        while True:
            page = client.scan(TableName="records", **kind, **start)  # type: ignore[attr-defined]
            page.pop("ResponseMetadata")
            pages.append(page)
            if "LastEvaluatedKey" not in page:
                break
            start = {"ExclusiveStartKey": page["LastEvaluatedKey"]}
    return pages


@contextmanager
def _item_copies() -> Iterator[list[object]]:
    """Every moto DynamoDB item deep-copied inside the block, in order: Item.__deepcopy__ counted, then restored."""
    from moto.dynamodb.models.dynamo_type import Item

    copied: list[object] = []
    original_deepcopy = Item.__deepcopy__

    def counting(self: Item, memo: dict) -> Item:
        copied.append(self)
        return original_deepcopy(self, memo)

    Item.__deepcopy__ = counting  # type: ignore[method-assign]
    try:
        yield copied
    finally:
        Item.__deepcopy__ = original_deepcopy  # type: ignore[method-assign]


def test_a_projecting_scan_copies_no_item_and_answers_as_moto_does() -> None:
    import copy

    import boto3
    from moto import mock_aws

    from packshot.local.moto_speedups import install

    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(TableName="records", BillingMode="PAY_PER_REQUEST",
                            AttributeDefinitions=[{"AttributeName": "image_id", "AttributeType": "S"},
                                                  {"AttributeName": "status", "AttributeType": "S"}],
                            KeySchema=[{"AttributeName": "image_id", "KeyType": "HASH"}],
                            GlobalSecondaryIndexes=[{"IndexName": "by-status", "Projection": {"ProjectionType": "ALL"},
                                                     "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}]}])
        for n in range(5):
            item = _awkward_item().to_json()["Attributes"]  # type: ignore[attr-defined]
            item["image_id"], item["status"] = {"S": f"img-{n}"}, {"S": "exported" if n % 2 else "failed"}
            client.put_item(TableName="records", Item=item)
        theirs = _scans(client)
        with _item_copies() as copied:
            _scans(client)
            moto_copies = len(copied)
            copied.clear()
            client.scan(TableName="records", ProjectionExpression="image_id", IndexName="by-status")
            index_copies = len(copied)
            copied.clear()
            client.scan(TableName="records")
            moto_plain_copies = len(copied)
            copied.clear()
            uninstall = install()
            try:
                ours = _scans(client)
                projecting_copies = len(copied)
                copied.clear()
                client.scan(TableName="records")  # without a projection moto copies each item it returns, as before
                plain_copies = len(copied)
            finally:
                uninstall()
        assert ours == theirs
        assert _scans(client) == theirs  # and nothing stored changed
        assert plain_copies == moto_plain_copies >= 5
        # Of the scans only the one without a projection and the one of an index (moto projects copies there) copy.
        assert projecting_copies == plain_copies + index_copies < moto_copies
        assert copy.deepcopy(theirs) == theirs


def _updates(client: object) -> list[object]:
    """UpdateItem of every kind, with and without ReturnValues, then the items: what a client sees."""
    names = {"#s": "status", "#g": "gate", "#z": "size"}
    calls = [("SET #s = :v, #g.confidence = :n", {":v": {"S": "exported"}, ":n": {"N": "0.5"}}),
             ("ADD tags :t, #z :n", {":t": {"SS": ["c", "a"]}, ":n": {"N": "2"}}),
             ("DELETE tags :t", {":t": {"SS": ["b"]}}),
             ("REMOVE #g.signals[0] SET #s = :v", {":v": {"S": "failed"}}),
             ("SET #g.signals = list_append(#g.signals, :l)", {":l": {"L": [{"S": "z"}]}})]
    seen = []
    for n, returns in enumerate(["NONE", None, "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"]):
        for expression, values in calls:
            used = {k: v for k, v in names.items() if k in expression}
            kwargs = {"ReturnValues": returns} if returns else {}
            answer = client.update_item(  # type: ignore[attr-defined]
                TableName="records", Key={"image_id": {"S": f"img-{n}"}}, UpdateExpression=expression,
                ExpressionAttributeNames=used, ExpressionAttributeValues=values, **kwargs)
            answer.pop("ResponseMetadata")
            seen.append(answer)
        try:  # a failed condition: nothing changes
            client.update_item(TableName="records", Key={"image_id": {"S": f"img-{n}"}},  # type: ignore[attr-defined]
                               UpdateExpression="SET #s = :v", ConditionExpression="attribute_not_exists(#s)",
                               ExpressionAttributeNames={"#s": "status"},
                               ExpressionAttributeValues={":v": {"S": "x"}})
        except client.exceptions.ConditionalCheckFailedException as exc:  # type: ignore[attr-defined]
            seen.append(exc.response["Error"])
    items = client.scan(TableName="records")["Items"]  # type: ignore[attr-defined]
    return [*seen, sorted(items, key=lambda item: item["image_id"]["S"])]


def test_an_update_without_return_values_copies_no_old_item_and_answers_as_moto_does() -> None:
    import boto3
    from moto import mock_aws

    from packshot.local.moto_speedups import install

    def fresh_table() -> object:
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(TableName="records", BillingMode="PAY_PER_REQUEST",
                            AttributeDefinitions=[{"AttributeName": "image_id", "AttributeType": "S"}],
                            KeySchema=[{"AttributeName": "image_id", "KeyType": "HASH"}])
        for n in range(6):
            item = _awkward_item().to_json()["Attributes"]  # type: ignore[attr-defined]
            item["image_id"] = {"S": f"img-{n}"}
            client.put_item(TableName="records", Item=item)
        return client

    with _item_copies() as copied:
        with mock_aws():
            theirs = _updates(fresh_table())
            moto_copies = len(copied)
        copied.clear()
        uninstall = install()
        try:
            with mock_aws():
                ours = _updates(fresh_table())
                our_copies = len(copied)
        finally:
            uninstall()
    assert ours == theirs
    # Ten updates without ReturnValues (NONE and absent) and the six failed conditions (none asked for either):
    # one old item less each.
    assert our_copies == moto_copies - 16
