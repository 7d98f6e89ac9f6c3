"""Shared fixtures: paths, the checksum-verified model, and the embedded AWS."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
EVENTS = REPO / "events"


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def model_file() -> Path:
    from packshot.models.paths import default_model_path

    path = default_model_path()
    if not path.is_file():
        pytest.fail(f"the u2netp model is missing at {path}: run `make setup` (it fetches it by checksum)")
    return path


@pytest.fixture()
def embedded(model_file: Path) -> Iterator[object]:
    """A fresh embedded AWS with the template's resources and the real event flow."""
    from packshot.local.embedded import EmbeddedAws

    warnings.filterwarnings("ignore", message="No application metrics to publish")
    with EmbeddedAws(log_level="ERROR") as aws:
        yield aws


@pytest.fixture()
def embedded_without_event_sources(model_file: Path) -> Iterator[object]:
    """The embedded AWS with nothing polling the ingest queue: handlers are fed events by the test."""
    from packshot.local.embedded import EmbeddedAws

    warnings.filterwarnings("ignore", message="No application metrics to publish")
    with EmbeddedAws(log_level="ERROR", event_sources=False) as aws:
        yield aws
