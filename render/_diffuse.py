"""The Lambertian material."""

import jax.numpy as jnp

import difsci as ds

from ._base import AbstractMaterial, Surface
from ._types import ArrayLike, RGB, as_rgb


class Diffuse(AbstractMaterial):
    """A Lambertian surface: reflected radiance is `albedo / pi` times the irradiance.

    **Arguments:** `albedo`: RGB reflectance in `[0, 1]`, shape `(3,)` (a scalar means grey),
    or `(*batch, 3)` for a batch of objects.
    """

    albedo: RGB

    def __init__(self, albedo: ArrayLike = 0.8):
        albedo = as_rgb("Diffuse", "albedo", albedo)
        self.albedo = ds.check_in_range("Diffuse albedo", albedo, 0.0, 1.0)

    def surface(self) -> Surface:
        zero = jnp.zeros_like(self.albedo)
        return Surface(self.albedo, zero, jnp.zeros_like(self.albedo[..., 0]), zero, zero)

    @property
    def is_lambertian(self) -> bool:
        return True
