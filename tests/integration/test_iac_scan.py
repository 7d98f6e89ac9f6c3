"""The IaC scanner (checkov) passes on the template: every check holds or is skipped with a written reason."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from packshot.local.template import load_template

CHECKOV = Path(__file__).resolve().parents[2] / ".venv-scan" / "bin" / "checkov"


def test_checkov_finds_no_failed_check_and_every_skip_in_the_template_says_why(repo: Path) -> None:
    if not CHECKOV.is_file():
        pytest.fail(f"checkov is missing at {CHECKOV}: run `make setup` (it has its own virtualenv)")
    result = subprocess.run(
        # --skip-download: no call home for guidelines (there is no network here, and the scan must not need one).
        [str(CHECKOV), "-f", "template.yaml", "--framework", "cloudformation", "--compact", "--skip-download",
         "-o", "json"],
        cwd=repo, capture_output=True, text=True, timeout=300, check=False,
    )
    report = json.loads(result.stdout)
    report = report[0] if isinstance(report, list) else report
    failed = [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in report["results"]["failed_checks"]]
    assert not failed, "fix these or skip them in the resource's Metadata with a reason:\n" + "\n".join(failed)
    assert report["summary"]["passed"] > 0
    # checkov reports no comment for CloudFormation Metadata skips: read each justification from the template.
    resources = load_template(repo / "template.yaml")["Resources"]
    for check in report["results"]["skipped_checks"]:
        logical = check["resource"].rsplit(".", 1)[-1]
        skips = resources[logical].get("Metadata", {}).get("checkov", {}).get("skip", [])
        comment = next((s.get("comment", "") for s in skips if s.get("id") == check["check_id"]), "")
        assert len(comment.split()) >= 5, f"{check['check_id']} {logical}: say why in its Metadata comment"
