"""Minimal PNG writer (zlib + struct only, so the image needs no imaging library) and a
3x5 pixel font for axis labels."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(pixels: np.ndarray) -> bytes:
    """PNG bytes for uint8 pixels: (h, w) grayscale or (h, w, 3) RGB."""
    if pixels.dtype != np.uint8 or pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] != 3):
        raise ValueError("expected uint8 pixels shaped (h, w) or (h, w, 3)")
    height, width = pixels.shape[:2]
    color_type = 0 if pixels.ndim == 2 else 2
    rows = np.ascontiguousarray(pixels).reshape(height, -1)
    # filter type 0 (None) in front of every scanline
    raw = np.concatenate([np.zeros((height, 1), np.uint8), rows], axis=1).tobytes()
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return _SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 6)) + _chunk(b"IEND", b"")


def write_png(path: Path, pixels: np.ndarray) -> None:
    path.write_bytes(encode_png(pixels))


# 3x5 glyphs, rows top to bottom, 3 bits per row (MSB = left column)
_FONT = {
    "0": (7, 5, 5, 5, 7), "1": (2, 6, 2, 2, 7), "2": (7, 1, 7, 4, 7), "3": (7, 1, 3, 1, 7),
    "4": (5, 5, 7, 1, 1), "5": (7, 4, 7, 1, 7), "6": (7, 4, 7, 5, 7), "7": (7, 1, 2, 2, 2),
    "8": (7, 5, 7, 5, 7), "9": (7, 5, 7, 1, 7), "-": (0, 0, 7, 0, 0), " ": (0, 0, 0, 0, 0),
    "H": (5, 5, 7, 5, 5), "U": (5, 5, 5, 5, 7), "z": (0, 7, 1, 2, 7), "=": (0, 7, 0, 7, 0),
}


def draw_text(canvas: np.ndarray, text: str, x: int, y: int, color: tuple[int, ...] | int, scale: int = 2) -> None:
    """Draw text with the 3x5 font, top-left corner at (x, y); clipped at the canvas edges."""
    for i, ch in enumerate(text):
        glyph = _FONT.get(ch, _FONT[" "])
        for row, bits in enumerate(glyph):
            for col in range(3):
                if bits & (4 >> col):
                    y0, x0 = y + row * scale, x + (i * 4 + col) * scale
                    canvas[max(y0, 0):max(y0 + scale, 0), max(x0, 0):max(x0 + scale, 0)] = color
