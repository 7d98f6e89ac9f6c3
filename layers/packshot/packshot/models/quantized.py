"""The int8 u2netp shipped in the repository (made by tools/quantize_u2netp.py) and the sha256 it must have."""

from __future__ import annotations

INT8_FILENAME = "u2netp-int8.onnx"
INT8_SHA256 = "9128ad312de91111d62dfb0149257dcc909c83f984acadbd3202eafb694a7cde"
