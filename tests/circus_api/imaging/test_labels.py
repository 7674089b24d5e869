"""Voxel label blobs (spec 5.1): bit order, box placement, isolated and combined planes."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pytest

from circus_api.imaging.labels import (
    LabelError,
    VoxelLabel,
    combined_planes,
    isolated_planes,
    pack_label,
    unpack_label,
)


def test_bits_are_msb_first_with_x_fastest_then_y_then_z() -> None:
    # box 3 x 2 x 2 = 12 bits: 0b10000000 0b0101 (padding)
    bits = bytes([0b1000_0000, 0b0101_0000])
    mask = unpack_label(bits, (3, 2, 2))
    assert mask.shape == (2, 2, 3)  # (z, y, x)
    assert mask[0, 0, 0]  # bit 0: x=0 y=0 z=0
    assert mask[1, 1, 0]  # bit 9 = 6 (one plane) + 3 (one row): z=1, y=1, x=0
    assert mask[1, 1, 2]  # bit 11: z=1, y=1, x=2
    assert mask.sum() == 3


def test_pack_and_unpack_are_inverse() -> None:
    rng = np.random.default_rng(7)
    mask = rng.random((5, 7, 9)) > 0.5  # 315 bits: not a whole number of bytes
    bits = pack_label(mask)
    assert len(bits) == 40
    assert np.array_equal(unpack_label(bits, (9, 7, 5)), mask)


def test_a_box_plane_unpacks_from_a_bit_offset_inside_a_byte() -> None:
    rng = np.random.default_rng(1)
    mask = rng.random((4, 3, 5)) > 0.4  # 15 bits per plane: planes start mid-byte
    label = VoxelLabel(0, (0, 0, 0), (5, 3, 4), pack_label(mask))
    for z in range(4):
        assert np.array_equal(label.box_plane(z), mask[z])


def test_a_blob_too_short_for_its_box_is_refused() -> None:
    with pytest.raises(LabelError, match="needs 2"):
        VoxelLabel(3, (0, 0, 0), (3, 2, 2), b"\x00")
    with pytest.raises(LabelError):
        unpack_label(b"\x00", (3, 2, 2))


def test_origin_and_size_come_from_label_data() -> None:
    label = VoxelLabel.from_label(2, {"voxels": "x", "origin": [1, 2.0, 3], "size": [1, 1, 1]}, b"\x80")
    assert (label.index, label.origin, label.size) == (2, (1, 2, 3), (1, 1, 1))
    assert VoxelLabel.from_label(0, {"size": [1, 1, 1]}, b"\x80").origin == (0, 0, 0)
    with pytest.raises(LabelError, match="size must be 3 integers"):
        VoxelLabel.from_label(0, {"origin": [0, 0, 0]}, b"\x80")
    with pytest.raises(LabelError, match="origin must be 3 integers"):
        VoxelLabel.from_label(0, {"origin": [0, 0.5, 0], "size": [1, 1, 1]}, b"\x80")


def planes(iterator: Iterable[np.ndarray]) -> np.ndarray:
    return np.stack(list(iterator))


def test_the_box_is_placed_at_its_origin() -> None:
    box = np.ones((2, 2, 3), dtype=bool)  # z, y, x
    box[0, 0, 0] = False
    label = VoxelLabel(0, (4, 1, 2), (3, 2, 2), pack_label(box))
    volume = planes(isolated_planes(label, (8, 5, 6)))  # w, h, d
    assert volume.shape == (6, 5, 8) and volume.dtype == np.uint8
    expected = np.zeros((6, 5, 8), dtype=np.uint8)
    expected[2:4, 1:3, 4:7] = box
    assert np.array_equal(volume, expected)


def test_a_box_reaching_outside_the_volume_is_clipped() -> None:
    box = np.arange(4 * 4 * 4).reshape(4, 4, 4) % 3 == 0
    label = VoxelLabel(0, (-1, 2, 3), (4, 4, 4), pack_label(box))
    volume = planes(isolated_planes(label, (3, 4, 5)))
    expected = np.zeros((5, 4, 3), dtype=np.uint8)
    expected[3:5, 2:4, 0:3] = box[0:2, 0:2, 1:4]
    assert np.array_equal(volume, expected)
    outside = VoxelLabel(0, (10, 0, 0), (4, 4, 4), pack_label(box))
    assert not planes(isolated_planes(outside, (3, 4, 5))).any()


def test_isolated_is_binary_and_combined_holds_index_plus_one_with_the_later_label_winning() -> None:
    full = pack_label(np.ones((2, 2, 2), dtype=bool))
    first = VoxelLabel(0, (0, 0, 0), (2, 2, 2), full)
    # label 2 (a non-voxel label sits at position 1), overlapping `first` at x=1
    second = VoxelLabel(2, (1, 0, 0), (2, 2, 2), full)
    assert set(np.unique(planes(isolated_planes(second, (4, 2, 2))))) == {0, 1}
    combined = planes(combined_planes([first, second], (4, 2, 2)))
    assert combined[0, 0].tolist() == [1, 3, 3, 0]
    assert combined[1, 1].tolist() == [1, 3, 3, 0]
    reversed_order = planes(combined_planes([second, first], (4, 2, 2)))
    assert reversed_order[0, 0].tolist() == [1, 1, 3, 0]


def test_combined_without_labels_is_background_and_values_must_fit_a_byte() -> None:
    assert not planes(combined_planes([], (3, 2, 2))).any()
    label = VoxelLabel(255, (0, 0, 0), (1, 1, 1), b"\x80")
    with pytest.raises(LabelError, match="uint8"):
        list(combined_planes([label], (1, 1, 1)))
