"""The review API's Function URL front door, for the embedded AWS, which serves no Function URLs.

On AWS, Lambda checks a request's SigV4 signature and puts the caller it verified into
requestContext.authorizer.iam; the function takes the reviewer from there and from nowhere else. Locally the
embedded AWS belongs to the operator who started it, so this front door signs every request as that operator
(`--reviewer`, by default the user name you are logged in as) - as `sam local start-api` builds its own
requestContext. Nothing sent from the page or the command line can name another identity.
"""

from __future__ import annotations

import json
import re
from typing import Any

from packshot.errors import ReviewError
from packshot.local.template import ACCOUNT_ID

# IAM user names: the local operator is named like one, so it compares like one.
_USER_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")


def local_principal(name: str) -> str:
    """The ARN the embedded front door signs as, for an operator called `name`."""
    name = name.strip()
    if not _USER_NAME.match(name):
        raise ReviewError(f"{name!r} cannot be an operator name: use letters, digits and +=,.@_- (at most 64)")
    return f"arn:aws:iam::{ACCOUNT_ID}:user/{name}"


def url_event(method: str, path: str, body: dict[str, Any], caller_arn: str) -> dict[str, Any]:
    """A request as Lambda hands it to a function behind a Function URL with AuthType AWS_IAM."""
    return {"version": "2.0", "rawPath": path, "rawQueryString": "", "headers": {"content-type": "application/json"},
            "requestContext": {"http": {"method": method, "path": path},
                               "authorizer": {"iam": {"userArn": caller_arn, "accountId": ACCOUNT_ID}}},
            "body": json.dumps(body) if body else None, "isBase64Encoded": False}


class EmbeddedReviewApi:
    """The review API of the embedded AWS, called as one operator (the `ReviewApi` the page and CLI use)."""

    def __init__(self, lambda_client: Any, function_name: str, operator: str) -> None:
        self._lambda, self._function, self.principal = lambda_client, function_name, local_principal(operator)

    def call(self, command: dict[str, Any]) -> dict[str, Any]:
        from packshot.review import http_request_for

        method, path, body = http_request_for(command)
        try:
            response = self._lambda.invoke(FunctionName=self._function,
                                           Payload=json.dumps(url_event(method, path, body, self.principal)))
        except Exception as exc:  # noqa: BLE001 - the embedded AWS is gone (its run finished): say so
            raise ReviewError(f"cannot reach the review API {self._function}: {exc}") from None
        payload = json.loads(response["Payload"].read() or b"{}")
        if "FunctionError" in response:
            raise ReviewError(str(payload.get("errorMessage", payload)))
        result = json.loads(payload.get("body") or "{}")
        if int(payload.get("statusCode", 500)) != 200:
            raise ReviewError(str(result.get("reason", result)))
        return dict(result)
