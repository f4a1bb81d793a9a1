"""NUTS/HMC checkpoints: written atomically during warm-up and sampling, resumed bit-for-bit
(after an exception in-process, and after SIGKILL in a subprocess), refused for another run."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import difsci as ds
from difsci._infer import _mcmc
from difsci._infer._kernel import chain_kernel

Y = jnp.array([1.2, 0.3, 2.1, 1.5, 0.9])
RUN = dict(num_warmup=60, num_samples=60, num_chains=2)


def model(y):
    mu = ds.sample("mu", ds.Normal(0.0, 1.0))
    s = ds.sample("s", ds.HalfNormal(1.0))
    ds.sample("y", ds.Normal(mu, s), obs=y)


def same(a, b):
    for name in ("mu", "s"):
        np.testing.assert_array_equal(np.asarray(a.samples[name]), np.asarray(b.samples[name]))
    np.testing.assert_array_equal(np.asarray(a.step_size), np.asarray(b.step_size))
    np.testing.assert_array_equal(np.asarray(a.tree_depth), np.asarray(b.tree_depth))


@pytest.mark.filterwarnings("ignore::difsci.ChainHealthWarning")  # a short run: too few draws to mix
def test_interrupted_run_resumes_exactly(tmp_path, monkeypatch):
    plain = ds.nuts(model, jax.random.key(4), Y, **RUN)
    path = tmp_path / "nuts.ckpt"
    saves = []
    original = _mcmc.save_checkpoint

    def save_then_fail(p, tree, meta):
        original(p, tree, meta)
        saves.append(meta["done"])
        if len(saves) == 3:  # mid-way through warm-up (iterations 0-59 of 120)
            raise KeyboardInterrupt

    monkeypatch.setattr(_mcmc, "save_checkpoint", save_then_fail)
    with pytest.raises(KeyboardInterrupt):
        ds.nuts(model, jax.random.key(4), Y, **RUN, checkpoint_path=path, checkpoint_every=16)
    assert saves == [16, 32, 48] and path.exists()
    monkeypatch.setattr(_mcmc, "save_checkpoint", original)
    resumed = ds.nuts(model, jax.random.key(4), Y, **RUN, checkpoint_path=path, checkpoint_every=16)
    same(resumed, plain)  # chunked and resumed: the draws of one uninterrupted run
    with pytest.raises(ds.CheckpointError, match="another run"):
        ds.nuts(model, jax.random.key(5), Y, **RUN, checkpoint_path=path, checkpoint_every=16)
    with pytest.raises(ValueError, match="checkpoint_every"):
        ds.nuts(model, jax.random.key(4), Y, **RUN, checkpoint_path=path, checkpoint_every=0)


def test_kernel_is_a_pure_init_step_pair():
    # HMC on a standard normal in 2-d; the same state stepped twice gives the same next state.
    log_density = lambda x: -0.5 * jnp.sum(x ** 2)  # noqa: E731
    init, step = chain_kernel(log_density, kind="hmc", num_warmup=20, num_samples=30, target_accept=0.8,
                              max_tree_depth=6, num_integration_steps=3, dense_mass=False)
    x0 = jnp.array([0.5, -0.3])
    state = init(x0, log_density(x0), jax.grad(log_density)(x0), jax.random.key(0))
    assert int(state.step) == 0 and state.key.dtype == jnp.uint32
    step = jax.jit(step)
    a, info = step(state)
    b, _ = step(state)
    assert int(a.step) == 1 and jax.tree_util.tree_all(jax.tree_util.tree_map(jnp.array_equal, a, b))
    np.testing.assert_allclose(info.log_density, log_density(a.position))
    for _ in range(60):  # past the last of 50 iterations the state stops changing
        a, _ = step(a)
    assert int(a.step) == 50


KILL_SCRIPT = textwrap.dedent(
    """
    import sys, time
    import jax, jax.numpy as jnp, numpy as np
    jax.config.update("jax_enable_x64", True)
    import difsci as ds
    from difsci._infer import _mcmc

    original = _mcmc.save_checkpoint

    def slow_save(*args):  # keeps the run alive long enough to be killed mid-way
        original(*args)
        time.sleep(float(sys.argv[2]))

    _mcmc.save_checkpoint = slow_save

    def model(y):
        mu = ds.sample("mu", ds.Normal(0.0, 1.0))
        s = ds.sample("s", ds.HalfNormal(1.0))
        ds.sample("y", ds.Normal(mu, s), obs=y)

    path = None if sys.argv[1] == "none" else sys.argv[1]
    r = ds.nuts(model, jax.random.key(7), jnp.array([1.2, 0.3, 2.1, 1.5, 0.9]), num_warmup=100, num_samples=200,
                num_chains=2, checkpoint_path=path, checkpoint_every=25)
    np.save(sys.argv[3], np.asarray(r.samples["mu"]))
    print("done")
    """
)


@pytest.mark.slow
def test_resume_after_sigkill(tmp_path):
    script = tmp_path / "nuts_script.py"
    script.write_text(KILL_SCRIPT)
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": str(Path(__file__).parents[2])}
    run = lambda *a: subprocess.run([sys.executable, str(script), *map(str, a)], env=env, capture_output=True,  # noqa: E731
                                    text=True, timeout=600)
    reference = run("none", 0, tmp_path / "plain.npy")
    assert reference.returncode == 0, reference.stderr
    ckpt = tmp_path / "run.ckpt"
    proc = subprocess.Popen([sys.executable, str(script), str(ckpt), "0.5", str(tmp_path / "killed.npy")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not ckpt.exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(1.2)  # two or three chunks in: 25-75 of 300 iterations
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert not (tmp_path / "killed.npy").exists()
    resumed = run(ckpt, 0, tmp_path / "resumed.npy")
    assert resumed.returncode == 0, resumed.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "resumed.npy"), np.load(tmp_path / "plain.npy"))
