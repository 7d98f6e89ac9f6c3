"""`packshot review`: a local web page for reviewers, talking to the review Lambda with the user's credentials."""

from __future__ import annotations

import io
import json
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol

from packshot.errors import PackshotError

TEMPLATES = Path(__file__).parent / "templates"
IMAGE_KINDS = ("before", "after", "cutout", "mask")
# A corrected cutout is one PNG; anything bigger than this is a mistake, not a cutout.
MAX_UPLOAD_BYTES = 200 * 1024 * 1024


class ReviewApi(Protocol):
    def call(self, command: dict[str, Any]) -> dict[str, Any]: ...


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
    """The reviewers' page; every action goes through the review API, so IAM decides who may act."""

    def __init__(self, api: ReviewApi, reviewer: str = "", *, title: str = "packshot review",
                 fetch: Callable[[str], bytes] = fetch_url,
                 upload: Callable[[str, bytes, str], None] = put_url) -> None:
        import jinja2

        self.api, self.reviewer, self.title = api, reviewer, title
        self._fetch, self._upload = fetch, upload
        self._env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
        self._urls: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.finished = threading.Event()

    # ---------- lifecycle ----------
    def start(self, port: int = 0) -> str:
        page = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                page._get(self)

            def do_POST(self) -> None:
                page._post(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # request lines would print presigned image paths; keep the terminal for progress

        # Loopback only: the page carries the reviewer's authority (their credentials sign every call).
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, name="review-page", daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

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
            title=self.title, tasks=tasks, reviewer=self.reviewer, message=message, error=error or load_error)

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
                                "decision": fields.get("decision", ""), "reviewer": fields.get("reviewer", ""),
                                "reason": fields.get("reason", "")})
        return _summary(result)

    def correct(self, task_id: str, reviewer: str, reason: str, data: bytes) -> str:
        target = self.api.call({"op": "upload_url", "task_id": task_id})
        self._upload(target["url"], data, "image/png")
        result = self.api.call({"op": "decide", "task_id": task_id, "decision": "corrected", "reviewer": reviewer,
                                "reason": reason, "corrected_cutout_key": target["key"]})
        return _summary(result)

    # ---------- HTTP ----------
    def _get(self, req: BaseHTTPRequestHandler) -> None:
        url = urllib.parse.urlsplit(req.path)
        query = dict(urllib.parse.parse_qsl(url.query))
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
        url = urllib.parse.urlsplit(req.path)
        length = int(req.headers.get("Content-Length") or 0)
        if length > MAX_UPLOAD_BYTES:
            return _send(req, 413, b"upload too large", "text/plain")
        body = req.rfile.read(length)
        if url.path == "/done":
            self.finished.set()
            return _send(req, 200, b"<p>Done. You can close this page.</p>", "text/html; charset=utf-8")
        try:
            if url.path == "/decide":
                fields = dict(urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True))
                message = self.decide(fields)
            elif url.path == "/correct":
                query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
                message = self.correct(query.get("task_id", ""), query.get("reviewer", ""), query.get("reason", ""),
                                       body)
            else:
                return _send(req, 404, b"not found", "text/plain")
        except PackshotError as exc:
            return _redirect(req, {"error": exc.reason})
        return _redirect(req, {"msg": message})


def _summary(result: dict[str, Any]) -> str:
    photos = ", ".join(f"{p['name']}: {p['result']}" for p in result.get("photos", []))
    return f"{result.get('decision')} by {result.get('reviewer')} - {photos}"


def _send(req: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str) -> None:
    req.send_response(status)
    req.send_header("Content-Type", content_type)
    req.send_header("Content-Length", str(len(body)))
    req.send_header("Cache-Control", "no-store")
    req.end_headers()
    req.wfile.write(body)


