"""A glossy material: Lambert, a Blinn-Phong highlight and a mirror term."""

import jax.numpy as jnp

import difsci as ds

from ._base import AbstractMaterial, Surface
from ._types import Array, ArrayLike, Float, RGB, as_float, as_rgb


class Glossy(AbstractMaterial):
    """Lambertian diffuse plus a normalised Blinn-Phong lobe plus a perfect mirror.

    Reflected radiance is `(albedo / pi + specular * (shininess + 8) / (8 pi) * cos(n, h)^shininess)`
    times the irradiance from each light (`h` the half vector between light and viewer), plus
    `reflectivity` times the radiance seen in the mirror direction (followed up to
    `render(..., max_depth=...)` bounces). `Glossy(albedo=0, specular=0, reflectivity=1)` is a mirror.
    Energy is conserved when `albedo + specular + reflectivity <= 1` per channel; that is not enforced.

    **Arguments:**
    - `albedo`: diffuse RGB reflectance in `[0, 1]`.
    - `specular`: RGB weight of the highlight, `>= 0`.
    - `shininess`: Blinn-Phong exponent, `>= 0` (larger is a tighter highlight).
    - `reflectivity`: RGB mirror reflectance in `[0, 1]`.
    """

    albedo: RGB
    specular: RGB
    shininess: Float[Array, "*batch"]
    reflectivity: RGB

    def __init__(self, albedo: ArrayLike = 0.0, specular: ArrayLike = 0.0, shininess: ArrayLike = 50.0,
                 reflectivity: ArrayLike = 0.0):
        self.albedo = ds.check_in_range("Glossy albedo", as_rgb("Glossy", "albedo", albedo), 0.0, 1.0)
        specular = as_rgb("Glossy", "specular", specular)
        self.specular = ds.check(specular, jnp.isfinite(specular) & (specular >= 0), "`Glossy specular` must be >= 0 and finite")
        shininess = as_float(shininess, "Glossy shininess")
        self.shininess = ds.check(shininess, jnp.isfinite(shininess) & (shininess >= 0), "`Glossy shininess` must be >= 0 and finite")
        self.reflectivity = ds.check_in_range(
            "Glossy reflectivity", as_rgb("Glossy", "reflectivity", reflectivity), 0.0, 1.0
        )

    def surface(self) -> Surface:
        shape = jnp.broadcast_shapes(self.albedo.shape, self.specular.shape, self.reflectivity.shape,
                                     self.shininess.shape + (1,))
        b = lambda x: jnp.broadcast_to(x, shape)  # noqa: E731
        return Surface(b(self.albedo), b(self.specular), jnp.broadcast_to(self.shininess, shape[:-1]),
                       b(self.reflectivity), jnp.zeros(shape, self.albedo.dtype))

    @property
    def is_lambertian(self) -> bool:
        return False
