"""`packshot review --stack` talks to the review API's Function URL with SigV4-signed requests that name nobody."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from botocore.credentials import Credentials

from packshot.adapters.review import FunctionUrlReviewApi
from packshot.errors import ReviewError


@pytest.fixture()
def function_url() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.append({"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body})
            status, answer = (400, {"reason": "no open review 'x'"}) if "/x/" in self.path else (200, {"ok": True})
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", seen
    finally:
        server.shutdown()
        server.server_close()


def test_a_decision_is_a_sigv4_signed_request_for_lambda_and_carries_no_reviewer(function_url) -> None:
    url, seen = function_url
    api = FunctionUrlReviewApi(url, Credentials("AKIDEXAMPLE", "secret"), "eu-west-1")

    assert api.call({"op": "decide", "task_id": "a:review", "decision": "approve", "reviewer": "mallory"}) == {
        "ok": True}

    (request,) = seen
    assert (request["method"], request["path"]) == ("POST", "/reviews/a%3Areview/decision")
    authorization = request["headers"]["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/lambda/aws4_request" in authorization and "x-amz-date" in authorization
    assert json.loads(request["body"]) == {"decision": "approve"}  # who decides is the signature's business


def test_an_error_from_the_api_comes_back_with_its_reason(function_url) -> None:
    url, _ = function_url
    api = FunctionUrlReviewApi(url, Credentials("AKIDEXAMPLE", "secret"), "eu-west-1")

    with pytest.raises(ReviewError, match="no open review 'x'"):
        api.call({"op": "upload_url", "task_id": "x"})
