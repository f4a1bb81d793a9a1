"""Natural-gradient optimisers against Adam, counted in steps; optax's lookahead and gradient
accumulation alongside.

    python examples/natural_gradients.py [--steps 300] [--out natural-gradients-out]

Left: variational inference on a conjugate Bayesian linear regression, whose exact posterior
is known, so the KL divergence from the guide to it is the measure. `ds.optimizers.ngvi`
against Adam at each learning rate of a grid (its best shown).
Right: a 1-32-32-1 tanh MLP fitted to `sin(2x) + 0.3x` on 128 points (full batch; loss = half
the mean squared error). `ds.optimizers.kfac` (automatic step size, momentum and damping)
against Adam at its best learning rate, Adam wrapped in `optax.lookahead`, and Adam under
`optax.MultiSteps` fed four minibatches of 32 per update, which must follow full-batch
Adam's curve (the accumulated gradient is the full-batch one).

Prints steps to the targets and writes `natural_gradients.png`.
"""

import argparse
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

import difsci as ds

KL_TARGET = 1e-4  # nats
LOSS_TARGET = 2e-3
ADAM_RATES = (1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1)


def steps_to(curve, target) -> int | None:
    hits = np.flatnonzero(np.asarray(curve) <= target)
    return int(hits[0]) + 1 if hits.size else None


def _best(curves, target):
    """Index of the curve that reaches `target` first (or ends lowest if none does)."""
    reached = [steps_to(c, target) for c in curves]
    if any(r is not None for r in reached):
        return int(np.argmin([r if r is not None else np.inf for r in reached]))
    return int(np.argmin([c[-1] for c in curves]))


# -- Natural-gradient VI on a conjugate model ------------------------------------------------


def regression_posterior(num_points=20, dim=3, noise=0.5):
    """Bayesian linear regression `w ~ N(0, I)`, `y ~ N(X w, noise^2)`: log density and posterior."""
    x = jax.random.normal(jax.random.key(10), (num_points, dim))
    y = x @ jnp.linspace(-2.0, 1.0, dim) + noise * jax.random.normal(jax.random.key(11), (num_points,))

    def model(x, y):
        w = ds.sample("w", ds.MultivariateNormal(jnp.zeros(dim), jnp.eye(dim)))
        ds.sample("y", ds.Normal(x @ w, noise), obs=y)

    log_joint = ds.log_joint(model)
    precision = jnp.eye(dim) + x.T @ x / noise**2
    mean = jnp.linalg.solve(precision, x.T @ y / noise**2)
    return (lambda w: log_joint({"w": w}, x, y)), mean, precision


def kl_to_gaussian(guide: ds.MultivariateNormal, mean, precision):
    cov = guide.covariance_matrix
    diff = guide.loc - mean
    return 0.5 * (
        jnp.trace(precision @ cov) + diff @ precision @ diff - mean.shape[0]
        - jnp.linalg.slogdet(precision)[1] - jnp.linalg.slogdet(cov)[1]
    )


def vi_curves(num_steps):
    log_density, mean, precision = regression_posterior()
    guide = ds.MultivariateNormal(jnp.zeros(3), jnp.eye(3))
    loss = lambda g: ds.optimizers.gaussian_elbo_loss(g, log_density, estimator="cubature")  # noqa: E731

    def curve(optimizer):
        def body(carry, _):
            g, state = carry
            updates, state = optimizer.update(jax.grad(loss)(g), state, g)
            g = optax.apply_updates(g, updates)
            return (g, state), kl_to_gaussian(g, mean, precision)

        return jax.lax.scan(body, (guide, optimizer.init(guide)), None, length=num_steps)[1]

    ngvi = np.asarray(jax.jit(lambda: curve(ds.optimizers.ngvi(1.0)))())
    adam = np.asarray(jax.jit(jax.vmap(lambda lr: curve(optax.adam(lr))))(jnp.array(ADAM_RATES)))
    return ngvi, adam


# -- K-FAC, lookahead and gradient accumulation on an MLP ------------------------------------


def mlp_problem():
    x = jnp.linspace(-3, 3, 128)[:, None]
    y = jnp.sin(2 * x) + 0.3 * x
    mlp = eqx.nn.MLP(1, 1, 32, 2, activation=jnp.tanh, key=jax.random.key(5))
    return mlp, x, y


