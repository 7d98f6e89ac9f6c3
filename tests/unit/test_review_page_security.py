"""The local review page acts with the operator's authority: nothing but the operator's own browser tab may use it.

Browsers let any web page POST text/plain or form bodies to 127.0.0.1 without a preflight, and a DNS-rebinding
page reaches it under its own host name; these tests play those pages.
"""

from __future__ import annotations

import http.client
import re
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from packshot.local.review_page import ReviewPage

TASKS = [{"task_id": "a:review", "step": "review", "sku": "", "multi_shot": False, "requested_at": "t",
          "members": [{"review_id": "a:review", "image_id": "a", "name": "shampoo_bottle.jpg", "role": "",
                       "route": "medium", "qc_score": 80, "qc_parts": {}, "reasons": [], "route_reasons": [],
                       "decisions": [], "images": {"before": "https://signed.example/before"}}]}]


class RecordingApi:
    """The review API as the page sees it; records every command, so a test can tell what got through."""

    # Not tests/fakes.py's: it answers with this file's fixed TASKS, scripted for the page under attack.

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def call(self, command: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(dict(command))
        if command["op"] == "list":
            return {"tasks": [dict(t, members=[dict(m) for m in t["members"]]) for t in TASKS]}
        if command["op"] == "upload_url":
            return {"key": "review/a/x.png", "url": "https://signed.example/put"}
        return {"task_id": command["task_id"], "decision": command["decision"], "reviewer": "the operator",
                "photos": []}

    def state_changes(self) -> list[dict[str, Any]]:
        return [c for c in self.calls if c["op"] != "list"]


@pytest.fixture()
def page() -> Iterator[tuple[ReviewPage, RecordingApi, str]]:
    api = RecordingApi()
    page = ReviewPage(api, "alice", fetch=lambda url: b"\x89PNG fake", upload=lambda url, data, kind: None)
    url = page.start()
    try:
        yield page, api, url
    finally:
        page.stop()


def request(url: str, method: str, path: str, *, headers: dict[str, str] | None = None,
            body: bytes = b"") -> http.client.HTTPResponse:
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.request(method, path, body=body or None, headers=headers or {})
    response = connection.getresponse()
    response.read()
    return response


def origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def sign_in(url: str) -> tuple[str, str]:
    """What the operator's browser does with the printed URL: (session cookie, CSRF token from the page)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.request("GET", f"{parts.path}?{parts.query}")
    response = connection.getresponse()
    response.read()
    assert response.status == 303 and response.getheader("Location") == "/"  # the secret leaves the address bar
    cookie = response.getheader("Set-Cookie").split(";", 1)[0]
    assert "HttpOnly" in response.getheader("Set-Cookie") and "SameSite=Strict" in response.getheader("Set-Cookie")
    connection.request("GET", "/", headers={"Cookie": cookie})
    html = connection.getresponse().read().decode()
    token = re.search(r'name="csrf" value="([^"]+)"', html)
    assert token, "every form carries the CSRF token"
    return cookie, token.group(1)


def test_a_cross_site_text_plain_post_cannot_replace_a_cutout(page) -> None:
    _, api, url = page

    response = request(url, "POST", "/correct?task_id=a%3Areview&reviewer=mallory&reason=x",
                       headers={"Origin": "https://evil.example", "Content-Type": "text/plain"},
                       body=b"\x89PNG banner")

    assert response.status == 403
    assert api.state_changes() == []


@pytest.mark.parametrize("path, body", [("/decide", b"task_id=a%3Areview&decision=approve&reviewer=x"),
                                        ("/done", b"")])
def test_a_cross_site_form_post_cannot_decide_or_end_the_session(page, path: str, body: bytes) -> None:
    review_page, api, url = page

    response = request(url, "POST", path, body=body, headers={
        "Origin": "https://evil.example", "Content-Type": "application/x-www-form-urlencoded"})

    assert response.status == 403
    assert api.state_changes() == [] and not review_page.finished.is_set()


def test_a_foreign_host_is_refused_so_a_dns_rebinding_page_reads_no_task(page) -> None:
    _, api, url = page
    cookie, _ = sign_in(url)
    port = urllib.parse.urlsplit(url).port

    for headers in ({"Host": f"evil.example:{port}"}, {"Host": f"evil.example:{port}", "Cookie": cookie}):
        assert request(url, "GET", "/api/tasks", headers=headers).status == 403
        assert request(url, "GET", "/", headers=headers).status == 403
    assert [c for c in api.calls if c["op"] == "list"] == [{"op": "list"}]  # only sign_in's own page load


@pytest.mark.parametrize("path", ["/", "/api/tasks", "/image/a%3Areview/before"])
def test_without_the_session_secret_nothing_is_served(page, path: str) -> None:
    _, api, url = page

    assert request(url, "GET", path).status == 403
    assert request(url, "GET", "/?session=guess").status == 403
    assert api.calls == []


def test_a_same_origin_post_needs_the_csrf_token(page) -> None:
    _, api, url = page
    cookie, token = sign_in(url)
    form = {"Origin": origin(url), "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}

    assert request(url, "POST", "/decide", headers=form, body=b"task_id=a%3Areview&decision=approve").status == 403
    assert request(url, "POST", "/decide", headers=form,
                   body=b"task_id=a%3Areview&decision=approve&csrf=wrong").status == 403
    assert api.state_changes() == []
    ok = request(url, "POST", "/decide", headers=form,
                 body=f"task_id=a%3Areview&decision=approve&csrf={token}".encode())
    assert ok.status == 303
    assert api.state_changes() == [{"op": "decide", "task_id": "a:review", "decision": "approve", "reason": ""}]


def test_a_post_without_an_origin_is_refused_even_with_the_cookie_and_the_token(page) -> None:
    _, api, url = page
    cookie, token = sign_in(url)

    response = request(url, "POST", "/decide", headers={"Cookie": cookie}, body=(
        f"task_id=a%3Areview&decision=approve&csrf={token}").encode())

    assert response.status == 403 and api.state_changes() == []


def test_the_page_decides_as_its_operator_and_a_reviewer_field_in_the_request_is_ignored(page) -> None:
    _, api, url = page
    cookie, token = sign_in(url)

    request(url, "POST", f"/correct?task_id=a%3Areview&reviewer=mallory&reason=fix&csrf={token}",
            headers={"Origin": origin(url), "Cookie": cookie, "X-CSRF-Token": token}, body=b"\x89PNG fixed")

    decided = [c for c in api.calls if c["op"] == "decide"]
    assert decided == [{"op": "decide", "task_id": "a:review", "decision": "corrected", "reason": "fix",
                        "corrected_cutout_key": "review/a/x.png"}]  # no reviewer: the API knows who calls it
