"""Compiled sampler programs: reused within a process, and loaded from JAX's persistent cache by
a fresh process, with the same draws."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import difsci as ds
from difsci._infer._cache import compilation_cache_dir

RUN = textwrap.dedent(
    """
    import json
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp, numpy as np
    import difsci as ds
    counts = {}
    jax.monitoring.register_event_listener(lambda event, **kw: counts.__setitem__(event, counts.get(event, 0) + 1))

    def model(y):
        mu = ds.sample("mu", ds.Normal(0.0, 1.0))
        ds.sample("y", ds.Normal(mu, 1.0), obs=y)

    y = jnp.array([0.5, 1.5])
    first = ds.nuts(model, jax.random.key(3), y, num_warmup=5, num_samples=5, num_chains=1)
    requests = counts.get("/jax/compilation_cache/compile_requests_use_cache", 0)
    again = ds.nuts(model, jax.random.key(3), y, num_warmup=5, num_samples=5, num_chains=1)
    print("RESULT", json.dumps({
        "draws": np.asarray(first.samples["mu"]).tolist(), "again": np.asarray(again.samples["mu"]).tolist(),
        "requests": requests, "hits": counts.get("/jax/compilation_cache/cache_hits", 0),
        "compiles_again": counts.get("/jax/compilation_cache/compile_requests_use_cache", 0) - requests}))
    """
)


_COMPILES = []
jax.monitoring.register_event_duration_secs_listener(
    lambda event, duration, **kw: _COMPILES.append(event) if event == "/jax/core/compile/backend_compile_duration" else None)


def compiles_during(fn) -> int:
    """How many programs XLA compiled while `fn()` ran."""
    before = len(_COMPILES)
    fn()
    return len(_COMPILES) - before


def _run(cache_dir) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DIFSCI_NO_CACHE", "XLA_FLAGS")}
    # Every program is stored, however fast it compiles (the sampler's take seconds; tiny ones here).
    env.update(DIFSCI_CACHE_DIR=str(cache_dir), JAX_PLATFORMS="cpu", JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0")
    out = subprocess.run([sys.executable, "-c", RUN], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(next(line for line in out.stdout.splitlines() if line.startswith("RESULT"))[7:])


@pytest.mark.slow  # two fresh processes, one compiling the sampler (~30 s on the loaded 2-core machine)
def test_a_fresh_process_loads_the_sampler_from_the_cache(tmp_path):
    cache = tmp_path / "cache"
    cold = _run(cache)
    written = {p.name for p in cache.iterdir()}
    assert cold["hits"] == 0 and sum(name.startswith(("jit_start", "jit_advance")) for name in written) == 2
    warm = _run(cache)
    # Every program the second process compiled after turning the cache on (the sampler's two
    # among them) came from disk, as none has a host callback (JAX stores no such program), and
    # the draws are the same.
    assert warm["hits"] >= 2 and {p.name for p in cache.iterdir()} == written
    assert warm["draws"] == cold["draws"]
    # Within a process, the same model and shapes reuse the compiled programs outright.
    assert cold["compiles_again"] == 0 and warm["compiles_again"] == 0
    assert cold["again"] == cold["draws"]


@pytest.mark.filterwarnings("ignore::difsci.ChainHealthWarning")  # short runs: too few draws to mix
def test_programs_are_shared_only_by_runs_alike():
    def model(y):
        mu = ds.sample("mu", ds.Normal(0.0, 1.0))
        ds.sample("y", ds.Normal(mu, 1.0), obs=y)

    settings = dict(num_warmup=30, num_samples=200, num_chains=1, compilation_cache=False)
    a = ds.nuts(model, jax.random.key(0), jnp.array([0.5, 0.5]), **settings)
    # Other data of the same shape reuse the programs, and give the new data's posterior
    # (mean sum(y) / (n + 1): 1/3 and 4/3).
    b = ds.nuts(model, jax.random.key(0), jnp.array([2.0, 2.0]), **settings)
    assert compiles_during(lambda: ds.nuts(model, jax.random.key(0), jnp.array([1.0, 3.0]), **settings)) == 0
    assert abs(float(np.mean(a.samples["mu"])) - 1 / 3) < 0.3 and abs(float(np.mean(b.samples["mu"])) - 4 / 3) < 0.3
    # Other shapes compile their own (mean 6/4).
    c = ds.nuts(model, jax.random.key(0), jnp.array([2.0, 2.0, 2.0]), **settings)
    assert abs(float(np.mean(c.samples["mu"])) - 1.5) < 0.3


def test_cache_folder_and_switch(tmp_path, monkeypatch):
    for name in ("DIFSCI_CACHE_DIR", "DIFSCI_NO_CACHE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert compilation_cache_dir() == tmp_path / "xdg" / "difsci" / "jax"
    monkeypatch.setenv("DIFSCI_CACHE_DIR", str(tmp_path / "mine"))
    assert compilation_cache_dir() == tmp_path / "mine"
    monkeypatch.setenv("DIFSCI_NO_CACHE", "1")
    assert compilation_cache_dir() is None
    before = jax.config.jax_compilation_cache_dir  # a folder already given to JAX is kept
    assert ds.enable_compilation_cache() == (Path(before) if before else None)
    assert jax.config.jax_compilation_cache_dir == before
