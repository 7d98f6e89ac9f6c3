"""Settings read from the environment once per cold start: cheap, no network."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields

from packshot.errors import ConfigurationError
from packshot.models.catalog import DEFAULT_FAMILY

# Platforms exported when a deployment does not say otherwise.
DEFAULT_EXPORT_PLATFORMS = ("amazon_main", "shopify")


def normalise_sha256(value: str, setting: str = "MODEL_SHA256") -> str:
    """The hex digest in lower case, or "" when unset; anything but 64 hex digits is a ConfigurationError."""
    digest = value.strip().lower()
    if digest and not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise ConfigurationError(
            f"{setting} must be 64 hex digits (the output of `sha256sum FILE`), got {value.strip()!r}"
        )
    return digest


def _platforms(raw: str) -> tuple[str, ...]:
    names = tuple(p.strip() for p in raw.split(",") if p.strip())
    return names or DEFAULT_EXPORT_PLATFORMS


def _optional_int(raw: str) -> int | None:
    return int(raw) if raw.strip() else None


def _model_cache_dir(raw: str) -> str:
    return raw.strip() or DEFAULT_MODEL_CACHE_DIR


def _env(name: str, parse: Callable[[str], object] = str, *, template: bool = True) -> dict[str, object]:
    """A field read from the environment variable `name` by `parse`; `template`: template.yaml sets it (False: the
    default is right wherever the function runs, and the README's "Environment variables" says so)."""
    return {"env": name, "parse": parse, "template": template}


# Variables the template sets for a library rather than for our code: Powertools' Logger and Metrics, and glibc's
# allocator (template.yaml says why).
LIBRARY_VARIABLES = ("POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "MALLOC_MMAP_THRESHOLD_",
                     "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")

# Lambda's only writable disk is /tmp; 512 MB by default, so a model above ~400 MB needs EphemeralStorage.
DEFAULT_MODEL_CACHE_DIR = "/tmp/packshot-models"


@dataclass(frozen=True)
class Settings:
    """Everything a stage needs to know about its deployment, and the one list of the variables the functions read.

    Each field names its environment variable; template.yaml sets them (tests/integration/test_environment.py
    checks both ways), and the README's "Environment variables" lists the few the template leaves at their default
    and the tools' own.
    """

    input_bucket: str = field(default="", metadata=_env("INPUT_BUCKET"))
    work_bucket: str = field(default="", metadata=_env("WORK_BUCKET"))
    export_bucket: str = field(default="", metadata=_env("EXPORT_BUCKET"))
    records_table: str = field(default="", metadata=_env("RECORDS_TABLE"))
    state_machine_arn: str = field(default="", metadata=_env("STATE_MACHINE_ARN"))
    review_table: str = field(default="", metadata=_env("REVIEW_TABLE"))
    # Powertools' idempotency records of the export function.
    idempotency_table: str = field(default="", metadata=_env("IDEMPOTENCY_TABLE"))
    # Amazon zoom needs 1000 px on the longest side; smaller inputs cannot make a compliant main image.
    min_side: int = field(default=1000, metadata=_env("MIN_SIDE_PX", int))
    # Decompression-bomb guard: about 100 MP, well above any studio camera, far below what breaks a Lambda.
    max_pixels: int = field(default=100_000_000, metadata=_env("MAX_PIXELS", int))
    # Object size limit, checked from HeadObject before downloading: 200 MB holds a 100 MP 16-bit TIFF
    # compressed, and keeps the download plus decode inside a 3 GB Lambda.
    max_object_bytes: int = field(default=200_000_000, metadata=_env("MAX_OBJECT_BYTES", int))
    # u2netp at 224 px with full-resolution refinement: faster than rembg's u2netp and as accurate (make bench).
    model_name: str = field(default=DEFAULT_FAMILY, metadata=_env("MODEL_NAME"))
    # A local path, or s3://bucket/key (downloaded once per execution environment into model_cache_dir).
    model_path: str = field(default="", metadata=_env("MODEL_PATH", str.strip))
    # Hex sha256 a model file of unknown name must have ("" = none; known files are checked by their own sum).
    model_sha256: str = field(default="", metadata=_env("MODEL_SHA256", normalise_sha256))
    model_cache_dir: str = field(default=DEFAULT_MODEL_CACHE_DIR,
                                 metadata=_env("MODEL_CACHE_DIR", _model_cache_dir, template=False))
    model_threads: int = field(default=1, metadata=_env("MODEL_THREADS", int))
    # The QC score a cutout the gate trusts needs to ship without a person; None: the floor fitted with the gate
    # (packshot/gate.json). A deployment may set its own (QcApproveMin).
    qc_approve: int | None = field(default=None, metadata=_env("QC_APPROVE_MIN", _optional_int))
    qc_review: int = field(default=70, metadata=_env("QC_REVIEW_MIN", int))
    # Product fills 85% of the longest side: the marketplace convention (not a deployment setting).
    fill: float = 0.85
    export_platforms: tuple[str, ...] = field(default=DEFAULT_EXPORT_PLATFORMS,
                                              metadata=_env("EXPORT_PLATFORMS", _platforms))
    # A client's platform rules merged over platforms.json: s3://bucket/key or a local path ("" = none).
    platform_rules_overrides: str = field(default="", metadata=_env("PLATFORM_RULES_OVERRIDES", str.strip))

    @classmethod
    def variables(cls) -> dict[str, str]:
        """Environment variable -> field, for every field read from the environment."""
        return {f.metadata["env"]: f.name for f in fields(cls) if "env" in f.metadata}

    @classmethod
    def template_variables(cls) -> set[str]:
        """The variables template.yaml must set (the others keep their default on Lambda)."""
        return {f.metadata["env"] for f in fields(cls) if f.metadata.get("template")}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            name = f.metadata.get("env")
            if name is None or name not in env:
                continue  # unset: the field's default
            try:
                values[f.name] = f.metadata["parse"](env[name])
            except ValueError as exc:
                raise ConfigurationError(f"{name} has a value that is not a number: {exc}") from exc
        return cls(**values)  # type: ignore[arg-type]  # each parse returns its field's type

    def require(self, *names: str) -> None:
        """Fail at cold start, not mid-image, when a stage's resource names are missing."""
        missing = [n for n in names if not getattr(self, n)]
        if missing:
            variables = {field: env for env, field in self.variables().items()}
            env_names = ", ".join(variables.get(n, n.upper()) for n in missing)
            raise ConfigurationError(f"set the environment variables {env_names} (the template does this)")
