"""NUTS and HMC over any model function or log density, on BlackJAX kernels.

Each chain runs Stan-style window adaptation (step size by dual averaging, diagonal or dense
inverse mass matrix from Welford windows) and then samples, through one pure `init`/`step`
pair (`_kernel.py`), so a run can stop after any iteration and resume exactly from a
checkpoint. Chains are vectorised with `vmap`, and with several devices each device runs its
own chains independently (`shard_map`), so a slow chain on one device does not hold up the
others. After sampling, chain-health checks (`_health.py`) warn about runs not to be trusted.
"""

import json
import os
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from collections.abc import Callable, Mapping
from typing import Any, Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import PartitionSpec as P
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray, PyTree

from .._checks import checks_as_values
from .._checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .._checks import require_key
from .._devices import BATCH_AXIS, batch_mesh

from ._cache import enable_compilation_cache, get_programs, put_programs
from ._cache import program_key as _program_key
from ._kernel import chain_kernel
from ._density import (
    check_latent_values,
    constrain,
    latent_sites,
    prior_draws_unconstrained,
    unconstrain,
    unconstrained_log_density,
)
from ._diagnostics import summary as _summary
from ._diagnostics import format_summary
from ._health import MAX_START_GRADIENT, ChainHealthWarning, Finding, diagnose, warn_unhealthy
from ._progress import CompiledProgress


class MCMCResult(eqx.Module):
    """Draws and sampler statistics of a NUTS/HMC run.

    `samples[name]` has shape `(chains, draws, *site_shape)` on the site's support;
    `unconstrained` holds the sampler's own coordinates. Statistics are `(chains, draws)`
    except `step_size` `(chains,)`, `start_gradient` `(chains,)` (|gradient| x prior scale at
    each chain's start) and `inverse_mass_matrix` `(chains, dim)` or `(chains, dim, dim)`.
    `diagnose()` lists chain-health problems.
    """

    samples: dict[str, Array]
    unconstrained: PyTree
    log_density: Float[Array, "chains draws"]
    divergences: Bool[Array, "chains draws"]
    tree_depth: Int[Array, "chains draws"]
    num_integration_steps: Int[Array, "chains draws"]
    acceptance_rate: Float[Array, "chains draws"]
    energy: Float[Array, "chains draws"]
    step_size: Float[Array, " chains"]
    inverse_mass_matrix: Array
    start_gradient: Float[Array, " chains"] | None = None
    kernel: str = eqx.field(static=True, default="nuts")
    max_tree_depth: int = eqx.field(static=True, default=10)
    compile_seconds: float = eqx.field(static=True, default=float("nan"))
    sample_seconds: float = eqx.field(static=True, default=float("nan"))

    @property
    def num_chains(self) -> int:
        return self.divergences.shape[0]

    @property
    def num_draws(self) -> int:
        return self.divergences.shape[1]

    @property
    def num_divergences(self) -> int:
        return int(np.sum(np.asarray(self.divergences)))

    def diagnose(self) -> tuple[Finding, ...]:
        """Chain-health problems as data: each `Finding` names its kind, the chains, the value and
        what to do. The run warned (`ChainHealthWarning`) with the same findings. Empty: healthy."""
        return diagnose(self.samples, self.unconstrained, self.step_size, self.tree_depth, kernel=self.kernel,
                        max_tree_depth=self.max_tree_depth, start_gradient=self.start_gradient)

    def summary(self, prob: float = 0.9) -> dict[str, dict[str, np.ndarray]]:
        """Per site: mean, sd, the central `prob` interval, median, split R-hat and bulk ESS.

        Each statistic has the site's shape. R-hat is rank-normalised split R-hat and ESS the
        bulk ESS of Vehtari et al. (2021), both computed over all chains.
        """
        return _summary(self.samples, prob=prob)

    def print_summary(self, prob: float = 0.9) -> str:
        """The summary as a table (also printed), with the number of divergences."""
        text = format_summary(self.summary(prob), prob) + f"\nNumber of divergences: {self.num_divergences}"
        print(text)
        return text

    def to_arviz(self):
        """An `arviz.InferenceData` with posterior draws and sample stats (needs `arviz`)."""
        try:
            import arviz
        except ImportError as error:
            raise ImportError("MCMCResult.to_arviz needs arviz: pip install arviz") from error
        stats = {
            "diverging": np.asarray(self.divergences),
            "tree_depth": np.asarray(self.tree_depth),
            "n_steps": np.asarray(self.num_integration_steps),
            "acceptance_rate": np.asarray(self.acceptance_rate),
            "energy": np.asarray(self.energy),
            "lp": np.asarray(self.log_density),
        }
        return arviz.from_dict(
            posterior={k: np.asarray(v) for k, v in self.samples.items()}, sample_stats=stats
        )


