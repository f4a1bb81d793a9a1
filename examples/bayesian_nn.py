"""A Bayesian neural network for 1-D regression, fitted by mean-field VI and by NUTS.

The network's weights are random variables (an Equinox MLP with a Normal prior on every
array). Both posteriors give predictive bands; the script reports the coverage of the
90 % band on held-out data and saves a picture of the bands.

    python examples/bayesian_nn.py
    python examples/bayesian_nn.py --vi-steps 500 --warmup 100 --samples 100
"""

import argparse
import json
import time
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

import difsci as ds
from models import bnn_regression, coverage, mlp_prior, predictive_bands, toy_regression


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=int, default=100, help="training points")
    parser.add_argument("--width", type=int, default=8)
    parser.add_argument("--vi-steps", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=400)
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--out", type=Path, default=Path("bayesian_nn_out"))
    parser.add_argument("--seed", type=int, default=0)
    opts = parser.parse_args(argv)
    jax.config.update("jax_enable_x64", True)
    keys = iter(jax.random.split(jax.random.key(opts.seed), 10))
    # One draw of data, split: train and held-out share the noise process.
    x_all, y_all = toy_regression(next(keys), opts.train + 1000)
    x, y, x_test, y_test = x_all[: opts.train], y_all[: opts.train], x_all[opts.train:], y_all[opts.train:]
    prior = mlp_prior(next(keys), width=opts.width)
    out = {}

    start = time.perf_counter()
    guide = ds.vi.AutoNormal(bnn_regression, next(keys), prior, x, y)
    schedule = optax.cosine_decay_schedule(1e-2, opts.vi_steps, alpha=0.05)
    fitted = ds.vi.fit(bnn_regression, guide, next(keys), prior, x, y, num_steps=opts.vi_steps, num_particles=4,
                       optimizer=optax.adam(schedule))
    draws = fitted.guide.sample_posterior(bnn_regression, next(keys), 1000, prior, x, y)
    vi_bands = predictive_bands(prior, draws, next(keys), x_test)
    out["vi"] = {"coverage_90": coverage(vi_bands, y_test), "seconds": round(time.perf_counter() - start, 1),
                 "test_mse": float(np.mean((vi_bands["mean"] - np.asarray(y_test)) ** 2))}

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # divergences are reported below instead
        result = ds.nuts(bnn_regression, next(keys), prior, x, y, num_warmup=opts.warmup,
                         num_samples=opts.samples, num_chains=opts.chains)
    flat = {k: v.reshape((-1,) + v.shape[2:]) for k, v in result.samples.items()}
    nuts_bands = predictive_bands(prior, flat, next(keys), x_test)
    out["nuts"] = {"coverage_90": coverage(nuts_bands, y_test), "seconds": round(time.perf_counter() - start, 1),
                   "test_mse": float(np.mean((nuts_bands["mean"] - np.asarray(y_test)) ** 2)),
                   "divergences": result.num_divergences}
    out["noise_true"] = 0.15

    opts.out.mkdir(parents=True, exist_ok=True)
    grid = jnp.linspace(-2.0, 2.0, 200)[:, None]
    bands = {"VI (mean-field)": predictive_bands(prior, draws, next(keys), grid),
             "NUTS": predictive_bands(prior, flat, next(keys), grid)}
    out["png"] = str(_plot(bands, grid, x, y, opts.out / "bayesian_nn.png"))
    (opts.out / "summary.json").write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))
    return out


def _plot(bands, grid, x, y, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(bands), figsize=(10, 3.5), sharey=True)
    g = np.asarray(grid[:, 0])
    for ax, (name, band) in zip(axes, bands.items()):
        ax.fill_between(g, band["low"], band["high"], alpha=0.3, label="90% predictive band")
        ax.plot(g, band["mean"], label="predictive mean")
        ax.plot(g, np.sin(2 * g) + 0.5 * g, "k--", lw=0.8, label="true function")
        ax.plot(np.asarray(x[:, 0]), np.asarray(y), "k.", ms=3)
        ax.axvspan(-2.0, -1.5, color="0.9", zorder=0)
        ax.axvspan(1.5, 2.0, color="0.9", zorder=0)
        ax.set_title(name)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


if __name__ == "__main__":
    from models._cli import enable_compilation_cache

    enable_compilation_cache()  # DIFSCI_NO_CACHE=1 turns it off
    main()
