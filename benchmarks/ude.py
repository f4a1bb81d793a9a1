"""A universal-ODE training step: `physics.UniversalODE` vs the same model in plain diffrax.

The plain side is written as diffrax's neural-ODE example recommends (an `eqx.Module` vector
field, `diffeqsolve` with `SaveAt(ts=...)` and a `PIDController`, `eqx.filter_value_and_grad`
and an optax update inside one `eqx.filter_jit`). Both sides hold equal: the Lotka-Volterra
set-up of `examples/ude_lotka_volterra.py` (known growth and death plus a width-32, depth-2
GELU MLP, the same initial weights), 31 points on [0, 3], float64, Tsit5 at rtol = atol =
1e-6, `RecursiveCheckpointAdjoint` with 4096 checkpoints, Adam at 1e-3. `physics` is timed
twice: with diffrax's `Tsit5` (like for like) and with its default solver (Tsit5, stages
unrolled, `physics._tsit5`). Losses and gradients are checked equal before anything is timed.

Measured on 2 shared, loaded cores (medians of 9 alternating rounds of 20 steps): plain diffrax
1.01 ms a step, physics with its default solver 1.05 ms (1.01x), physics with dfx.Tsit5 1.33 ms
(1.24x; 1.13x in a second run). The like-for-like gap is physics' own machinery: the state
split into scalar components (a gain when vmapped, `physics._solve._components`), the initial
step chosen by diffrax instead of the data spacing, and the checks of `observe`.

    python benchmarks/ude.py [--quick]
"""

import argparse
import sys
from pathlib import Path

import diffrax as dfx
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

jax.config.update("jax_enable_x64", True)
sys.path.insert(0, str(Path(__file__).parent))
from _common import median_seconds, report  # noqa: E402

import physics  # noqa: E402

RTOL = ATOL = 1e-6
MAX_STEPS = 4096
ALPHA, DELTA = 1.3, 1.8


def known(t, y):
    return jnp.stack([ALPHA * y[0], -DELTA * y[1]])


class Field(eqx.Module):
    """The plain-diffrax vector field: known terms plus the MLP."""

    mlp: eqx.nn.MLP

    def __call__(self, t, y, args):
        return known(t, y) + self.mlp(y)


def plain_loss(field, ts, data):
    sol = dfx.diffeqsolve(
        dfx.ODETerm(field), dfx.Tsit5(), ts[0], ts[-1], ts[1] - ts[0], data[0],
        saveat=dfx.SaveAt(ts=ts), stepsize_controller=dfx.PIDController(rtol=RTOL, atol=ATOL),
        adjoint=dfx.RecursiveCheckpointAdjoint(checkpoints=MAX_STEPS), max_steps=MAX_STEPS,
    )
    return jnp.mean((sol.ys - data) ** 2)


def physics_loss(model, ts, data):
    return physics.trajectory_loss(model, ts, data)


def make_step(loss, optimiser):
    @eqx.filter_jit
    def step(model, state, ts, data):
        value, grads = eqx.filter_value_and_grad(loss)(model, ts, data)
        updates, state = optimiser.update(grads, state, eqx.filter(model, eqx.is_inexact_array))
        return eqx.apply_updates(model, updates), state, value

    return step


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    repeats, calls = (3, 5) if args.quick else (9, 20)

    ts = jnp.linspace(0.0, 3.0, 31)
    truth = physics.UniversalODE(lambda t, y: known(t, y) + jnp.stack([-0.9 * y[0] * y[1], 0.8 * y[0] * y[1]]), None,
                                 physics.SolverSettings(rtol=1e-8, atol=1e-8, max_steps=MAX_STEPS))
    data = physics.observe(truth, jnp.array([0.44249296, 4.6280594]), ts=ts)
    mlp = eqx.nn.MLP(2, 2, 32, 2, activation=jax.nn.gelu, key=jax.random.key(0))
    optimiser = optax.adam(1e-3)

    sides = {"plain_diffrax": (Field(mlp), plain_loss)}
    for name, solver in (("physics_dfx_tsit5", dfx.Tsit5()), ("physics_default", physics.SolverSettings().solver)):
        settings = physics.SolverSettings(rtol=RTOL, atol=ATOL, max_steps=MAX_STEPS, solver=solver)
        sides[name] = (physics.UniversalODE(known, mlp, settings), physics_loss)

    # Same loss and gradient on every side before any timing.
    reference = None
    for name, (model, loss) in sides.items():
        value, grads = eqx.filter_jit(eqx.filter_value_and_grad(loss))(model, ts, data)
        g = grads.mlp if name == "plain_diffrax" else grads.network
        flat = np.concatenate([np.ravel(x) for x in jax.tree_util.tree_leaves(eqx.filter(g, eqx.is_inexact_array))])
        if reference is None:
            reference = (float(value), flat)
        else:
            np.testing.assert_allclose(float(value), reference[0], rtol=1e-4)
            np.testing.assert_allclose(flat, reference[1], rtol=1e-3, atol=1e-6 * np.abs(reference[1]).max())

    steps, states = {}, {}
    for name, (model, loss) in sides.items():
        steps[name] = make_step(loss, optimiser)
        states[name] = (model, optimiser.init(eqx.filter(model, eqx.is_inexact_array)))
        jax.block_until_ready(steps[name](*states[name], ts, data))  # compile

    def run(name):
        model, state = states[name]
        for _ in range(calls):
            out = steps[name](model, state, ts, data)  # the same step each call: same work every round
        jax.block_until_ready(out)

    # Rounds alternate the sides, so a slow spell of this shared machine slows all of them.
    rounds = {name: [] for name in sides}
    for _ in range(repeats):
        for name in sides:
            rounds[name].append(median_seconds(lambda: run(name), 1) / calls)
    per_round = {k: np.asarray(v) for k, v in rounds.items()}
    metrics = {f"{k}_step_ms": float(np.median(v)) * 1e3 for k, v in per_round.items()}
    for name in ("physics_dfx_tsit5", "physics_default"):
        ratio = per_round[name] / per_round["plain_diffrax"]
        metrics[f"{name}_to_plain_ratio"] = float(np.median(ratio))
        metrics[f"{name}_to_plain_range"] = [float(ratio.min()), float(ratio.max())]
    metrics["rounds"], metrics["steps_per_round"] = repeats, calls
    print(
        f"UDE training step: plain diffrax {metrics['plain_diffrax_step_ms']:.2f} ms, physics (dfx.Tsit5) "
        f"{metrics['physics_dfx_tsit5_step_ms']:.2f} ms ({metrics['physics_dfx_tsit5_to_plain_ratio']:.2f}x), physics "
        f"(default solver) {metrics['physics_default_step_ms']:.2f} ms ({metrics['physics_default_to_plain_ratio']:.2f}x)"
    )
    report("ude", metrics, f"same network, weights, data, Tsit5, rtol=atol={RTOL}, RecursiveCheckpointAdjoint, Adam; float64; loss and gradients checked equal")
    return metrics


if __name__ == "__main__":
    main()