def _find_start(log_density, key, base, scale, index, max_tries, jitter):
    """A start for one chain: (start, its log density, its gradient, |gradient| x `scale` there,
    whether its density and gradient are finite, whether it is the first candidate).

    Candidates: `base` (a prior median or the user's `init_params`) for chain 0 and, jittered
    uniformly by +-`jitter` in unconstrained space, for the other chains; then uniform(-2, 2)
    points (Stan's default), up to `max_tries` in all. A candidate is taken when its density and
    gradient are finite and its gradient times the prior `scale` is at most `MAX_START_GRADIENT`;
    if none is, the finite candidate with the smallest such gradient (the run then warns).
    """
    leaves, treedef = jax.tree_util.tree_flatten(base)

    def candidate(attempt):
        k = jax.random.fold_in(key, attempt)
        out = []
        for i, x in enumerate(leaves):
            kj, kr = jax.random.split(jax.random.fold_in(k, i))
            near = x + jitter * (index > 0) * jax.random.uniform(kj, x.shape, x.dtype, -1.0, 1.0)
            out.append(jnp.where(attempt == 0, near, jax.random.uniform(kr, x.shape, x.dtype, -2.0, 2.0)))
        return jax.tree_util.tree_unflatten(treedef, out)

    def evaluate(u):
        value, grad = jax.value_and_grad(log_density)(u)
        scaled = jax.tree_util.tree_map(lambda g, s: jnp.max(jnp.abs(g * s), initial=0.0), grad, scale)
        size = jnp.max(jnp.stack(jax.tree_util.tree_leaves(scaled)))
        finite = jnp.isfinite(value) & jnp.isfinite(size)
        return value, grad, jnp.where(finite, size, jnp.inf), finite

    def cond(carry):
        attempt, _, size = carry[:3]
        return (size > MAX_START_GRADIENT) & (attempt < max_tries)

    def body(carry):
        attempt, best = carry[0], carry[1:]
        u = candidate(attempt)
        value, grad, size, _ = evaluate(u)
        better = size < best[1]
        pick = lambda new, old: jax.tree_util.tree_map(lambda a, b: jnp.where(better, a, b), new, old)  # noqa: E731
        return (attempt + 1, *pick((u, size, value, grad, attempt), best))

    # One traced gradient (inside the loop) serves the search and the sampler's first state.
    first = candidate(0)
    zeros = jax.tree_util.tree_map(jnp.zeros_like, first)
    init = (jnp.asarray(0), first, jnp.asarray(jnp.inf, float), jnp.asarray(-jnp.inf, float), zeros, jnp.asarray(-1))
    _, u0, size, value, grad, chosen = jax.lax.while_loop(cond, body, init)
    return u0, value, grad, size, jnp.isfinite(size), chosen == 0


