"""Costs moto pays again and again on the embedded AWS, paid once instead.

moto parses the state machine's ASL with ANTLR for every execution (0.26 s of CPU for ours, about a quarter of
the embedded AWS's CPU per photo) and builds a new boto3 client for every Lambda task (14 ms each). The parse
depends only on the definition, and the component tree keeps no per-execution state (moto keeps that in each
execution's Environment: retry counts, the task token wait), so one parse per definition serves every execution;
one client per region, service and endpoint serves every task (botocore clients are thread-safe). And its server
lists its own package folder (a directory read and ~150 stat calls) on every request to find the service; the
folder does not change while it runs, so the list is read once.
Private moto APIs, like the invoke hook in lambda_runtime.py: moto is pinned to 5.2.x and
tests/integration/test_moto_contract.py fails loudly if either moves.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any


def install() -> Callable[[], None]:
    """Patch moto in this process; returns the function that undoes it."""
    from moto import backends
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    original_parse = AmazonStateLanguageParser.__dict__["parse"]
    original_client = lambda_eval_utils.boto_client_for
    parse = functools.lru_cache(maxsize=16)(original_parse.__func__)
    clients: dict[tuple[str, str, str], Any] = {}
    lock = threading.Lock()

    def client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        from moto.settings import moto_server_port

        # moto hands every task StateCredentials (the execution's role when the state names none), so the role is
        # part of the key, not a reason to skip the cache: one client per role, region, service and endpoint.
        role = getattr(state_credentials, "role_arn", None)
        key = (f"{region}/{service}", str(moto_server_port()), str(role))
        with lock:
            if key not in clients:
                clients[key] = original_client(region, service, state_credentials)
            return clients[key]

    original_modules = backends.list_of_moto_modules
    modules = tuple(original_modules())

    AmazonStateLanguageParser.parse = staticmethod(parse)  # type: ignore[method-assign]
    lambda_eval_utils.boto_client_for = client_for  # type: ignore[assignment]
    backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment]

    def uninstall() -> None:
        backends.list_of_moto_modules = original_modules  # type: ignore[assignment]
        AmazonStateLanguageParser.parse = original_parse  # type: ignore[method-assign]
        lambda_eval_utils.boto_client_for = original_client  # type: ignore[assignment]

    return uninstall
