"""Train a network to aim the trebuchet, through the differentiable simulator (Zygote's demo).

    python examples/train_trebuchet_surrogate.py [--steps 2000] [--out surrogate-out]

Saves the trained network (Equinox serialisation) and evaluates it on a held-out grid of
(target, wind): mean and 95th-percentile miss, and time per aim against direct
Levenberg-Marquardt aiming (`physics.aim`) of the same targets, both batched and compiled.
"""

import argparse
import json
import time
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp

import models
import physics


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=600, help="Adam steps (the warm start)")
    parser.add_argument("--refine", type=int, default=40, help="Levenberg-Marquardt iterations after Adam")
    parser.add_argument("--refine-points", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--grid", type=int, default=8, help="held-out grid is grid x grid (target, wind) pairs")
    parser.add_argument("--out", default="surrogate-out")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    jax.config.update("jax_enable_x64", True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    trebuchet = physics.Trebuchet()
    model, result = models.train_aimer(
        trebuchet, jax.random.key(args.seed), num_steps=args.steps, batch_size=args.batch_size,
        hidden=args.hidden, checkpoint_path=out / "aimer.ckpt",
    )
    refine_start = time.perf_counter()
    model, refine_history = models.refine_aimer(model, trebuchet, jax.random.key(args.seed + 1),
                                                num_points=args.refine_points, num_iterations=args.refine)
    refine_seconds = time.perf_counter() - refine_start
    eqx.tree_serialise_leaves(out / "aimer.eqx", model)

    # Held out: a regular grid, not the random training draws.
    t, w = jnp.meshgrid(jnp.linspace(25.0, 95.0, args.grid), jnp.linspace(-8.0, 8.0, args.grid))
    targets, winds = t.ravel(), w.ravel()
    direct = eqx.filter_jit(jax.vmap(lambda tg, wd: physics.aim(trebuchet, tg, wd)))
    jax.block_until_ready(direct(targets, winds))
    start = time.perf_counter()
    aimed = jax.block_until_ready(direct(targets, winds))
    direct_per_aim = (time.perf_counter() - start) / targets.shape[0]
    stats = models.evaluate_aimer(model, trebuchet, targets, winds, reachable=aimed.reachable)
    summary = {
        **stats,
        "direct_seconds_per_aim": direct_per_aim,
        "speedup": direct_per_aim / stats["network_seconds_per_aim"],
        "direct_reachable_fraction": float(jnp.mean(aimed.reachable)),
        "train_steps": result.step,
        "train_seconds": result.seconds,
        "refine_iterations": len(refine_history) - 1,
        "refine_seconds": refine_seconds,
        "refine_loss": refine_history[-1],
        "final_loss": float(result.losses[-20:].mean()) if len(result.losses) else None,
        "network": str(out / "aimer.eqx"),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    from models._cli import enable_compilation_cache

    enable_compilation_cache()  # DIFSCI_NO_CACHE=1 turns it off
    main()
