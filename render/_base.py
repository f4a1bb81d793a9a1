"""The abstract kinds a scene is made of: materials, geometry (and its batched primitives), lights."""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp

from ._types import Array, Bool, Float
from ._vector import Vecs


class Surface(eqx.Module):
    """Every material as the parameters of one BRDF, so primitives of mixed materials batch.

    The reflected radiance is `(albedo / pi + specular * (shininess + 8) / (8 pi) * cos(n, h)^shininess)`
    times the incident irradiance (Lambert plus normalised Blinn-Phong), plus `reflectivity` times
    the radiance seen in the mirror direction, plus `emission`.
    """

    albedo: Float[Array, "*batch 3"]
    specular: Float[Array, "*batch 3"]
    shininess: Float[Array, "*batch"]
    reflectivity: Float[Array, "*batch 3"]
    emission: Float[Array, "*batch 3"]

    def rows(self, shape: tuple[int, ...]) -> Float[Array, "13 n"]:
        """The parameters broadcast to a batch `shape` and stacked component-first, `(13, prod(shape))`:
        albedo (3), emission (3), specular (3), shininess, reflectivity (3)."""
        parts = [
            jnp.broadcast_to(self.albedo, shape + (3,)).reshape(-1, 3).T,
            jnp.broadcast_to(self.emission, shape + (3,)).reshape(-1, 3).T,
            jnp.broadcast_to(self.specular, shape + (3,)).reshape(-1, 3).T,
            jnp.broadcast_to(self.shininess, shape).reshape(1, -1),
            jnp.broadcast_to(self.reflectivity, shape + (3,)).reshape(-1, 3).T,
        ]
        return jnp.concatenate(parts, axis=0)


class AbstractMaterial(eqx.Module):
    """How a surface reflects light."""

    @abc.abstractmethod
    def surface(self) -> Surface:
        """The material as `Surface` parameters."""

    @property
    @abc.abstractmethod
    def is_lambertian(self) -> bool:
        """True when the material has no specular lobe and no mirror term (decided statically)."""


class AbstractPrimitives(eqx.Module):
    """Many primitives of one kind, each field an array (or `Vecs`) with one entry per primitive.

    `intersect` and `occludes` are elementwise: they broadcast the fields against the rays. The
    kernels call them on the whole batch (`against`: fields shaped `(n, 1, ...)`, results
    `(n, *rays)`) and reduce over the primitives.
    """

    @property
    @abc.abstractmethod
    def count(self) -> int:
        """The number of primitives."""

    @abc.abstractmethod
    def intersect(self, origins: Vecs, directions: Vecs) -> Float[Array, "..."]:
        """Distance along each ray to the primitive(s) (front or back face), `inf` where it misses.

        `directions` must be unit vectors; only hits at distance > 0 count.
        """

    @abc.abstractmethod
    def occludes(self, origins: Vecs, directions: Vecs, distances: Float[Array, "*rays"]) -> Bool[Array, "..."]:
        """Whether the primitive(s) are hit at a distance in `(0, distances)` (a shadow test)."""

    @abc.abstractmethod
    def normal_coefficients(self) -> Float[Array, "4 n"]:
        """Rows `(a, bx, by, bz)` with the outward normal at a surface point `x` proportional to `a x + b`."""

    def against(self, ndim: int) -> "AbstractPrimitives":
        """The whole batch with `ndim` unit axes appended to every field, to broadcast against rays."""
        return jax.tree_util.tree_map(lambda a: jnp.reshape(a, a.shape + (1,) * ndim), self)

    @classmethod
    def concatenate(cls, batches: list["AbstractPrimitives"]) -> "AbstractPrimitives":
        """One batch holding all primitives of `batches` (all of this kind) in order."""
        return jax.tree_util.tree_map(lambda *xs: jnp.concatenate(xs, axis=0), *batches)


class AbstractGeometry(eqx.Module):
    """An object a ray can hit, with a material. Fields may carry leading batch axes: one module
    then holds many objects of its kind (as `vmap` over a constructor makes)."""

    material: eqx.AbstractVar[AbstractMaterial]

    @property
    @abc.abstractmethod
    def batch_shape(self) -> tuple[int, ...]:
        """The leading axes over which this module holds several objects (`()` for one)."""

    @abc.abstractmethod
    def primitives(self) -> AbstractPrimitives:
        """The object(s) flattened into a batch of primitives of one kind."""


class LightSamples(eqx.Module):
    """Directions towards a light from shading points, and what arrives along them.

    The light's contribution to reflected radiance is
    `sum_s brdf(direction_s) * max(cos(normal, direction_s), 0) * color_s * weight_s * visible_s`:
    an RGB `color` per light times a scalar `weight` per sample (falloff, solid angle), so the
    per-sample work (and its gradient) is done once for all three channels.
    """

    direction: Vecs  # unit, each component (samples, *rays)
    distance: Float[Array, "samples *rays"]
    weight: Float[Array, "samples *rays"]
    color: Vecs  # RGB, each component broadcastable to (samples, *rays)


class AbstractLight(eqx.Module):
    """A light source."""

    @abc.abstractmethod
    def num_samples(self, light_samples: int) -> int:
        """How many directions `sample` returns per shading point."""

    @property
    @abc.abstractmethod
    def needs_random(self) -> bool:
        """True when `sample` uses its uniform numbers (an area light)."""

    @abc.abstractmethod
    def sample(self, points: Vecs, uniforms: Float[Array, "samples 2 *rays"] | None) -> LightSamples:
        """Directions from `points` (each component shaped `*rays`) towards the light and their weights.

        `uniforms` are stratified numbers in `[0, 1)` (only area lights use them).
        """

    @abc.abstractmethod
    def emitter(self) -> AbstractGeometry | None:
        """The light's own visible surface, if it has one (area lights)."""
