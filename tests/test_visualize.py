import numpy as np

from edgeseg.visualize import colorize, overlay, palette_lut


def test_colorize_is_the_palette_lookup_with_unknown_ids_black():
    palette = [(255, 0, 0), (0, 255, 0), (10, 20, 30)]
    labels = np.random.default_rng(0).integers(0, 5, (45, 70)).astype(np.uint8)
    labels[0, :3] = 255  # the ignore id
    got = colorize(labels, palette)
    lut = palette_lut(palette)
    assert np.array_equal(got, lut[labels]) and got.dtype == np.uint8
    assert got[0, 0].tolist() == [0, 0, 0] and lut[2].tolist() == [30, 20, 10]  # BGR
    assert np.array_equal(colorize(labels, np.array(palette)), got)  # numpy palettes work too


def test_overlay_blends_at_alpha():
    frame = np.full((4, 6, 3), 200, np.uint8)
    out = overlay(frame, np.zeros((4, 6), np.uint8), [(0, 0, 100)], alpha=0.25)
    assert out[0, 0].tolist() == [175, 150, 150]  # 0.75 * 200 + 0.25 * (100, 0, 0) in BGR
