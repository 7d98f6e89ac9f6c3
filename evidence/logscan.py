"""Logs: run photos that go to review and export with INFO logs, print every log line. `python -m evidence.logscan`.

Runs in its own process so the handlers' loggers start at INFO and write to this process's stdout; the test reads
the output and looks for task tokens and presigned-URL signatures.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    from packshot.local.embedded import EmbeddedAws

    warnings.filterwarnings("ignore")
    examples = REPO / "examples"
    with EmbeddedAws(log_level="INFO") as aws:
        # Jewellery goes to a reviewer by category rule: the review step runs with a task token.
        keys = aws.upload([examples / "chain_necklace.jpg", examples / "box_on_white.jpg"], examples,
                          {"chain_necklace.jpg": {"category": "jewelry"}})
        progress = aws.wait(keys, timeout_s=600)
        print("statuses before review:", {k: r.get("status") for k, r in aws.records_by_key().items()},
              file=sys.stderr)
        # The review API's answers carry presigned URLs, and its decisions resume task tokens: log both paths.
        from packshot.local.function_url import EmbeddedReviewApi

        api = EmbeddedReviewApi(aws.client("lambda"), aws.physical("ReviewApiFunction"), "logscan")
        for task in api.call({"op": "list"})["tasks"]:
            api.call({"op": "decide", "task_id": task["task_id"], "decision": "reject", "reason": "log scan"})
        progress = aws.wait(keys, timeout_s=600)
        records = aws.records_by_key()
    print("statuses:", {k: r.get("status") for k, r in records.items()}, file=sys.stderr)
    return 0 if progress.finished + getattr(progress, "waiting", 0) == len(keys) else 1


if __name__ == "__main__":
    raise SystemExit(main())
