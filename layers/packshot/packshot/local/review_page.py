"""`packshot review`: a local web page for reviewers, talking to the review Lambda with the user's credentials."""

from __future__ import annotations

import hmac
import io
import json
import secrets
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from packshot.errors import PackshotError
from packshot.ports import ReviewApi
from packshot.status import ReviewDecision

TEMPLATES = Path(__file__).parent / "templates"
IMAGE_KINDS = ("before", "after", "cutout", "mask", "gate")
# A corrected cutout is one PNG; anything bigger than this is a mistake, not a cutout.
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
# The printed URL's query parameter and the cookie it becomes.
SESSION_PARAM, SESSION_COOKIE = "session", "packshot_review"


def fetch_url(url: str) -> bytes:
    """Read a presigned URL server-side, so the page needs no CORS and shows no signed links."""
    with urllib.request.urlopen(url, timeout=30) as resp:
        return bytes(resp.read())


def put_url(url: str, data: bytes, content_type: str) -> None:
    req = urllib.request.Request(url, data=data, method="PUT", headers={"Content-Type": content_type})
    with urllib.request.urlopen(req, timeout=60) as resp:
        resp.read()


def mask_png(cutout_png: bytes) -> bytes:
    """The cutout's alpha as a grey PNG: white is product, black is background, grey is a soft edge."""
    from PIL import Image

    with Image.open(io.BytesIO(cutout_png)) as im:
        alpha = im.convert("RGBA").getchannel("A")
        out = io.BytesIO()
        alpha.save(out, format="PNG")
    return out.getvalue()


