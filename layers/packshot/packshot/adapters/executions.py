"""Step Functions adapter: start one execution per image, named after the image."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from packshot.adapters.aws import client, error_code, is_transient
from packshot.errors import TransientStorageError


class PipelineStarter:
    """Starts pipeline executions; a second start for the same image is a no-op, not an error."""

    def __init__(self, state_machine_arn: str, sfn_client: Any | None = None) -> None:
        self._arn = state_machine_arn
        self._sfn = sfn_client or client("stepfunctions")

    def start(self, name: str, payload: Mapping[str, Any]) -> bool:
        """True when this call started the execution, False when one with this name already exists."""
        try:
            self._sfn.start_execution(stateMachineArn=self._arn, name=name, input=json.dumps(payload))
        except ClientError as exc:
            if error_code(exc) == "ExecutionAlreadyExists":
                return False
            if is_transient(exc):
                raise TransientStorageError(f"StartExecution failed transiently: {exc}") from exc
            raise
        except BotoCoreError as exc:
            raise TransientStorageError(f"StartExecution failed transiently: {exc}") from exc
        return True

    def status(self, name: str) -> str:
        """The status of this state machine's execution called `name`; "" when there is none."""
        arn = self._arn.replace(":stateMachine:", ":execution:", 1) + ":" + name
        try:
            return str(self._sfn.describe_execution(executionArn=arn)["status"])
        except ClientError as exc:
            if error_code(exc) == "ExecutionDoesNotExist":
                return ""
            if is_transient(exc):
                raise TransientStorageError(f"DescribeExecution failed transiently: {exc}") from exc
            raise
