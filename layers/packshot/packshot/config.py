"""Settings read from the environment once per cold start: cheap, no network."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from packshot.errors import ConfigurationError
from packshot.models.catalog import DEFAULT_FAMILY

# Platforms exported when a deployment does not say otherwise.
DEFAULT_EXPORT_PLATFORMS = ("amazon_main", "shopify")


@dataclass(frozen=True)
class Settings:
    """Everything a stage needs to know about its deployment."""

    input_bucket: str = ""
    work_bucket: str = ""
    export_bucket: str = ""
    records_table: str = ""
    state_machine_arn: str = ""
    review_table: str = ""
    # Amazon zoom needs 1000 px on the longest side; smaller inputs cannot make a compliant main image.
    min_side: int = 1000
    # Decompression-bomb guard: about 100 MP, well above any studio camera, far below what breaks a Lambda.
    max_pixels: int = 100_000_000
    # Object size limit, checked from HeadObject before downloading: 200 MB holds a 100 MP 16-bit TIFF
    # compressed, and keeps the download plus decode inside a 3 GB Lambda.
    max_object_bytes: int = 200_000_000
    # u2netp at 224 px with full-resolution refinement: faster than rembg's u2netp and as accurate (make bench).
    model_name: str = DEFAULT_FAMILY
    # A local path, or s3://bucket/key (downloaded once per execution environment into model_cache_dir).
    model_path: str = ""
    # Hex sha256 a model file of unknown name must have ("" = none; known files are checked by their own sum).
    model_sha256: str = ""
    # Lambda's only writable disk is /tmp; 512 MB by default, so a model above ~400 MB needs EphemeralStorage.
    model_cache_dir: str = "/tmp/packshot-models"
    model_threads: int = 1
    # The QC score a cutout the gate trusts needs to ship without a person; None: the floor fitted with the gate
    # (packshot/gate.json). A deployment may set its own (QcApproveMin).
    qc_approve: int | None = None
    qc_review: int = 70
    # Product fills 85% of the longest side: the marketplace convention.
    fill: float = 0.85
    export_platforms: tuple[str, ...] = DEFAULT_EXPORT_PLATFORMS
    # A client's platform rules merged over platforms.json: s3://bucket/key or a local path ("" = none).
    platform_rules_overrides: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        try:
            return cls(
                input_bucket=env.get("INPUT_BUCKET", ""),
                work_bucket=env.get("WORK_BUCKET", ""),
                export_bucket=env.get("EXPORT_BUCKET", ""),
                records_table=env.get("RECORDS_TABLE", ""),
                state_machine_arn=env.get("STATE_MACHINE_ARN", ""),
                review_table=env.get("REVIEW_TABLE", ""),
                min_side=int(env.get("MIN_SIDE_PX", cls.min_side)),
                max_pixels=int(env.get("MAX_PIXELS", cls.max_pixels)),
                max_object_bytes=int(env.get("MAX_OBJECT_BYTES", cls.max_object_bytes)),
                model_name=env.get("MODEL_NAME", cls.model_name),
                model_path=env.get("MODEL_PATH", "").strip(),
                model_sha256=normalise_sha256(env.get("MODEL_SHA256", "")),
                model_cache_dir=env.get("MODEL_CACHE_DIR", "").strip() or cls.model_cache_dir,
                model_threads=int(env.get("MODEL_THREADS", cls.model_threads)),
                qc_approve=int(env["QC_APPROVE_MIN"]) if env.get("QC_APPROVE_MIN", "").strip() else None,
                qc_review=int(env.get("QC_REVIEW_MIN", cls.qc_review)),
                fill=float(env.get("FILL_RATIO", cls.fill)),
                export_platforms=_platforms(env.get("EXPORT_PLATFORMS", "")),
                platform_rules_overrides=env.get("PLATFORM_RULES_OVERRIDES", "").strip(),
            )
        except ValueError as exc:
            raise ConfigurationError(f"a numeric setting has a value that is not a number: {exc}") from exc

    def require(self, *names: str) -> None:
        """Fail at cold start, not mid-image, when a stage's resource names are missing."""
        missing = [n for n in names if not getattr(self, n)]
        if missing:
            env_names = ", ".join(n.upper() for n in missing)
            raise ConfigurationError(f"set the environment variables {env_names} (the template does this)")


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
