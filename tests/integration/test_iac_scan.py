"""checkov passes on the template as deployed (loops unrolled): every check holds or is skipped with a reason."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from packshot.local.language_extensions import main as write_expanded
from packshot.local.template import Stack

CHECKOV = Path(__file__).resolve().parents[2] / ".venv-scan" / "bin" / "checkov"


@pytest.fixture(scope="module")
def scan(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    """checkov's report on the template with its loops unrolled (as `make lint` scans it), and that template."""
    if not CHECKOV.is_file():
        pytest.fail(f"checkov is missing at {CHECKOV}: run `make setup` (it has its own virtualenv)")
    expanded = tmp_path_factory.mktemp("scan") / "template.expanded.json"
    assert write_expanded([str(repo / "template.yaml"), str(expanded)]) == 0
    result = subprocess.run(
        [str(CHECKOV), "--config-file", ".checkov.yaml", "-f", str(expanded), "-o", "json"],
        cwd=repo, capture_output=True, text=True, timeout=300, check=False,
    )
    report = json.loads(result.stdout)
    return (report[0] if isinstance(report, list) else report), json.loads(expanded.read_text(encoding="utf-8"))


def test_checkov_finds_no_failed_check_and_every_skip_in_the_template_says_why(scan: tuple[dict, dict]) -> None:
    report, template = scan
    failed = [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in report["results"]["failed_checks"]]
    assert not failed, "fix these or skip them in the resource's Metadata with a reason:\n" + "\n".join(failed)
    assert report["summary"]["passed"] > 0
    # checkov reports no comment for CloudFormation Metadata skips: read each justification from the template.
    for check in report["results"]["skipped_checks"]:
        logical = check["resource"].rsplit(".", 1)[-1]
        skips = template["Resources"][logical].get("Metadata", {}).get("checkov", {}).get("skip", [])
        comment = next((s.get("comment", "") for s in skips if s.get("id") == check["check_id"]), "")
        assert len(comment.split()) >= 5, f"{check['check_id']} {logical}: say why in its Metadata comment"


def test_checkov_checks_the_resources_a_loop_makes(scan: tuple[dict, dict], repo: Path) -> None:
    report, _ = scan
    checked = {c["resource"].rsplit(".", 1)[-1] for kind in ("passed_checks", "skipped_checks", "failed_checks")
               for c in report["results"][kind]}
    # The functions' log groups exist only inside Fn::ForEach in template.yaml: checkov must still have seen each.
    log_groups = set(Stack.from_file(repo / "template.yaml").of_type("AWS::Logs::LogGroup"))
    assert len(log_groups) >= 11
    assert log_groups <= checked, f"not scanned: {sorted(log_groups - checked)}"


def test_every_check_skipped_project_wide_says_why_on_the_line_above(repo: Path) -> None:
    lines = (repo / ".checkov.yaml").read_text(encoding="utf-8").splitlines()
    skipped = [i for i, line in enumerate(lines) if re.match(r"\s*- CKV_\w+\s*$", line)]
    assert skipped, "the project-wide skips are gone: drop this test with them"
    for i in skipped:
        reason = lines[i - 1].strip()
        assert reason.startswith("#") and len(reason.split()) >= 8, f".checkov.yaml:{i + 1}: say why on the line above"
