"""The difsci half of benchmarks/ad_overhead.py (the PyTorch half needs the bench extras)."""

import runpy
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

BENCHMARK = Path(__file__).parents[2] / "benchmarks" / "ad_overhead.py"


def test_op_count_expands_loops():
    bench = runpy.run_path(str(BENCHMARK))

    def f(x):
        y, _ = jax.lax.scan(lambda c, _: (jnp.sin(c) * 2.0, None), x, length=5)
        return jax.lax.cond(y > 0, lambda: y + 1.0, lambda: y) + jnp.cos(x)

    jaxpr = jax.make_jaxpr(f)(1.0).jaxpr
    # 5 x (sin, mul); gt, the bool->index convert, cond + its larger branch (add); cos, add.
    assert bench["count_jaxpr_ops"](jaxpr) == 5 * 2 + 2 + 2 + 2


def test_difsci_half_runs_and_agrees():
    bench = runpy.run_path(str(BENCHMARK))
    grads = bench["difsci_gradients"](2)  # asserts compiled == eager jax.grad of the plain loop
    assert all(np.all(np.isfinite(g)) and np.any(g != 0) for g in jax.tree.leaves(grads))
    results = bench["measure_difsci"](layers=(1, 2), batch_sizes=(1, 2), repeats=3)
    assert results[2]["ops"] > results[1]["ops"] > 100
    for r in results.values():
        assert len(r["times_s"]) == 2 and min(r["times_s"]) > 0
        assert np.isfinite(r["per_op_s"])