def mlp_curves(num_steps):
    mlp, x, y = mlp_problem()
    params, static = eqx.partition(mlp, eqx.is_inexact_array)
    loss_fn = lambda p, xb, yb: ds.optimizers.mlp_loss(eqx.combine(p, static), xb, yb)  # noqa: E731
    full_loss = lambda p: loss_fn(p, x, y)  # noqa: E731

    @jax.jit
    def kfac_curve():
        optimizer = ds.optimizers.kfac()

        def body(carry, key):
            p, state = carry
            m, state, loss = ds.optimizers.kfac_step(eqx.combine(p, static), state, optimizer, x, y, key)
            return (eqx.filter(m, eqx.is_inexact_array), state), loss

        keys = jax.random.split(jax.random.key(6), num_steps)
        return jax.lax.scan(body, (params, optimizer.init(params)), keys)[1]

    @jax.jit
    def adam_curve(lr):
        optimizer = optax.adam(lr)

        def body(carry, _):
            p, state = carry
            loss, grads = jax.value_and_grad(full_loss)(p)
            updates, state = optimizer.update(grads, state, p)
            return (optax.apply_updates(p, updates), state), loss

        return jax.lax.scan(body, (params, optimizer.init(params)), None, length=num_steps)[1]

    @jax.jit
    def lookahead_curve(lr):
        optimizer = optax.lookahead(optax.adam(lr), sync_period=5, slow_step_size=0.5)

        def body(carry, _):
            p, state = carry
            # Lookahead takes gradients at the fast weights; the slow ones are its answer.
            loss = full_loss(p.slow)
            grads = jax.grad(full_loss)(p.fast)
            updates, state = optimizer.update(grads, state, p)
            return (optax.apply_updates(p, updates), state), loss

        start = optax.LookaheadParams.init_synced(params)
        return jax.lax.scan(body, (start, optimizer.init(start)), None, length=num_steps)[1]

    @jax.jit
    def accumulated_curve(lr):
        micro = 4
        optimizer = optax.MultiSteps(optax.adam(lr), every_k_schedule=micro)
        xs, ys = x.reshape(micro, -1, 1), y.reshape(micro, -1, 1)

        def body(carry, _):
            p, state = carry
            loss = full_loss(p)
            for i in range(micro):
                updates, state = optimizer.update(jax.grad(loss_fn)(p, xs[i], ys[i]), state, p)
                p = optax.apply_updates(p, updates)
            return (p, state), loss

        return jax.lax.scan(body, (params, optimizer.init(params)), None, length=num_steps)[1]

    adam = np.asarray(jax.vmap(adam_curve)(jnp.array(ADAM_RATES)))
    best = _best(adam, LOSS_TARGET)
    rate = ADAM_RATES[best]
    return {
        "kfac": np.asarray(kfac_curve()),
        "adam": adam,
        "adam_best": best,
        "lookahead": np.asarray(lookahead_curve(rate)),
        "accumulated": np.asarray(accumulated_curve(rate)),
    }


def plot(path, vi, mlp, num_steps):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ngvi, adam_vi = vi
    steps = np.arange(1, num_steps + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    best_vi = _best(adam_vi, KL_TARGET)
    left.semilogy(steps, np.maximum(ngvi, 1e-12), label="ds.optimizers.ngvi (lr 1)")
    left.semilogy(steps, np.maximum(adam_vi[best_vi], 1e-12), label=f"Adam, best lr {ADAM_RATES[best_vi]:g}")
    left.axhline(KL_TARGET, color="gray", lw=0.8, ls=":")
    left.set(xlabel="step", ylabel="KL(guide || posterior) (nats)", title="VI, conjugate regression")
    rate = ADAM_RATES[mlp["adam_best"]]
    right.semilogy(steps, mlp["kfac"], label="ds.optimizers.kfac (automatic)")
    right.semilogy(steps, mlp["adam"][mlp["adam_best"]], label=f"Adam, best lr {rate:g}")
    right.semilogy(steps, mlp["lookahead"], label="optax.lookahead(Adam), k=5, alpha=0.5")
    right.semilogy(steps, mlp["accumulated"], ls="--", label="optax.MultiSteps(Adam), 4 x 32")
    right.axhline(LOSS_TARGET, color="gray", lw=0.8, ls=":")
    right.set(xlabel="update", ylabel="loss (half mean squared error)", title="1-32-32-1 MLP regression")
    for ax in (left, right):
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=300, help="optimiser updates per curve")
    parser.add_argument("--out", default="natural-gradients-out")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error(f"--steps must be >= 1, got {args.steps}")
    jax.config.update("jax_enable_x64", True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    vi = vi_curves(args.steps)
    mlp = mlp_curves(args.steps)
    summary = {
        "ngvi_steps_to_kl_1e-4": steps_to(vi[0], KL_TARGET),
        "adam_vi_steps_to_kl_1e-4": {lr: steps_to(c, KL_TARGET) for lr, c in zip(ADAM_RATES, vi[1])},
        "kfac_steps_to_loss_2e-3": steps_to(mlp["kfac"], LOSS_TARGET),
        "adam_steps_to_loss_2e-3": {lr: steps_to(c, LOSS_TARGET) for lr, c in zip(ADAM_RATES, mlp["adam"])},
        "lookahead_adam_steps_to_loss_2e-3": steps_to(mlp["lookahead"], LOSS_TARGET),
        "multisteps_adam_steps_to_loss_2e-3": steps_to(mlp["accumulated"], LOSS_TARGET),
        "multisteps_vs_full_batch_max_relative_gap": float(
            np.max(np.abs(mlp["accumulated"] / mlp["adam"][mlp["adam_best"]] - 1))
        ),
        "png": str(plot(out / "natural_gradients.png", vi, mlp, args.steps)),
    }
    print(summary)
    return summary


if __name__ == "__main__":
    from models._cli import enable_compilation_cache

    enable_compilation_cache()  # DIFSCI_NO_CACHE=1 turns it off
    main()
