"""A Gaussian VAE on scikit-learn's 8x8 digits: held-out ELBO, IWAE log-likelihood, pictures.

    python examples/vae_digits.py [--steps 4000] [--out vae-out]

Writes `vae_digits.png`: reconstructions of held-out digits, samples from the prior, and a
traversal of the 2-D latent space.
"""

import argparse
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import models


def plot(model, test, key, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = 8
    x = jnp.asarray(test[:n])
    z = jax.vmap(lambda xi: model.posterior(xi).mean)(x)
    recon = jax.vmap(model.decode_mean)(z)
    prior_z = jax.random.normal(key, (n, model.latent_dim))
    samples = jax.vmap(model.decode_mean)(prior_z)
    grid = np.linspace(-2.5, 2.5, n)
    fig, axes = plt.subplots(3 + n, n, figsize=(n, 3 + n))
    for j in range(n):
        for row, images in enumerate([x, recon, samples]):
            axes[row, j].imshow(np.asarray(images[j]).reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        for i in range(n):
            zz = jnp.zeros(model.latent_dim).at[0].set(grid[j]).at[1 % model.latent_dim].set(grid[i])
            axes[3 + i, j].imshow(np.asarray(model.decode_mean(zz)).reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    for row, label in enumerate(["held out", "reconstructed", "from prior"]):
        axes[row, 0].set_ylabel(label, fontsize=6)
    axes[3, 0].set_ylabel("latent grid", fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--iwae-samples", type=int, default=500)
    parser.add_argument("--out", default="vae-out")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train, test = models.load_digits(binarize=True)
    key = jax.random.key(args.seed)
    model, result = models.train_vae(jnp.asarray(train), key, hidden=args.hidden, num_steps=args.steps, learning_rate=1e-3)
    eval_key = jax.random.fold_in(key, 1)
    test_x = jnp.asarray(test)
    held_out_elbo = float(jnp.mean(eqx.filter_jit(models.elbo)(model, test_x, eval_key, num_samples=10)))
    iwae_ll = float(jnp.mean(eqx.filter_jit(models.iwae_bound)(model, test_x, eval_key, num_samples=args.iwae_samples)))
    plot(model, test, jax.random.fold_in(key, 2), out / "vae_digits.png")
    summary = {
        "held_out_elbo_nats": held_out_elbo,
        "held_out_iwae_log_likelihood_nats": iwae_ll,
        "iwae_samples": args.iwae_samples,
        "train_steps": result.step,
        "train_seconds": result.seconds,
        "png": str(out / "vae_digits.png"),
    }
    print(summary)
    return summary


if __name__ == "__main__":
    from models._cli import enable_compilation_cache

    enable_compilation_cache()  # DIFSCI_NO_CACHE=1 turns it off
    main()
