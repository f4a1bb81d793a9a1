"""Chain health: the checks that tell a usable MCMC run from a stuck or unmixed one.

Thresholds follow Vehtari et al. (2021, "Rank-normalization, folding, and localization"):
R-hat below 1.01 and a bulk ESS of at least 100 before means and intervals are trusted.
The other checks catch what R-hat alone reports late: a chain whose warm-up shrank its step
size by orders of magnitude (a start where the gradient is enormous), a chain that never
moves, and trajectories cut short by the tree-depth limit.
"""

import warnings
from typing import NamedTuple

import jax
import numpy as np

from ._diagnostics import ess_bulk, split_rhat

MAX_R_HAT = 1.01
MIN_ESS_BULK = 100.0
MIN_STEP_SIZE_RATIO = 1e-2  # a chain's step size against the median of all chains'
MIN_MOVEMENT_RATIO = 1e-3  # a chain's spread against the spread over all chains
MAX_TREE_DEPTH_FRACTION = 0.1
# |gradient| x prior scale above which a start is refused: a sane density's gradient at a
# prior-typical point is at most ~1e6 (a million data points); the ARMA(1,1) start of issue 16,
# with |theta| > 1, had ~1e16.
MAX_START_GRADIENT = 1e10


class ChainHealthWarning(UserWarning, RuntimeWarning):
    """An MCMC run whose draws should not be used as they are (see `MCMCResult.diagnose`).

    Also a `RuntimeWarning`, like the divergence warning, so a filter for a sampler's run-time
    warnings covers both."""


class Finding(NamedTuple):
    """One chain-health problem: `kind` (`"r_hat"`, `"ess_bulk"`, `"step_size"`, `"stuck"`,
    `"tree_depth"`, `"start"`), the `chains` concerned (all chains for the pooled checks), the
    offending `value` and a `message` saying what to do."""

    kind: str
    chains: tuple[int, ...]
    value: float
    message: str


def _flat(tree) -> tuple[np.ndarray, list[str]]:
    """`(chains, draws, n)` float64 draws of every leaf of `tree`, and each column's label."""
    columns, labels = [], []
    for path, value in jax.tree_util.tree_flatten_with_path(tree)[0]:
        name = jax.tree_util.keystr(path).replace("['", "").replace("']", ".").rstrip(".")
        x = np.asarray(value, dtype=np.float64)
        x = x.reshape(x.shape[:2] + (-1,))
        columns.append(x)
        labels += [name if x.shape[2] == 1 else f"{name}[{i}]" for i in range(x.shape[2])]
    return np.concatenate(columns, axis=2), labels


