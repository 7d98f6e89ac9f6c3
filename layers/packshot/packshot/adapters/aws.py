"""Shared boto3 plumbing: one client per service per process, and error classification."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

# Throttling and server-side faults: worth a retry by the state machine.
_TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "SlowDown",
        "ServiceUnavailable",
        "InternalError",
        "InternalServerError",
        "RequestTimeout",
        "TransactionConflictException",
    }
)


@cache
def client(service: str) -> Any:
    """A client built once per process (module scope in Lambda terms); endpoint from AWS_ENDPOINT_URL."""
    return boto3.client(service, config=Config(retries={"mode": "standard", "max_attempts": 3}))


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_transient(exc: Exception) -> bool:
    if isinstance(exc, ClientError):
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        return error_code(exc) in _TRANSIENT_CODES or status >= 500
    return isinstance(exc, BotoCoreError)


def client_factory(endpoint: str = "", region: str = "") -> Callable[[str], Any]:
    """Clients for the CLI: the user's own credentials, or moto's test ones for an embedded AWS endpoint."""
    session = boto3.session.Session(region_name=region or None)
    if endpoint and session.get_credentials() is None:
        # moto accepts any key; only the embedded AWS gets these.
        session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                        region_name=region or "us-east-1")

    def make(service: str) -> Any:
        return session.client(service, endpoint_url=endpoint or None, region_name=session.region_name or "us-east-1")

    return make
