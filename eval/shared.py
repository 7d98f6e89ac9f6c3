"""Where the shared development data lives: real cutouts (devset) and real camera files, beside the repository.

The data is licensed for evaluation and testing, never for redistribution, so it is never copied into the
repository: it is read from `../shared` beside it, or from PACKSHOT_SHARED (a clone elsewhere sets it; .ci/run
derives it from the clone's origin). PACKSHOT_DEVSET and PACKSHOT_REALFILES point at one part alone.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    return Path(os.environ.get("PACKSHOT_SHARED", ROOT.parent / "shared"))


def devset_dir() -> Path:
    return Path(os.environ.get("PACKSHOT_DEVSET", shared_dir() / "devset"))


def realfiles_dir() -> Path:
    return Path(os.environ.get("PACKSHOT_REALFILES", shared_dir() / "realfiles"))