def _chain_programs(make, *, kind, num_warmup, num_samples, target_accept, max_tree_depth, num_integration_steps,
                    dense_mass, progress, jitter, max_init_tries, chunk, discard):
    """`(start, advance)` for one chain, on the pure kernel of `_kernel.py`.

    `start(key, index, base_key, data) -> (ChainState, start_gradient, ok, from_base)` finds a start;
    `advance(state, data) -> (state, (samples, draws, ChainInfo))` runs `chunk` iterations and
    returns their draws (the first `discard` left out) on the support (`samples`) and in the
    sampler's coordinates (`draws`).
    """
    options = dict(kind=kind, num_warmup=num_warmup, num_samples=num_samples, target_accept=target_accept,
                   max_tree_depth=max_tree_depth, num_integration_steps=num_integration_steps, dense_mass=dense_mass)

    def start(key, index, base_key, data):
        # The model's data arrive as program inputs, not constants baked into the program
        # (XLA would spend its compile time folding them).
        log_density, start_fn, _ = make(data)
        init_key, key = jax.random.split(key)
        base, scale = start_fn(base_key)
        u0, value, grad, start_gradient, ok, from_base = _find_start(log_density, init_key, base, scale, index,
                                                                     max_init_tries, jitter)
        init, _ = chain_kernel(log_density, **options)
        return init(u0, value, grad, key), start_gradient, ok, from_base

    def advance(state, data):
        log_density, _, transform = make(data)
        _, step = chain_kernel(log_density, **options, progress=progress)

        def body(s, _):
            s, info = step(s)
            return s, (s.position, info)

        state, (draws, info) = jax.lax.scan(body, state, None, length=chunk)
        keep = lambda x: x[discard:]  # noqa: E731
        draws, info = jax.tree_util.tree_map(keep, draws), jax.tree_util.tree_map(keep, info)
        return state, (jax.vmap(transform)(draws), draws, info)

    return start, advance


def _num_chain_blocks(num_chains: int, chain_method: str) -> int:
    """How many devices the chains are split over (1: all vectorised on one device)."""
    n = jax.device_count()
    if chain_method == "vectorized" or n == 1 or num_chains % n:
        return 1
    return n


def _over_chains(fn, num_mapped: int, num_shared: int, num_chains: int, chain_method: str):
    """`fn` of one chain as a jitted function of all chains: its first `num_mapped` arguments
    have a leading chain axis, the other `num_shared` are the same for every chain."""
    blocks = _num_chain_blocks(num_chains, chain_method)
    if blocks == num_chains and blocks > 1:
        # One chain per device: no vmap at all, so nothing waits for a batch-mate's longer
        # trajectory, and there is no batching pass to trace or batched loop to compile.
        def program(*args):
            mapped = [jax.tree_util.tree_map(lambda x: x[0], a) for a in args[:num_mapped]]
            return jax.tree_util.tree_map(lambda x: x[None], fn(*mapped, *args[num_mapped:]))
    else:
        program = jax.vmap(fn, in_axes=(0,) * num_mapped + (None,) * num_shared)
    if blocks > 1:
        # One block of chains per device, each device looping on its own.
        program = jax.shard_map(program, mesh=batch_mesh(), in_specs=(P(BATCH_AXIS),) * num_mapped + (P(),) * num_shared,
                                out_specs=P(BATCH_AXIS), check_vma=False)
    return jax.jit(program)


def _compile(start, advance, keys, base_key, data, num_chains, chain_method):
    """The start and advance programs of all chains, compiled side by side in two threads
    (XLA compiles outside the GIL); `(start, advance, advance's output shapes)`."""
    # On CPU, LLVM's level-1 optimisation compiles the sampler ~30 % faster than the default
    # with no measurable change in sampling speed (small ops inside control flow dominate).
    options = {"xla_backend_optimization_level": 1} if jax.default_backend() == "cpu" else None
    start_lowered = _over_chains(start, 2, 2, num_chains, chain_method).lower(keys, jnp.arange(num_chains),
                                                                             base_key, data)
    state = jax.tree_util.tree_map(lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=s.sharding),
                                   start_lowered.out_info[0])
    advance_lowered = _over_chains(advance, 1, 1, num_chains, chain_method).lower(state, data)
    with ThreadPoolExecutor(2) as pool:
        start_c, advance_c = pool.map(lambda lowered: lowered.compile(options), (start_lowered, advance_lowered))
    return start_c, advance_c, advance_lowered.out_info


def _gather(tree):
    """Arrays spread over the devices of several processes (`jax.distributed`), whole on each."""
    if jax.process_count() == 1:
        return tree
    from jax.experimental import multihost_utils

    def whole(x):
        if isinstance(x, jax.Array) and not x.is_fully_addressable:
            return jnp.asarray(multihost_utils.process_allgather(x, tiled=True))
        return x

    return jax.tree_util.tree_map(whole, tree)


