"""Lung nodule candidate detector: a small, classical CAD pipeline on SimpleITK.

1. Lungs: air (< -400 HU) that does not touch the sides of the volume (outside air does),
   keeping the large pockets only (drops bowel gas), then closed and hole-filled slice by
   slice so that nodules and vessels inside the lungs belong to the lung region.
2. Candidates: dense voxels (> -400 HU) inside the lung region, opened with a ~2 mm ball so
   thin vessels fall apart from the blobs attached to them, then connected components.
3. Score: roundness and low elongation (a sphere scores high, a vessel piece low), times a
   size prior (3-30 mm equivalent diameter).

The core (`detect`) takes and returns plain values so tests call it without Docker; `main`
is the container entry point (`python3 detector.py /circus/in /circus/out`).
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

AIR_BELOW_HU = -400  # lung parenchyma is about -850, soft tissue and nodules about 0..+100
DENSE_ABOVE_HU = -400
MIN_LUNG_FRACTION = 0.1  # an air pocket is a lung when it has >= 10 % of the largest one's volume
CLOSING_RADIUS_MM = 4.0
# openings, smallest first: a blob that scores low (a nodule touching a vessel, say) is opened
# again with the next ball, which cuts thicker vessels off; each ball fits inside a >= 4 mm nodule
OPENING_RADII_MM = (1.6, 2.6, 3.6)
ACCEPT_CONFIDENCE = 0.5
MIN_DIAMETER_MM, MAX_DIAMETER_MM = 3.0, 30.0
MIN_CONFIDENCE = 0.05
MAX_CANDIDATES = 30


@dataclass(frozen=True)
class Candidate:
    location: tuple[int, int, int]  # voxel index (x, y, z) of the centroid in the input volume
    volume_mm3: float
    diameter_mm: float
    mean_hu: float
    roundness: float
    elongation: float
    confidence: float


def progress(fraction: float, message: str) -> None:
    """One progress line for the job manager (plugins/README.md: the progress protocol)."""
    print(json.dumps({"progress": round(fraction, 3), "message": message}), flush=True)


def _radius_voxels(image: sitk.Image, radius_mm: float) -> list[int]:
    return [max(1, round(radius_mm / s)) for s in image.GetSpacing()]


def _fill_holes_per_slice(mask: sitk.Image) -> sitk.Image:
    # 2-D filling: a vessel or nodule cross-section is a hole in its slice even when the
    # structure reaches the mediastinum in 3-D (and so is no 3-D hole)
    slices = [sitk.BinaryFillhole(mask[:, :, z]) for z in range(mask.GetDepth())]
    filled = sitk.JoinSeries(slices)
    filled.CopyInformation(mask)
    return filled


def lung_mask(image: sitk.Image) -> sitk.Image:
    """Binary (uint8) mask of the lungs including what lies inside them."""
    air = sitk.BinaryThreshold(image, -10000, AIR_BELOW_HU - 1, 1, 0)
    labels = sitk.ConnectedComponent(air)
    # labels touching the x or y sides are outside air; z sides are open (lungs are cut there)
    arr = sitk.GetArrayViewFromImage(labels)  # [z, y, x]
    faces = np.concatenate([f.ravel() for f in (arr[:, :, 0], arr[:, :, -1], arr[:, 0, :], arr[:, -1, :])])
    outside = set(np.unique(faces).tolist())
    stats = sitk.LabelShapeStatisticsImageFilter()
    stats.Execute(labels)
    inside = {label: stats.GetPhysicalSize(label) for label in stats.GetLabels() if label not in outside}
    if not inside:
        return _blank_like(image)
    largest = max(inside.values())
    keep = [label for label, volume in inside.items() if volume >= MIN_LUNG_FRACTION * largest]
    change = {label: (1 if label in keep else 0) for label in stats.GetLabels()}
    lungs = sitk.Cast(sitk.ChangeLabel(labels, changeMap=change), sitk.sitkUInt8)
    lungs = sitk.BinaryMorphologicalClosing(lungs, _radius_voxels(image, CLOSING_RADIUS_MM), sitk.sitkBall)
    return _fill_holes_per_slice(lungs)


def _blank_like(image: sitk.Image) -> sitk.Image:
    blank = sitk.Image(image.GetSize(), sitk.sitkUInt8)
    blank.CopyInformation(image)
    return blank


def _max_label(labels: sitk.Image) -> int:
    stats = sitk.MinimumMaximumImageFilter()
    stats.Execute(labels)
    return int(stats.GetMaximum())


def _score_components(image: sitk.Image, labels: sitk.Image, accept: float) -> tuple[list[Candidate], set[int]]:
    """Candidates scoring >= accept, and the labels of the other blobs of a plausible size."""
    shape = sitk.LabelShapeStatisticsImageFilter()
    shape.ComputePerimeterOn()
    shape.Execute(labels)
    intensity = sitk.LabelIntensityStatisticsImageFilter()
    intensity.Execute(labels, image)
    found, rejected = [], set()
    for label in shape.GetLabels():
        diameter = 2 * shape.GetEquivalentSphericalRadius(label)
        confidence = score(shape.GetRoundness(label), shape.GetElongation(label), diameter)
        if confidence < accept:
            if diameter >= MIN_DIAMETER_MM:
                rejected.add(label)
            continue
        index = image.TransformPhysicalPointToContinuousIndex(shape.GetCentroid(label))
        found.append(Candidate(
            location=(round(index[0]), round(index[1]), round(index[2])),
            volume_mm3=shape.GetPhysicalSize(label),
            diameter_mm=diameter,
            mean_hu=intensity.GetMean(label),
            roundness=shape.GetRoundness(label),
            elongation=shape.GetElongation(label),
            confidence=confidence,
        ))
    return found, rejected


def score(roundness: float, elongation: float, diameter_mm: float) -> float:
    """Blob-likeness in [0, 1]: spheres near 1, vessel pieces and specks near 0."""
    shape = min(max(roundness, 0.0), 1.0) ** 2 / max(elongation, 1.0) ** 2
    if diameter_mm < MIN_DIAMETER_MM or diameter_mm > MAX_DIAMETER_MM:
        return 0.0
    size = min(1.0, (diameter_mm - MIN_DIAMETER_MM) / 2.0 + 0.5)  # ramps up to 1 at 4 mm
    return round(shape * size, 3)


def detect(image: sitk.Image, report: bool = False) -> tuple[list[Candidate], float]:
    """Candidates sorted by confidence (highest first) and the lung volume in mm3."""
    image = sitk.Cast(image, sitk.sitkInt16)
    if report:
        progress(0.2, "Segmenting lungs")
    lungs = lung_mask(image)
    lung_stats = sitk.StatisticsImageFilter()
    lung_stats.Execute(lungs)
    voxel_mm3 = math.prod(image.GetSpacing())
    lung_volume = lung_stats.GetSum() * voxel_mm3
    if report:
        progress(0.4, "Finding dense blobs in the lungs")
    remaining = sitk.BinaryThreshold(image, DENSE_ABOVE_HU + 1, 32767, 1, 0) & lungs
    candidates: list[Candidate] = []
    for level, radius_mm in enumerate(OPENING_RADII_MM):
        last = level == len(OPENING_RADII_MM) - 1
        opened = sitk.BinaryMorphologicalOpening(remaining, _radius_voxels(image, radius_mm), sitk.sitkBall)
        labels = sitk.ConnectedComponent(opened)
        found, rejected = _score_components(image, labels, accept=MIN_CONFIDENCE if last else ACCEPT_CONFIDENCE)
        candidates += found
        if report:
            progress(0.4 + 0.5 * (level + 1) / len(OPENING_RADII_MM), f"{len(candidates)} candidates so far")
        if last or not rejected:
            break
        # only the blobs that looked like vessel pieces are opened again, with a larger ball
        keep = {label: (1 if label in rejected else 0) for label in range(1, _max_label(labels) + 1)}
        remaining = sitk.Cast(sitk.ChangeLabel(labels, changeMap=keep), sitk.sitkUInt8)
    candidates.sort(key=lambda c: (-c.confidence, -c.volume_mm3))
    return candidates[:MAX_CANDIDATES], lung_volume


def results_document(candidates: list[Candidate], lung_volume_mm3: float, volume_id: int = 0) -> dict[str, object]:
    """results.json (spec 5.6): lesionCandidates plus display options for the viewer."""
    return {
        "results": {
            "lesionCandidates": [
                {
                    "rank": rank,
                    "confidence": c.confidence,
                    "location": list(c.location),
                    "volumeSize": round(c.volume_mm3, 1),
                    "volumeId": volume_id,
                    "diameter": round(c.diameter_mm, 1),
                    "meanHu": round(c.mean_hu, 1),
                }
                for rank, c in enumerate(candidates, start=1)
            ],
            "lungVolume": round(lung_volume_mm3 / 1000.0, 1),  # ml
        },
        "metadata": {"displayOptions": [{"volumeId": volume_id, "window": {"level": -600, "width": 1500}}]},
    }


def run(in_dir: Path, out_dir: Path) -> dict[str, object]:
    progress(0.0, "Reading volume 0")
    image = sitk.ReadImage(str(in_dir / "0.mhd"))
    candidates, lung_volume = detect(image, report=True)
    document = results_document(candidates, lung_volume)
    (out_dir / "results.json").write_text(json.dumps(document, indent=2), encoding="utf-8")
    progress(1.0, f"Found {len(candidates)} candidates")
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
