"""Posterior summaries: moments, quantiles, split R-hat and bulk ESS (Vehtari et al. 2021).

R-hat and ESS come from `blackjax.diagnostics` (rank-normalised, split chains); this module
applies them site by site and element by element.
"""

from collections.abc import Mapping

import functools

import jax
import numpy as np
from jaxtyping import Array, ArrayLike, Float


@functools.cache
def _compiled(name: str):
    # Imported here: importing blackjax starts JAX's backends, which must wait until the user
    # has had the chance to call `ds.set_host_device_count`. Jitted because eagerly each of
    # their many small ops would compile on its own.
    from blackjax import diagnostics

    return jax.jit(getattr(diagnostics, name), static_argnames=("chain_axis", "sample_axis"))


def _check_draws(x, name):
    x = np.asarray(x, dtype=np.float64)
    if x.ndim < 2:
        raise ValueError(f"{name}: draws must have shape (chains, draws, ...), got shape {x.shape}")
    if x.shape[1] < 4:
        raise ValueError(f"{name}: need at least 4 draws per chain, got {x.shape[1]}")
    return x


def split_rhat(draws: Float[ArrayLike, "chains draws *shape"]) -> Float[Array, "*shape"]:
    """Rank-normalised split R-hat per element (max of bulk and folded); 1.0 means mixed."""
    x = _check_draws(draws, "split_rhat")
    return np.asarray(_compiled("rhat")(x, chain_axis=0, sample_axis=1))


def ess_bulk(draws: Float[ArrayLike, "chains draws *shape"]) -> Float[Array, "*shape"]:
    """Bulk effective sample size per element (rank-normalised, split chains)."""
    x = _check_draws(draws, "ess_bulk")
    return np.asarray(_compiled("ess_bulk")(x, chain_axis=0, sample_axis=1))


def summary(samples: Mapping[str, ArrayLike], prob: float = 0.9) -> dict[str, dict[str, np.ndarray]]:
    """Per site: `mean`, `sd`, `median`, the central `prob` interval (`q_low`, `q_high`),
    `r_hat` and `ess_bulk`, each with the site's shape. Draws are `(chains, draws, ...)`."""
    if not 0.0 < prob < 1.0:
        raise ValueError(f"summary: `prob` must lie in (0, 1), got {prob!r}")
    out = {}
    for name, value in samples.items():
        x = _check_draws(value, f"summary[{name!r}]")
        flat = x.reshape((-1,) + x.shape[2:])
        out[name] = {
            "mean": flat.mean(0),
            "sd": flat.std(0, ddof=1),
            "median": np.median(flat, 0),
            "q_low": np.quantile(flat, (1 - prob) / 2, axis=0),
            "q_high": np.quantile(flat, (1 + prob) / 2, axis=0),
            "r_hat": split_rhat(x) if x.shape[0] > 1 else np.full(x.shape[2:], np.nan),
            "ess_bulk": ess_bulk(x),
        }
    return out


def format_summary(table: Mapping[str, Mapping[str, np.ndarray]], prob: float = 0.9) -> str:
    """A text table of `summary`'s output, one row per scalar element."""
    low, high = f"{50 * (1 - prob):.1f}%", f"{50 * (1 + prob):.1f}%"
    head = f"{'':>20} {'mean':>10} {'sd':>10} {'median':>10} {low:>10} {high:>10} {'r_hat':>7} {'ess_bulk':>9}"
    rows = [head]
    for name, stats in table.items():
        shape = np.shape(stats["mean"])
        for idx in np.ndindex(shape):
            label = name + (str(list(idx)) if idx else "")
            s = {k: np.asarray(v)[idx] for k, v in stats.items()}
            rows.append(
                f"{label:>20} {s['mean']:>10.4g} {s['sd']:>10.4g} {s['median']:>10.4g} {s['q_low']:>10.4g} "
                f"{s['q_high']:>10.4g} {s['r_hat']:>7.3f} {s['ess_bulk']:>9.1f}"
            )
    return "\n".join(rows)
