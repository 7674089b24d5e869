from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pydicom
import SimpleITK as sitk
from pydicom.data import get_charset_files, get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from circus_api.imaging.cs_volume import cs_volume_json, dataset_json, write_cs_volume
from circus_api.imaging.dicom_files import write_image
from circus_api.imaging.dicom_reading import lenient_values
from circus_api.imaging.volumes import build_volume
from tests.circus_api.imaging.fixture_files import HEAD_FIRST_UID, fixture_files
from tests.circus_api.imaging.synthetic import make_ct_series

PERSONAL_KEYS = {"0008,0080", "0008,1050", "0010,0010", "0010,0020", "0010,0030"}


def headers(prefix: str) -> list[Dataset]:
    return [pydicom.dcmread(path, stop_before_pixels=True) for path in fixture_files(prefix)]


def test_common_and_unique_tags_of_the_fixture_series() -> None:
    result = cs_volume_json(headers("head-first"))
    common, unique = result["common"], result["unique"]
    assert isinstance(common, dict) and isinstance(unique, list)
    assert len(unique) == 10
    assert common["0008,0060"] == "MR"
    assert common["0020,000e"] == HEAD_FIRST_UID
    assert common["0028,0030"] == [1.1875, 1.1875]
    assert common["0008,0008"] == "ORIGINAL\\PRIMARY\\M\\NORM\\DIS2D"
    assert [item["0020,0013"] for item in unique] == list(range(1, 11))
    assert "0020,0013" not in common
    z = [item["0020,0032"][2] for item in unique]
    assert z == sorted(z, reverse=True)  # head-first
    for part in (common, *unique):
        assert not PERSONAL_KEYS & part.keys()
        assert all(re.fullmatch(r"[0-9a-f]{4},[0-9a-f]{4}", key) for key in part)
    json.dumps(result)


def without_cache(datasets: list[Dataset], include_private: bool) -> dict[str, object]:
    """cs_volume_json as it was before values were cached by their raw bytes."""
    with lenient_values():
        slices = [dataset_json(ds, include_private=include_private) for ds in datasets]
    common = {k: v for k, v in slices[0].items() if all(k in s and s[k] == v for s in slices)}
    return {"common": common, "unique": [{k: v for k, v in s.items() if k not in common} for s in slices]}


def reread(paths: list[Path] | list[str]) -> list[Dataset]:
    return [pydicom.dcmread(path, stop_before_pixels=True) for path in paths]


def test_values_cached_by_raw_bytes_are_the_values_converted_one_by_one(tmp_path: Path) -> None:
    synthetic = make_ct_series(5, 8)
    for number, data in synthetic.files.items():
        (tmp_path / f"{number}.dcm").write_bytes(data)
    series = [
        fixture_files("head-first"),
        fixture_files("foot-first"),
        sorted(tmp_path.glob("*.dcm")),
        # explicit and implicit VR, big endian, and every character set pydicom ships
        [get_testdata_file(name) for name in ("CT_small.dcm", "MR_small.dcm", "MR_small_implicit.dcm",
                                              "MR_small_bigendian.dcm")],
        sorted(get_charset_files("*.dcm")),
    ]
    for paths in series:
        for include_private in (False, True):
            cached = cs_volume_json(reread(paths), include_private=include_private)
            assert cached == without_cache(reread(paths), include_private), paths
            json.dumps(cached)


def test_the_same_bytes_in_two_character_sets_are_decoded_apart(tmp_path: Path) -> None:
    files = make_ct_series(2, 8).files
    paths = []
    for number, charset in ((1, "ISO_IR 100"), (2, "ISO_IR 192")):
        ds = pydicom.dcmread(io.BytesIO(files[number]))
        ds.SpecificCharacterSet = charset
        ds.StudyDescription = b"caf\xc3\xa9"  # stored as these bytes in both files
        paths.append(tmp_path / f"{number}.dcm")
        ds.save_as(paths[-1])
    result = cs_volume_json(reread(paths))
    assert [item["0008,1030"] for item in result["unique"]] == ["caf\u00c3\u00a9", "caf\u00e9"]


def test_a_single_slice_has_everything_common() -> None:
    result = cs_volume_json(headers("foot-first")[:1])
    assert result["unique"] == [{}]
    assert cs_volume_json([]) == {"common": {}, "unique": []}


def test_binary_private_and_personal_elements() -> None:
    ds = pydicom.dcmread(io.BytesIO(make_ct_series(1, 8).files[1]))
    operator = Dataset()
    operator.CodeValue = "X"
    operator.PatientName = "Nested^Name"
    ds.ReferencedImageSequence = Sequence([operator])
    ds.add_new(0x00090010, "LO", "VENDOR")
    ds.add_new(0x00091001, "LO", "vendor value")
    ds.RequestingPhysician = "Dr^Who"
    tags = dataset_json(ds)
    assert "7fe0,0010" not in tags  # binary
    assert tags["0008,1140"] == [{"0008,0100": "X"}]  # sequence: array of objects, nested personal tag gone
    assert "0009,1001" not in tags and "0032,1032" not in tags
    assert dataset_json(ds, include_private=True)["0009,1001"] == "vendor value"


def test_write_cs_volume(repository: Path, tmp_path: Path) -> None:
    series = make_ct_series(6, (20, 16), (0.7, 0.8, 1.25), head_first=True)
    for number, data in series.files.items():
        write_image(repository, series.series_uid, number, data)
    out = tmp_path / "in"
    out.mkdir()
    pvd = {"start": 2, "end": 5, "delta": 1}
    write_cs_volume(repository, series.series_uid, pvd, out, 0)

    assert sorted(p.name for p in out.iterdir()) == ["0.json", "0.mhd", "0.raw"]
    assert (out / "0.mhd").read_bytes() == (
        b"ObjectType = Image\nNDims = 3\nDimSize = 20 16 4\nElementType = MET_SHORT\n"
        b"ElementSpacing = 0.7 0.8 1.25\nElementByteOrderMSB = False\nElementDataFile = 0.raw\n"
    )
    raw = np.frombuffer((out / "0.raw").read_bytes(), dtype="<i2").reshape(4, 16, 20)
    np.testing.assert_array_equal(raw, series.hu[1:5])
    np.testing.assert_array_equal(raw, build_volume(repository, series.series_uid, pvd).voxels)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(sitk.ReadImage(str(out / "0.mhd"))), raw)
    tags = json.loads((out / "0.json").read_text())
    assert [item["0020,0013"] for item in tags["unique"]] == [2, 3, 4, 5]
    assert "0010,0010" not in tags["common"]
