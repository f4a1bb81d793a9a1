"""The perspective camera."""


import equinox as eqx
import jax.numpy as jnp
import numpy as np

import difsci as ds

from ._types import Array, ArrayLike, Float, Vec3, as_float, as_vec3, is_concrete
from ._vector import Vecs, cross, dot, normalize


class Camera(eqx.Module):
    """A pinhole camera at `eye` looking at `target`, with `up` the approximate up direction.

    **Arguments:**
    - `eye`, `target`, `up`: shape `(3,)`, metres (differentiable).
    - `fov`: field of view across the image width, degrees, in `(0, 180)` (differentiable).
    - `width`, `height`: image size in pixels (static: a new size compiles anew).

    Pixel `(row, col)` covers `[col, col + 1] x [row, row + 1]` of the image plane, row 0 at the
    top; the image is not mirrored (`+x` in camera space is to the right).
    """

    eye: Vec3
    target: Vec3
    up: Vec3
    fov: Float[Array, ""]
    width: int = eqx.field(static=True)
    height: int = eqx.field(static=True)

    def __init__(self, eye: ArrayLike, target: ArrayLike, up: ArrayLike = (0.0, 1.0, 0.0),
                 fov: ArrayLike = 40.0, width: int = 64, height: int = 64):
        for name, size in (("width", width), ("height", height)):
            if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 1:
                raise ValueError(f"Camera: `{name}` must be a positive integer number of pixels, got {size!r}")
        self.eye = ds.check_finite("Camera eye", as_vec3("Camera", "eye", eye))
        self.target = ds.check_finite("Camera target", as_vec3("Camera", "target", target))
        self.up = ds.check_finite("Camera up", as_vec3("Camera", "up", up))
        fov = as_float(fov, "Camera fov", ndim=0)
        self.fov = ds.check(
            fov, (fov > 0) & (fov < 180),
            "Camera: `fov` must lie in (0, 180) degrees (the field of view across the image width)",
        )
        self.width, self.height = int(width), int(height)
        if is_concrete(self.eye, self.target, self.up):
            forward = np.asarray(self.target) - np.asarray(self.eye)
            if not np.any(forward):
                raise ValueError("Camera: `target` must differ from `eye` (it sets the viewing direction)")
            if not np.any(np.cross(forward, np.asarray(self.up))):
                raise ValueError("Camera: `up` must not be parallel to `target - eye`; e.g. use (0, 1, 0) or (0, 0, 1)")
        else:
            # Traced: the same checks at run time (an eye on its target renders a black image).
            forward = self.target - self.eye
            self.target = ds.check(
                self.target, jnp.any(forward != 0, axis=-1),
                "Camera: `target` must differ from `eye` (it sets the viewing direction)",
            )
            self.up = ds.check(
                self.up, jnp.any(jnp.cross(forward, self.up) != 0, axis=-1),
                "Camera: `up` must not be parallel to `target - eye`; e.g. use (0, 1, 0) or (0, 0, 1)",
            )

    def basis(self) -> tuple[Vec3, Vec3, Vec3]:
        """Unit vectors `(right, up, forward)` of the camera, each shape `(3,)`."""
        return tuple(v.stacked() for v in self._basis())

    def _basis(self) -> tuple[Vecs, Vecs, Vecs]:
        forward = normalize(Vecs.of(self.target - self.eye))
        right = normalize(cross(forward, Vecs.of(self.up)))
        return right, cross(right, forward), forward

    def rays(self, rows: ArrayLike, cols: ArrayLike) -> tuple[Float[Array, "3 *n"], Float[Array, "3 *n"]]:
        """Rays through image-plane points `(rows, cols)` (pixel units, any equal shapes `*n`,
        `(row + 0.5, col + 0.5)` is a pixel's centre): origins and unit directions, `(3, *n)` each."""
        origins, directions = self.ray_vecs(rows, cols)
        return origins.stacked(), directions.stacked()

    def ray_vecs(self, rows: ArrayLike, cols: ArrayLike) -> tuple[Vecs, Vecs]:
        """`rays` as `Vecs` (one array per component, each shaped `*n`), as the renderer uses them."""
        rows, cols = jnp.asarray(rows), jnp.asarray(cols)
        right, up, forward = self._basis()
        half = jnp.tan(jnp.deg2rad(self.fov) / 2)
        x = (2 * cols / self.width - 1) * half
        y = (1 - 2 * rows / self.height) * half * (self.height / self.width)
        d = forward + right * x + up * y
        origins = Vecs.of(self.eye).map(lambda e: jnp.broadcast_to(e, d.shape))
        return origins, normalize(d)

    def project(self, points: Vecs) -> tuple[Float[Array, "*n"], Float[Array, "*n"], Float[Array, "*n"]]:
        """The inverse of `ray_vecs`: image-plane `(rows, cols)` (pixel units) where world `points`
        (metres, `Vecs` shaped `*n`) appear, and their depth along the viewing direction (metres).

        Points with depth `<= 0` (beside or behind the eye) do not appear; their `rows, cols` are
        finite but meaningless, so mask them by `depth > 0`.
        """
        right, up, forward = self._basis()
        d = points - Vecs.of(self.eye)
        depth = dot(d, forward)
        ahead = depth > 0
        z = jnp.where(ahead, depth, 1)
        half = jnp.tan(jnp.deg2rad(self.fov) / 2)
        x = dot(d, right) / (z * half)
        y = dot(d, up) / (z * half * (self.height / self.width))
        return (1 - y) * (self.height / 2), (x + 1) * (self.width / 2), depth
