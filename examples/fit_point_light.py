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
from pathlib import Path

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
    summary = render.fit_light_to_photo(args.out, TRUE_LIGHT, START, size=args.size, steps=args.steps,
                                        learning_rate=args.learning_rate, fit_albedo=args.albedo)
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    from models._cli import enable_compilation_cache

    enable_compilation_cache()  # DIFSCI_NO_CACHE=1 turns it off
    main()
