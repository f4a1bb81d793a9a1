"""The `difsci` command line.

It lives in `models/` because that is the one package allowed to import all the others
(`models -> physics, render -> difsci`); each command's work is a library function in the
package that owns it, and this module only parses arguments and prints.
"""

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path


def enable_compilation_cache() -> Path | None:
    """`ds.enable_compilation_cache` for the CLI, the demo and the examples, storing every
    program: their many mid-sized compiles each take well under JAX's 1 s default threshold.
    Returns the folder, or `None` when switched off with `DIFSCI_NO_CACHE=1` or `--no-cache`."""
    import jax

    import difsci as ds

    path = ds.enable_compilation_cache()
    if path is not None:
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    return path


def _demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    return run_demo(out_dir=args.out, quick=args.quick)


def _trebuchet_aim(args: argparse.Namespace) -> int:
    import json

    import equinox as eqx
    import jax

    jax.config.update("jax_enable_x64", True)
    import physics

    if not (args.target > 0 and _finite(args.target)):
        print(f"difsci trebuchet aim: --target must be > 0 and finite (metres), got {args.target}", file=sys.stderr)
        return 2
    if not _finite(args.wind):
        print(f"difsci trebuchet aim: --wind must be finite (m/s), got {args.wind}", file=sys.stderr)
        return 2
    if args.hidden < 1:
        print(f"difsci trebuchet aim: --hidden must be >= 1, got {args.hidden}", file=sys.stderr)
        return 2
    trebuchet = physics.Trebuchet.from_trebuchet_jl() if args.preset == "trebuchet_jl" else physics.Trebuchet()
    if args.network:
        from ._surrogate import TrebuchetAimer

        like = TrebuchetAimer(args.hidden, key=jax.random.key(0))
        try:
            aimer = eqx.tree_deserialise_leaves(args.network, like)
        except Exception as e:  # noqa: BLE001 - any unreadable file gets the same clear message
            print(f"difsci trebuchet aim: cannot read network {args.network!r} (hidden={args.hidden}): {e}", file=sys.stderr)
            return 2
        mass, angle = aimer(jax.numpy.asarray(args.target), jax.numpy.asarray(args.wind))
        distance = eqx.filter_jit(trebuchet.shoot)(mass, angle, args.wind, throw=False)
        result = physics.AimResult(mass, angle, jax.numpy.asarray(args.wind), distance, jax.numpy.asarray(args.target),
                                   abs(distance - args.target), abs(distance - args.target) <= 0.01 * args.target, 0)
    else:
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


