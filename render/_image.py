"""Images in and out: sRGB encoding with exposure, PNG files."""

import os
from pathlib import Path

import jax.numpy as jnp
import numpy as np

from ._types import Array, ArrayLike, Float, Image


def linear_to_srgb(image: Float[ArrayLike, "*shape"]) -> Float[Array, "*shape"]:
    """The sRGB transfer curve (IEC 61966-2-1) of linear values in `[0, 1]` (clipped)."""
    x = jnp.clip(jnp.asarray(image), 0, 1)
    bright = x > 0.0031308
    return jnp.where(bright, 1.055 * jnp.where(bright, x, 1) ** (1 / 2.4) - 0.055, 12.92 * x)


def srgb_to_linear(image: Float[ArrayLike, "*shape"]) -> Float[Array, "*shape"]:
    """The inverse of `linear_to_srgb`, for sRGB values in `[0, 1]`."""
    x = jnp.asarray(image)
    bright = x > 0.04045
    return jnp.where(bright, ((jnp.where(bright, x, 1) + 0.055) / 1.055) ** 2.4, x / 12.92)


def to_uint8(image: Image, exposure: float = 0.0) -> np.ndarray:
    """`image` (linear) scaled by `2**exposure`, sRGB-encoded and quantised to `uint8`, `(h, w, 3)`."""
    image = np.asarray(image, dtype=np.float64) * 2.0**exposure
    return np.round(np.asarray(linear_to_srgb(image)) * 255).astype(np.uint8)


def save_png(path: str | os.PathLike, image: Image, *, exposure: float = 0.0) -> Path:
    """Write linear radiance `image` `(h, w, 3)` as an 8-bit sRGB PNG; returns the path.

    `exposure` is in stops: values are multiplied by `2**exposure` before encoding, and what is
    then above 1 is clipped (white).
    """
    from PIL import Image as PILImage

    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"save_png: `image` must have shape (height, width, 3), got {image.shape}")
    if not np.all(np.isfinite(image)):
        raise ValueError("save_png: `image` has NaN or inf values; check the render's inputs")
    path = Path(path)
    PILImage.fromarray(to_uint8(image, exposure), mode=None).save(path, format="PNG")
    return path


def load_png(path: str | os.PathLike, *, exposure: float = 0.0, dtype=None) -> Image:
    """Read a PNG as linear values `(h, w, 3)`: sRGB-decoded, divided by `2**exposure`.

    Greyscale is repeated into three channels; an alpha channel is dropped. `dtype` defaults to
    JAX's default float (float64 when x64 is enabled).
    """
    from PIL import Image as PILImage

    with PILImage.open(path) as im:
        if im.mode in ("I;16", "I;16B", "I;16L", "I"):
            # 16-bit greyscale: `convert("RGB")` would clip every value above 255 to white.
            grey = np.asarray(im, dtype=np.float64) / 65535.0
            pixels = np.repeat(grey[..., None], 3, axis=-1)
        else:
            pixels = np.asarray(im.convert("RGB"), dtype=np.float64) / 255.0
    linear = np.asarray(srgb_to_linear(pixels)) / 2.0**exposure
    return jnp.asarray(linear, dtype=dtype if dtype is not None else jnp.result_type(float))
