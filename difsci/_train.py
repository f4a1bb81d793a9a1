"""The training loop: an Equinox module, an optax optimiser, a loss, and nothing lost.

Every step is a pure function of the training state, whose randomness is
`jax.random.fold_in(key, step)`; so a run resumed from a checkpoint continues exactly
where the interrupted run was, and ends with bit-for-bit the same parameters.
"""

import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, Float, Int, PyTree

from ._checkpoint import load_checkpoint, save_checkpoint
from ._checks import message_first, require_key
from ._custom_types import KeyArray


class TrainState(eqx.Module):
    """Everything a step needs: the trainable arrays, the optimiser state, the step count."""

    params: PyTree
    opt_state: PyTree
    step: Int[Array, ""]


class TrainResult(eqx.Module):
    """What `train` returns.

    **Fields:** `model` (trained), `opt_state`, `step` (steps taken in all, across resumes),
    `losses` (training loss per step), `evals` (list of `(step, value)`), `best_eval`,
    `stopped_early`, `seconds` (wall time of this call).
    """

    model: PyTree
    opt_state: PyTree
    step: int = eqx.field(static=True)
    losses: np.ndarray
    evals: tuple[tuple[int, float], ...] = eqx.field(static=True)
    best_eval: float = eqx.field(static=True)
    stopped_early: bool = eqx.field(static=True)
    seconds: float = eqx.field(static=True)


def _make_step(static, loss_fn, optimizer, batch_fn, key, shard, with_step):
    @message_first()
    @eqx.filter_jit
    def step(state: TrainState):
        step_key = jax.random.fold_in(key, state.step)
        data_key, loss_key = jax.random.split(step_key)
        batch = batch_fn(data_key) if batch_fn is not None else None
        if shard and batch is not None:
            batch = jax.lax.with_sharding_constraint(batch, shard)

        def objective(params):
            model = eqx.combine(params, static)
            if with_step:
                return loss_fn(model, batch, loss_key, state.step)
            return loss_fn(model, batch, loss_key)

        loss, grads = jax.value_and_grad(objective)(state.params)
        loss = eqx.error_if(
            loss, ~jnp.isfinite(loss), "train: the loss (`loss_fn`'s value) became NaN or inf; lower the learning rate or check the loss"
        )
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        return TrainState(params, opt_state, state.step + 1), loss

    return step


def _batch_sharding(batch_fn, key):
    """A sharding that splits the batch's leading axis over all devices, if there are several."""
    if batch_fn is None or jax.device_count() == 1:
        return None
    example = jax.eval_shape(batch_fn, key)
    n = jax.device_count()
    from ._devices import BATCH_AXIS, batch_mesh

    mesh = batch_mesh()
    spec = jax.sharding.PartitionSpec(BATCH_AXIS)

    def leaf_sharding(x):
        if x.ndim == 0 or x.shape[0] % n:
            raise ValueError(
                f"train: with {n} devices the batch's leading axis must be a multiple of {n}, got {x.shape}"
            )
        return jax.sharding.NamedSharding(mesh, spec)

    return jax.tree_util.tree_map(leaf_sharding, example)


