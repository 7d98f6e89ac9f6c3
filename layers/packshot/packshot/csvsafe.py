"""CSV files a person opens in a spreadsheet: cells from client data are never read as formulas."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# A spreadsheet evaluates a cell that starts with one of these (OWASP "CSV injection"); a leading quote makes it
# text, which every spreadsheet shows without the quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def safe_cell(value: Any) -> Any:
    """The value, with a `'` in front when it is text a spreadsheet would take for a formula; numbers unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any] | Mapping[str, Any]]) -> str:
    """A CSV document with `header` and `rows` (sequences, or mappings keyed by the header), every cell safe."""
    buffer = io.StringIO()
    # RFC 4180 line ends: the writer then quotes a cell holding a CR or LF, which a spreadsheet would otherwise
    # take as the start of a new row (whose first cell could be a formula).
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        values = [row.get(h, "") for h in header] if isinstance(row, Mapping) else list(row)
        writer.writerow([safe_cell(v) for v in values])
    return buffer.getvalue()
