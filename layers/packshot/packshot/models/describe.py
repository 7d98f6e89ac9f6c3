"""Print a model family's facts or check a model folder against them: `python -m packshot.models.describe --help`.

For the places that cannot import Python: the cutout image's build (`verify /opt/models` after copying the files)
and `make`. The facts themselves are in packshot.models.catalog; this module only reads them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from packshot.models.catalog import FAMILIES, sha256_of


def verify_image_files(folder: Path) -> list[str]:
    """Problems with the files the cutout image must hold in `folder` (empty: each is there with its sha256)."""
    problems = []
    for fam in FAMILIES.values():
        spec = fam.file
        if not spec.in_image:
            continue
        path = folder / spec.filename
        if not path.is_file():
            problems.append(f"{path} ({fam.name}) is missing")
        elif spec.sha256 is not None and (actual := sha256_of(path)) != spec.sha256:
            problems.append(f"{path} ({fam.name}) has sha256 {actual}, expected {spec.sha256}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m packshot.models.describe",
                                     description="Print a family's facts, or check a model folder against them.")
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("show", help="print one fact of one family (filename, sha256, size, input_size)")
    show.add_argument("name", choices=sorted(FAMILIES))
    show.add_argument("fact", choices=("filename", "sha256", "size", "input_size"))
    verify = commands.add_parser("verify", help="check DIR holds every file of the cutout image with its sha256")
    verify.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    if args.command == "show":
        fam = FAMILIES[args.name]
        value = fam.input_size if args.fact == "input_size" else getattr(fam.file, args.fact)
        print("" if value is None else value)
        return 0
    problems = verify_image_files(args.folder)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if not problems:
        names = ", ".join(f.file.filename for f in FAMILIES.values() if f.file.in_image)
        print(f"{args.folder}: {names} verified")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
