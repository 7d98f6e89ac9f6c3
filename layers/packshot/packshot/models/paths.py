"""Where model files live: the repo's models/ dir in development, /opt/models in the container image.

No environment variable of its own: MODEL_PATH (Settings.model_path) names another file to load, and fetch and
derive take --dest for another folder.
"""

from __future__ import annotations

from pathlib import Path

from packshot.models.catalog import FAMILIES

# The container image of the cutout function copies the model here (see functions/cutout/Dockerfile).
IMAGE_MODEL_DIR = Path("/opt/models")
# The file a path defaults to when no family names one: the fetched u2netp's.
DEFAULT_MODEL_FILENAME = FAMILIES["u2netp"].file.filename


def repo_root() -> Path | None:
    """The source checkout holding this package, or None when installed elsewhere (a Lambda layer)."""
    # Walk up rather than count parents, so a moved file or a symlinked checkout still resolves; the marker
    # is the layout itself (pyproject.toml next to layers/packshot/packshot), not a guessed depth.
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "layers" / "packshot" / "packshot").is_dir():
            return parent
    return None


def default_model_dir() -> Path:
    """Where fetch writes by default: <repo>/models, else /opt/models (outside a checkout)."""
    root = repo_root()
    return root / "models" if root is not None else IMAGE_MODEL_DIR


def default_model_path(filename: str = DEFAULT_MODEL_FILENAME) -> Path:
    """The model file (u2netp's unless `filename` names another) to load when none is configured.

    Order: <repo>/models/<filename> if present; /opt/models/<filename> if present. When none exists the first
    candidate is returned anyway, so the error raised on loading names the place where `make setup` would put it.
    """
    candidates: list[Path] = []
    root = repo_root()
    if root is not None:
        candidates.append(root / "models" / filename)
    candidates.append(IMAGE_MODEL_DIR / filename)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return candidates[0]
