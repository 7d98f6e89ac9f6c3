"""Runs the project's Lambda handlers in this process whenever moto invokes a function.

moto runs Lambda code only in Docker. Every invoke path (the Invoke API, Step Functions tasks) goes through the
private method `LambdaFunction._invoke_lambda`, which returns `(payload_json, errored, logs)`. We replace it for
the lifetime of the embedded AWS; moto is pinned to a minor version and tests/integration/test_moto_contract.py
fails loudly if the method moves or changes shape.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from packshot.errors import ConfigurationError
from packshot.local.template import Stack

# Step Functions' limit on a state's input or output (256 KiB): moto does not enforce it, the runtime does.
STATE_PAYLOAD_LIMIT = 256 * 1024


@dataclass(frozen=True)
class HandlerSpec:
    """Where a function's code lives and which attribute is its handler."""

    logical_id: str
    function_name: str
    code_dir: Path
    module: str
    attribute: str
    timeout_s: int
    memory_mb: int


@dataclass
class FakeContext:
    """The parts of the Lambda context object that Powertools and our handlers read."""

    function_name: str
    memory_limit_in_mb: int
    timeout_s: int
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "embedded"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_s - (time.monotonic() - self.started)) * 1000))


def handler_specs(stack: Stack) -> dict[str, HandlerSpec]:
    """One spec per function in the template, keyed by the function's physical name."""
    specs: dict[str, HandlerSpec] = {}
    for logical, resource in stack.of_type("AWS::Serverless::Function").items():
        props = stack.properties(logical)  # with the SAM Globals it takes
        if props.get("PackageType") == "Image":
            dockerfile = stack.root / resource.get("Metadata", {})["Dockerfile"]
            code_dir, handler = dockerfile.parent, _dockerfile_cmd(dockerfile)
        else:
            code_dir, handler = stack.root / props["CodeUri"], props.get("Handler", "")
        module, _, attribute = handler.rpartition(".")
        if not module or not (code_dir / f"{module.replace('.', '/')}.py").is_file():
            raise ConfigurationError(f"{logical}: handler {handler!r} not found under {code_dir}")
        name = stack.physical[logical]["Ref"]
        specs[name] = HandlerSpec(
            logical_id=logical,
            function_name=name,
            code_dir=code_dir,
            module=module,
            attribute=attribute,
            timeout_s=int(props.get("Timeout", 3)),
            memory_mb=int(props.get("MemorySize", 128)),
        )
    return specs


def _dockerfile_cmd(dockerfile: Path) -> str:
    match = re.search(r'^CMD\s*\[\s*"([^"]+)"', dockerfile.read_text(encoding="utf-8"), re.MULTILINE)
    if not match:
        raise ConfigurationError(f"{dockerfile} has no CMD [\"module.handler\"] line")
    return match.group(1)


class InProcessRuntime:
    """Loads each handler once (a cold start per function) and serves moto's invokes with it."""

    def __init__(self, specs: dict[str, HandlerSpec], max_concurrency: int = 2) -> None:
        self._specs = specs
        self._handlers: dict[str, Callable[[Any, Any], Any]] = {}
        self._load_lock = threading.Lock()
        # Bounds memory and CPU on a small machine; AWS would run these in separate environments.
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self._original: Any = None
        self._instance = uuid.uuid4().hex[:8]
        self.invocations: dict[str, int] = {name: 0 for name in specs}
        self.errors: list[tuple[str, str, str]] = []
        self.fault_injector: Callable[[str, Any], None] | None = None
        # Functions a state machine calls as a Task: their output becomes a state, capped by Step Functions.
        self.state_task_functions: set[str] = set()
        # Which function this thread is running (the AWS calls it makes are that function's).
        self._running = threading.local()

    def current_function(self) -> str:
        """The function whose handler this thread is running, or "" outside a handler."""
        return str(getattr(self._running, "name", ""))

    def install(self) -> None:
        from moto.awslambda.models import LambdaFunction

        runtime = self
        self._original = LambdaFunction._invoke_lambda

        def _invoke_lambda(fn: Any, event: Any = None) -> tuple[str, bool, str]:
            return runtime.invoke(fn.function_name, event)

        LambdaFunction._invoke_lambda = _invoke_lambda  # type: ignore[method-assign,assignment]

    def uninstall(self) -> None:
        if self._original is not None:
            from moto.awslambda.models import LambdaFunction

            LambdaFunction._invoke_lambda = self._original  # type: ignore[method-assign]
            self._original = None

    def handler(self, function_name: str) -> Callable[[Any, Any], Any]:
        with self._load_lock:
            if function_name not in self._handlers:
                self._handlers[function_name] = self._load(self._specs[function_name])
            return self._handlers[function_name]

    def _load(self, spec: HandlerSpec) -> Callable[[Any, Any], Any]:
        path = spec.code_dir / f"{spec.module.replace('.', '/')}.py"
        # A unique module name per function and runner: every stage's file is called app.py.
        module_name = f"packshot_fn_{spec.logical_id}_{self._instance}"
        module_spec = importlib.util.spec_from_file_location(module_name, path)
        if module_spec is None or module_spec.loader is None:
            raise ConfigurationError(f"cannot import {path}")
        module: ModuleType = importlib.util.module_from_spec(module_spec)
        sys.modules[module_name] = module
        module_spec.loader.exec_module(module)
        return getattr(module, spec.attribute)  # type: ignore[no-any-return]

    def invoke(self, function_name: str, event: Any) -> tuple[str, bool, str]:
        if isinstance(event, (bytes, str)):
            event = json.loads(event or "{}")
        spec = self._specs.get(function_name)
        if spec is None:
            return _error_payload(ConfigurationError(f"no handler for function {function_name}")), True, ""
        with self._slots:
            self.invocations[function_name] += 1
            try:
                if self.fault_injector is not None:
                    self.fault_injector(function_name, event)
                outer, self._running.name = self.current_function(), function_name
                try:
                    result = self.handler(function_name)(event, FakeContext(function_name, spec.memory_mb,
                                                                            spec.timeout_s))
                finally:
                    self._running.name = outer
            except Exception as exc:  # noqa: BLE001 - Lambda turns any exception into a function error
                self.errors.append((function_name, type(exc).__name__, str(exc)))
                return _error_payload(exc), True, traceback.format_exc()
        payload = json.dumps(result, default=str)
        if function_name in self.state_task_functions and len(payload.encode("utf-8")) >= STATE_PAYLOAD_LIMIT:
            # On AWS this fails the execution outside every Catch on States.ALL; moto would pass it on.
            message = (f"the output of {function_name} is {len(payload.encode('utf-8')):,} bytes; a state holds "
                       f"at most {STATE_PAYLOAD_LIMIT:,}: keep large data in DynamoDB or S3 and pass keys")
            self.errors.append((function_name, "States.DataLimitExceeded", message))
            return json.dumps({"errorMessage": message, "errorType": "States.DataLimitExceeded"}), True, ""
        return payload, False, ""


def _error_payload(exc: BaseException) -> str:
    """The shape Lambda gives an unhandled exception; Step Functions takes errorType as the error name."""
    return json.dumps(
        {
            "errorMessage": str(exc),
            "errorType": type(exc).__name__,
            "stackTrace": traceback.format_exception(type(exc), exc, exc.__traceback__)[-5:],
        }
    )
