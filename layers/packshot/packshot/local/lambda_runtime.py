"""Runs the project's Lambda handlers in this process whenever moto invokes a function.

moto runs Lambda code only in Docker. Every invoke path (the Invoke API, Step Functions tasks) goes through the
private method `LambdaFunction._invoke_lambda`, which returns `(payload_json, errored, logs)`. We replace it for
the lifetime of the embedded AWS; moto is pinned to a minor version and tests/integration/test_moto_contract.py
fails loudly if the method moves or changes shape.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
import threading
import time
import traceback
import uuid
from collections import Counter
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


@dataclass(frozen=True)
class Invocation:
    """One invoke as the runtime measured it: wall and CPU seconds of the handler alone (its cold start not
    counted, as Lambda bills init apart), in the process that ran it."""

    function_name: str
    wall_s: float
    cpu_s: float
    # The handler's requests to S3, DynamoDB and Step Functions by operation ("s3:GET", "UpdateItem"...); counted
    # in worker processes only (in this process a hook would count every thread's requests).
    requests: dict[str, int] = field(default_factory=dict)


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
        self.timings: list[Invocation] = []
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
        return load_handler(spec, self._instance)

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
                outcome = self._run(spec, event)
            except Exception as exc:  # noqa: BLE001 - Lambda turns any exception into a function error
                self.errors.append((function_name, type(exc).__name__, str(exc)))
                return _error_payload(exc), True, traceback.format_exc()
        self.timings.append(outcome.timing)
        if outcome.error is not None:
            self.errors.append(outcome.error)
            return outcome.payload, True, outcome.logs
        size = len(outcome.payload.encode("utf-8"))
        if function_name in self.state_task_functions and size >= STATE_PAYLOAD_LIMIT:
            # On AWS this fails the execution outside every Catch on States.ALL; moto would pass it on.
            message = (f"the output of {function_name} is {size:,} bytes; a state holds "
                       f"at most {STATE_PAYLOAD_LIMIT:,}: keep large data in DynamoDB or S3 and pass keys")
            self.errors.append((function_name, "States.DataLimitExceeded", message))
            return json.dumps({"errorMessage": message, "errorType": "States.DataLimitExceeded"}), True, ""
        return outcome.payload, False, outcome.logs

    def _run(self, spec: HandlerSpec, event: Any) -> Outcome:
        """Run the handler here, in a thread of this process, which is marked as running it meanwhile."""
        outer, self._running.name = self.current_function(), spec.function_name
        try:
            return call_handler(spec, self.handler(spec.function_name), event)
        finally:
            self._running.name = outer


class ProcessRuntime(InProcessRuntime):
    """Serves moto's invokes from worker processes: Lambda's execution environments, so invocations use
    every core. The embedded AWS (moto, the event pollers) keeps this process; each worker loads a handler on
    its first invoke of that function (a cold start per function per worker) and reaches AWS over HTTP, as
    the in-process handlers do. Fault injection still happens here, before an invoke is handed over; a
    botocore hook registered in this process does not reach the workers' clients."""

    def __init__(self, specs: dict[str, HandlerSpec], max_concurrency: int = 2) -> None:
        super().__init__(specs, max_concurrency)
        self._workers = max_concurrency
        self._pool: Any = None
        self._pool_lock = threading.Lock()

    def _run(self, spec: HandlerSpec, event: Any) -> Outcome:
        return self._executor().submit(_invoke_in_worker, spec, self._instance, event).result()  # type: ignore[no-any-return]

    def _executor(self) -> Any:
        with self._pool_lock:
            if self._pool is None:
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor

                # spawn: a fresh interpreter per worker, with this process's environment (the embedded AWS's
                # endpoint and the functions' variables are set before the first invoke); fork would copy
                # moto's threads and locks mid-flight.
                self._pool = ProcessPoolExecutor(self._workers, mp_context=multiprocessing.get_context("spawn"))
            return self._pool

    def uninstall(self) -> None:
        super().uninstall()
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None


@dataclass(frozen=True)
class Outcome:
    """What one invoke returns to moto, plus what the runtime keeps (timing, the error if any)."""

    payload: str
    logs: str
    timing: Invocation
    error: tuple[str, str, str] | None = None


