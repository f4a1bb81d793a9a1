"""The training loop: convergence, exact resumption, checkpoints, early stopping."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import difsci as ds

from ..helpers import run_with_devices, tree_allclose


class Linear(eqx.Module):
    w: jax.Array
    name: str = "linear"


A = jnp.asarray(np.random.default_rng(0).normal(size=(20, 3)))
B = jnp.asarray(np.random.default_rng(1).normal(size=20))


def quadratic(model, batch, key):
    return jnp.mean((A @ model.w - B) ** 2)


def noisy_quadratic(model, batch, key):
    # A stochastic loss: minibatch rows drawn with the step's key.
    rows = batch
    return jnp.mean((A[rows] @ model.w - B[rows]) ** 2)


def batch_fn(key):
    return jax.random.choice(key, 20, (8,), replace=False)


def test_convex_loss_reaches_known_minimum(key):
    result = ds.train(Linear(jnp.zeros(3)), quadratic, optax.adam(0.05), key, num_steps=1500, progress_bar=False)
    w_star = np.linalg.lstsq(np.asarray(A), np.asarray(B), rcond=None)[0]
    np.testing.assert_allclose(result.model.w, w_star, atol=1e-4)
    assert result.model.name == "linear" and result.step == 1500
    assert result.losses.shape == (1500,) and result.losses[-1] < result.losses[0]


def test_resume_is_bit_for_bit(tmp_path, key):
    kwargs = dict(num_steps=40, batch_fn=batch_fn, progress_bar=False, checkpoint_every=7)
    full = ds.train(Linear(jnp.zeros(3)), noisy_quadratic, optax.adam(0.1), key, **kwargs)
    path = tmp_path / "ckpt.eqx"
    part = ds.train(Linear(jnp.zeros(3)), noisy_quadratic, optax.adam(0.1), key, checkpoint_path=path, stop_after=17, **kwargs)
    assert part.step == 17 and path.exists()
    rest = ds.train(Linear(jnp.zeros(3)), noisy_quadratic, optax.adam(0.1), key, checkpoint_path=path, **kwargs)
    assert rest.step == 40
    np.testing.assert_array_equal(rest.model.w, full.model.w)
    np.testing.assert_array_equal(rest.losses, full.losses)
    assert tree_allclose(rest.opt_state, full.opt_state, rtol=0, atol=0)


KILL_SCRIPT = textwrap.dedent(
    """
    import sys, time
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp, numpy as np, optax, equinox as eqx
    import difsci as ds

    class Linear(eqx.Module):
        w: jax.Array

    A = jnp.asarray(np.random.default_rng(0).normal(size=(20, 3)))
    B = jnp.asarray(np.random.default_rng(1).normal(size=20))

    def loss(model, rows, key):
        return jnp.mean((A[rows] @ model.w - B[rows]) ** 2)

    def batch_fn(key):
        return jax.random.choice(key, 20, (8,), replace=False)

    def slow_eval(model):
        time.sleep(float(sys.argv[2]))  # keeps the run alive long enough to be killed mid-way
        return 0.0

    result = ds.train(Linear(jnp.zeros(3)), loss, optax.adam(0.1), jax.random.key(3), num_steps=60,
                      batch_fn=batch_fn, eval_fn=slow_eval, eval_every=1, checkpoint_path=sys.argv[1],
                      checkpoint_every=4, progress_bar=False)
    np.save(sys.argv[1] + ".w.npy", np.asarray(result.model.w))
    print("steps", result.step)
    """
)


def test_resume_after_sigkill(tmp_path):
    script = tmp_path / "train_script.py"
    script.write_text(KILL_SCRIPT)
    ckpt = str(tmp_path / "run.ckpt")
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    reference = subprocess.run([sys.executable, str(script), str(tmp_path / "ref.ckpt"), "0"], env=env, capture_output=True, text=True, timeout=300)
    assert reference.returncode == 0, reference.stderr
    proc = subprocess.Popen([sys.executable, str(script), ckpt, "0.05"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while not os.path.exists(ckpt) and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert not os.path.exists(ckpt + ".w.npy")
    resumed = subprocess.run([sys.executable, str(script), ckpt, "0"], env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert "steps 60" in resumed.stdout
    np.testing.assert_array_equal(np.load(ckpt + ".w.npy"), np.load(str(tmp_path / "ref.ckpt") + ".w.npy"))


def test_corrupt_and_mismatched_checkpoints_are_errors(tmp_path, key):
    path = tmp_path / "c.ckpt"
    ds.train(Linear(jnp.zeros(3)), quadratic, optax.sgd(0.1), key, num_steps=3, checkpoint_path=path, progress_bar=False)
    with pytest.raises(ds.CheckpointError, match="different model"):
        ds.train(Linear(jnp.zeros(4)), quadratic, optax.sgd(0.1), key, num_steps=5, checkpoint_path=path, progress_bar=False)
    with pytest.raises(ds.CheckpointError, match="different model"):
        ds.train(Linear(jnp.zeros(3)), quadratic, optax.adam(0.1), key, num_steps=5, checkpoint_path=path, progress_bar=False)
    data = path.read_bytes()
    path.write_bytes(data[:-5])
    with pytest.raises(ds.CheckpointError, match="corrupt or truncated"):
        ds.train(Linear(jnp.zeros(3)), quadratic, optax.sgd(0.1), key, num_steps=5, checkpoint_path=path, progress_bar=False)
    path.write_bytes(b"hello")
    with pytest.raises(ds.CheckpointError, match="not a difsci checkpoint"):
        ds.load_checkpoint(path, Linear(jnp.zeros(3)))


def test_resuming_a_checkpoint_past_num_steps_is_an_error(tmp_path, key):
    path = tmp_path / "c.ckpt"
    ds.train(Linear(jnp.zeros(3)), quadratic, optax.sgd(0.1), key, num_steps=10, checkpoint_path=path, progress_bar=False)
    with pytest.raises(ValueError, match="holds 10 steps, more than `num_steps`=5"):
        ds.train(Linear(jnp.zeros(3)), quadratic, optax.sgd(0.1), key, num_steps=5, checkpoint_path=path, progress_bar=False)
    result = ds.train(Linear(jnp.zeros(3)), quadratic, optax.sgd(0.1), key, num_steps=10, checkpoint_path=path, progress_bar=False)
    assert result.step == 10


def test_save_is_atomic_and_leaves_no_temporaries(tmp_path):
    tree = {"a": jnp.arange(3.0), "b": jnp.asarray(2, jnp.int32)}
    ds.save_checkpoint(tmp_path / "t.ckpt", tree, {"note": "x"})
    ds.save_checkpoint(tmp_path / "t.ckpt", {"a": jnp.ones(3), "b": jnp.asarray(5, jnp.int32)})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.ckpt"]
    loaded, meta = ds.load_checkpoint(tmp_path / "t.ckpt", tree)
    np.testing.assert_array_equal(loaded["a"], np.ones(3))
    assert int(loaded["b"]) == 5 and meta == {}


def test_early_stopping_and_evaluation(key):
    evals = []

    def eval_fn(model):
        value = float(quadratic(model, None, None))
        evals.append(value)
        return value

    result = ds.train(
        Linear(jnp.zeros(3)), quadratic, optax.adam(0.05), key, num_steps=5000,
        eval_fn=eval_fn, eval_every=50, patience=3, min_delta=1e-6, progress_bar=False,
    )
    assert result.stopped_early and result.step < 5000
    assert [s for s, _ in result.evals] == list(range(50, result.step + 1, 50))
    assert result.best_eval == pytest.approx(min(evals))


def test_nan_loss_is_an_error(key):
    def bad(model, batch, key):
        return jnp.sum(jnp.log(model.w - 10.0))

    with pytest.raises(Exception, match="NaN or inf"):
        ds.train(Linear(jnp.zeros(3)), bad, optax.sgd(0.1), key, num_steps=2, progress_bar=False)


@pytest.mark.parametrize("kwargs, words", [({"num_steps": -1}, "num_steps"), ({"num_steps": 5, "patience": 0}, "patience"), ({"num_steps": 5, "eval_every": 0}, "eval_every")])
def test_bad_arguments(kwargs, words, key):
    with pytest.raises(ValueError, match=words):
        ds.train(Linear(jnp.zeros(3)), quadratic, optax.sgd(0.1), key, progress_bar=False, **kwargs)


def test_data_parallel_over_four_devices_matches_one():
    from .test_distributed import WORKER, _result

    one = _result(run_with_devices(WORKER, num_devices=1))
    four = _result(run_with_devices(WORKER, num_devices=4))
    assert one[:2] == (1, 1) and four[:2] == (1, 4)
    np.testing.assert_allclose(four[2], one[2], rtol=1e-10)


def test_set_host_device_count():
    out = run_with_devices(
        "import os; os.environ.pop('XLA_FLAGS', None)\n"
        "import difsci as ds; ds.set_host_device_count(3)\n"
        "import jax; print(jax.device_count())\n"
        "try:\n    ds.set_host_device_count(2)\nexcept RuntimeError as e:\n    print('late', 'before JAX initialises' in str(e))\n",
        num_devices=1,
    )
    assert out.split() == ["3", "late", "True"]
    with pytest.raises(ValueError, match="positive integer"):
        ds.set_host_device_count(0)


def test_loss_can_see_the_step(key):

    def loss(model, batch, key, step):
        # A schedule in the loss: the weight of the quadratic doubles after step 10.
        weight = jnp.where(step < 10, 1.0, 2.0)
        return weight * quadratic(model, batch, key)

    result = ds.train(Linear(jnp.zeros(3)), loss, optax.sgd(0.01), key, num_steps=20, with_step=True, progress_bar=False)
    ref = ds.train(Linear(jnp.zeros(3)), quadratic, optax.sgd(0.01), key, num_steps=10, progress_bar=False)
    np.testing.assert_allclose(result.losses[:10], ref.losses, rtol=1e-12)
    w10 = ds.train(Linear(jnp.zeros(3)), loss, optax.sgd(0.01), key, num_steps=11, with_step=True, progress_bar=False)
    np.testing.assert_allclose(w10.losses[10], 2 * float(quadratic(ref.model, None, None)), rtol=1e-12)