def train(
    model: PyTree,
    loss_fn: Callable[[PyTree, Any, KeyArray], Float[Array, ""]],
    optimizer: optax.GradientTransformation,
    key: KeyArray,
    *,
    num_steps: int,
    batch_fn: Callable[[KeyArray], PyTree] | None = None,
    eval_fn: Callable[[PyTree], Float[Array, ""]] | None = None,
    eval_every: int = 100,
    patience: int | None = None,
    min_delta: float = 0.0,
    checkpoint_path: str | os.PathLike | None = None,
    checkpoint_every: int = 100,
    resume: bool = True,
    progress_bar: bool = True,
    stop_after: int | None = None,
    with_step: bool = False,
) -> TrainResult:
    """Train `model` (any Equinox module / pytree) by minimising `loss_fn` with `optimizer`.

    **Arguments:**
    - `loss_fn(model, batch, key) -> scalar`: the loss of one batch.
    - `key`: all randomness of the run; step `i` uses `fold_in(key, i)` for its batch and loss.
    - `num_steps`: total optimiser steps (counted across resumes).
    - `batch_fn(key) -> batch`: draws a batch (keyed; `None` means the loss takes `batch=None`).
      With several devices the batch's leading axis is split over them (data parallel).
    - `eval_fn(model) -> scalar`: evaluated every `eval_every` steps and at the end; lower
      is better. With `patience`, training stops early after `patience` evaluations without
      an improvement larger than `min_delta` (on the training loss if there is no `eval_fn`).
    - `checkpoint_path`: written atomically every `checkpoint_every` steps and at the end.
      If it exists and `resume` is true, training continues from it exactly; a corrupt or
      mismatched checkpoint raises `CheckpointError`.
    - `stop_after`: stop after this many steps in this call (for tests and time budgets).
    - `with_step`: call `loss_fn(model, batch, key, step)` instead, for schedules in the loss
      (temperature or KL annealing); `step` is a traced int32 counting from 0.

    **Returns:** a `TrainResult`.
    """
    require_key("train", key)
    for name, value, low in (("num_steps", num_steps, 0), ("eval_every", eval_every, 1),
                             ("checkpoint_every", checkpoint_every, 1)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
            raise ValueError(f"train: `{name}` must be an integer >= {low}, got {value!r}")
    if not callable(loss_fn):
        raise TypeError(f"train: `loss_fn` must be callable, got {type(loss_fn).__name__}")
    if patience is not None and (not isinstance(patience, int) or patience < 1):
        raise ValueError(f"train: `patience` must be >= 1 or None, got {patience}")
    start_time = time.perf_counter()
    params, static = eqx.partition(model, eqx.is_inexact_array)
    state = TrainState(params, optimizer.init(params), jnp.asarray(0, jnp.int32))
    losses: list[float] = []
    evals: list[tuple[int, float]] = []
    best, stale = math.inf, 0

    path = Path(checkpoint_path) if checkpoint_path is not None else None
    if path is not None and resume and path.exists():
        state, meta = load_checkpoint(path, state)
        losses = list(meta["losses"])
        evals = [tuple(e) for e in meta["evals"]]
        best, stale = meta["best"], meta["stale"]
        if meta.get("stopped_early"):
            num_steps = int(state.step)
        elif int(state.step) > num_steps:
            raise ValueError(
                f"train: the checkpoint {path} holds {int(state.step)} steps, more than `num_steps`={num_steps}; "
                "pass num_steps >= the checkpoint's steps, another `checkpoint_path`, or resume=False"
            )

    def checkpoint(stopped_early=False):
        if path is not None:
            meta = {"losses": losses, "evals": evals, "best": best, "stale": stale, "stopped_early": stopped_early}
            save_checkpoint(path, state, meta)

    step_fn = _make_step(static, loss_fn, optimizer, batch_fn, key, _batch_sharding(batch_fn, key), with_step)
    first = int(state.step)
    last = num_steps if stop_after is None else min(num_steps, first + stop_after)
    bar = None
    if progress_bar:
        from tqdm.auto import tqdm

        bar = tqdm(total=num_steps, initial=first, desc="train", dynamic_ncols=True)
    stopped_early = False

    def evaluate(step):
        nonlocal best, stale
        value = float(eval_fn(eqx.combine(state.params, static))) if eval_fn is not None else losses[-1]
        if eval_fn is not None:
            evals.append((step, value))
        if value < best - min_delta:
            best, stale = value, 0
        else:
            stale += 1

    try:
        for i in range(first, last):
            state, loss = step_fn(state)
            losses.append(float(loss))
            done = i + 1
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{losses[-1]:.4g}", refresh=False)
            if done % eval_every == 0 or done == num_steps:
                evaluate(done)
                if patience is not None and stale >= patience:
                    stopped_early = True
            if done % checkpoint_every == 0 or done == last or stopped_early:
                checkpoint(stopped_early)
            if stopped_early:
                break
    finally:
        if bar is not None:
            bar.close()
    if path is not None and last == first:
        checkpoint(stopped_early)
    return TrainResult(
        model=eqx.combine(state.params, static),
        opt_state=state.opt_state,
        step=int(state.step),
        losses=np.asarray(losses),
        evals=tuple(evals),
        best_eval=float(best),
        stopped_early=stopped_early,
        seconds=time.perf_counter() - start_time,
    )

