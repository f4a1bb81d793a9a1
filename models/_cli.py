"""The `difsci` command line.

It lives in `models/` because that is the one package allowed to import all the others
(`models -> physics, render -> difsci`); each command's work is a library function in the
package that owns it, and this module only parses arguments and prints.
"""

import argparse
import sys
from collections.abc import Sequence


def _demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    return run_demo(out_dir=args.out, quick=args.quick)


def _trebuchet_aim(args: argparse.Namespace) -> int:
    import json

    import equinox as eqx
    import jax

    jax.config.update("jax_enable_x64", True)
    import physics

    if args.target <= 0:
        print(f"difsci trebuchet aim: --target must be > 0 metres, got {args.target}", file=sys.stderr)
        return 2
    trebuchet = physics.Trebuchet.from_trebuchet_jl() if args.preset == "trebuchet_jl" else physics.Trebuchet()
    result = eqx.filter_jit(physics.aim)(trebuchet, args.target, args.wind)
    out = {
        "counterweight_mass": float(result.counterweight_mass),
        "release_angle": float(result.release_angle),
        "wind": float(result.wind),
        "distance": float(result.distance),
        "target": float(result.target),
        "reachable": bool(result.reachable),
        "preset": args.preset,
    }
    if args.json:
        print(json.dumps(out))
    else:
        print(
            f"counterweight {out['counterweight_mass']:.3f} kg ({out['counterweight_mass'] / physics.POUND:.1f} lb), "
            f"release angle {out['release_angle']:.5f} rad ({float(jax.numpy.rad2deg(out['release_angle'])):.2f} deg), "
            f"wind {out['wind']:g} m/s -> lands at {out['distance']:.3f} m (target {args.target:g} m)"
        )
    if not out["reachable"]:
        print("the target is unreachable within the settings' bounds; the closest shot is shown", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="difsci",
        description="Differentiable scientific computing on JAX.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    demo = sub.add_parser("demo", help="run the main job end to end and write PNGs and a summary")
    demo.add_argument("--out", default="difsci-demo", help="output folder (default: %(default)s)")
    demo.add_argument("--quick", action="store_true", help="tiny settings, for smoke tests")
    demo.set_defaults(func=_demo)

    trebuchet = sub.add_parser("trebuchet", help="aim the differentiable trebuchet")
    treb_sub = trebuchet.add_subparsers(dest="trebuchet_command", metavar="COMMAND")
    treb_sub.required = True
    aim = treb_sub.add_parser(
        "aim", help="find counterweight and release angle that land on a target (Levenberg-Marquardt through the simulator)"
    )
    aim.add_argument("--target", type=float, required=True, help="target distance from the pivot (m)")
    aim.add_argument("--wind", type=float, default=0.0, help="wind speed (m/s, + = tailwind; default 0)")
    aim.add_argument("--preset", choices=["default", "trebuchet_jl"], default="default", help="physical preset (default: %(default)s)")
    aim.add_argument("--json", action="store_true", help="print one JSON object")
    aim.set_defaults(func=_trebuchet_aim)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
