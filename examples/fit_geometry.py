"""Find where a sphere is, and how big, from a photograph of it.

The "photo" is a render of a diffuse sphere above a floor under a point light, from the true
scene. Starting from a sphere displaced and shrunk, Adam follows the gradient of the mean
squared pixel error to the sphere's centre and radius. The gradient that moves the sphere comes
mostly from its silhouette and its shadow's edge (`render(..., boundary=True)`, the default);
with `--compare` the same fit is run from the same start with the interior derivative only
(`boundary=False`), which leads elsewhere.

    python examples/fit_geometry.py [--steps 200] [--size 48] [--compare] [--out fit_geometry_out]

Writes fit_strip.png (initial | fitted | [interior-only fit |] reference) and fit_loss.png to
--out, and prints the true, initial and fitted centre and radius with their errors.
"""

import argparse
import json
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

import render

TRUE = {"center": np.array([0.3, 0.1, -0.2]), "radius": np.array(0.8)}
START = {"center": np.array([-0.6, 0.5, 0.4]), "radius": np.array(0.5)}


def scene_of(params) -> render.Scene:
    return render.Scene(
        [render.Sphere(params["center"], params["radius"], render.Diffuse((0.8, 0.35, 0.25))),
         render.Plane((0.0, -1.2, 0.0), (0.0, 1.0, 0.0), render.Diffuse(0.6))],
        [render.PointLight((2.0, 3.5, 1.5), 30.0)],
    )


def fit(camera, reference, start, *, steps: int, learning_rate: float, boundary: bool, key):
    """Adam on the mean squared pixel error over the sphere's centre and radius; returns the
    fitted parameters and the loss before each step."""
    schedule = optax.cosine_decay_schedule(learning_rate, steps, alpha=0.05)
    optimiser = optax.adam(schedule)

    def loss(params):
        image = render.render(scene_of(params), camera, spp=4, key=key, boundary=boundary, edge_samples=256)
        return jnp.mean((image - reference) ** 2)

    @eqx.filter_jit
    def run(params):
        def step(carry, _):
            params, state = carry
            value, grads = jax.value_and_grad(loss)(params)
            updates, state = optimiser.update(grads, state, params)
            params = optax.apply_updates(params, updates)
            params["radius"] = jnp.maximum(params["radius"], 0.05)  # a sphere stays a sphere
            return (params, state), value

        (params, _), losses = jax.lax.scan(step, (params, optimiser.init(params)), None, length=steps)
        return params, losses

    return run(start)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200, help="Adam steps")
    parser.add_argument("--size", type=int, default=48, help="image width and height, pixels")
    parser.add_argument("--learning-rate", type=float, default=0.05, help="initial Adam step, metres")
    parser.add_argument("--compare", action="store_true", help="also fit with interior gradients only")
    parser.add_argument("--out", type=Path, default=Path("fit_geometry_out"))
    args = parser.parse_args(argv)
    jax.config.update("jax_enable_x64", True)
    key = jax.random.key(0)
    camera = render.Camera((0.0, 1.2, 5.0), (0.0, -0.3, 0.0), fov=40.0, width=args.size, height=args.size)
    as_jax = lambda p: {k: jnp.asarray(v, jnp.float64) for k, v in p.items()}  # noqa: E731
    reference = render.render(scene_of(as_jax(TRUE)), camera, spp=16, key=jax.random.key(1))

    runs = {"boundary": True, "interior only": False} if args.compare else {"boundary": True}
    results, curves = {}, {}
    for name, boundary in runs.items():
        params, losses = fit(camera, reference, as_jax(START), steps=args.steps, learning_rate=args.learning_rate,
                             boundary=boundary, key=key)
        results[name] = params
        curves[name] = np.asarray(losses)

    def error(p):
        return {"center": float(np.linalg.norm(np.asarray(p["center"]) - TRUE["center"])),
                "radius": float(abs(p["radius"] - TRUE["radius"]))}

    summary = {
        "true": {k: np.asarray(v).tolist() for k, v in TRUE.items()},
        "initial": {k: np.asarray(v).tolist() for k, v in START.items()},
        "initial_error": error(START),
        "initial_loss": float(curves["boundary"][0]),
    }
    for name, params in results.items():
        summary[name] = {"fitted": {k: np.asarray(v).tolist() for k, v in params.items()}, "error": error(params),
                         "final_loss": float(curves[name][-1])}

    args.out.mkdir(parents=True, exist_ok=True)
    images = [render.render(scene_of(p), camera, spp=16, key=jax.random.key(1))
              for p in [as_jax(START), *results.values()]] + [reference]
    render.save_strip(args.out / "fit_strip.png", images)
    _plot(args.out / "fit_loss.png", curves)
    print(json.dumps(summary, indent=2))
    return summary


def _plot(path: Path, curves: dict) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5, 3.2), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for name, losses in curves.items():
        axes.semilogy(np.arange(1, losses.size + 1), np.maximum(losses, np.finfo(float).tiny), label=name)
    axes.set_xlabel("Adam step")
    axes.set_ylabel("mean squared pixel error")
    axes.set_title("fitting a sphere's centre and radius")
    axes.legend()
    axes.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)


if __name__ == "__main__":
    main()
