"""Peak memory and time of the preprocess stage on a 100 MP photo (under 3 GB): `python bench/preprocess_memory.py`."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

LIMIT_BYTES = 3 * 1024**3
SIDE = 10_000  # 10000 x 10000 = 100 MP, the default MAX_PIXELS


def make_input(kind: str, path: Path) -> None:
    """A 100 MP studio-like frame: a lit sweep with grain and a product block, as JPEG or 16-bit Adobe RGB TIFF."""
    from PIL import Image

    rng = np.random.default_rng(0)
    rows = []
    for top in range(0, SIDE, 1000):
        # Built in bands so the generator itself stays small.
        y = np.arange(top, top + 1000, dtype=np.float32)[:, None]
        x = np.arange(SIDE, dtype=np.float32)[None, :]
        base = 225 + 25 * (1 - ((x - SIDE / 2) ** 2 + (y - SIDE / 2) ** 2) / (SIDE**2 / 2))
        band = np.repeat(base[..., None], 3, axis=2) + rng.normal(0, 2.0, (1000, SIDE, 3)).astype(np.float32)
        inside = (y >= 2500) & (y < 7500) & (x >= 3000) & (x < 7000)
        band[np.broadcast_to(inside[..., None], band.shape) & (np.arange(3) == 0)] -= 60
        band[np.broadcast_to(inside[..., None], band.shape) & (np.arange(3) > 0)] -= 180
        rows.append(np.clip(band, 0, 255))
    frame = np.concatenate(rows)
    if kind == "jpeg":
        Image.fromarray(frame.astype(np.uint8)).save(path, format="JPEG", quality=92)
        return
    from packshot.imaging.icc import adobe_rgb_1998_profile
    from packshot.imaging.tiff import encode_tiff

    # 8-bit grain scaled to 16 bits: a grainy 16-bit frame would not compress under the 200 MB object limit
    # (a real 100 MP 16-bit TIFF is 600 MB uncompressed), and the memory measured here is the decoded frame's.
    pixels = np.rint(frame).astype(np.uint16) * 257
    del frame
    path.write_bytes(encode_tiff(pixels, icc_profile=adobe_rgb_1998_profile(), level=6))


@dataclass
class MemoryStore:
    objects: dict[tuple[str, str], bytes] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)

    def head(self, bucket: str, key: str, *, version_id: str = "", etag: str = "") -> Any:
        from packshot.adapters.s3 import ObjectInfo
        from packshot.errors import SourceMissingError

        if (bucket, key) not in self.objects:  # a manifest beside the photo is looked for first
            raise SourceMissingError(f"s3://{bucket}/{key} does not exist")
        return ObjectInfo(size=len(self.objects[bucket, key]), etag="e", content_type="", metadata={})

    def get(self, bucket: str, key: str, *, version_id: str = "", etag: str = "") -> bytes:
        from packshot.errors import SourceMissingError

        if (bucket, key) not in self.objects:
            raise SourceMissingError(f"s3://{bucket}/{key} does not exist")
        return self.objects[bucket, key]

    def put(self, bucket: str, key: str, data: bytes, content_type: str) -> None:
        # Like S3: the stage hands the bytes over and forgets them; keep only their size.
        self.sizes[key] = len(data)


class NoRecords:
    def __init__(self) -> None:
        self.fields: dict[str, Any] = {}

    def create_if_absent(self, record: dict[str, Any]) -> bool:
        return True

    def update(self, image_id: str, fields: dict[str, Any]) -> None:
        self.fields.update(fields)


def child(path: Path) -> None:
    """Run preprocess once, in this fresh process, and print what it did."""
    from packshot.config import Settings
    from packshot.stages import preprocess as preprocess_stage
    from packshot.status import Status

    store = MemoryStore()
    store.objects["input", path.name] = path.read_bytes()
    records = NoRecords()
    settings = Settings(work_bucket="work")  # the deployed defaults: 100 MP, 200 MB
    started = time.perf_counter()
    state = preprocess_stage.run({"image_id": "bench", "bucket": "input", "key": path.name, "name": path.name},
                                store, records, settings)
    seconds = time.perf_counter() - started
    fields = records.fields
    print(f"status={state.get('status')} seconds={seconds:.1f} size={fields.get('width')}x{fields.get('height')}"
          f" bit_depth={fields.get('bit_depth')} profile={fields.get('icc_profile')!r}"
          f" master.png={store.sizes.get('work/bench/master.png', 0) / 1e6:.0f}MB"
          f" master.tif={store.sizes.get('work/bench/master.tif', 0) / 1e6:.0f}MB", flush=True)
    if state.get("status") != Status.PROCESSING:
        sys.exit(f"preprocess did not accept the image: {fields.get('reasons')}")


def measure(kind: str, workdir: Path) -> int:
    path = workdir / f"bench_100mp.{'jpg' if kind == 'jpeg' else 'tif'}"
    if not path.exists():
        in_child(make_input, kind, path)
    print(f"{kind}: {path.stat().st_size / 1e6:.0f} MB input, 10000x10000 px", flush=True)
    status, peak = in_child(child, path)
    verdict = "OK" if peak <= LIMIT_BYTES and status == 0 else "OVER" if peak > LIMIT_BYTES else "FAILED"
    print(f"{kind}: peak RSS {peak / 1024**3:.2f} GiB (limit 3 GiB) {verdict}", flush=True)
    return 0 if verdict == "OK" else 1


def in_child(function: Any, *args: Any) -> tuple[int, int]:
    """Run function(*args) in a forked process; (exit status, its peak RSS in bytes) as the kernel counts it."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            function(*args)
            code = 0
        except SystemExit as exc:
            print(exc, file=sys.stderr)
        finally:
            os._exit(code)
    _, status, usage = os.wait4(pid, 0)
    return status, usage.ru_maxrss * 1024  # Linux reports KiB


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kinds", default="jpeg,tiff16", help="comma-separated: jpeg, tiff16 (default both)")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "packshot-bench")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    # fork() copies the parent: keep it free of image data and heavy imports before forking.
    return max(measure(kind.strip(), args.workdir) for kind in args.kinds.split(","))


if __name__ == "__main__":
    sys.exit(main())