def call_handler(spec: HandlerSpec, handler: Callable[[Any, Any], Any], event: Any) -> Outcome:
    """Invoke a loaded handler as Lambda does: an exception becomes a function error with its type as name."""
    profile_dir = os.environ.get("PACKSHOT_PROFILE_DIR")
    if profile_dir:
        # Where a stage's time goes: one cProfile file per invoke (`python -m pstats` or snakeviz reads them).
        import cProfile

        profiler = cProfile.Profile()
        outcome = profiler.runcall(_call_handler, spec, handler, event)
        Path(profile_dir).mkdir(parents=True, exist_ok=True)
        profiler.dump_stats(Path(profile_dir) / f"{spec.logical_id}-{uuid.uuid4().hex[:8]}.prof")
        return outcome
    return _call_handler(spec, handler, event)


def _call_handler(spec: HandlerSpec, handler: Callable[[Any, Any], Any], event: Any) -> Outcome:
    started, cpu = time.perf_counter(), time.process_time() if _SINGLE_INVOKE_PROCESS else time.thread_time()
    try:
        result = handler(event, FakeContext(spec.function_name, spec.memory_mb, spec.timeout_s))
        payload, error, logs = json.dumps(result, default=str), None, ""
    except Exception as exc:  # noqa: BLE001 - Lambda turns any exception into a function error
        payload, error, logs = _error_payload(exc), (spec.function_name, type(exc).__name__, str(exc)), \
            traceback.format_exc()
    used = (time.process_time() if _SINGLE_INVOKE_PROCESS else time.thread_time()) - cpu
    return Outcome(payload, logs, Invocation(spec.function_name, time.perf_counter() - started, used), error)


def load_handler(spec: HandlerSpec, instance: str) -> Callable[[Any, Any], Any]:
    """Import a function's handler module under a name of its own (every stage's file is called app.py)."""
    path = spec.code_dir / f"{spec.module.replace('.', '/')}.py"
    module_name = f"packshot_fn_{spec.logical_id}_{instance}"
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    if module_spec is None or module_spec.loader is None:
        raise ConfigurationError(f"cannot import {path}")
    module: ModuleType = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module
    module_spec.loader.exec_module(module)
    return getattr(module, spec.attribute)  # type: ignore[no-any-return]


# In a worker process one invoke runs at a time, so the process's CPU time (onnxruntime's own threads
# included) is the invoke's; in the in-process runtime other threads share the process, so a thread's is.
_SINGLE_INVOKE_PROCESS = False
_worker_handlers: dict[str, Callable[[Any, Any], Any]] = {}


_worker_requests: Counter[str] = Counter()
_COUNTED_SERVICES = ("s3", "dynamodb", "stepfunctions")


def _count_request(request: Any, **_: Any) -> None:
    target = next((v for k, v in request.headers.items() if k.lower() == "x-amz-target"), b"")
    name = (target.decode() if isinstance(target, bytes) else str(target)).split(".")[-1]
    _worker_requests[name or f"s3:{request.method}"] += 1


def _invoke_in_worker(spec: HandlerSpec, instance: str, event: Any) -> Outcome:
    global _SINGLE_INVOKE_PROCESS
    if not _SINGLE_INVOKE_PROCESS:
        from packshot.adapters.aws import client

        # The handlers' clients are these cached ones (packshot.adapters.aws.client): count what they send.
        for service in _COUNTED_SERVICES:
            client(service).meta.events.register("before-send", _count_request)
        _SINGLE_INVOKE_PROCESS = True
    handler = _worker_handlers.get(spec.function_name)
    if handler is None:
        try:
            handler = _worker_handlers[spec.function_name] = load_handler(spec, instance)
        except Exception as exc:  # noqa: BLE001 - an init error is a function error too
            return Outcome(_error_payload(exc), traceback.format_exc(), Invocation(spec.function_name, 0.0, 0.0),
                           (spec.function_name, type(exc).__name__, str(exc)))
    _worker_requests.clear()
    outcome = call_handler(spec, handler, event)
    timing = Invocation(spec.function_name, outcome.timing.wall_s, outcome.timing.cpu_s, dict(_worker_requests))
    return Outcome(outcome.payload, outcome.logs, timing, outcome.error)


def _error_payload(exc: BaseException) -> str:
    """The shape Lambda gives an unhandled exception; Step Functions takes errorType as the error name."""
    return json.dumps(
        {
            "errorMessage": str(exc),
            "errorType": type(exc).__name__,
            "stackTrace": traceback.format_exception(type(exc), exc, exc.__traceback__)[-5:],
        }
    )
