"""Rendering and light fitting: difsci's ray tracer vs Mitsuba 3 (`llvm_ad_rgb`, `direct` integrator).

The scene is `render.three_spheres`: three diffuse spheres on a diffuse floor, one point light,
a 45 degree pinhole camera, 256 x 256 pixels. Mitsuba gets the same scene (the floor is a
200 m square, which no camera ray misses), the same box-filtered pixels, samples per pixel,
float32 arithmetic and, for the fit, the same loss (mean squared pixel error against a fixed
reference), start, optimiser (Adam, learning rate 0.05) and number of steps. Both use one light
sample and no BSDF sample per shading point. Measured, in one process, back to back:

- forward time at equal samples per pixel (compile time reported separately);
- time per light-fitting iteration: render, gradient with respect to the light's position,
  one Adam step, written as a Mitsuba user writes it (one jitted step per call), and as
  `render.fit_light` runs it (all steps in one compiled loop, where the camera rays and their
  first hits, which do not depend on the light, are computed once);
- difsci's gradient cost over its forward cost;
- the image difference between the two renderers (relative L1, at the benchmark's spp and,
  to see past the sampling noise, at 64 spp).

    python benchmarks/render.py [--quick] [--size 256] [--spp 4] [--devices N]

Mitsuba needs `pip install mitsuba` and an LLVM shared library >= 16 (Debian: `apt-get install
libllvm19`; the path is found, or set DRJIT_LIBLLVM_PATH). Without it, difsci is timed alone
and the output says why.
"""

import argparse
import os
import sys
import time
from pathlib import Path

# This file is called render.py: keep its folder off the path so `import render` finds the package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import difsci as ds  # noqa: E402


def _devices_from_argv() -> int:
    for i, word in enumerate(sys.argv):
        if word == "--devices" and i + 1 < len(sys.argv):
            return int(sys.argv[i + 1])
        if word.startswith("--devices="):
            return int(word.split("=", 1)[1])
    return 1


if __name__ == "__main__":
    ds.set_host_device_count(_devices_from_argv())

import equinox as eqx  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

import render  # noqa: E402

sys.path.append(str(_HERE))
from _common import median_seconds, report  # noqa: E402
from _mitsuba import fit_loop, load_mitsuba, sensor  # noqa: E402

TRUE_LIGHT = (1.0, 3.0, 2.0)
START = (0.0, 2.5, 3.0)
INTENSITY = 30.0
LEARNING_RATE = 0.05


# -- Mitsuba -------------------------------------------------------------------------------------


def mitsuba_scene(mi, scene: render.Scene, camera: render.Camera, spp: int):
    """The difsci scene `three_spheres` as a Mitsuba scene (spheres, a 200 m floor square, one point light)."""
    T = mi.ScalarTransform4f
    shapes = {}
    for i, obj in enumerate(scene.objects):
        bsdf = {"type": "diffuse", "reflectance": {"type": "rgb", "value": np.asarray(obj.material.albedo).tolist()}}
        if isinstance(obj, render.Sphere):
            shapes[f"sphere{i}"] = {"type": "sphere", "center": np.asarray(obj.center).tolist(),
                                    "radius": float(obj.radius), "bsdf": bsdf}
        else:  # the floor: Mitsuba's rectangle spans [-1, 1]^2 in z = 0, normal +z
            height = float(obj.point[1])
            shapes["floor"] = {"type": "rectangle", "bsdf": bsdf,
                               "to_world": T().translate([0.0, height, 0.0]).rotate([1, 0, 0], -90).scale(100.0)}
    light = scene.lights[0]
    return mi.load_dict({
        "type": "scene",
        "integrator": {"type": "direct", "emitter_samples": 1, "bsdf_samples": 0},
        "sensor": sensor(mi, camera, spp),
        **shapes,
        "light": {"type": "point", "position": np.asarray(light.position).tolist(),
                  "intensity": {"type": "rgb", "value": np.asarray(light.intensity).tolist()}},
    })


# -- difsci --------------------------------------------------------------------------------------


def difsci_fit_loop(scene, camera, reference, spp: int, key):
    """The same iteration in difsci: `jax.value_and_grad` of the loss through `render`, optax Adam."""
    optimiser = optax.adam(LEARNING_RATE)

    def loss(position, scene):
        moved = eqx.tree_at(lambda s: s.lights[0].position, scene, position)
        return jnp.mean((render.render(moved, camera, spp=spp, key=key) - reference) ** 2)

    @jax.jit
    def step(position, state, scene):
        value, grad = jax.value_and_grad(loss)(position, scene)
        updates, state = optimiser.update(grad, state, position)
        return optax.apply_updates(position, updates), state, value

    position = jnp.asarray(START, jnp.float32)
    box = {"position": position, "state": optimiser.init(position), "loss": None}

    def iteration():
        box["position"], box["state"], value = jax.block_until_ready(step(box["position"], box["state"], scene))
        box["loss"] = float(value)

    return iteration, box, jax.jit(jax.value_and_grad(loss))