def _worst(labels, values, bad, reverse):
    order = np.argsort(values[bad])
    names = [labels[i] for i in np.flatnonzero(bad)[order[::-1] if reverse else order]]
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def diagnose(samples: dict, unconstrained: dict, step_size, tree_depth, *, kernel: str, max_tree_depth: int,
             start_gradient=None) -> tuple[Finding, ...]:
    """Every chain-health problem of a run, as `Finding`s (empty when the run looks healthy)."""
    findings = []
    draws, labels = _flat(samples)
    num_chains, num_draws = draws.shape[:2]
    moving = np.ptp(draws, axis=1).max(axis=0) > 0  # columns that vary at all (not constants)
    if num_draws >= 4 and moving.any():
        ess = np.asarray(ess_bulk(draws[..., moving]), dtype=np.float64)
        lab = [lb for lb, m in zip(labels, moving) if m]
        bad = ~(ess >= MIN_ESS_BULK)
        if bad.any():
            low = float(np.nanmin(np.where(np.isfinite(ess), ess, 0.0)))
            findings.append(Finding("ess_bulk", tuple(range(num_chains)), low, (
                f"bulk ESS {low:.0f} < {MIN_ESS_BULK:.0f} for {_worst(lab, ess, bad, False)}: too few effective "
                "draws for reliable means and intervals. Raise `num_samples` or `num_chains`, or reparameterise "
                "to reduce autocorrelation")))
        if num_chains > 1:
            rhat = np.asarray(split_rhat(draws[..., moving]), dtype=np.float64)
            bad = ~(rhat <= MAX_R_HAT)
            if bad.any():
                high = float(np.nanmax(np.where(np.isfinite(rhat), rhat, np.inf)))
                findings.append(Finding("r_hat", tuple(range(num_chains)), high, (
                    f"R-hat {high:.3f} > {MAX_R_HAT} for {_worst(lab, rhat, bad, True)}: the chains disagree, so "
                    "they have not converged to one distribution. Raise `num_warmup` and `num_samples`, look for "
                    "several modes or an improper posterior (a flat prior with too little data), or reparameterise")))
    step = np.asarray(step_size, dtype=np.float64)
    if num_chains > 1:
        median = float(np.median(step))
        small = np.flatnonzero(~(step >= MIN_STEP_SIZE_RATIO * median))
        if small.size:
            findings.append(Finding("step_size", tuple(small.tolist()), float(step[small].min()), (
                f"chains {small.tolist()} adapted step sizes {np.array2string(step[small], precision=2)}, more than "
                f"{1 / MIN_STEP_SIZE_RATIO:.0f} times below the median {median:.2g}: such a chain usually started or "
                "got caught where the gradient is enormous and barely moves. Pass `init_params` in the bulk of "
                "the posterior, bound the parameter (e.g. a stationarity constraint), or rerun with another key")))
    flat_u, _ = _flat(unconstrained)
    spread = flat_u.std(axis=1)  # (chains, n)
    pooled = flat_u.reshape(-1, flat_u.shape[2]).std(axis=0)
    frozen = np.all(spread == 0, axis=1) & (num_draws >= 10)  # 10 rejections in a row: not chance
    if num_chains > 1 and num_draws >= 10:
        frozen |= np.all(spread <= MIN_MOVEMENT_RATIO * pooled, axis=1) & np.any(pooled > 0)
    stuck = np.flatnonzero(frozen)
    if stuck.size:
        findings.append(Finding("stuck", tuple(stuck.tolist()), float(spread[stuck].max()), (
            f"chains {stuck.tolist()} never moved (their draws are constant, or spread less than "
            f"{MIN_MOVEMENT_RATIO:g} of the other chains'): their draws are not samples of the posterior. Check the "
            "density for inf/NaN or an exploding gradient near their start, pass `init_params`, or rerun")))
    if kernel == "nuts":
        hit = np.asarray(tree_depth) >= max_tree_depth
        fraction = float(hit.mean())
        if fraction > MAX_TREE_DEPTH_FRACTION:
            chains = np.flatnonzero(hit.mean(axis=1) > MAX_TREE_DEPTH_FRACTION)
            findings.append(Finding("tree_depth", tuple(chains.tolist()), fraction, (
                f"{fraction:.0%} of draws hit the maximum tree depth {max_tree_depth} (chains {chains.tolist()}): "
                "trajectories are cut short, so the sampler explores slowly. Reparameterise (very different "
                "scales, strong correlations), try `dense_mass=True`, or raise `max_tree_depth`")))
    if start_gradient is not None:
        g = np.asarray(start_gradient, dtype=np.float64)
        bad = np.flatnonzero(~(g <= MAX_START_GRADIENT))
        if bad.size:
            findings.append(Finding("start", tuple(bad.tolist()), float(g[bad].max()), (
                f"chains {bad.tolist()} started where |gradient| x prior scale is {float(g[bad].max()):.2g} "
                f"(> {MAX_START_GRADIENT:g}), since no candidate start was better: pass `init_params` where the "
                "density is well behaved, or raise `max_init_tries`")))
    return tuple(findings)


def warn_unhealthy(findings: tuple[Finding, ...], caller: str, stacklevel: int) -> None:
    """One `ChainHealthWarning` listing every finding (none when there is none)."""
    if findings:
        lines = "\n".join(f"  - {f.message}" for f in findings)
        warnings.warn(
            f"{caller}: the chains look unhealthy; do not use these draws as they are "
            f"(result.diagnose() lists the findings):\n{lines}",
            ChainHealthWarning, stacklevel=stacklevel + 1)
