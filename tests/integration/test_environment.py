"""One set of environment variables: Settings names each one the functions read, the template sets exactly those,
and every other variable the code reads is a tool's own, listed once in the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from packshot.config import LIBRARY_VARIABLES, Settings
from packshot.errors import ConfigurationError
from packshot.local.embedded import DEFAULT_TEMPLATE
from packshot.local.template import Stack
from tests.conftest import REPO

CODE_FOLDERS = ("layers", "functions", "eval", "bench", "evidence", "tools", "training")
READ = re.compile(r"""(?:environ\.get\(|environ\[|getenv\()\s*["']([A-Z][A-Z0-9_]+)["']""")


def template_variables() -> dict[str, set[str]]:
    """Variable -> the functions it is set for, with every optional parameter given (so conditional ones show)."""
    stack = Stack.from_file(DEFAULT_TEMPLATE, parameters={"ModelUri": "s3://models/m.onnx", "ModelSha256": "ab" * 32})
    found: dict[str, set[str]] = {}
    for logical in stack.of_type("AWS::Serverless::Function"):
        for name in stack.function_environment(logical):
            found.setdefault(name, set()).add(logical)
    return found


def code_reads() -> dict[str, set[str]]:
    """Variable -> the source files that read it by name (Settings reads through its fields, not by literal)."""
    found: dict[str, set[str]] = {}
    for folder in CODE_FOLDERS:
        for path in sorted((REPO / folder).rglob("*.py")):
            for name in READ.findall(path.read_text()):
                found.setdefault(name, set()).add(str(path.relative_to(REPO)))
    return found


def readme_tool_variables() -> set[str]:
    readme = (REPO / "README.md").read_text()
    section = readme.split("\n## Environment variables\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", section, re.MULTILINE))


def test_every_variable_the_template_sets_is_read_by_settings_or_its_library() -> None:
    unread = set(template_variables()) - set(Settings.variables()) - set(LIBRARY_VARIABLES)
    assert unread == set(), f"the template sets {sorted(unread)}, which nothing reads"


def test_every_variable_settings_reads_from_a_deployment_is_set_by_the_template() -> None:
    unset = Settings.template_variables() - set(template_variables())
    assert unset == set(), f"Settings reads {sorted(unset)}, which the template never sets"
    assert Settings.template_variables() < set(Settings.variables())  # some keep their default on purpose


def test_the_variables_left_at_their_default_and_the_tools_own_are_listed_once_in_the_readme() -> None:
    listed = readme_tool_variables()
    defaults_only = set(Settings.variables()) - Settings.template_variables()
    reads = code_reads()
    tools_own = set(reads) - set(Settings.variables())
    assert defaults_only <= listed
    assert tools_own <= listed, f"read by {[sorted(reads[n]) for n in sorted(tools_own - listed)]}, not in the README"
    assert listed - defaults_only - tools_own == set(), "the README lists a variable nothing reads"
    assert {"PACKSHOT_SHARED", "PACKSHOT_EXTRA_DEVSETS", "PACKSHOT_PROFILE_DIR"} <= tools_own  # the scan works


def test_settings_read_each_variable_once_and_name_it_when_it_is_not_a_number() -> None:
    names = list(Settings.variables())
    assert len(names) == len(set(names))
    settings = Settings.from_env({"MIN_SIDE_PX": "1500", "QC_APPROVE_MIN": " ", "MODEL_CACHE_DIR": " ",
                                  "EXPORT_PLATFORMS": "ebay, etsy", "IDEMPOTENCY_TABLE": "idem"})
    assert (settings.min_side, settings.qc_approve, settings.model_cache_dir) == (1500, None, "/tmp/packshot-models")
    assert settings.export_platforms == ("ebay", "etsy") and settings.idempotency_table == "idem"
    with pytest.raises(ConfigurationError, match="MAX_PIXELS"):
        Settings.from_env({"MAX_PIXELS": "lots"})
    with pytest.raises(ConfigurationError, match="IDEMPOTENCY_TABLE"):
        Settings(records_table="t").require("records_table", "idempotency_table")


def test_the_cutout_image_sets_no_variable_of_its_own_the_template_sets_them() -> None:
    dockerfile = (REPO / "functions" / "cutout" / "Dockerfile").read_text()
    assert not re.search(r"^\s*ENV\s", dockerfile, re.MULTILINE)


def test_the_model_path_has_one_variable(tmp_path: Path) -> None:
    # MODEL_PATH is the only way to name another model file; the second spelling PACKSHOT_MODEL_PATH is gone.
    reads = code_reads()
    assert "PACKSHOT_MODEL_PATH" not in reads and "PACKSHOT_MODEL_DIR" not in reads
    assert Settings.from_env({"MODEL_PATH": str(tmp_path)}).model_path == str(tmp_path)
