"""Find where a point light must be so that a render matches a photograph.

Zygote's second showcase, on difsci's differentiable ray tracer: the reference "photo" is a
render of three spheres on a floor (`render.three_spheres`) with the light at a known place,
saved as an 8-bit sRGB PNG and read back. Starting from a light displaced by a couple of metres,
Adam follows the gradient of the pixel error through the renderer to the light's position
(and, with --albedo, the objects' colours at the same time).

    python examples/fit_point_light.py [--steps 300] [--size 64] [--out fit_point_light_out]

Writes reference.png, fit_strip.png (initial | fitted | reference) and fit_loss.png to --out,
and prints the true, initial and fitted positions with the relative error.
"""

import argparse
import json
import time
from pathlib import Path

import equinox as eqx
import jax
import numpy as np

import render

TRUE_LIGHT = np.array([1.0, 3.0, 2.0])
START = np.array([-1.0, 2.0, 3.5])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=300, help="Adam steps")
    parser.add_argument("--size", type=int, default=64, help="image width and height, pixels")
    parser.add_argument("--learning-rate", type=float, default=0.1, help="initial Adam step, metres")
    parser.add_argument("--albedo", action="store_true", help="also fit every object's colour")
    parser.add_argument("--out", type=Path, default=Path("fit_point_light_out"))
    args = parser.parse_args(argv)
    jax.config.update("jax_enable_x64", True)

    truth, camera = render.three_spheres(TRUE_LIGHT, width=args.size, height=args.size)
    args.out.mkdir(parents=True, exist_ok=True)
    render.save_png(args.out / "reference.png", render.render(truth, camera))
    reference = render.load_png(args.out / "reference.png")  # the "photo": 8-bit, sRGB

    start, _ = render.three_spheres(START, width=args.size, height=args.size)
    if args.albedo:  # forget the colours too: start every object grey
        for i in range(len(start.objects)):
            start = eqx.tree_at(lambda s: s.objects[i].material.albedo, start, np.full(3, 0.5))
    began = time.perf_counter()
    fit = render.fit_light(start, camera, reference, steps=args.steps, learning_rate=args.learning_rate,
                           fit_albedo=args.albedo)
    jax.block_until_ready(fit)
    seconds = time.perf_counter() - began
    strip, curve = render.save_fit_pictures(args.out, fit, camera, reference)

    found = np.asarray(fit.scene.lights[0].position)
    summary = {
        "true_position_m": TRUE_LIGHT.tolist(),
        "initial_position_m": START.tolist(),
        "fitted_position_m": found.tolist(),
        "relative_error": float(np.linalg.norm(found - TRUE_LIGHT) / np.linalg.norm(TRUE_LIGHT)),
        "initial_loss": float(fit.losses[0]),
        "final_loss": float(fit.final_loss),
        "steps": args.steps,
        "seconds": seconds,
        "strip": str(strip),
        "loss_curve": str(curve),
    }
    if args.albedo:
        summary["fitted_albedos"] = [np.asarray(o.material.albedo).round(3).tolist() for o in fit.scene.objects]
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()
