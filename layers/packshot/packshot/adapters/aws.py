"""Shared boto3 plumbing: one client per service per process, and error classification."""

from __future__ import annotations

import os
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


def client(service: str) -> Any:
    """A client built once per process (module scope in Lambda terms); endpoint from AWS_ENDPOINT_URL.

    Once per service *and* the environment that shapes a client (endpoint, region, credentials): in Lambda that
    environment never changes, but a process that runs one embedded AWS after another, or code under test, would
    otherwise keep a client that points at a stopped server or holds no credentials.
    """
    env = os.environ
    return _client(service, env.get("AWS_ENDPOINT_URL", ""), env.get("AWS_DEFAULT_REGION", ""),
                   env.get("AWS_ACCESS_KEY_ID", ""), env.get("AWS_PROFILE", ""))


@cache
def _client(service: str, endpoint: str, region: str, access_key_id: str, profile: str) -> Any:
    return _session(region, access_key_id, profile).client(
        service, config=Config(retries={"mode": "standard", "max_attempts": 3}))


@cache
def _session(region: str, access_key_id: str, profile: str) -> boto3.session.Session:
    # Not boto3's default session: it keeps the first credentials it resolved for the life of the process.
    return boto3.session.Session()


def forget_clients() -> None:
    """Drop every cached client (an embedded AWS stopped: its clients' connections are dead)."""
    _client.cache_clear()
    _session.cache_clear()


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