def _trebuchet_train(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    import equinox as eqx
    import jax

    jax.config.update("jax_enable_x64", True)
    import physics

    from ._surrogate import evaluate_aimer, refine_aimer, train_aimer

    if args.steps < 1 or args.batch_size < 1 or args.refine < 0 or args.hidden < 1:
        print("difsci trebuchet train: --steps, --batch-size and --hidden must be >= 1, --refine >= 0", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    trebuchet = physics.Trebuchet()
    model, result = train_aimer(
        trebuchet, jax.random.key(args.seed), num_steps=args.steps, batch_size=args.batch_size,
        hidden=args.hidden, checkpoint_path=out / "aimer.ckpt",
    )
    if args.refine:
        model, _ = refine_aimer(model, trebuchet, jax.random.key(args.seed + 1), num_iterations=args.refine)
    eqx.tree_serialise_leaves(out / "aimer.eqx", model)
    t, w = jax.numpy.meshgrid(jax.numpy.linspace(25.0, 95.0, 6), jax.numpy.linspace(-8.0, 8.0, 6))
    stats = evaluate_aimer(model, trebuchet, t.ravel(), w.ravel())
    print(json.dumps({**stats, "steps": result.step, "network": str(out / "aimer.eqx")}))
    return 0


def _triple(text: str) -> tuple[float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3 or not all(map(_finite, values)):
        raise argparse.ArgumentTypeError(f"expected three finite numbers as X,Y,Z, got {text!r}")
    return values


def _finite(v: float) -> bool:
    return v == v and abs(v) != float("inf")


def _render_mesh(args: argparse.Namespace) -> int:
    import numpy as np

    def fail(message: str) -> int:
        print(f"difsci render: {message}", file=sys.stderr)
        return 2

    mesh_path, out = Path(args.mesh), Path(args.out)
    if not mesh_path.is_file():
        return fail(f"MESH {str(mesh_path)!r} is not a file")
    if mesh_path.suffix.lower() != ".obj":
        return fail(f"MESH must be a Wavefront .obj file, got {str(mesh_path)!r}")
    if out.suffix.lower() != ".png":
        return fail(f"--out must name a .png file, got {str(out)!r}")
    if not out.parent.is_dir():
        return fail(f"--out's folder {str(out.parent)!r} does not exist")
    if args.width < 1 or args.height < 1:
        return fail(f"--width and --height must be >= 1 pixel, got {args.width} x {args.height}")
    if not 0 < args.fov < 180:
        return fail(f"--fov must be in (0, 180) degrees, got {args.fov:g}")
    if not (args.scale > 0 and _finite(args.scale)):
        return fail(f"--scale must be > 0 and finite, got {args.scale:g}")
    if args.spp < 1:
        return fail(f"--spp must be >= 1, got {args.spp}")
    if not all(0 <= a <= 1 for a in args.albedo):
        return fail(f"--albedo must be in [0, 1] per channel, got {','.join(map(str, args.albedo))}")
    if not (args.background >= 0 and _finite(args.background)):
        return fail(f"--background must be >= 0 and finite, got {args.background:g}")
    if not _finite(args.exposure):
        return fail(f"--exposure must be finite (stops), got {args.exposure:g}")

    import jax

    jax.config.update("jax_enable_x64", True)
    import render

    try:
        mesh = render.load_obj(mesh_path, render.Diffuse(args.albedo), scale=args.scale)
    except (ValueError, OSError, UnicodeDecodeError) as e:
        return fail(f"cannot read MESH {str(mesh_path)!r}: {e}")
    vertices = np.asarray(mesh.vertices)
    low, high = vertices.min(axis=0), vertices.max(axis=0)
    centre, radius = (low + high) / 2, max(float(np.linalg.norm(high - low)) / 2, 1e-6)
    target = np.asarray(args.target if args.target is not None else centre)
    # Far enough that the mesh's bounding sphere fits the narrower side of the view.
    aspect = min(1.0, args.height / args.width)
    half_fov = np.deg2rad(args.fov) / 2 * aspect
    distance = 1.15 * radius / np.sin(half_fov)
    eye = np.asarray(args.eye) if args.eye is not None else target + distance * np.array([0.45, 0.35, 0.82])
    if np.allclose(eye, target):
        return fail("--eye must differ from --target")
    light = np.asarray(args.light) if args.light is not None else eye + radius * np.array([0.5, 1.5, 0.0])
    # Default brightness: about the albedo where the light meets the mesh head on.
    to_mesh = float(np.linalg.norm(light - target))
    intensity = args.intensity if args.intensity is not None else np.pi * to_mesh**2
    if not (intensity > 0 and _finite(intensity)):
        return fail(f"--intensity must be > 0 and finite (W/sr), got {intensity:g}")
    scene = render.Scene([mesh], [render.PointLight(light, np.full(3, intensity))], background=args.background)
    camera = render.Camera(eye, target, fov=args.fov, width=args.width, height=args.height)
    key = jax.random.key(args.seed) if args.spp > 1 else None
    image = render.render(scene, camera, spp=args.spp, key=key)
    render.save_png(out, image, exposure=args.exposure)
    print(f"wrote {out} ({args.width}x{args.height}, {len(np.asarray(mesh.faces))} triangles, "
          f"eye {np.round(eye, 3).tolist()}, target {np.round(target, 3).tolist()})")
    return 0


def _fit_light(args: argparse.Namespace) -> int:
    import json

    import numpy as np

    def fail(message: str) -> int:
        print(f"difsci render fit-light: {message}", file=sys.stderr)
        return 2

    photo, out = Path(args.photo), Path(args.out)
    if not photo.is_file():
        return fail(f"PHOTO {str(photo)!r} is not a file")
    if args.steps < 1:
        return fail(f"--steps must be >= 1, got {args.steps}")
    if not (args.learning_rate > 0 and _finite(args.learning_rate)):
        return fail(f"--learning-rate must be > 0 and finite (metres per step), got {args.learning_rate:g}")
    if not (args.intensity > 0 and _finite(args.intensity)):
        return fail(f"--intensity must be > 0 and finite (W/sr), got {args.intensity:g}")
    if out.exists() and not out.is_dir():
        return fail(f"--out {str(out)!r} exists and is not a folder")

    import jax

    jax.config.update("jax_enable_x64", True)
    import render

    try:
        reference = render.load_png(photo, exposure=args.exposure)
    except Exception as e:  # noqa: BLE001 - PIL raises many types for a file that is not an image
        return fail(f"cannot read PHOTO {str(photo)!r} as an image: {type(e).__name__}: {e}")
    height, width = reference.shape[:2]
    if not (_FIT_MIN_PIXELS <= min(height, width) and max(height, width) <= _FIT_MAX_PIXELS):
        return fail(f"PHOTO must be {_FIT_MIN_PIXELS} to {_FIT_MAX_PIXELS} pixels on each side, got {width}x{height} "
                    "(render the scene smaller, or scale the photo)")
    start, camera = render.three_spheres(args.start, intensity=args.intensity, width=width, height=height)
    fit = jax.block_until_ready(render.fit_light(start, camera, reference, steps=args.steps,
                                                 learning_rate=args.learning_rate, fit_intensity=args.fit_intensity))
    out.mkdir(parents=True, exist_ok=True)
    strip, curve = render.save_fit_pictures(out, fit, camera, reference, exposure=args.exposure)
    light = fit.scene.lights[0]
    result = {
        "photo": str(photo),
        "scene": "render.three_spheres",
        "size": [width, height],
        "initial_position_m": [float(v) for v in args.start],
        "fitted_position_m": np.asarray(light.position).tolist(),
        "fitted_intensity_w_per_sr": np.asarray(light.intensity).tolist(),
        "intensity_fitted": args.fit_intensity,
        "initial_loss": float(fit.losses[0]),
        "final_loss": float(fit.final_loss),
        "steps": args.steps,
        "strip": str(strip),
        "loss_curve": str(curve),
    }
    (out / "light.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result))
    return 0


_FIT_MIN_PIXELS, _FIT_MAX_PIXELS = 8, 512


def build_fit_light_parser() -> argparse.ArgumentParser:
    """The parser of `difsci render fit-light` (apart from `difsci render MESH.obj`, whose
    positional argument would otherwise swallow the word `fit-light`)."""
    parser = argparse.ArgumentParser(
        prog="difsci render fit-light",
        description="Fit the point light of the standard scene `render.three_spheres` (three diffuse spheres on a "
        "floor, camera at (0, 2, 6) m looking at (0, -0.3, 0), 45 degree field of view) to PHOTO.png, a picture of "
        "that scene (any size from 8 to 512 pixels a side; sRGB, as `render.save_png` writes), by Adam through the "
        "ray tracer. Writes light.json (the fitted position and intensity), fit_strip.png "
        "(initial | fitted | photo) and fit_loss.png to --out.",
    )
    parser.add_argument("photo", metavar="PHOTO.png", help="a picture of the three-spheres scene")
    parser.add_argument("--out", default="fit-light", help="output folder (default: %(default)s)")
    parser.add_argument("--start", type=_triple, default=(-1.0, 2.0, 3.5), metavar="X,Y,Z",
                        help="the light's starting position, metres (default: -1,2,3.5)")
    parser.add_argument("--intensity", type=float, default=30.0,
                        help="the light's intensity, W/sr: held fixed, or the start with --fit-intensity (default: %(default)s)")
    parser.add_argument("--fit-intensity", action="store_true", help="fit the light's RGB intensity too")
    parser.add_argument("--steps", type=int, default=300, help="Adam steps (default: %(default)s)")
    parser.add_argument("--learning-rate", type=float, default=0.1, help="first Adam step, metres (default: %(default)s)")
    parser.add_argument("--exposure", type=float, default=0.0, help="stops the photo was written with (default: 0)")
    parser.set_defaults(func=_fit_light, no_cache=False)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="difsci",
        description="Differentiable scientific computing on JAX.",
        epilog="Compiled programs are cached in ~/.cache/difsci/jax (or $DIFSCI_CACHE_DIR, $XDG_CACHE_HOME/difsci/jax); "
        "--no-cache or DIFSCI_NO_CACHE=1 turns the cache off.",
    )
    parser.add_argument("--no-cache", action="store_true",
                        help="do not use or fill the persistent compilation cache (same as DIFSCI_NO_CACHE=1)")
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
    aim.add_argument("--network", help="aim with a trained network (from `difsci trebuchet train`) instead of solving")
    aim.add_argument("--hidden", type=int, default=32, help="hidden width the network was trained with (default 32)")
    aim.set_defaults(func=_trebuchet_aim)
    train = treb_sub.add_parser("train", help="train a network that aims the trebuchet, through the simulator")
    train.add_argument("--steps", type=int, default=600, help="Adam steps (default: %(default)s)")
    train.add_argument("--refine", type=int, default=40,
                       help="Levenberg-Marquardt iterations after Adam (default: %(default)s)")
    train.add_argument("--batch-size", type=int, default=64, help="shots per step (default: %(default)s)")
    train.add_argument("--hidden", type=int, default=32, help="hidden width (default: %(default)s)")
    train.add_argument("--out", default="trebuchet-aimer", help="folder for the network and checkpoint")
    train.add_argument("--seed", type=int, default=0)
    train.set_defaults(func=_trebuchet_train)

    ren = sub.add_parser(
        "render", help="render a Wavefront .obj mesh to a PNG with the differentiable ray tracer "
        "(`difsci render fit-light PHOTO.png`: fit a point light to a photo)",
        description="Render MESH.obj (one diffuse material, one point light) to a PNG. By default the camera "
        "looks at the mesh's bounding-box centre from far enough to frame it, with the light above the camera.",
        epilog="`difsci render fit-light PHOTO.png` fits a point light to a photo instead (see its --help).",
    )
    ren.add_argument("mesh", metavar="MESH.obj", help="a Wavefront .obj file (vertices and faces)")
    ren.add_argument("--out", default="render.png", help="PNG to write (default: %(default)s)")
    ren.add_argument("--width", type=int, default=256, help="pixels (default: %(default)s)")
    ren.add_argument("--height", type=int, default=256, help="pixels (default: %(default)s)")
    ren.add_argument("--fov", type=float, default=40.0, help="field of view across the width, degrees (default: %(default)s)")
    ren.add_argument("--eye", type=_triple, metavar="X,Y,Z", help="camera position, metres (default: framing the mesh)")
    ren.add_argument("--target", type=_triple, metavar="X,Y,Z", help="point looked at (default: the mesh's centre)")
    ren.add_argument("--light", type=_triple, metavar="X,Y,Z", help="point light position (default: above the camera)")
    ren.add_argument("--intensity", type=float, help="light intensity, W/sr (default: lights the mesh to about its albedo)")
    ren.add_argument("--albedo", type=_triple, default=(0.8, 0.8, 0.8), metavar="R,G,B",
                     help="diffuse colour in [0, 1] (default: 0.8,0.8,0.8)")
    ren.add_argument("--background", type=float, default=0.05, help="background radiance (default: %(default)s)")
    ren.add_argument("--scale", type=float, default=1.0, help="multiply the file's coordinates by this to get metres")
    ren.add_argument("--exposure", type=float, default=0.0, help="stops applied when writing the PNG (default: 0)")
    ren.add_argument("--spp", type=int, default=1, help="samples per pixel (default: %(default)s)")
    ren.add_argument("--seed", type=int, default=0, help="key for the pixel samples when --spp > 1")
    ren.set_defaults(func=_render_mesh)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    flags = [a for a in argv[:1] if a == "--no-cache"]  # the top-level flag, before the command
    rest = argv[len(flags):]
    if rest[:2] == ["render", "fit-light"]:
        args = build_fit_light_parser().parse_args(rest[2:])
        args.no_cache = bool(flags)
    else:
        args = build_parser().parse_args(argv)
    if not args.no_cache:
        enable_compilation_cache()
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
