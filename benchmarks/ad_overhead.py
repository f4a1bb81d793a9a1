"""Fixed AD overhead per primitive op: difsci (compiled) vs PyTorch (eager), Zygote's Table 1 method.

The model is the Zygote paper's: stacked LSTMs (1-3 layers, hidden and input size 4,
sequence length 4) written as a plain Python loop over time steps and layers, with the
loss the sum of the top layer's outputs. For each depth, one gradient evaluation
(forward + backward: `jax.jit(jax.grad(loss))` for difsci, `loss.backward()` after the
forward for PyTorch, which records its tape during that forward) is timed at batch sizes
1-8, taking the minimum over repetitions; a straight line through those times has an
intercept at batch 0 (the cost that does not scale with the data) which, divided by the
number of primitive ops, is the fixed overhead per op. Eager `jax.grad` of the same
plain Python function is measured the same way, for the record.

Primitive ops are counted on each side by what it executes:
- JAX: equations of the jaxpr of `grad(loss)`, with loop bodies counted once per
  iteration and wrappers (pjit, custom_jvp, remat) looked through;
- PyTorch: ATen ops dispatched during the forward and the backward, counted with a
  `TorchDispatchMode`.

    python benchmarks/ad_overhead.py [--quick]
"""

import argparse
import os
import sys
import time
from pathlib import Path

import jax
import jax.extend as jex
import jax.numpy as jnp
import numpy as np

import difsci as ds

sys.path.insert(0, str(Path(__file__).parent))
from _common import report  # noqa: E402

HIDDEN = 4
SEQUENCE = 4
BATCH_SIZES = tuple(range(1, 9))
LAYERS = (1, 2, 3)


def lstm_loss(cells, xs):
    """Sum of the top layer's outputs of stacked LSTMs; `cells` is a tuple of (w, b), `xs` (time, batch, 4)."""
    batch = xs.shape[1]
    hs = tuple(jnp.zeros((batch, HIDDEN), xs.dtype) for _ in cells)
    cs = hs
    loss = jnp.zeros((), xs.dtype)
    for t in range(xs.shape[0]):
        x = xs[t]
        new_hs, new_cs = [], []
        for (w, b), h, c in zip(cells, hs, cs):
            gates = jnp.concatenate([x, h], axis=1) @ w + b
            i, f, g, o = jnp.split(gates, 4, axis=1)
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            h = jax.nn.sigmoid(o) * jnp.tanh(c)
            new_hs.append(h)
            new_cs.append(c)
            x = h
        hs, cs = tuple(new_hs), tuple(new_cs)
        loss = loss + jnp.sum(x)
    return loss


# The same function, converted: the loop over time becomes a lax.scan.
autographed_loss = ds.autograph(lstm_loss)


