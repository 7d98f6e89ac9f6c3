"""Files written atomically: a reader sees no file or the whole file, never part of one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


@contextmanager
def atomic_file(target: Path, *, durable: bool = True) -> Iterator[IO[bytes]]:
    """A temporary file beside `target` to write into; when the block ends cleanly it replaces `target`.

    On any exception (a failed download, a checksum that does not match) the temporary file is removed and
    `target` is left as it was. The file is made 0644: NamedTemporaryFile creates 0600, and a model or a cutout
    is read by other users (the container's Lambda user). `durable` syncs the data to disk before the rename,
    so a crash cannot leave an empty file under the final name.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp", delete=False)
    try:
        with handle:
            yield handle
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(handle.name, 0o644)
        # Readers see no file or the whole file, even when two processes race to write the same one.
        os.replace(handle.name, target)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def write_atomically(data: bytes, target: Path, *, durable: bool = True) -> None:
    """Write `data` to `target` through atomic_file."""
    with atomic_file(target, durable=durable) as handle:
        handle.write(data)
