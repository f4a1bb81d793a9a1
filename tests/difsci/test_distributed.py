"""Multi-process data-parallel training on JAX's own engine (jax.distributed, loopback)."""

import os
import socket
import subprocess
import sys
import textwrap

import numpy as np

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
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    port = str(_free_port())
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
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
    single = _result(run_with_devices(WORKER, num_devices=1))
    assert single[:2] == (1, 1)
    for processes, devices, values in outs:
        assert (processes, devices) == (2, 2)
        np.testing.assert_allclose(values, single[2], rtol=1e-10)