def init_cells(layers: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return tuple(
        (
            (rng.standard_normal((2 * HIDDEN, 4 * HIDDEN)) / np.sqrt(2 * HIDDEN)).astype(np.float32),
            (0.1 * rng.standard_normal(4 * HIDDEN)).astype(np.float32),
        )
        for _ in range(layers)
    )


def inputs(batch: int, seed: int = 1):
    return np.random.default_rng(seed).standard_normal((SEQUENCE, batch, HIDDEN)).astype(np.float32)


def count_jaxpr_ops(jaxpr) -> int:
    """Primitive ops a jaxpr executes: loop bodies once per iteration, wrappers looked through."""
    total = 0
    for eqn in jaxpr.eqns:
        name = eqn.primitive.name
        subs = [j.jaxpr if isinstance(j, jex.core.ClosedJaxpr) else j for j in jex.core.jaxprs_in_params(eqn.params)]
        if name == "scan":
            total += eqn.params["length"] * sum(count_jaxpr_ops(s) for s in subs)
        elif name == "cond":
            total += 1 + max(count_jaxpr_ops(s) for s in subs)
        elif name == "while":
            raise ValueError("a while loop's trip count is unknown: cannot count its ops")
        elif subs:
            total += sum(count_jaxpr_ops(s) for s in subs)
        else:
            total += 1
    return total


def fit_intercept(batch_sizes, seconds) -> float:
    slope, intercept = np.polyfit(np.asarray(batch_sizes, float), np.asarray(seconds, float), 1)
    return float(intercept)


def min_seconds(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def measure_difsci(layers=LAYERS, batch_sizes=BATCH_SIZES, repeats: int = 300) -> dict:
    """The difsci half: compiled gradients of the autographed LSTM, per depth."""
    results = {}
    for depth in layers:
        cells = jax.tree.map(jnp.asarray, init_cells(depth))
        ops = count_jaxpr_ops(jax.make_jaxpr(jax.grad(autographed_loss))(cells, jnp.asarray(inputs(1))).jaxpr)
        grad = jax.jit(jax.grad(autographed_loss))
        times, compile_s = [], 0.0
        for batch in batch_sizes:
            xs = jnp.asarray(inputs(batch))
            start = time.perf_counter()
            compiled = grad.lower(cells, xs).compile()
            compile_s += time.perf_counter() - start
            jax.block_until_ready(compiled(cells, xs))
            times.append(min_seconds(lambda: jax.block_until_ready(compiled(cells, xs)), repeats))
        intercept = fit_intercept(batch_sizes, times)
        results[depth] = {"ops": ops, "intercept_s": intercept, "per_op_s": intercept / ops, "times_s": times,
                          "compile_s": compile_s}
    return results


def measure_jax_eager(layers, batch_sizes, repeats: int) -> dict:
    """Eager `jax.grad` of the plain Python function (no jit), for the record."""
    results = {}
    for depth in layers:
        cells = jax.tree.map(jnp.asarray, init_cells(depth))
        ops = count_jaxpr_ops(jax.make_jaxpr(jax.grad(lstm_loss))(cells, jnp.asarray(inputs(1))).jaxpr)
        grad = jax.grad(lstm_loss)
        times = []
        for batch in batch_sizes:
            xs = jnp.asarray(inputs(batch))
            jax.block_until_ready(grad(cells, xs))
            times.append(min_seconds(lambda: jax.block_until_ready(grad(cells, xs)), repeats))
        intercept = fit_intercept(batch_sizes, times)
        results[depth] = {"ops": ops, "intercept_s": intercept, "per_op_s": intercept / ops}
    return results


def torch_loss(torch, cells, xs):
    batch = xs.shape[1]
    hs = [torch.zeros(batch, HIDDEN) for _ in cells]
    cs = list(hs)
    loss = torch.zeros(())
    for t in range(xs.shape[0]):
        x = xs[t]
        for layer, (w, b) in enumerate(cells):
            gates = torch.cat([x, hs[layer]], dim=1) @ w + b
            i, f, g, o = torch.split(gates, HIDDEN, dim=1)
            cs[layer] = torch.sigmoid(f) * cs[layer] + torch.sigmoid(i) * torch.tanh(g)
            hs[layer] = torch.sigmoid(o) * torch.tanh(cs[layer])
            x = hs[layer]
        loss = loss + x.sum()
    return loss


def count_torch_ops(torch, cells, xs) -> int:
    from torch.utils._python_dispatch import TorchDispatchMode

    class Count(TorchDispatchMode):
        n = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            Count.n += 1
            return func(*args, **(kwargs or {}))

    with Count():
        torch_loss(torch, cells, xs).backward()
    for w, b in cells:
        w.grad = b.grad = None
    return Count.n


def measure_torch(torch, layers, batch_sizes, repeats: int) -> dict:
    results = {}
    for depth in layers:
        cells = [tuple(torch.from_numpy(a).requires_grad_() for a in cell) for cell in init_cells(depth)]
        ops = count_torch_ops(torch, cells, torch.from_numpy(inputs(1)))
        times = []
        for batch in batch_sizes:
            xs = torch.from_numpy(inputs(batch))

            def step():
                for w, b in cells:
                    w.grad = b.grad = None
                torch_loss(torch, cells, xs).backward()

            step()
            times.append(min_seconds(step, repeats))
        intercept = fit_intercept(batch_sizes, times)
        results[depth] = {"ops": ops, "intercept_s": intercept, "per_op_s": intercept / ops}
    return results


def difsci_gradients(depth: int, batch: int = 3):
    """Compiled gradients of the autographed loss, checked against eager `jax.grad` of the plain one."""
    cells, xs = jax.tree.map(jnp.asarray, init_cells(depth)), jnp.asarray(inputs(batch))
    compiled = jax.jit(jax.grad(autographed_loss))(cells, xs)
    eager = jax.grad(lstm_loss)(cells, xs)
    for a, b in zip(jax.tree.leaves(compiled), jax.tree.leaves(eager)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    return compiled


def check_same_gradients(torch, layers, batch: int = 3) -> None:
    """Assert difsci (compiled), eager JAX and PyTorch compute the same gradients."""
    for depth in layers:
        compiled = difsci_gradients(depth, batch)
        t_cells = [tuple(torch.from_numpy(a).requires_grad_() for a in cell) for cell in init_cells(depth)]
        torch_loss(torch, t_cells, torch.from_numpy(inputs(batch))).backward()
        t_grads = tuple((w.grad.numpy(), b.grad.numpy()) for w, b in t_cells)
        for a, c in zip(jax.tree.leaves(compiled), jax.tree.leaves(t_grads)):
            np.testing.assert_allclose(np.asarray(a), c, rtol=1e-4, atol=1e-5)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    import torch

    repeats = {"difsci": 30, "torch": 10, "eager": 2} if args.quick else {"difsci": 500, "torch": 100, "eager": 5}
    batch_sizes = (1, 4, 8) if args.quick else BATCH_SIZES
    check_same_gradients(torch, LAYERS)
    difsci = measure_difsci(LAYERS, batch_sizes, repeats["difsci"])
    torch_results = measure_torch(torch, LAYERS, batch_sizes, repeats["torch"])
    eager = measure_jax_eager(LAYERS, batch_sizes, repeats["eager"])

    def us_per_op(results):
        return float(np.mean([r["per_op_s"] for r in results.values()]) * 1e6)

    for depth in LAYERS:
        d, t, e = difsci[depth], torch_results[depth], eager[depth]
        print(f"{depth} layer(s): difsci {d['intercept_s'] * 1e6:8.1f} us / {d['ops']} ops = "
              f"{d['per_op_s'] * 1e6:.4f} us/op | PyTorch {t['intercept_s'] * 1e6:8.1f} us / {t['ops']} ops = "
              f"{t['per_op_s'] * 1e6:.3f} us/op | eager jax.grad {e['intercept_s'] * 1e3:.1f} ms / {e['ops']} ops = "
              f"{e['per_op_s'] * 1e6:.1f} us/op")
    metrics = {
        "difsci_us_per_op": us_per_op(difsci),
        "torch_us_per_op": us_per_op(torch_results),
        "jax_eager_us_per_op": us_per_op(eager),
        "ratio": us_per_op(torch_results) / us_per_op(difsci),
        "difsci_intercept_us": {str(k): v["intercept_s"] * 1e6 for k, v in difsci.items()},
        "torch_intercept_us": {str(k): v["intercept_s"] * 1e6 for k, v in torch_results.items()},
        "difsci_ops": {str(k): v["ops"] for k, v in difsci.items()},
        "torch_ops": {str(k): v["ops"] for k, v in torch_results.items()},
        "difsci_compile_s": sum(v["compile_s"] for v in difsci.values()),
        "torch_threads": torch.get_num_threads(),
    }
    print(f"fixed AD overhead per op: difsci {metrics['difsci_us_per_op']:.4f} us, PyTorch "
          f"{metrics['torch_us_per_op']:.3f} us ({metrics['ratio']:.0f}x), eager jax.grad "
          f"{metrics['jax_eager_us_per_op']:.1f} us")
    report(
        "ad_overhead",
        metrics,
        f"stacked LSTMs of 1-3 layers, hidden 4, sequence {SEQUENCE}, batch {batch_sizes[0]}-{batch_sizes[-1]}, "
        "float32, same weights and inputs, gradients checked equal; forward + backward per evaluation; "
        f"min over repetitions, intercept of a linear fit in batch size; CPU ({os.cpu_count()} cores), "
        f"PyTorch eager with {torch.get_num_threads()} threads",
    )
    return metrics


if __name__ == "__main__":
    main()
