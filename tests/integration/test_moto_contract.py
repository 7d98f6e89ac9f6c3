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