class ReviewPage:
    """The reviewers' page; every action goes through the review API as the page's operator.

    It acts with the operator's authority, so only the operator's own browser tab may use it: the URL it prints
    carries a per-session secret, which it swaps for an HttpOnly, SameSite=Strict cookie; every request must come
    to its own Host (a DNS-rebinding page arrives under a foreign one); every POST must come from its own Origin
    and carry the page's CSRF token. The page never names the reviewer: the API it calls knows who that is.
    """

    def __init__(self, api: ReviewApi, operator: str = "", *, title: str = "packshot review",
                 fetch: Callable[[str], bytes] = fetch_url,
                 upload: Callable[[str, bytes, str], None] = put_url) -> None:
        import jinja2

        self.api, self.operator, self.title = api, operator, title
        self._fetch, self._upload = fetch, upload
        self._env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
        self._urls: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.finished = threading.Event()
        # Per session: the secret in the printed URL (then the cookie), and the token every form carries.
        self._secret = secrets.token_urlsafe(32)
        self._csrf = secrets.token_urlsafe(32)
        self._origins: frozenset[str] = frozenset()

    # ---------- lifecycle ----------
    def start(self, port: int = 0) -> str:
        """Serve on 127.0.0.1; returns the URL to open, which carries the session secret (print it, do not log it)."""
        page = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                page._get(self)

            def do_POST(self) -> None:
                page._post(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # request lines would print presigned image paths and the secret; keep the terminal quiet

        # Loopback only: the page carries the reviewer's authority (their credentials sign every call).
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        bound = self.server.server_address[1]
        self._origins = frozenset({f"127.0.0.1:{bound}", f"localhost:{bound}"})
        threading.Thread(target=self.server.serve_forever, name="review-page", daemon=True).start()
        return f"http://127.0.0.1:{bound}/?{SESSION_PARAM}={self._secret}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def wait_until_done(self) -> None:
        """Until the reviewer presses "Done" on the page (or Ctrl-C)."""
        try:
            while not self.finished.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass

    # ---------- pages ----------
    def tasks(self) -> list[dict[str, Any]]:
        tasks = list(self.api.call({"op": "list"})["tasks"])
        with self._lock:
            for task in tasks:
                for member in task["members"]:
                    # Presigned URLs stay here; the page asks /image/<review id>/<kind>.
                    self._urls[member["review_id"]] = member.pop("images", {})
        return tasks

    def render(self, message: str = "", error: str = "") -> str:
        try:
            tasks, load_error = self.tasks(), ""
        except PackshotError as exc:
            tasks, load_error = [], exc.reason
        return self._env.get_template("review.html").render(
            title=self.title, tasks=tasks, operator=self.operator, csrf=self._csrf, message=message,
            error=error or load_error)

    def image(self, review_id: str, kind: str) -> bytes:
        with self._lock:
            urls = self._urls.get(review_id)
        if urls is None:
            self.tasks()
            with self._lock:
                urls = self._urls.get(review_id, {})
        source = "cutout" if kind == "mask" else kind
        if source not in urls:
            raise KeyError(kind)
        data = self._fetch(urls[source])
        return mask_png(data) if kind == "mask" else data

    def decide(self, fields: dict[str, str]) -> str:
        result = self.api.call({"op": "decide", "task_id": fields.get("task_id", ""),
                                "decision": fields.get("decision", ""), "reason": fields.get("reason", "")})
        return _summary(result)

    def correct(self, task_id: str, reason: str, data: bytes) -> str:
        target = self.api.call({"op": "upload_url", "task_id": task_id})
        self._upload(target["url"], data, "image/png")
        result = self.api.call({"op": "decide", "task_id": task_id, "decision": "corrected", "reason": reason,
                                "corrected_cutout_key": target["key"]})
        return _summary(result)

    # ---------- who may ask ----------
    def _host_ok(self, req: BaseHTTPRequestHandler) -> bool:
        """The page's own host only: a DNS-rebinding page reaches 127.0.0.1 under its own name."""
        return str(req.headers.get("Host", "")).lower() in self._origins

    def _signed_in(self, req: BaseHTTPRequestHandler) -> bool:
        cookies = SimpleCookie()
        try:
            cookies.load(str(req.headers.get("Cookie", "")))
        except CookieError:
            return False
        morsel = cookies.get(SESSION_COOKIE)
        return morsel is not None and hmac.compare_digest(morsel.value.encode(), self._secret.encode())

    def _same_origin(self, req: BaseHTTPRequestHandler) -> bool:
        """A POST must say where it comes from, and that must be this page (browsers send Origin on every POST)."""
        origin = str(req.headers.get("Origin", ""))
        if not origin.startswith("http://") or origin.removeprefix("http://").lower() not in self._origins:
            return False
        return str(req.headers.get("Sec-Fetch-Site", "same-origin")) == "same-origin"

    def _csrf_ok(self, token: str) -> bool:
        return bool(token) and hmac.compare_digest(token.encode(), self._csrf.encode())

    # ---------- HTTP ----------
    def _get(self, req: BaseHTTPRequestHandler) -> None:
        if not self._host_ok(req):
            return _send(req, 403, b"this page answers only on its own address (127.0.0.1)", "text/plain")
        url = urllib.parse.urlsplit(req.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        if url.path == "/" and SESSION_PARAM in query:
            if not hmac.compare_digest(query[SESSION_PARAM].encode(), self._secret.encode()):
                return _send(req, 403, b"this link is not the one the terminal printed", "text/plain")
            # The secret leaves the address bar and the history: from now on the cookie carries it.
            req.send_response(303)
            req.send_header("Set-Cookie", f"{SESSION_COOKIE}={self._secret}; HttpOnly; SameSite=Strict; Path=/")
            req.send_header("Location", "/")
            req.send_header("Content-Length", "0")
            _security_headers(req)
            req.end_headers()
            return None
        if not self._signed_in(req):
            return _send(req, 403, b"open the review page with the link the terminal printed", "text/plain")
        if url.path == "/":
            return _send(req, 200, self.render(query.get("msg", ""), query.get("error", "")).encode(),
                         "text/html; charset=utf-8")
        parts = url.path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "image" and parts[2] in IMAGE_KINDS:
            try:
                data = self.image(urllib.parse.unquote(parts[1]), parts[2])
            except (KeyError, OSError, PackshotError):
                return _send(req, 404, b"no such image", "text/plain")
            return _send(req, 200, data, "image/png" if parts[2] != "before" else _sniff(data))
        if url.path == "/api/tasks":
            return _send(req, 200, json.dumps(self.tasks()).encode(), "application/json")
        return _send(req, 404, b"not found", "text/plain")

    def _post(self, req: BaseHTTPRequestHandler) -> None:
        if not (self._host_ok(req) and self._signed_in(req) and self._same_origin(req)):
            return _send(req, 403, b"refused: not from this review page", "text/plain")
        url = urllib.parse.urlsplit(req.path)
        length = int(req.headers.get("Content-Length") or 0)
        if length > MAX_UPLOAD_BYTES:
            return _send(req, 413, b"upload too large", "text/plain")
        body = req.rfile.read(length)
        form: dict[str, str] = {}
        if str(req.headers.get("Content-Type", "")).startswith("application/x-www-form-urlencoded"):
            form = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        if not self._csrf_ok(str(req.headers.get("X-CSRF-Token", "")) or form.get("csrf", "")):
            return _send(req, 403, b"refused: the form's CSRF token is missing or wrong; reload the page",
                         "text/plain")
        if url.path == "/done":
            self.finished.set()
            return _send(req, 200, b"<p>Done. You can close this page.</p>", "text/html; charset=utf-8")
        try:
            if url.path == "/decide":
                message = self.decide(form)
            elif url.path == "/correct":
                query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
                message = self.correct(query.get("task_id", ""), query.get("reason", ""), body)
            else:
                return _send(req, 404, b"not found", "text/plain")
        except PackshotError as exc:
            return _redirect(req, {"error": exc.reason})
        return _redirect(req, {"msg": message})


def _summary(result: dict[str, Any]) -> str:
    photos = ", ".join(f"{p['name']}: {p['result']}" for p in result.get("photos", []))
    return f"{result.get('decision')} by {result.get('reviewer')} - {photos}"


def _security_headers(req: BaseHTTPRequestHandler) -> None:
    req.send_header("Cache-Control", "no-store")
    # Never framed (no clickjacking of Approve), no Referer to other sites. Not "no-referrer": with it browsers
    # send "Origin: null" on the page's own form posts, which the Origin check must refuse.
    req.send_header("X-Frame-Options", "DENY")
    req.send_header("Content-Security-Policy", "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
    req.send_header("Referrer-Policy", "same-origin")
    req.send_header("X-Content-Type-Options", "nosniff")


def _send(req: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str) -> None:
    req.send_response(status)
    req.send_header("Content-Type", content_type)
    req.send_header("Content-Length", str(len(body)))
    _security_headers(req)
    req.end_headers()
    req.wfile.write(body)


def _redirect(req: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
    # POST-redirect-GET: a reload never repeats a decision.
    req.send_response(303)
    req.send_header("Location", "/?" + urllib.parse.urlencode(query))
    req.send_header("Content-Length", "0")
    _security_headers(req)
    req.end_headers()


def _sniff(data: bytes) -> str:
    return "image/jpeg" if data[:2] == b"\xff\xd8" else "image/png"


@dataclass
class Approvals:
    """What --approve-all did: decisions made, and senior sign-offs left for want of a senior."""

    made: int = 0
    needs_senior: list[str] = field(default_factory=list)


def approve_all(api: ReviewApi, senior_api: ReviewApi | None, settle: Callable[[], None], *,
                max_rounds: int = 10, say: Callable[[str], None] = print, gone_means_done: bool = False) -> Approvals:
    """Approve every open task until none is left: review steps through `api`, senior sign-offs through
    `senior_api` (another principal's); without one, senior steps stay open and are listed.

    Each API decides as its own identity: nothing here names a reviewer. `gone_means_done`: the API is a
    `packshot run --review` process, which stops once every image is decided.
    """
    done = Approvals()
    for _ in range(max_rounds):
        try:
            tasks = api.call({"op": "list"})["tasks"]
        except PackshotError:
            if gone_means_done and done.made:
                return done
            raise
        done.needs_senior = [t["task_id"] for t in tasks if t["step"] == "senior" and senior_api is None]
        workable = [t for t in tasks if t["task_id"] not in done.needs_senior]
        if not workable:
            return done
        for task in workable:
            caller = senior_api if task["step"] == "senior" and senior_api is not None else api
            result = caller.call({"op": "decide", "task_id": task["task_id"], "decision": ReviewDecision.APPROVE})
            say(f"packshot review: {_summary(result)}")
            done.made += 1
        settle()  # complex products come back for their senior sign-off
    return done


def poll_settle(api: ReviewApi, *, quiet_s: float = 10.0, interval_s: float = 1.0) -> Callable[[], None]:
    """For a remote stack: wait until new tasks appear or nothing has appeared for `quiet_s`."""

    def settle() -> None:
        deadline = time.monotonic() + quiet_s
        while time.monotonic() < deadline:
            try:
                if api.call({"op": "list"})["tasks"]:
                    return
            except PackshotError:
                return  # approve_all's next list call says whether that matters
            time.sleep(interval_s)

    return settle


# ---------- wiring for the CLI ----------
@dataclass(frozen=True)
class ReviewOptions:
    """What `packshot run` does with images that wait for review once the batch has settled."""

    mode: str = ""  # "": leave them pending and say how to work them; "page": serve the page; "approve_all"
    reviewer: str = ""  # the operator: the embedded front door signs as this name
    senior: str = ""  # who signs complex products off with approve_all; no default, never the reviewer
    port: int = 0


def work_reviews_in_run(aws: Any, keys: list[str], progress: Any, options: ReviewOptions, *, timeout_s: float,
                        on_progress: Callable[[Any], None] | None = None,
                        say: Callable[[str], None] = print) -> Any:
    """After `packshot run` settles: leave review items pending, serve the page, or approve them all."""
    from packshot.local.function_url import EmbeddedReviewApi

    if not progress.waiting:
        return progress
    function = aws.physical("ReviewApiFunction")
    api = EmbeddedReviewApi(aws.client("lambda"), function, options.reviewer)

    def settle() -> None:
        aws.wait(keys, timeout_s=timeout_s, on_progress=on_progress)

    if options.mode == "approve_all":
        senior = EmbeddedReviewApi(aws.client("lambda"), function, options.senior) if options.senior else None
        done = approve_all(api, senior, settle, say=say)
        if done.needs_senior:
            say(f"packshot: {len(done.needs_senior)} images need a senior sign-off, which must come from someone "
                f"other than {options.reviewer}: pass --senior NAME (there is no default senior)")
    elif options.mode == "page":
        page = ReviewPage(api, options.reviewer, title="packshot review (embedded AWS)")
        url = page.start(options.port)
        say(f"packshot: {progress.waiting} images wait for review. Review page (signed in as {options.reviewer}; "
            f"the link carries this session's secret, do not share it): {url}")
        say("packshot: press Done on the page (or Ctrl-C) when finished; the batch report is written after that.")
        say(f"packshot: a senior sign-off must come from someone else: packshot review --endpoint {aws.endpoint} "
            "--reviewer NAME [--approve-all]")
        try:
            # Done on the page, Ctrl-C, or every image decided (e.g. by `packshot review --endpoint ...`).
            while not page.finished.wait(1.0):
                if aws.progress(keys, flow=False).finished == len(keys):
                    break
        except KeyboardInterrupt:
            pass
        page.stop()
    else:
        say(f"packshot: {progress.waiting} images wait for review (pending by design; see report.html).")
        say("packshot: the embedded AWS lives only as long as this command, so work them in the same run:")
        say("packshot:   packshot run DIR --review        a review page on 127.0.0.1 (approve / reject / upload)")
        say("packshot:   packshot run DIR --approve-all   approve them all (scripted; complex products also need "
            "--senior NAME)")
        say("packshot: on a deployed stack: packshot review --stack NAME [--approve-all]")
        return progress
    return aws.wait(keys, timeout_s=timeout_s, on_progress=on_progress)


def review_command(*, stack: str, endpoint: str, function: str, region: str, approve: bool, reviewer: str,
                   senior: str, port: int, profile: str = "", senior_profile: str = "") -> int:
    """`packshot review`: the page (or --approve-all) against a deployed stack or a live embedded AWS.

    On a deployed stack every request is SigV4-signed with your credentials (`--profile`), and a senior
    sign-off with the senior's (`--senior-profile`); names typed on the command line decide nothing there.
    Against an embedded AWS (`--endpoint`) its front door signs as `--reviewer` (and `--senior`).
    """
    import getpass
    import sys

    from packshot.review import canonical_principal

    def fail(reason: str) -> int:
        print(f"packshot review: {reason}", file=sys.stderr)
        return 2

    if bool(stack) == bool(endpoint):
        return fail("say which queue: --stack NAME (a deployed stack, your AWS credentials) or --endpoint URL (the "
                    "embedded AWS of a running `packshot run --review`, which prints it)")
    try:
        api: ReviewApi
        senior_api: ReviewApi | None = None
        if stack:
            if reviewer or senior:
                return fail("on a deployed stack you are who your AWS credentials say: use --profile (and "
                            "--senior-profile for senior sign-offs), not --reviewer / --senior")
            api, who = _signed_api(stack, region, profile)
            if senior_profile:
                senior_api, senior_who = _signed_api(stack, region, senior_profile)
                if canonical_principal(senior_who) == canonical_principal(who):
                    return fail(f"--senior-profile signs as {senior_who}, the same principal as --profile")
        else:
            from packshot.adapters.aws import client_factory
            from packshot.local.function_url import EmbeddedReviewApi

            who = reviewer or getpass.getuser()
            if senior and canonical_principal(senior) == canonical_principal(who):
                return fail(f"--senior must be someone other than the reviewer ({who})")
            lam = client_factory(endpoint=endpoint, region=region)("lambda")
            name = function or "packshot-local-ReviewApiFunction"
            api = EmbeddedReviewApi(lam, name, who)
            senior_api = EmbeddedReviewApi(lam, name, senior) if senior else None
        if approve:
            done = approve_all(api, senior_api, poll_settle(api), say=lambda line: print(line, file=sys.stderr),
                               gone_means_done=bool(endpoint))
            print(f"packshot review: {done.made} decisions", file=sys.stderr)
            if done.needs_senior:
                return fail(f"{len(done.needs_senior)} tasks need a senior sign-off from another principal: pass "
                            + ("--senior-profile PROFILE" if stack else "--senior NAME") + " (there is no default)")
            return 0
        page = ReviewPage(api, who, title=f"packshot review ({stack or endpoint})")
        url = page.start(port)
        print(f"packshot review: signed in as {who}: {url} (the link carries this session's secret; press Done on "
              "the page or Ctrl-C to stop)", file=sys.stderr)
        page.wait_until_done()
        page.stop()
    except (PackshotError, KeyError) as exc:
        reason = exc.reason if isinstance(exc, PackshotError) else f"the stack has no output {exc}"
        print(f"packshot review: {reason}", file=sys.stderr)
        return 1
    return 0


def _signed_api(stack: str, region: str, profile: str) -> tuple[ReviewApi, str]:
    """The deployed review API, signed with a profile's credentials, and the ARN it will be known by."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from packshot.adapters.review import FunctionUrlReviewApi, stack_outputs

    session = boto3.session.Session(profile_name=profile or None, region_name=region or None)
    credentials = session.get_credentials()
    if credentials is None:
        raise PackshotError(f"no AWS credentials{' for profile ' + profile if profile else ''}")
    try:
        who = str(session.client("sts").get_caller_identity()["Arn"])
    except (ClientError, BotoCoreError) as exc:
        raise PackshotError(f"your AWS credentials do not work here: {exc}") from exc
    url = stack_outputs(stack, session.client("cloudformation"))["ReviewApiUrl"]
    return FunctionUrlReviewApi(url, credentials, session.region_name or "us-east-1"), who
