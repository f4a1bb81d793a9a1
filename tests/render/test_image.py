"""PNG files and the sRGB curve."""

import jax
import numpy as np
import pytest

import render


def test_srgb_curve_round_trips_and_hits_its_anchors():
    x = np.linspace(0, 1, 101)
    np.testing.assert_allclose(render.srgb_to_linear(render.linear_to_srgb(x)), x, atol=1e-12)
    np.testing.assert_allclose(render.linear_to_srgb(np.array([0.0, 0.0031308, 0.18, 1.0])),
                               [0.0, 0.04045, 0.4613561, 1.0], atol=2e-6)


@pytest.mark.parametrize("exposure", [0.0, 1.5])
def test_png_round_trip(tmp_path, exposure):
    image = np.asarray(jax.random.uniform(jax.random.key(0), (7, 9, 3))) * 2.0**-exposure
    path = render.save_png(tmp_path / "image.png", image, exposure=exposure)
    loaded = np.asarray(render.load_png(path, exposure=exposure))
    assert loaded.shape == (7, 9, 3) and loaded.dtype == np.float64
    # 8-bit sRGB: each value comes back within half a code step, measured on the sRGB scale.
    scale = 2.0**exposure
    np.testing.assert_allclose(render.linear_to_srgb(loaded * scale), render.linear_to_srgb(image * scale),
                               atol=0.5 / 255 + 1e-9)


def test_png_clips_overexposure_to_white_and_reads_greyscale(tmp_path):
    from PIL import Image

    path = render.save_png(tmp_path / "bright.png", np.full((2, 3, 3), 4.0))
    np.testing.assert_array_equal(np.asarray(Image.open(path)), 255)
    Image.fromarray(np.full((2, 2), 128, np.uint8), mode="L").save(tmp_path / "grey.png")
    grey = render.load_png(tmp_path / "grey.png")
    assert grey.shape == (2, 2, 3)
    np.testing.assert_allclose(grey, render.srgb_to_linear(128 / 255))


@pytest.mark.parametrize("image, words", [(np.zeros((4, 4)), "shape"), (np.full((2, 2, 3), np.nan), "NaN")])
def test_save_png_rejects_bad_images(tmp_path, image, words):
    with pytest.raises(ValueError, match=words):
        render.save_png(tmp_path / "bad.png", image)


def test_load_png_reads_16_bit_greyscale(tmp_path):
    from PIL import Image

    path = tmp_path / "grey16.png"
    Image.fromarray(np.full((2, 3), 32768, np.uint16)).save(path)  # mode I;16
    loaded = np.asarray(render.load_png(path))
    assert loaded.shape == (2, 3, 3)
    np.testing.assert_allclose(loaded, np.asarray(render.srgb_to_linear(32768 / 65535)), rtol=1e-6)
    assert abs(float(loaded[0, 0, 0]) - 0.214) < 1e-3
