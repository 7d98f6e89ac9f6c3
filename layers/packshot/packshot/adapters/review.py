"""Review adapters: the review table, task tokens, presigned URLs, and the review API as a client sees it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from packshot.adapters.aws import client, error_code, is_transient
from packshot.adapters.records import _from_item, _to_item
from packshot.errors import ReviewError, ReviewTokenExpiredError, TransientStorageError

# Long enough to look at a batch, short enough that a leaked link soon stops working.
PRESIGN_SECONDS = 900


class ReviewTable:
    """Open review tasks keyed by review_id; each item holds its task token (never logged, never listed)."""

    def __init__(self, table_name: str, dynamodb_client: Any | None = None) -> None:
        self._name = table_name
        self._db = dynamodb_client or client("dynamodb")

    def put(self, item: dict[str, Any]) -> None:
        try:
            self._db.put_item(TableName=self._name, Item=_to_item(item))
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, "DynamoDB") from exc

    def delete(self, review_id: str, task_token: str = "") -> None:
        """Remove the item; with a task token, only while the item still holds it (a newer one stays)."""
        condition = {"ConditionExpression": "task_token = :t",
                     "ExpressionAttributeValues": {":t": {"S": task_token}}} if task_token else {}
        try:
            self._db.delete_item(TableName=self._name, Key={"review_id": {"S": review_id}}, **condition)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return
            raise _translate(exc, "DynamoDB") from exc
        except BotoCoreError as exc:
            raise _translate(exc, "DynamoDB") from exc

    def scan(self) -> Iterator[dict[str, Any]]:
        # Only open tasks live here (decided ones are deleted), so the table stays small.
        for page in self._db.get_paginator("scan").paginate(TableName=self._name, ConsistentRead=True):
            for item in page.get("Items", []):
                yield _from_item(item)


class StepFunctionsTokens:
    """Resumes executions waiting on a task token."""

    def __init__(self, sfn_client: Any | None = None) -> None:
        self._sfn = sfn_client or client("stepfunctions")

    def succeed(self, token: str, output: dict[str, Any]) -> None:
        try:
            self._sfn.send_task_success(taskToken=token, output=json.dumps(output))
        except ClientError as exc:
            if error_code(exc) in {"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"}:
                raise ReviewTokenExpiredError("Step Functions no longer waits on this review") from None
            raise _translate(exc, "Step Functions") from None
        except BotoCoreError as exc:
            raise _translate(exc, "Step Functions") from None


class S3Presigner:
    """Presigned GET/PUT URLs for one bucket; the URLs go to the reviewer only, never to a log."""

    def __init__(self, bucket: str, s3_client: Any | None = None, expires_s: int = PRESIGN_SECONDS) -> None:
        self._bucket = bucket
        self._s3 = s3_client or client("s3")
        self._expires = expires_s

    def get_url(self, key: str) -> str:
        return str(self._s3.generate_presigned_url("get_object", Params={"Bucket": self._bucket, "Key": key},
                                                   ExpiresIn=self._expires))

    def put_url(self, key: str, content_type: str) -> str:
        return str(self._s3.generate_presigned_url(
            "put_object", Params={"Bucket": self._bucket, "Key": key, "ContentType": content_type},
            ExpiresIn=self._expires))


class FunctionUrlReviewApi:
    """The review API over its Function URL, every request SigV4-signed with the caller's own credentials.

    AWS verifies the signature and hands the function the caller's ARN (requestContext.authorizer.iam): that is
    who decides, and nothing the client sends can change it.
    """

    def __init__(self, url: str, credentials: Any, region: str, timeout_s: float = 30) -> None:
        self._url, self._credentials, self._region, self._timeout = url.rstrip("/"), credentials, region, timeout_s

    def call(self, command: dict[str, Any]) -> dict[str, Any]:
        import urllib.error
        import urllib.request

        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        from packshot.review import http_request_for

        method, path, body = http_request_for(command)
        data = json.dumps(body).encode() if method == "POST" else None
        request = AWSRequest(method=method, url=self._url + path, data=data,
                             headers={"Content-Type": "application/json"} if data is not None else {})
        SigV4Auth(self._credentials, "lambda", self._region).add_auth(request)
        prepared = urllib.request.Request(request.url, data=data, method=method,
                                          headers={k: str(v) for k, v in request.headers.items()})
        try:
            with urllib.request.urlopen(prepared, timeout=self._timeout) as response:  # noqa: S310 - https URL
                return dict(json.loads(response.read() or b"{}"))
        except urllib.error.HTTPError as exc:
            raise ReviewError(_reason(exc.read(), f"the review API answered {exc.code}")) from None
        except (urllib.error.URLError, OSError) as exc:
            raise ReviewError(f"cannot reach the review API at {self._url}: {exc}") from None


def _reason(body: bytes, fallback: str) -> str:
    try:
        return str(json.loads(body).get("reason") or json.loads(body).get("Message") or fallback)
    except (ValueError, AttributeError):
        return fallback


def stack_outputs(stack_name: str, cfn_client: Any | None = None) -> dict[str, str]:
    """A deployed stack's outputs by key (ReviewApiUrl and friends)."""
    cfn = cfn_client or client("cloudformation")
    try:
        stacks = cfn.describe_stacks(StackName=stack_name)["Stacks"]
    except (ClientError, BotoCoreError) as exc:
        raise ReviewError(f"cannot read stack {stack_name!r}: {exc}") from exc
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def _translate(exc: Exception, service: str) -> Exception:
    if is_transient(exc):
        return TransientStorageError(f"{service} call failed transiently: {exc}")
    return exc
