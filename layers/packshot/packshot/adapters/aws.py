"""Shared boto3 plumbing: one client per service per process, and error classification."""

from __future__ import annotations

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