def _redirect(req: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
    # POST-redirect-GET: a reload never repeats a decision.
    req.send_response(303)
    req.send_header("Location", "/?" + urllib.parse.urlencode(query))
    req.send_header("Content-Length", "0")
    req.end_headers()


def _sniff(data: bytes) -> str:
    return "image/jpeg" if data[:2] == b"\xff\xd8" else "image/png"


def approve_all(api: ReviewApi, reviewer: str, senior: str, settle: Callable[[], None], *,
                max_rounds: int = 10, say: Callable[[str], None] = print, gone_means_done: bool = False) -> int:
    """Approve every open task (senior steps as `senior`) until none is left; returns the decisions made.

    `gone_means_done`: the API is a `packshot run --review` process, which stops once every image is decided.
    """
    made = 0
    for _ in range(max_rounds):
        try:
            tasks = api.call({"op": "list"})["tasks"]
        except PackshotError:
            if gone_means_done and made:
                return made
            raise
        if not tasks:
            return made
        for task in tasks:
            who = senior if task["step"] == "senior" else reviewer
            result = api.call({"op": "decide", "task_id": task["task_id"], "decision": "approve", "reviewer": who})
            say(f"packshot review: {_summary(result)}")
            made += 1
        settle()  # complex products come back for their senior sign-off
    return made


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
    reviewer: str = ""
    senior: str = ""
    port: int = 0


def work_reviews_in_run(aws: Any, keys: list[str], progress: Any, options: ReviewOptions, *, timeout_s: float,
                        on_progress: Callable[[Any], None] | None = None,
                        say: Callable[[str], None] = print) -> Any:
    """After `packshot run` settles: leave review items pending, serve the page, or approve them all."""
    from packshot.adapters.review import LambdaReviewApi

    if not progress.waiting:
        return progress
    api = LambdaReviewApi(aws.physical("ReviewFunction"), aws.client("lambda"))

    def settle() -> None:
        aws.wait(keys, timeout_s=timeout_s, on_progress=on_progress)

    if options.mode == "approve_all":
        approve_all(api, options.reviewer, options.senior, settle, say=say)
    elif options.mode == "page":
        page = ReviewPage(api, options.reviewer, title="packshot review (embedded AWS)")
        url = page.start(options.port)
        say(f"packshot: {progress.waiting} images wait for review. Review page: {url}")
        say("packshot: press Done on the page (or Ctrl-C) when finished; the batch report is written after that.")
        say(f"packshot: scripted, from another terminal: packshot review --endpoint {aws.endpoint} --approve-all")
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
        say("packshot:   packshot run DIR --approve-all   approve them all (scripted; seniors sign as --senior)")
        say("packshot: on a deployed stack: packshot review --stack NAME [--approve-all]")
        return progress
    return aws.wait(keys, timeout_s=timeout_s, on_progress=on_progress)


def review_command(*, stack: str, endpoint: str, function: str, region: str, approve: bool, reviewer: str,
                   senior: str, port: int) -> int:
    """`packshot review`: the page (or --approve-all) against a deployed stack or a live embedded AWS."""
    import sys

    from packshot.adapters.aws import client_factory
    from packshot.adapters.review import LambdaReviewApi, caller_identity, stack_outputs

    if not stack and not endpoint:
        print("packshot review: say which queue: --stack NAME (a deployed stack, your AWS credentials) or "
              "--endpoint URL (the embedded AWS of a running `packshot run --review`, which prints it)",
              file=sys.stderr)
        return 2
    try:
        clients = client_factory(endpoint=endpoint, region=region)
        if stack:
            function = function or stack_outputs(stack, clients("cloudformation"))["ReviewFunctionName"]
            # On AWS the reviewer's signed identity goes with the name they type.
            reviewer = f"{reviewer} ({caller_identity(clients('sts'))})"
            senior = f"{senior} ({caller_identity(clients('sts'))})"
        api = LambdaReviewApi(function or "packshot-local-ReviewFunction", clients("lambda"))
        if approve:
            made = approve_all(api, reviewer, senior, poll_settle(api),
                               say=lambda line: print(line, file=sys.stderr), gone_means_done=bool(endpoint))
            print(f"packshot review: {made} decisions; nothing is left to review", file=sys.stderr)
            return 0
        page = ReviewPage(api, reviewer, title=f"packshot review ({stack or endpoint})")
        url = page.start(port)
        print(f"packshot review: {url} (press Done on the page or Ctrl-C to stop)", file=sys.stderr)
        page.wait_until_done()
        page.stop()
    except (PackshotError, KeyError) as exc:
        reason = exc.reason if isinstance(exc, PackshotError) else f"the stack has no output {exc}"
        print(f"packshot review: {reason}", file=sys.stderr)
        return 1
    return 0
