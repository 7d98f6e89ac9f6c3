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
