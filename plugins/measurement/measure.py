"""CT measurement plug-in: HU statistics per input volume plus two PNG attachments for volume 0
(an HU histogram and the key slice: the axial slice with the largest cross-section).

Container entry point: `python3 measure.py /circus/in /circus/out`. `measure_volume`,
`histogram_png` and `key_slice_png` take plain arrays so tests call them without Docker.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from pngwriter import draw_text, encode_png

# HU ranges of the tissue classes reported as volumes (ml); upper bound exclusive
TISSUES = {
    "air": (-10000, -900),
    "lung": (-900, -500),
    "fat": (-150, -50),
    "softTissue": (-50, 150),
    "bone": (300, 100000),
}
BODY_ABOVE_HU = -500
NOT_AIR_ABOVE_HU = -950  # lung parenchyma (about -850) counts as patient, outside air does not
PERCENTILES = (5, 25, 50, 75, 95)
HIST_RANGE = (-1100, 1500)
HIST_BIN_HU = 20
KEY_SLICE_WINDOW = (-600, 1500)  # level, width: lung window


def progress(fraction: float, message: str) -> None:
    """One progress line for the job manager (plugins/README.md: the progress protocol)."""
    print(json.dumps({"progress": round(fraction, 3), "message": message}), flush=True)


def measure_volume(hu: np.ndarray, spacing: tuple[float, float, float], volume_id: int = 0) -> dict[str, object]:
    """Statistics of one volume (voxels indexed [z, y, x], spacing x, y, z in mm)."""
    values = hu.astype(np.float64, copy=False).ravel()
    voxel_ml = float(np.prod(spacing)) / 1000.0
    percentiles = np.percentile(values, PERCENTILES)
    body = hu > BODY_ABOVE_HU
    return {
        "volumeId": volume_id,
        "size": [int(hu.shape[2]), int(hu.shape[1]), int(hu.shape[0])],
        "spacing": [round(float(s), 4) for s in spacing],
        "voxelCount": int(values.size),
        "min": float(values.min()),
        "max": float(values.max()),
        "mean": round(float(values.mean()), 2),
        "std": round(float(values.std()), 2),
        "percentiles": {str(p): round(float(v), 2) for p, v in zip(PERCENTILES, percentiles, strict=True)},
        "bodyVolume": round(float(body.sum()) * voxel_ml, 3),
        "bodyMean": round(float(hu[body].mean()), 2) if body.any() else None,
        "tissueVolumes": {
            name: round(float(((hu >= low) & (hu < high)).sum()) * voxel_ml, 3) for name, (low, high) in TISSUES.items()
        },
        "keySlice": key_slice_index(hu),
    }


def key_slice_index(hu: np.ndarray) -> int:
    """The axial slice with the largest cross-section of the patient, lungs included: the middle
    one of the slices within 1 % of the largest (noise decides nothing)."""
    counts = (hu > NOT_AIR_ABOVE_HU).reshape(hu.shape[0], -1).sum(axis=1)
    best = np.flatnonzero(counts >= 0.99 * counts.max())
    return int(best[len(best) // 2])


def histogram_png(hu: np.ndarray, width: int = 520, height: int = 260) -> bytes:
    """A bar chart of the HU histogram (log counts), with tick labels every 500 HU."""
    low, high = HIST_RANGE
    edges = np.arange(low, high + HIST_BIN_HU, HIST_BIN_HU)
    counts, _ = np.histogram(np.clip(hu, low, high - 1), bins=edges)
    canvas = np.full((height, width, 3), 255, np.uint8)
    left, right, top, bottom = 40, width - 10, 10, height - 30
    plot_w, plot_h = right - left, bottom - top
    heights = np.log1p(counts) / max(np.log1p(counts).max(), 1e-9) * plot_h
    bar_w = plot_w / len(counts)
    for i, h in enumerate(heights):
        x0, x1 = left + int(i * bar_w), left + max(int((i + 1) * bar_w), int(i * bar_w) + 1)
        canvas[bottom - int(h + 0.5):bottom, x0:x1] = (40, 90, 160)
    canvas[bottom:bottom + 1, left:right] = 0  # x axis
    canvas[top:bottom, left - 1:left] = 0  # y axis
    for tick in range(-1000, high, 500):
        x = left + int((tick - low) / (high - low) * plot_w)
        canvas[bottom:bottom + 5, x:x + 1] = 0
        draw_text(canvas, str(tick), x - len(str(tick)) * 4, bottom + 8, (0, 0, 0))
    draw_text(canvas, "HU", right - 16, bottom + 18, (0, 0, 0))
    return encode_png(canvas)


def key_slice_png(hu: np.ndarray, z: int, window: tuple[float, float] = KEY_SLICE_WINDOW) -> bytes:
    """Slice z as an 8-bit grayscale image under the given window (level, width)."""
    level, width = window
    plane = (hu[z].astype(np.float64) - (level - width / 2)) / width * 255.0
    return encode_png(np.clip(np.rint(plane), 0, 255).astype(np.uint8))


def read_volume(path: Path) -> tuple[np.ndarray, tuple[float, float, float]]:
    image = sitk.ReadImage(str(path))
    spacing = image.GetSpacing()
    return sitk.GetArrayFromImage(image), (float(spacing[0]), float(spacing[1]), float(spacing[2]))


def run(in_dir: Path, out_dir: Path) -> dict[str, object]:
    count = 0
    while (in_dir / f"{count}.mhd").is_file():
        count += 1
    statistics = []
    for index in range(count):
        progress(index / count * 0.8, f"Measuring volume {index}")
        hu, spacing = read_volume(in_dir / f"{index}.mhd")
        stats = measure_volume(hu, spacing, index)
        statistics.append(stats)
        if index == 0:
            progress(0.85, "Drawing the histogram and the key slice")
            (out_dir / "histogram.png").write_bytes(histogram_png(hu))
            (out_dir / "key-slice.png").write_bytes(key_slice_png(hu, key_slice_index(hu)))
    document = {
        "results": {"statistics": statistics},
        "metadata": {
            "displayOptions": [{"volumeId": i, "window": {"level": 40, "width": 400}} for i in range(count)],
        },
    }
    (out_dir / "results.json").write_text(json.dumps(document, indent=2), encoding="utf-8")
    progress(1.0, f"Measured {count} volume(s)")
    return document


def main(argv: list[str]) -> int:
    in_dir = Path(argv[1] if len(argv) > 1 else "/circus/in")
    out_dir = Path(argv[2] if len(argv) > 2 else "/circus/out")
    if not (in_dir / "0.mhd").is_file():
        print(f"error: {in_dir / '0.mhd'} is missing", file=sys.stderr)
        return 2
    run(in_dir, out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
