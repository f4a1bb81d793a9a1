"""`render`: a camera's image of a scene, its pixels split over every device."""


import equinox as eqx
import jax
import jax.numpy as jnp
from jax.sharding import NamedSharding, PartitionSpec

import difsci as ds

from . import _accel, _boundary, _sampling
from ._camera import Camera
from ._integrator import radiance
from ._scene import Batched, Scene, batch_scene
from ._types import Array, Image, Int
from ._vector import Vecs

# Rays per chunk are chosen so one chunk's ray x primitive x light-sample arrays stay near this
# many elements: large meshes are traced in sequential chunks instead of exhausting memory.
_CHUNK_ELEMENTS = 1 << 22


@ds.message_first()
@eqx.filter_jit
def render(
    scene: Scene,
    camera: Camera,
    *,
    spp: int = 1,
    key=None,
    max_depth: int = 2,
    light_samples: int = 16,
    accel: str = "auto",
    boundary: bool | None = None,
    edge_samples: int = 512,
) -> Image:
    """Render `scene` as seen by `camera`: linear radiance, W/(sr m^2) per RGB channel.

    **Arguments:**
    - `spp`: samples per pixel, stratified over the pixel (box filter). With `spp=1` and no
      `key` each pixel is sampled at its centre, so the image is deterministic.
    - `key`: a `jax.random.key` for jittered pixel samples and area-light samples; needed when
      `spp > 1` or the scene has a `SphereLight`.
    - `max_depth`: mirror bounces followed for `Glossy` materials' `reflectivity` (0: none).
    - `light_samples`: directions sampled per `SphereLight` per shading point (stratified).
    - `accel`: how rays find their hits on `TriangleMesh`es: `"embree"` (Intel Embree on the
      host, CPU), `"bvh"` (the mesh's BVH traversed in JAX, every backend), `"brute"` (every
      triangle against every ray), or `"auto"`: Embree where `embreex` is installed and JAX runs
      on the CPU, else the BVH. All give the same image and gradients.
    - `boundary`: add the boundary terms to the derivative (`render._boundary`, edge sampling):
      where a pixel's value jumps as an edge moves across it (silhouettes of spheres, triangles
      and meshes, flat-shaded meshes' creases, the hard shadows they cast from point and
      directional lights, planes' horizons). It changes no
      pixel. `None` (the default): on when a `key` is given, i.e. when pixels are integrated by
      jittered samples, whose derivative has these terms; off when each pixel is sampled at its
      centre, an image of point samples whose derivative has none. Even when on it costs
      nothing unless geometry, a light's position or direction, or the camera is differentiated
      (decided while tracing); then it traces 4 rays per edge sample and compiles a few times longer.
    - `edge_samples`: points sampled along each such edge (stratified in angle): per sphere its
      silhouette and one shadow edge per hard light, per plane its horizon; per mesh (and for
      all lone triangles together) over its edges seen from the eye, and as many again per hard
      light over its shadow edges (in proportion to projected length).

    **Returns:** `(camera.height, camera.width, 3)` radiance; the dtype follows the inputs'.

    Differentiable in every float of `scene` and `camera`, including where a pixel's value jumps
    at silhouettes, planes' horizons and the edges of hard shadows (`boundary`). Not yet
    included: the jumps where two surfaces cut through each other. A `SphereLight`'s
    penumbrae vary smoothly. Pixels are split over all devices (`ds.sharded_vmap`); the result is
    the same on one device or many.
    """
    if not isinstance(scene, Scene):
        raise TypeError(f"render: `scene` must be a render.Scene, got {type(scene).__name__}")
    if not isinstance(camera, Camera):
        raise TypeError(f"render: `camera` must be a render.Camera, got {type(camera).__name__}")
    for name, value in (("spp", spp), ("light_samples", light_samples), ("edge_samples", edge_samples)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"render: `{name}` must be a positive integer, got {value!r}")
    if not isinstance(max_depth, int) or max_depth < 0:
        raise ValueError(f"render: `max_depth` must be an integer >= 0, got {max_depth!r}")
    batched = batch_scene(scene, _accel.resolve(accel))
    area_lights = any(light.needs_random for light in batched.lights)
    if key is None and (spp > 1 or area_lights):
        raise ValueError(
            "render: pass `key=jax.random.key(...)`: "
            + ("`spp > 1` samples pixels at random positions" if spp > 1 else "a SphereLight is sampled at random")
        )
    jitter = key is not None
    seed = _sampling.seed_from_key(key) if jitter else jnp.zeros((2,), jnp.uint32)

    height, width = camera.height, camera.width
    n_rays = height * width * spp
    samples = sum(light.num_samples(light_samples) for light in batched.lights)
    per_ray = max(batched.count + sum(m.elements_per_ray for m in batched.meshes), 1) * max(samples, 1)
    n_devices = jax.device_count()
    per_device = -(-n_rays // n_devices)
    n_chunks = -(-per_device * per_ray // _CHUNK_ELEMENTS)
    chunk = -(-per_device // n_chunks)
    ids = jnp.arange(n_devices * n_chunks * chunk, dtype=jnp.int32) % n_rays
    ids = ids.reshape(n_devices, n_chunks, chunk)

    def device_part(batched, camera, seed, ids):
        trace = lambda ids: _trace_rays(batched, camera, seed, ids, spp, jitter, max_depth, light_samples)  # noqa: E731
        return jax.lax.map(trace, ids) if n_chunks > 1 else trace(ids[0]).map(lambda c: c[None])

    if n_devices > 1:
        # Inside this jit `sharded_vmap`'s placement of traced arguments is a no-op; a sharding
        # constraint on the ray indices makes XLA's partitioner give each device its rows.
        mesh = ds.batch_mesh()
        ids = jax.lax.with_sharding_constraint(ids, NamedSharding(mesh, PartitionSpec(mesh.axis_names[0])))
    out = ds.sharded_vmap(device_part, in_axes=(None, None, None, 0))(batched, camera, seed, ids)
    # Average each channel's samples (consecutive rays) before interleaving the channels.
    pixels = out.map(lambda c: jnp.mean(c.reshape(-1)[:n_rays].reshape(height * width, spp), axis=1))
    image = pixels.stacked(axis=-1).reshape(height, width, 3)
    if boundary is None:
        boundary = jitter
    if boundary:
        image = image + _boundary.boundary(batched, camera, seed, samples=edge_samples, max_depth=max_depth,
                                           light_samples=light_samples)
    return image


def _trace_rays(batched: Batched, camera: Camera, seed, ids: Int[Array, " n"], spp: int, jitter: bool,
                max_depth: int, light_samples: int) -> Vecs:
    # Ray indices are never negative: truncating division is floor division, without its fix-ups.
    spp_, width = jnp.int32(spp), jnp.int32(camera.width)
    pixel, sample = jax.lax.div(ids, spp_), jax.lax.rem(ids, spp_)
    row, col = jax.lax.div(pixel, width), jax.lax.rem(pixel, width)
    dtype = batched.shading.dtype if batched.count else camera.eye.dtype
    dtype = jnp.result_type(dtype, camera.eye.dtype)
    if jitter:
        u = _sampling.uniforms(seed, ids, 0, 1, dtype)[0]
        dx, dy = _sampling.stratify(u[0], u[1], sample, spp)
    else:
        dx = dy = jnp.asarray(0.5, dtype)
    origins, directions = camera.ray_vecs(row.astype(dtype) + dy, col.astype(dtype) + dx)
    cast = lambda v: v.map(lambda a: a.astype(dtype))  # noqa: E731
    return radiance(batched, cast(origins), cast(directions), ids, seed, max_depth=max_depth, light_samples=light_samples)
