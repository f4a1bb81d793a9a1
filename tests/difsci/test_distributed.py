"""Multi-process runs on JAX's own engine (jax.distributed, loopback): data-parallel training,
and NUTS chains spread over the processes' devices."""

import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from ..helpers import run_with_devices

WORKER = textwrap.dedent(
    """
    import sys
    import jax
    jax.config.update("jax_enable_x64", True)
    if len(sys.argv) > 1:
        jax.distributed.initialize(coordinator_address=f"127.0.0.1:{sys.argv[2]}", num_processes=2, process_id=int(sys.argv[1]))
    import jax.numpy as jnp, numpy as np, optax
    import difsci as ds
    A = jnp.asarray(np.random.default_rng(0).normal(size=(64, 3)))
    B = jnp.asarray(np.random.default_rng(1).normal(size=64))
    def loss(w, rows, key):
        return jnp.mean((A[rows] @ w - B[rows]) ** 2)
    def batch_fn(key):
        return jax.random.choice(key, 64, (16,), replace=False)
    r = ds.train(jnp.zeros(3), loss, optax.adam(0.05), jax.random.key(0), num_steps=25, batch_fn=batch_fn, progress_bar=False)
    print("RESULT", jax.process_count(), jax.device_count(), repr(np.asarray(r.model).tolist()))
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _result(stdout: str):
    line = next(l for l in stdout.splitlines() if l.startswith("RESULT"))
    _, processes, devices, values = line.split(maxsplit=3)
    return int(processes), int(devices), np.asarray(eval(values))


def test_two_processes_train_like_one(tmp_path):
    outs = _two_processes(tmp_path, WORKER)
    single = _result(run_with_devices(WORKER, num_devices=1))
    assert single[:2] == (1, 1)
    for processes, devices, values in outs:
        assert (processes, devices) == (2, 2)
        np.testing.assert_allclose(values, single[2], rtol=1e-10)


NUTS_WORKER = textwrap.dedent(
    """
    import sys
    import jax
    jax.config.update("jax_enable_x64", True)
    if len(sys.argv) > 1:
        jax.distributed.initialize(coordinator_address=f"127.0.0.1:{sys.argv[2]}", num_processes=2, process_id=int(sys.argv[1]))
    import warnings
    import jax.numpy as jnp, numpy as np
    import difsci as ds
    warnings.simplefilter("ignore", ds.ChainHealthWarning)  # a short run
    def model(y):
        mu = ds.sample("mu", ds.Normal(0.0, 1.0))
        ds.sample("y", ds.Normal(mu, 1.0), obs=y)
    r = ds.nuts(model, jax.random.key(4), jnp.array([0.5, 1.5]), num_warmup=20, num_samples=20, num_chains=2,
                compilation_cache=False)
    print("RESULT", jax.process_count(), jax.device_count(), repr(np.asarray(r.samples["mu"]).tolist()))
    """
)


def _two_processes(tmp_path, code):
    script = tmp_path / "worker.py"
    script.write_text(code)
    port = str(_free_port())
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    # The script lives in tmp_path, so the checkout under test goes first on the path.
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    env.pop("XLA_FLAGS", None)
    procs = [
        subprocess.Popen([sys.executable, str(script), str(i), port], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(2)
    ]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        outs.append(_result(out))
    return outs


@pytest.mark.slow  # three fresh processes compiling a sampler (~40 s on the loaded 2-core machine)
def test_nuts_chains_over_two_processes_draw_like_one(tmp_path):
    outs = _two_processes(tmp_path, NUTS_WORKER)
    single = _result(run_with_devices(NUTS_WORKER, num_devices=1))
    assert single[:2] == (1, 1) and single[2].shape == (2, 20)
    for processes, devices, values in outs:  # one chain per process; every process gets all draws
        assert (processes, devices) == (2, 2)
        np.testing.assert_allclose(values, single[2], rtol=1e-10)