def rel_l1(a, b) -> float:
    return float(np.abs(np.asarray(a) - np.asarray(b)).sum() / np.abs(np.asarray(b)).sum())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="64 x 64, few repeats: a smoke run")
    parser.add_argument("--size", type=int, default=256, help="image width and height, pixels")
    parser.add_argument("--spp", type=int, default=4, help="samples per pixel, both renderers")
    parser.add_argument("--repeats", type=int, default=7, help="alternating rounds (5 timed calls per side each)")
    parser.add_argument("--devices", type=int, default=1, help="host devices the pixels are split over")
    args = parser.parse_args(argv)
    size = 64 if args.quick else args.size
    repeats = 3 if args.quick else args.repeats
    spp, key = args.spp, jax.random.key(0)

    truth, camera = render.three_spheres(TRUE_LIGHT, INTENSITY, width=size, height=size)
    print(f"scene: render.three_spheres, {size} x {size}, {spp} spp, float32; "
          f"{jax.device_count()} JAX device(s), {os.cpu_count()} cores")

    # Compile (and check) everything first; then time both renderers in alternating rounds, so
    # a slow spell of this shared machine slows both sides; ratios are medians of per-round ratios.
    forward = jax.jit(lambda s: render.render(s, camera, spp=spp, key=key))
    began = time.perf_counter()
    image = jax.block_until_ready(forward(truth))
    compile_forward = time.perf_counter() - began

    reference = image
    iteration, box, value_and_grad = difsci_fit_loop(truth, camera, reference, spp, key)
    start_scene = eqx.tree_at(lambda s: s.lights[0].position, truth, jnp.asarray(START, jnp.float32))
    began = time.perf_counter()
    iteration()
    compile_fit = time.perf_counter() - began
    first_loss = box["loss"]
    position = jnp.asarray(START, jnp.float32)
    jax.block_until_ready(value_and_grad(position, truth))
    # The library's fit (scan over steps, cosine-decayed Adam): its time per step.
    steps = 10
    fit = lambda: jax.block_until_ready(  # noqa: E731
        render.fit_light(start_scene, camera, reference, steps=steps, learning_rate=LEARNING_RATE, spp=spp, key=key))
    fit()

    sides = {
        "difsci_forward": lambda: jax.block_until_ready(forward(truth)),
        "difsci_iteration": iteration,
        "difsci_value_and_grad": lambda: jax.block_until_ready(value_and_grad(position, truth)),
        "difsci_fit_light_step": lambda: fit() and None,
    }
    per_call = {"difsci_fit_light_step": steps}

    mi, dr = load_mitsuba()
    if mi is None:
        print(f"MITSUBA DID NOT RUN ({dr}); difsci timed alone")
    else:
        mscene = mitsuba_scene(mi, truth, camera, spp)
        began = time.perf_counter()
        mi_image = np.asarray(mi.render(mscene, spp=spp, seed=0))
        compile_mitsuba = time.perf_counter() - began
        # Same work checked before it is compared: the images agree up to sampling noise.
        difference = rel_l1(mi_image, image)
        assert difference < 0.03, f"difsci and Mitsuba images differ by {difference:.3f} (relative L1)"
        high = 64
        converged = rel_l1(mi.render(mscene, spp=high, seed=2), render.render(truth, camera, spp=high, key=key))
        m_iteration, m_state, m_position = fit_loop(mi, dr, mscene, reference, spp, "light.position", mi.Point3f(*START), LEARNING_RATE)
        m_iteration()
        m_first = m_state["loss"]
        sides["mitsuba_forward"] = lambda: np.asarray(mi.render(mscene, spp=spp, seed=1))
        sides["mitsuba_iteration"] = m_iteration

    times = {name: [] for name in sides}
    for _ in range(repeats):
        for name, fn in sides.items():
            fn()  # warm again after the other side ran
            times[name].append(median_seconds(fn, 5) / per_call.get(name, 1))
    times = {name: np.asarray(t) for name, t in times.items()}
    ms = lambda name: 1e3 * float(np.median(times[name]))  # noqa: E731
    ratio = lambda a, b: float(np.median(times[a] / times[b]))  # noqa: E731
    assert box["loss"] < first_loss, "difsci's fit did not reduce the loss"

    metrics = {
        "difsci_forward_ms": ms("difsci_forward"),
        "difsci_fit_iteration_ms": ms("difsci_iteration"),
        "difsci_fit_light_ms_per_step": ms("difsci_fit_light_step"),
        "difsci_value_and_grad_ms": ms("difsci_value_and_grad"),
        "difsci_grad_over_forward": ratio("difsci_value_and_grad", "difsci_forward"),
        "difsci_compile_forward_s": compile_forward,
        "difsci_compile_fit_step_s": compile_fit,
    }
    if mi is None:
        metrics["mitsuba"] = f"unavailable: {dr}"
    else:
        assert m_state["loss"] < m_first, "Mitsuba's fit did not reduce the loss"
        metrics |= {
            "mitsuba_forward_ms": ms("mitsuba_forward"),
            "mitsuba_fit_iteration_ms": ms("mitsuba_iteration"),
            "mitsuba_compile_s": compile_mitsuba,
            "forward_ratio_difsci_over_mitsuba": ratio("difsci_forward", "mitsuba_forward"),
            "fit_iteration_ratio_difsci_over_mitsuba": ratio("difsci_iteration", "mitsuba_iteration"),
            "fit_light_step_ratio_difsci_over_mitsuba": ratio("difsci_fit_light_step", "mitsuba_iteration"),
            f"image_rel_l1_at_{spp}spp": difference,
            f"image_rel_l1_at_{high}spp": converged,
        }
        print(f"after the timed rounds: difsci light at {np.round(np.asarray(box['position']), 3)}, "
              f"Mitsuba at {np.round(m_position(), 3)} (truth {TRUE_LIGHT}, start {START})")

    for name, value in metrics.items():
        print(f"  {name:42s} {value:.4g}" if isinstance(value, float) else f"  {name:42s} {value}")
    report(
        "render",
        {k: (round(v, 5) if isinstance(v, float) else v) for k, v in metrics.items()},
        f"scene (three_spheres), {size}x{size} pixels, {spp} spp box filter, float32, one light sample per shading "
        f"point, loss (mean squared pixel error), start, Adam lr {LEARNING_RATE}",
    )


if __name__ == "__main__":
    main()