def _run_chains(start, advance, keys, base_key, data, *, num_chains, chain_method, num_warmup, total, chunk,
                checkpoint_path, config, caller, max_init_tries, program_key):
    """Compile (or reuse the programs under `program_key`) and run all chains, in chunks of
    `chunk` iterations with a checkpoint after each when `checkpoint_path` is given; returns
    (outputs, compile seconds, run seconds)."""
    t0 = time.perf_counter()
    programs = get_programs(program_key)
    if programs is None:
        programs = _compile(start, advance, keys, base_key, data, num_chains, chain_method)
        put_programs(program_key, programs)
    start_c, advance_c, out_info = programs
    state, start_gradient, ok, from_base = start_c(keys, jnp.arange(num_chains), base_key, data)
    ok, from_base = _gather((ok, from_base))
    _check_started(ok, max_init_tries, caller)
    compile_seconds = time.perf_counter() - t0
    t1 = time.perf_counter()
    if checkpoint_path is None:  # one chunk: the whole run, warm-up draws already left out
        state, out = advance_c(state, data)
        out = jax.block_until_ready(_gather(out))
    else:
        state, out = _run_checkpointed(advance_c, out_info[1], state, start_gradient, ok, data, num_warmup=num_warmup,
                                       total=total, chunk=chunk, path=Path(checkpoint_path), config=config)
    samples, draws, info = out
    stats = (info.log_density, info.is_divergent, info.tree_depth, info.num_integration_steps,
             info.acceptance_rate, info.energy)
    result = (samples, draws, stats, *_gather((state.adaptation.step_size, state.adaptation.inverse_mass_matrix,
                                               start_gradient)), from_base)
    return result, compile_seconds, time.perf_counter() - t1


def _check_same_run(meta, config, path):
    if meta.get("config") != config:
        raise CheckpointError(
            f"{path} holds a checkpoint of another run (settings {meta.get('config')}, this run {config}); "
            "use a new `checkpoint_path`, or the key and settings of the saved run")


def _saved_metadata(path: Path) -> dict:
    """The metadata of a checkpoint file, read before compiling anything (it is the JSON line
    after the header, see `_checkpoint.py`); {} when it cannot be read (the full load explains)."""
    try:
        with open(path, "rb") as f:
            f.readline()
            return json.loads(f.readline()).get("metadata", {})
    except (OSError, ValueError, AttributeError):
        return {}


def _run_checkpointed(advance_c, out_info, state, start_gradient, ok, data, *, num_warmup, total, chunk, path, config):
    """Advance chunk by chunk, writing the chain states and the draws so far atomically after
    each chunk; resume from `path` when it holds a checkpoint of the same run."""
    num_samples = total - num_warmup
    buffers = jax.tree_util.tree_map(
        lambda x: np.zeros((x.shape[0], num_samples) + tuple(x.shape[2:]), x.dtype), out_info)
    done = 0
    if path.exists():
        like = {"state": state, "start_gradient": start_gradient, "ok": ok, "out": buffers}
        saved, meta = load_checkpoint(path, like)
        _check_same_run(meta, config, path)
        # The chains continue on the devices (and with the sharding) the compiled program expects.
        state = jax.tree_util.tree_map(lambda new, old: jax.device_put(new, old.sharding), saved["state"], state)
        buffers, done = saved["out"], int(meta["done"])
    while done < total:
        state, out = advance_c(state, data)
        lo, hi = max(done, num_warmup), min(done + chunk, total)
        if hi > lo:
            def store(buffer, x):
                buffer[:, lo - num_warmup:hi - num_warmup] = np.asarray(x)[:, lo - done:hi - done]
                return buffer

            buffers = jax.tree_util.tree_map(store, buffers, out)
        done = min(done + chunk, total)
        save_checkpoint(path, {"state": state, "start_gradient": start_gradient, "ok": ok, "out": buffers},
                        {"done": done, "config": config})
    return state, jax.tree_util.tree_map(jnp.asarray, buffers)


