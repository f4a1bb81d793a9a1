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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
