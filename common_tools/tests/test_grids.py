"""grids: explicit value ranges, tiling, the gap row, PNG round trip."""

import numpy as np
import pytest
from PIL import Image

from common_tools.grids import hstack_with_gap, make_grid, save_grid, save_png, to_uint8


def test_to_uint8_ranges():
    assert to_uint8(np.array([-1.0, 0.0, 1.0]), value_range=(-1, 1)).tolist() == [0, 128, 255]
    assert to_uint8(np.array([0.0, 0.5, 1.0]), value_range=(0, 1)).tolist() == [0, 128, 255]
    assert to_uint8(np.array([3, 200], np.uint8)).tolist() == [3, 200]
    assert to_uint8(np.array([-5, 300], np.int32)).tolist() == [0, 255]
    assert to_uint8(np.array([np.nan, 2.0, -np.inf]), value_range=(0, 1)).tolist() == [0, 255, 0]
    assert to_uint8(np.array([np.nan, np.inf]), value_range=(-1, 1)).tolist() == [0, 255]


def test_a_bright_minus_one_to_one_image_is_not_read_as_zero_to_one():
    # a [-1, 1] crop with no negative pixel (a light background): 0.0 is mid-gray, 0.5 is 191
    bright = np.array([[[0.0, 0.5, 1.0]]], np.float32)
    assert to_uint8(bright, value_range=(-1, 1)).tolist() == [[[128, 191, 255]]]
    grid = make_grid(np.zeros((1, 2, 2, 3), np.float32), nrow=1, padding=0, value_range=(-1, 1))
    assert (grid == 128).all()
    row = hstack_with_gap([np.zeros((2, 2, 3)), np.ones((2, 2, 3))], gap=1, value_range=(-1, 1))
    assert row[0, 0, 0] == 128 and row[0, 3, 0] == 255


def test_float_without_a_value_range_is_refused():
    for call in (lambda a: to_uint8(a), lambda a: make_grid(a, nrow=1),
                 lambda a: hstack_with_gap([a, a]), lambda a: save_png("never.png", a)):
        with pytest.raises(ValueError, match=r"value_range=\(-1, 1\) or \(0, 1\)"):
            call(np.zeros((1, 2, 2, 3), np.float32))
    with pytest.raises(ValueError, match="value_range must be"):
        to_uint8(np.zeros(3), value_range=(0, 255))
    with pytest.raises(ValueError, match="value_range must be"):
        to_uint8(np.zeros(3, np.uint8), value_range="0..1")


def test_make_grid_places_images_with_padding():
    imgs = np.stack([np.full((4, 5, 3), v, np.float32) for v in (0.0, 0.25, 0.5, 0.75, 1.0)])
    grid = make_grid(imgs, nrow=2, padding=2, value_range=(0, 1))
    assert grid.dtype == np.uint8 and grid.shape == (3 * 6 + 2, 2 * 7 + 2, 3)
    assert (grid[2:6, 2:7] == 0).all() and (grid[2:6, 9:14] == 64).all()   # row 0
    assert (grid[14:18, 2:7] == 255).all()                                  # 5th image, row 2
    assert (grid[14:18, 9:14] == 255).all() and (grid[0:2] == 255).all()    # pad value
    gray = make_grid(np.zeros((2, 3, 3, 1), np.uint8), nrow=4, padding=0)
    assert gray.shape == (3, 6, 3)


def test_hstack_with_gap_is_input_gap_results():
    inp = np.zeros((2, 8, 8, 3), np.uint8)
    res = np.full((2, 8, 8, 3), 100, np.uint8)
    row = hstack_with_gap([inp, res, res], gap=12)
    assert row.shape == (16, 8 + 12 + 16, 3)
    assert (row[:, 8:20] == 255).all() and (row[:, :8] == 0).all() and (row[:, 20:] == 100).all()
    with pytest.raises(ValueError, match="height"):
        hstack_with_gap([inp, np.zeros((1, 4, 8, 3), np.uint8)])


def test_save_grid_and_png_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    imgs = rng.uniform(-1, 1, (3, 6, 6, 3)).astype(np.float32)
    grid = save_grid(tmp_path / "sub" / "g.png", imgs, nrow=3, value_range=(-1, 1))
    assert np.array_equal(np.asarray(Image.open(tmp_path / "sub" / "g.png")), grid)
    save_png(tmp_path / "one.png", imgs[0], value_range=(-1, 1))
    assert np.array_equal(np.asarray(Image.open(tmp_path / "one.png")),
                          np.rint((imgs[0] + 1) / 2 * 255).astype(np.uint8))
