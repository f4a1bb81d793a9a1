"""Triangle meshes: difsci's ray tracer vs Mitsuba 3 (`llvm_ad_rgb`, `direct` integrator).

The scene is `render.torus_on_floor(n)`: a diffuse torus of `2 n^2` triangles resting on a
diffuse floor, one point light, a 45 degree pinhole camera, 256 x 256 pixels, 1 sample per pixel,
float32; flat-shaded (Mitsuba: the same triangles from an .obj file with `face_normals`). Mitsuba
gets the same mesh, floor (a 200 m square), light, camera, box-filtered pixels and one light
sample per shading point (no BSDF sample). Measured in one process, in alternating rounds:

- forward time (compile time reported separately);
- a light-fit iteration: render, gradient of the mean squared pixel error against a fixed
  reference with respect to the light's position, one Adam step (one compiled step per call);
- a vertex-gradient iteration: the same with respect to every vertex of the torus (which is
  scaled by 1.02 from the reference's), one Adam step on the vertices;
- the image difference (relative L1: difsci at 16 spp against Mitsuba at 256 spp), flat and
  smooth-shaded (Mitsuba: the .obj with difsci's area-weighted vertex normals as `vn`).

Then a 200k-triangle torus the same way, and a 1M-triangle torus rendered (build and forward).

    python benchmarks/render_mesh.py [--quick] [--size 256] [--accel auto]

Mitsuba needs `pip install mitsuba` and an LLVM shared library >= 16 (see benchmarks/render.py).
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

# Keep this folder off the path so `import render` finds the package, not benchmarks/render.py.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import equinox as eqx  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

import render  # noqa: E402

sys.path.append(str(_HERE))
from _common import median_seconds, report  # noqa: E402
from _mitsuba import fit_loop, load_mitsuba, sensor  # noqa: E402

LIGHT_START = (0.4, -1.0, 3.4)
LIGHT_LR, VERTEX_LR = 0.05, 1e-3


def write_obj(path: Path, mesh: render.TriangleMesh, normals: bool) -> None:
    v = np.asarray(mesh.vertices, np.float64)
    f = np.asarray(mesh.faces) + 1
    lines = ["v %.9g %.9g %.9g" % tuple(p) for p in v]
    if normals:
        lines += ["vn %.9g %.9g %.9g" % tuple(n) for n in np.asarray(mesh.vertex_normals(), np.float64)]
        lines += ["f %d//%d %d//%d %d//%d" % (a, a, b, b, c, c) for a, b, c in f]
    else:
        lines += ["f %d %d %d" % tuple(t) for t in f]
    path.write_text("\n".join(lines) + "\n")


def mitsuba_scene(mi, scene: render.Scene, camera: render.Camera, spp: int, obj: Path, smooth: bool):
    mesh, floor = scene.objects
    light = scene.lights[0]
    diffuse = lambda albedo: {"type": "diffuse", "reflectance": {"type": "rgb", "value": np.asarray(albedo).tolist()}}  # noqa: E731
    return mi.load_dict({
        "type": "scene",
        "integrator": {"type": "direct", "emitter_samples": 1, "bsdf_samples": 0},
        "sensor": sensor(mi, camera, spp),
        "mesh": {"type": "obj", "filename": str(obj), "face_normals": not smooth, "bsdf": diffuse(mesh.material.albedo)},
        "floor": {"type": "rectangle", "bsdf": diffuse(floor.material.albedo),
                  "to_world": mi.ScalarTransform4f().translate([0.0, 0.0, float(floor.point[2])]).scale(100.0)},
        "light": {"type": "point", "position": np.asarray(light.position).tolist(),
                  "intensity": {"type": "rgb", "value": np.asarray(light.intensity).tolist()}},
    })


def difsci_loop(loss, start, lr: float):
    """The same iteration in difsci: `jax.value_and_grad` of `loss(param)`, optax Adam, one compiled step."""
    optimiser = optax.adam(lr)

    @jax.jit
    def step(param, state):
        value, grad = jax.value_and_grad(loss)(param)
        updates, state = optimiser.update(grad, state, param)
        return optax.apply_updates(param, updates), state, value

    box = {"param": start, "state": optimiser.init(start)}

    def iteration():
        box["param"], box["state"], value = jax.block_until_ready(step(box["param"], box["state"]))
        box["loss"] = float(value)

    return iteration, box


def rel_l1(a, b) -> float:
    return float(np.abs(np.asarray(a) - np.asarray(b)).sum() / np.abs(np.asarray(b)).sum())


def timed_first(fn):
    began = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - began


def compare(n: int, size: int, accel: str, repeats: int, mi, dr, folder: Path) -> dict:
    """Every measure on the `2 n^2`-triangle torus, both renderers, alternating rounds."""
    scene, camera = render.torus_on_floor(n, width=size, height=size)
    faces = 2 * n * n
    forward = jax.jit(lambda s: render.render(s, camera, accel=accel))
    image, compile_forward = timed_first(lambda: jax.block_until_ready(forward(scene)))
    reference = image

    def light_loss(position):
        return jnp.mean((forward(eqx.tree_at(lambda s: s.lights[0].position, scene, position)) - reference) ** 2)

    def vertex_loss(vertices):
        return jnp.mean((forward(eqx.tree_at(lambda s: s.objects[0].vertices, scene, vertices)) - reference) ** 2)

    light_it, light_box = difsci_loop(light_loss, jnp.asarray(LIGHT_START, jnp.float32), LIGHT_LR)
    vertex_start = scene.objects[0].vertices * 1.02
    vertex_it, vertex_box = difsci_loop(vertex_loss, vertex_start, VERTEX_LR)
    _, compile_light = timed_first(light_it)
    _, compile_vertex = timed_first(vertex_it)
    sides = {"difsci_forward": lambda: jax.block_until_ready(forward(scene)),
             "difsci_light_iteration": light_it, "difsci_vertex_iteration": vertex_it}
    metrics = {"triangles": faces, "difsci_compile_forward_s": compile_forward,
               "difsci_compile_light_step_s": compile_light, "difsci_compile_vertex_step_s": compile_vertex}

    if mi is not None:
        flat_obj, smooth_obj = folder / f"torus{n}_flat.obj", folder / f"torus{n}_smooth.obj"
        write_obj(flat_obj, scene.objects[0], normals=False)
        mscene = mitsuba_scene(mi, scene, camera, 1, flat_obj, smooth=False)
        _, compile_mitsuba = timed_first(lambda: np.asarray(mi.render(mscene, spp=1, seed=0)))
        m_light, m_light_state, _ = fit_loop(mi, dr, mscene, reference, 1, "light.position", mi.Point3f(*LIGHT_START),
                                              LIGHT_LR)
        m_light()
        vscene = mitsuba_scene(mi, scene, camera, 1, flat_obj, smooth=False)
        positions = mi.traverse(vscene)["mesh.vertex_positions"]
        m_vertex, m_vertex_state, _ = fit_loop(mi, dr, vscene, reference, 1, "mesh.vertex_positions",
                                                type(positions)(np.asarray(positions) * 1.02), VERTEX_LR)
        m_vertex()
        sides |= {"mitsuba_forward": lambda: np.asarray(mi.render(mscene, spp=1, seed=1)),
                  "mitsuba_light_iteration": m_light, "mitsuba_vertex_iteration": m_vertex}
        metrics["mitsuba_compile_forward_s"] = compile_mitsuba
        # Same images (up to sampling noise) before any speed is reported.
        key = jax.random.key(3)
        for shading, obj in (("flat", flat_obj), ("smooth", smooth_obj)):
            shaded, _ = render.torus_on_floor(n, width=size, height=size, shading=shading)
            if shading == "smooth":
                write_obj(obj, shaded.objects[0], normals=True)
            ours = render.render(shaded, camera, spp=16, key=key, accel=accel)
            theirs = np.asarray(mi.render(mitsuba_scene(mi, shaded, camera, 256, obj, shading == "smooth"), spp=256))
            difference = rel_l1(ours, theirs)
            assert difference < 0.02, f"{shading}: difsci and Mitsuba images differ by {difference:.4f} (relative L1)"
            metrics[f"image_rel_l1_{shading}"] = difference

    times = {name: [] for name in sides}
    for _ in range(repeats):
        for name, fn in sides.items():
            fn()  # warm again after the other side ran
            times[name].append(median_seconds(fn, 5))
    times = {name: np.asarray(t) for name, t in times.items()}
    for name in sides:
        metrics[f"{name}_ms"] = 1e3 * float(np.median(times[name]))
    assert light_box["loss"] < float(light_loss(jnp.asarray(LIGHT_START, jnp.float32))), "the light fit did not descend"
    if mi is not None:
        for what in ("forward", "light_iteration", "vertex_iteration"):
            metrics[f"{what}_ratio_difsci_over_mitsuba"] = float(np.median(times[f"difsci_{what}"] / times[f"mitsuba_{what}"]))
    return metrics


def large(n: int, size: int, accel: str) -> dict:
    """Build and forward time of the `2 n^2`-triangle torus (difsci only)."""
    began = time.perf_counter()
    scene, camera = render.torus_on_floor(n, width=size, height=size)
    build = time.perf_counter() - began
    forward = jax.jit(lambda s: render.render(s, camera, accel=accel))
    image, compile_forward = timed_first(lambda: jax.block_until_ready(forward(scene)))
    assert np.isfinite(np.asarray(image)).all() and float(image.mean()) > 0.01
    return {"triangles": 2 * n * n, "difsci_build_s": build, "difsci_compile_forward_s": compile_forward,
            "difsci_forward_ms": 1e3 * median_seconds(lambda: jax.block_until_ready(forward(scene)), 5)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a 2,048-triangle torus at 64 x 64, few repeats")
    parser.add_argument("--size", type=int, default=256, help="image width and height, pixels")
    parser.add_argument("--accel", default="auto", help="difsci's hit engine: auto, embree, bvh or brute")
    parser.add_argument("--repeats", type=int, default=7, help="alternating rounds (5 timed calls per side each)")
    args = parser.parse_args(argv)
    size = 64 if args.quick else args.size
    repeats = 2 if args.quick else args.repeats
    mi, dr = load_mitsuba()
    print(f"scene: render.torus_on_floor, {size} x {size}, 1 spp, float32, accel={args.accel}; "
          f"{jax.device_count()} JAX device(s), {os.cpu_count()} cores")
    if mi is None:
        print(f"MITSUBA DID NOT RUN ({dr}); difsci timed alone")
    metrics = {}
    with tempfile.TemporaryDirectory() as folder:
        for label, n in (("2k", 32),) if args.quick else (("20k", 100), ("200k", 320)):
            metrics[label] = compare(n, size, args.accel, repeats, mi, dr, Path(folder))
            print(label, {k: round(v, 4) for k, v in metrics[label].items()}, flush=True)
    if not args.quick:
        metrics["1M"] = large(708, size, args.accel)
        print("1M", {k: round(v, 4) for k, v in metrics["1M"].items()}, flush=True)
    if mi is None:
        metrics["mitsuba"] = f"unavailable: {dr}"
    rounded = {k: ({kk: round(vv, 5) for kk, vv in v.items()} if isinstance(v, dict) else v) for k, v in metrics.items()}
    report("render_mesh", rounded,
           f"scene (torus_on_floor), {size}x{size} pixels, 1 spp box filter, float32, flat shading, one light sample "
           f"per shading point, losses (mean squared pixel error), starts, Adam learning rates ({LIGHT_LR}, {VERTEX_LR})")


if __name__ == "__main__":
    main()
