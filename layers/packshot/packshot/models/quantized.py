"""The int8 u2netp shipped in the repository (made by tools/quantize_u2netp.py) and the sha256 it must have."""

from __future__ import annotations

INT8_FILENAME = "u2netp-int8.onnx"
INT8_SHA256 = "ba23e42073b8b8c4f30c1f6b42042fc874d0bffb4de55b2cb38cd191e489c5b2"