def _validate(num_warmup, num_samples, num_chains, target_accept, max_tree_depth, num_integration_steps, caller):
    for name, value, low in (("num_warmup", num_warmup, 0), ("num_samples", num_samples, 1), ("num_chains", num_chains, 1),
                             ("max_tree_depth", max_tree_depth, 1), ("num_integration_steps", num_integration_steps, 1)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
            raise ValueError(f"{caller}: `{name}` must be an integer >= {low}, got {value!r}")
    if isinstance(target_accept, (str, bool)) or not 0.0 < float(target_accept) < 1.0:
        raise ValueError(f"{caller}: `target_accept` must lie in (0, 1), got {target_accept!r}")


def sample_log_density(
    log_density: Callable[[PyTree], Float[Array, ""]],
    key: PRNGKeyArray,
    initial_position: PyTree,
    *,
    kernel: Literal["nuts", "hmc"] = "nuts",
    num_warmup: int = 1000,
    num_samples: int = 1000,
    num_chains: int = 4,
    target_accept: float = 0.8,
    max_tree_depth: int = 10,
    num_integration_steps: int = 16,
    dense_mass: bool | Literal["auto"] = False,
    chain_method: Literal["parallel", "vectorized"] = "parallel",
    progress_bar: bool = False,
    max_init_tries: int = 20,
    checkpoint_path: str | os.PathLike | None = None,
    checkpoint_every: int = 100,
    compilation_cache: bool = True,
) -> MCMCResult:
    """NUTS/HMC on a plain log density over a pytree of unconstrained arrays.

    `initial_position` is one point (broadcast to every chain, then checked for a finite
    density; chains whose start is not finite try uniform(-2, 2) points). `samples` of the
    result holds the draws under the key `"position"`. `checkpoint_path`, `compilation_cache`
    (programs reused for the same `log_density` function and shapes): see `nuts`.
    """
    if kernel not in ("nuts", "hmc"):
        raise ValueError(f"ds.sample_log_density: `kernel` must be 'nuts' or 'hmc', got {kernel!r}")
    caller = f"ds.{kernel}"
    require_key(caller, key)
    _validate(num_warmup, num_samples, num_chains, target_accept, max_tree_depth, num_integration_steps, caller)
    init_u = jax.tree_util.tree_map(jnp.asarray, initial_position)

    def guarded(u):  # a failed check (`ds` validation in the density) rejects the proposal
        with checks_as_values() as checks:
            v = log_density(u)
        return jnp.where(checks.passed() & jnp.isfinite(v), v, -jnp.inf)

    # No prior: unconstrained coordinates are the scale. The start is a program input.
    make = lambda u0: (guarded, lambda k: (u0, jax.tree_util.tree_map(jnp.ones_like, u0)),  # noqa: E731
                       lambda u: {"position": u})
    (samples, draws, stats, step_size, imm, start_gradient, from_base), *seconds = _sample(
        make, init_u, key, program_id=("density", log_density), compilation_cache=compilation_cache, jitter=0.0,
        max_init_tries=max_init_tries, kernel=kernel, num_warmup=num_warmup, num_samples=num_samples,
        num_chains=num_chains, target_accept=target_accept, max_tree_depth=max_tree_depth,
        num_integration_steps=num_integration_steps, dense_mass=dense_mass, chain_method=chain_method,
        progress_bar=progress_bar, checkpoint_path=checkpoint_path, checkpoint_every=checkpoint_every)
    _warn_start_replaced(from_base, "`initial_position`", caller, stacklevel=3)
    return _result(samples, draws, stats, step_size, imm, start_gradient, seconds, caller, kernel, max_tree_depth)


def _warn_start_replaced(from_base, what, caller, stacklevel):
    replaced = np.flatnonzero(~np.asarray(from_base)).tolist()
    if replaced:
        warnings.warn(
            f"{caller}: chains {replaced} did not start at {what}: there the log density or its gradient is not "
            f"finite, or |gradient| x prior scale exceeds {MAX_START_GRADIENT:g} (a chain started there adapts a "
            "tiny step size and barely moves), so they started from uniform(-2, 2) points in unconstrained space. "
            "Pass a start where the density is well behaved", ChainHealthWarning, stacklevel=stacklevel)


def _check_started(ok, max_tries, caller):
    bad = np.flatnonzero(~np.asarray(ok)).tolist()
    if bad:
        raise RuntimeError(
            f"{caller}: found no initial point with a finite log density and gradient for chains {bad} "
            f"after {max_tries} tries (the prior median or `init_params`, then uniform(-2, 2) in unconstrained "
            "space). Check that the observed data lie in the likelihood's support and that the model does not "
            "produce inf/NaN (e.g. a simulator failing for most prior draws); pass `init_params` with a point "
            "where the model is finite, or raise `max_init_tries`"
        )


def _sample(make, data, key, *, jitter, max_init_tries, kernel, num_warmup, num_samples, num_chains, target_accept,
            max_tree_depth, num_integration_steps, dense_mass, chain_method, progress_bar, checkpoint_path,
            checkpoint_every, compilation_cache, program_id, static=None):
    """Run the chains of `make`'s density. `program_id` and `static` name what `make` traces
    besides `data` (the model function and its non-array arguments): runs alike in both, in
    `data`'s shapes and in every setting share compiled programs."""
    caller = f"ds.{kernel}"
    if not isinstance(max_init_tries, (int, np.integer)) or isinstance(max_init_tries, bool) or max_init_tries < 1:
        raise ValueError(f"{caller}: `max_init_tries` must be an integer >= 1, got {max_init_tries!r}")
    if compilation_cache:
        enable_compilation_cache()
    if chain_method not in ("parallel", "vectorized"):
        raise ValueError(f"{caller}: `chain_method` must be 'parallel' or 'vectorized', got {chain_method!r}")
    if dense_mass not in (True, False, "auto"):
        raise ValueError(f"{caller}: `dense_mass` must be True, False or 'auto', got {dense_mass!r}")
    if not isinstance(checkpoint_every, (int, np.integer)) or checkpoint_every < 1:
        raise ValueError(f"{caller}: `checkpoint_every` must be an integer >= 1, got {checkpoint_every!r}")
    total = num_warmup + num_samples
    chunk = total if checkpoint_path is None else min(int(checkpoint_every), total)
    base_key, key = jax.random.split(key)
    config = {"kernel": kernel, "num_warmup": num_warmup, "num_samples": num_samples, "num_chains": num_chains,
              "target_accept": float(target_accept), "max_tree_depth": max_tree_depth,
              "num_integration_steps": num_integration_steps, "dense_mass": dense_mass if dense_mass == "auto" else bool(dense_mass),
              "key": np.asarray(jax.random.key_data(key)).tolist()}
    if checkpoint_path is not None and Path(checkpoint_path).exists():
        meta = _saved_metadata(Path(checkpoint_path))
        if meta:  # another run's file is refused now, not after minutes of compiling
            _check_same_run(meta, config, Path(checkpoint_path))
    blocks = _num_chain_blocks(num_chains, chain_method)
    discard = num_warmup if checkpoint_path is None else 0
    # A progress bar's callback belongs to its own run, so its programs are not shared.
    programs = None if progress_bar else _program_key(
        program_id, kernel, num_warmup, num_samples, num_chains, float(target_accept), max_tree_depth,
        num_integration_steps, dense_mass, chain_method, jitter, max_init_tries, chunk, discard, static=static,
        arrays=(data, key))
    with CompiledProgress(total, blocks, f"{kernel} ({num_chains} chains)", progress_bar) as progress:
        start, advance = _chain_programs(
            make, kind=kernel, num_warmup=num_warmup, num_samples=num_samples, target_accept=target_accept,
            max_tree_depth=max_tree_depth, num_integration_steps=num_integration_steps, dense_mass=dense_mass,
            progress=progress, jitter=jitter, max_init_tries=max_init_tries, chunk=chunk, discard=discard)
        return _run_chains(start, advance, jax.random.split(key, num_chains), base_key, data, num_chains=num_chains,
                           chain_method=chain_method, num_warmup=num_warmup, total=total, chunk=chunk,
                           checkpoint_path=checkpoint_path, config=config, caller=caller,
                           max_init_tries=max_init_tries, program_key=programs)


def _result(samples, draws, stats, step_size, imm, start_gradient, seconds, caller, kernel, max_tree_depth
            ) -> MCMCResult:
    log_density, divergent, depth, n_steps, accept, energy = stats
    result = MCMCResult(
        samples=samples, unconstrained=draws, log_density=log_density, divergences=divergent,
        tree_depth=depth, num_integration_steps=n_steps, acceptance_rate=accept, energy=energy,
        step_size=step_size, inverse_mass_matrix=imm, start_gradient=start_gradient, kernel=kernel,
        max_tree_depth=max_tree_depth, compile_seconds=seconds[0], sample_seconds=seconds[1],
    )
    n_div = result.num_divergences
    if n_div:
        warnings.warn(
            f"{caller}: {n_div} divergent transitions after warmup ({n_div / divergent.size:.1%} of draws): "
            "the posterior has regions the sampler cannot explore reliably, so estimates may be biased. "
            "Raise `target_accept` (e.g. 0.95), reparameterise (e.g. a non-centred hierarchy), or check "
            "for a simulator failing in part of parameter space",
            RuntimeWarning,
            stacklevel=3,
        )
    warn_unhealthy(result.diagnose(), caller, stacklevel=3)
    return result


def _infer_model(kind, model, key, args, kwargs, **options) -> MCMCResult:
    caller = f"ds.{kind}"
    require_key(caller, key)
    init_params = options.pop("init_params")
    max_init_tries = options.pop("max_init_tries")
    _validate(options["num_warmup"], options["num_samples"], options["num_chains"], options["target_accept"],
              options["max_tree_depth"], options["num_integration_steps"], caller)
    if not isinstance(max_init_tries, int) or max_init_tries < 1:
        raise ValueError(f"{caller}: `max_init_tries` must be an integer >= 1, got {max_init_tries!r}")
    site_key, run_key = jax.random.split(key)
    sites = latent_sites(model, site_key, args, kwargs, caller=caller)
    if init_params is not None:
        missing = set(sites) - set(init_params)
        if missing:
            raise ValueError(f"{caller}: `init_params` lacks latent sites {sorted(missing)}")
        check_latent_values(model, init_params, sites, site_key, args, kwargs, caller=caller, what="init_params")
    data, static = eqx.partition((args, kwargs), eqx.is_array)
    # `init_params` are program inputs too, so another start reuses the compiled programs.
    init = None if init_params is None else {name: jnp.asarray(v) for name, v in init_params.items()}

    def make(inputs):
        data, init = inputs
        a, kw = eqx.combine(data, static)

        def start_fn(k):  # one trace of the prior gives the start and the scale of each coordinate
            prior = prior_draws_unconstrained(model, k, 15, a, kw)
            if init is not None:
                base = unconstrain(model, init, k, a, kw)
            else:  # the prior median, coordinate-wise in unconstrained space
                base = jax.tree_util.tree_map(lambda x: jnp.median(x, axis=0), prior)

            def robust(x):  # the prior's spread per coordinate (interquartile range / 1.349)
                q = jnp.quantile(x, jnp.array([0.25, 0.75]), axis=0)
                s = (q[1] - q[0]) / 1.349
                return jnp.where(jnp.isfinite(s) & (s > 0), s, 1.0)

            return base, jax.tree_util.tree_map(robust, prior)

        return unconstrained_log_density(model, a, kw), start_fn, lambda u: constrain(model, u, a, kw)

    (samples, draws, stats, step_size, imm, start_gradient, from_base), *seconds = _sample(
        make, (data, init), run_key, jitter=0.0 if init_params is not None else 1.0, max_init_tries=max_init_tries,
        kernel=kind, program_id=("model", model), static=static, **options)
    if init_params is not None:
        _warn_start_replaced(from_base, "`init_params`", caller, stacklevel=4)
    return _result(samples, draws, stats, step_size, imm, start_gradient, seconds, caller, kind,
                   options["max_tree_depth"])


def nuts(
    model: Callable,
    key: PRNGKeyArray,
    *args: Any,
    num_warmup: int = 1000,
    num_samples: int = 1000,
    num_chains: int = 4,
    target_accept: float = 0.8,
    max_tree_depth: int = 10,
    dense_mass: bool | Literal["auto"] = False,
    chain_method: Literal["parallel", "vectorized"] = "parallel",
    init_params: Mapping[str, Any] | None = None,
    max_init_tries: int = 20,
    progress_bar: bool = False,
    checkpoint_path: str | os.PathLike | None = None,
    checkpoint_every: int = 100,
    compilation_cache: bool = True,
    **kwargs: Any,
) -> MCMCResult:
    """Sample the latent sites of `model(*args, **kwargs)` with NUTS.

    Observed sites come from `obs=` or `ds.condition`. Constrained latents are sampled in
    unconstrained coordinates (log-Jacobians included) and returned on their support.
    `chain_method="parallel"` spreads chains over all devices when their number divides
    evenly; each device vectorises its chains with `vmap`.

    With `checkpoint_path`, the chains' states and draws so far are written atomically every
    `checkpoint_every` iterations (warm-up included); a run started again with the same
    arguments resumes from the file and returns exactly the draws of an uninterrupted run. A
    file from another run raises `CheckpointError`.

    After sampling, a `ChainHealthWarning` reports unconverged or stuck chains (R-hat > 1.01,
    bulk ESS < 100, a collapsed step size, a chain that never moves, > 10 % of draws at
    `max_tree_depth`); `result.diagnose()` returns the same findings.

    `dense_mass`: adapt a diagonal inverse mass matrix (False), a dense one (True, Stan's
    `dense_e`), or ("auto") a dense one only where a warm-up window's draws show a pair of
    coordinates with |correlation| > 0.5 and there are at most 200 coordinates (each window's
    estimate is otherwise reduced to its diagonal; `inverse_mass_matrix` is then (dim, dim)).

    Compiling: the sampler is two programs (finding starts; warm-up and sampling, one step
    function). A later call with the same `model` function, argument shapes and settings reuses
    them (as `jax.jit` does, values the model closes over are read at the first call), and with
    `compilation_cache=True` (default; `DIFSCI_NO_CACHE=1` switches it off) JAX's persistent
    compilation cache (`ds.enable_compilation_cache`, in `~/.cache/difsci/jax`) lets a second
    run of a script load them from disk. The draws are the same either way.
    """
    return _infer_model("nuts", model, key, args, kwargs, num_warmup=num_warmup, num_samples=num_samples,
                        num_chains=num_chains, target_accept=target_accept, max_tree_depth=max_tree_depth,
                        num_integration_steps=1, dense_mass=dense_mass, chain_method=chain_method,
                        init_params=init_params, max_init_tries=max_init_tries, progress_bar=progress_bar,
                        checkpoint_path=checkpoint_path, checkpoint_every=checkpoint_every,
                        compilation_cache=compilation_cache)


def hmc(
    model: Callable,
    key: PRNGKeyArray,
    *args: Any,
    num_integration_steps: int = 16,
    num_warmup: int = 1000,
    num_samples: int = 1000,
    num_chains: int = 4,
    target_accept: float = 0.8,
    dense_mass: bool | Literal["auto"] = False,
    chain_method: Literal["parallel", "vectorized"] = "parallel",
    init_params: Mapping[str, Any] | None = None,
    max_init_tries: int = 20,
    progress_bar: bool = False,
    checkpoint_path: str | os.PathLike | None = None,
    checkpoint_every: int = 100,
    compilation_cache: bool = True,
    **kwargs: Any,
) -> MCMCResult:
    """Sample the latent sites of `model(*args, **kwargs)` with static-length HMC (see `nuts`)."""
    return _infer_model("hmc", model, key, args, kwargs, num_warmup=num_warmup, num_samples=num_samples,
                        num_chains=num_chains, target_accept=target_accept, max_tree_depth=10,
                        num_integration_steps=num_integration_steps, dense_mass=dense_mass,
                        chain_method=chain_method, init_params=init_params, max_init_tries=max_init_tries,
                        progress_bar=progress_bar, checkpoint_path=checkpoint_path, checkpoint_every=checkpoint_every,
                        compilation_cache=compilation_cache)
