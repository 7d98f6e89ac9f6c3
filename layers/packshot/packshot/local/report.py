"""What `packshot run` leaves in OUT/: the delivered files, the cutouts, and a report in JSON, CSV and HTML."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from packshot.csvsafe import csv_text
from packshot.events import safe_name
from packshot.gate import gate_findings
from packshot.ports import Record
from packshot.status import NO_RECORD

THUMB_PX = 360
CSV_COLUMNS = ("name", "status", "route", "qc_score", "reasons", "exports")


def write_outputs(
    records: Mapping[str, Record], keys: list[str], input_dir: Path, out_dir: Path, fetch: Any,
    sources: dict[str, Path] | None = None,
) -> list[dict[str, Any]]:
    """Download exports and cutouts, make thumbnails, write report.json/.csv/.html; returns the rows.

    `fetch(bucket, key) -> bytes` reads from the embedded S3; `sources` maps a key to its file where the
    key is not the file's path (a name that is not UTF-8).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    thumbs = out_dir / "thumbs"
    thumbs.mkdir(exist_ok=True)
    rows = []
    for key in keys:
        record = records.get(key, {"status": NO_RECORD, "reasons": ["no record was written for this upload"]})
        # The key's readable name plus the record's id: names made from keys alone collide (sub/x.jpg, sub_x.jpg).
        stem = f"{safe_name(key)}-{record.get('image_id') or hashlib.sha256(key.encode('utf-8')).hexdigest()[:16]}"
        row: dict[str, Any] = {
            "name": key,
            "status": record.get("status", ""),
            "route": record.get("route", ""),
            "qc_score": record.get("qc_score", ""),
            "reasons": list(record.get("reasons", [])) + list(record.get("export_problems", [])),
            "exports": {},
            "record": record,
            "thumbs": {},
        }
        source = (sources or {}).get(key, input_dir / key)
        row["thumbs"]["original"] = _thumb_from_bytes(source.read_bytes(), thumbs / f"{stem}.original.jpg")
        outputs = record.get("outputs", {})
        if outputs.get("cutout"):
            data = fetch("work", outputs["cutout"])
            cutout_path = out_dir / "cutouts" / f"{stem}.png"
            cutout_path.parent.mkdir(exist_ok=True)
            cutout_path.write_bytes(data)
            row["cutout"] = cutout_path.relative_to(out_dir).as_posix()
            row["thumbs"]["cutout"] = _thumb_from_bytes(data, thumbs / f"{stem}.cutout.png", checker=True)
        gate = record.get("gate") or {}
        if gate.get("fired") and not gate.get("passes") and outputs.get("gate_overlay") and outputs.get("master"):
            # Where the gate found its evidence, over the photo at full size (open it for 1:1).
            marked = _marked_photo(fetch("work", outputs["master"]), fetch("work", outputs["gate_overlay"]))
            gate_path = out_dir / "gate" / f"{stem}.png"
            gate_path.parent.mkdir(exist_ok=True)
            gate_path.write_bytes(marked)
            row["gate"] = {**gate_findings(gate), "marked": gate_path.relative_to(out_dir).as_posix()}
            row["thumbs"]["gate"] = _thumb_from_bytes(marked, thumbs / f"{stem}.gate.jpg")
        for platform, export_key in sorted(record.get("exports", {}).items()):
            data = fetch("export", export_key)
            path = out_dir / export_key  # export keys are exports/<platform>/<safe name>.<ext>
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            row["exports"][platform] = path.relative_to(out_dir).as_posix()
            if "export" not in row["thumbs"]:
                row["thumbs"]["export"] = _thumb_from_bytes(data, thumbs / f"{stem}.export.jpg")
        rows.append(row)
    (out_dir / "report.json").write_text(json.dumps(
        [{k: v for k, v in r.items() if k != "thumbs"} for r in rows], indent=2, default=str))
    (out_dir / "report.csv").write_text(csv_text(CSV_COLUMNS, (
        [r["name"], r["status"], r["route"], r["qc_score"], " | ".join(r["reasons"]), " ".join(r["exports"].values())]
        for r in rows)), encoding="utf-8", newline="")
    (out_dir / "report.html").write_text(render_html(rows), encoding="utf-8")
    return rows


def _marked_photo(master_png: bytes, overlay_png: bytes) -> bytes:
    """The photo with the gate's overlay (drawn at its working size) stretched over the same pixels."""
    with Image.open(io.BytesIO(master_png)) as master, Image.open(io.BytesIO(overlay_png)) as overlay:
        photo = master.convert("RGBA")
        photo.alpha_composite(overlay.convert("RGBA").resize(photo.size, Image.Resampling.NEAREST))
        buffer = io.BytesIO()
        photo.convert("RGB").save(buffer, "PNG")
    return buffer.getvalue()


def _thumb_from_bytes(data: bytes, path: Path, checker: bool = False) -> str | None:
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.thumbnail((THUMB_PX, THUMB_PX))
            shown: Image.Image = _on_checkerboard(im) if checker and im.mode == "RGBA" else im
            shown.convert("RGB").save(path, quality=85) if path.suffix == ".jpg" else shown.convert("RGB").save(path)
    except Exception:  # noqa: BLE001 - a broken input still gets a row, just no picture
        return None
    return f"thumbs/{path.name}"


def _on_checkerboard(im: Image.Image) -> Image.Image:
    """Transparency shown the way editors show it, so halos and holes are visible."""
    w, h = im.size
    yy, xx = np.mgrid[0:h, 0:w]
    board = np.where(((xx // 12) + (yy // 12)) % 2 == 0, 255, 204).astype(np.uint8)
    background = Image.fromarray(np.stack([board] * 3, axis=-1), "RGB")
    background.paste(im, (0, 0), im)
    return background


def render_html(rows: list[dict[str, Any]]) -> str:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("packshot.local", "templates"), autoescape=select_autoescape())
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return env.get_template("report.html").render(rows=rows, counts=sorted(counts.items()))
