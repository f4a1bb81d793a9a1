"""Categorical-latent VAEs on binarised digits: Gumbel-softmax vs straight-through vs
score function (leave-one-out baseline), same steps, same samples per step.

    python examples/discrete_vae.py [--steps 3000] [--out discrete-vae-out]

Reports each estimator's held-out discrete ELBO and the variance of its gradient on a fixed
batch, and writes `discrete_vae.png` with the training curves.
"""

import argparse
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

import difsci as ds
import models

ESTIMATORS = ("gumbel", "straight_through", "score")


def gradient_variance(model, x, key, estimator, temperature, repeats=64):
    """Mean over parameters of the variance of the estimator's gradient on one fixed batch."""

    def one(k):
        loss = models.discrete_vae_loss(estimator, lambda step: temperature)
        g = eqx.filter_grad(lambda m: loss(m, x, k, 0))(model)
        return jnp.concatenate([jnp.ravel(l) for l in jax.tree_util.tree_leaves(eqx.filter(g.encoder, eqx.is_array))])

    grads = eqx.filter_jit(lambda keys: jax.vmap(one)(keys))(jax.random.split(key, repeats))
    return float(jnp.mean(jnp.var(grads, axis=0)))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--out", default="discrete-vae-out")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train, test = models.load_digits(binarize=True)
    train, test = jnp.asarray(train), jnp.asarray(test)
    key = jax.random.key(args.seed)
    init = models.CategoricalVAE(64, num_vars=8, num_classes=8, hidden=args.hidden, key=key)
    schedule = models.annealed_temperature(1.0, 0.3, 3.0 / max(args.steps, 1))
    results = {}
    for estimator in ESTIMATORS:
        result = ds.train(
            init, models.discrete_vae_loss(estimator, schedule), optax.adam(1e-3), jax.random.fold_in(key, 1),
            num_steps=args.steps, batch_fn=models.minibatches(train, args.batch_size), with_step=True, progress_bar=False,
        )
        elbo = float(jnp.mean(eqx.filter_jit(models.discrete_elbo)(result.model, test, jax.random.fold_in(key, 2), num_samples=32)))
        variance = gradient_variance(init, train[: args.batch_size], jax.random.fold_in(key, 3), estimator, 0.5)
        results[estimator] = {"held_out_elbo_nats": elbo, "gradient_variance_at_init": variance, "losses": result.losses}
        print(f"{estimator:>16}: held-out ELBO {elbo:8.2f} nats, gradient variance at init {variance:.3g}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    window = max(1, args.steps // 50)
    for estimator in ESTIMATORS:
        losses = results[estimator]["losses"]
        smooth = np.convolve(-losses, np.ones(window) / window, mode="valid")
        ax.plot(smooth, label=f"{estimator} (held-out ELBO {results[estimator]['held_out_elbo_nats']:.1f})")
    ax.set_xlabel("step")
    ax.set_ylabel("training objective (nats)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "discrete_vae.png", dpi=120)
    plt.close(fig)
    summary = {k: {m: v for m, v in r.items() if m != "losses"} for k, r in results.items()}
    summary["png"] = str(out / "discrete_vae.png")
    return summary


if __name__ == "__main__":
    from models._cli import enable_compilation_cache

    enable_compilation_cache()  # DIFSCI_NO_CACHE=1 turns it off
    main()
