"""K-FAC: Kronecker factors, preconditioning and Fisher products against dense references;
steps to a target loss against Adam with its best learning rate (counted, not timed)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import difsci as ds
from difsci._optimizers._kfac import _fisher_gram, _precondition

KEY = jax.random.key(0)


def _mlp(in_size=2, out_size=3, width=5, depth=2, key=KEY, **kwargs):
    return eqx.nn.MLP(in_size, out_size, width, depth, activation=jnp.tanh, key=key, **kwargs)


def _by_hand(mlp, x):
    """Each layer's inputs and pre-activations, written out (independent of the module under test)."""
    inputs, pre = [], []
    h = x
    for i, layer in enumerate(mlp.layers):
        inputs.append(h)
        s = layer.weight @ h + layer.bias
        pre.append(s)
        h = jnp.tanh(s) if i < len(mlp.layers) - 1 else s
    return h, inputs, pre


@pytest.mark.parametrize("likelihood", ["gaussian", "categorical"])
def test_factors_match_per_example_gradients(likelihood):
    mlp = _mlp()
    x = jax.random.normal(jax.random.key(1), (7, 2))
    key = jax.random.key(2)
    factors = ds.optimizers.kfac_curvature(mlp, x, key, likelihood=likelihood)
    out = jax.vmap(mlp)(x)
    # The sampled targets, drawn as documented: y ~ p(y | x) from the model's predictive.
    if likelihood == "gaussian":
        y = out + jax.random.normal(key, out.shape)
        nll = lambda o, t: 0.5 * jnp.sum((o - t) ** 2)  # noqa: E731
    else:
        y = jax.random.categorical(key, out)
        nll = lambda o, t: -jax.nn.log_softmax(o)[t]  # noqa: E731
    assert len(factors) == len(mlp.layers)
    for i in range(len(mlp.layers)):
        a_rows, g_rows = [], []
        for n in range(x.shape[0]):
            _, inputs, pre = _by_hand(mlp, x[n])

            def from_pre(s, n=n, i=i):
                h = jnp.tanh(s) if i < len(mlp.layers) - 1 else s
                for layer in mlp.layers[i + 1:-1]:
                    h = jnp.tanh(layer.weight @ h + layer.bias)
                if i < len(mlp.layers) - 1:
                    h = mlp.layers[-1].weight @ h + mlp.layers[-1].bias
                return nll(h, y[n])

            a_rows.append(jnp.append(inputs[i], 1.0))
            g_rows.append(jax.grad(from_pre)(pre[i]))
        a, g = jnp.stack(a_rows), jnp.stack(g_rows)
        np.testing.assert_allclose(factors[i].inputs, a.T @ a / len(a), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(factors[i].output_gradients, g.T @ g / len(g), rtol=1e-5, atol=1e-6)


def test_gaussian_output_factor_is_identity_in_expectation():
    mlp = _mlp()
    x = jnp.tile(jax.random.normal(jax.random.key(1), (1, 2)), (20000, 1))
    g = ds.optimizers.kfac_curvature(mlp, x, jax.random.key(3))[-1].output_gradients
    np.testing.assert_allclose(g, np.eye(3), atol=0.03)


def test_preconditioning_is_the_damped_kronecker_inverse():
    mlp = _mlp()
    x = jax.random.normal(jax.random.key(1), (9, 2))
    factors = ds.optimizers.kfac_curvature(mlp, x, jax.random.key(2))
    layer = mlp.layers[1]
    grad = eqx.tree_at(lambda l: (l.weight, l.bias), layer, (jax.random.normal(KEY, layer.weight.shape), jnp.arange(5.0)))
    damping = 0.01
    step = _precondition(grad, factors[1], jnp.asarray(damping))
    a, g = np.asarray(factors[1].inputs, np.float64), np.asarray(factors[1].output_gradients, np.float64)
    pi = np.sqrt((np.trace(a) / len(a)) / (np.trace(g) / len(g)))
    a_d = a + pi * np.sqrt(damping) * np.eye(len(a))
    g_d = g + np.sqrt(damping) / pi * np.eye(len(g))
    full = np.concatenate([np.asarray(grad.weight), np.asarray(grad.bias)[:, None]], axis=1)
    # Column-stacking vec: vec(G^-1 X A^-1) = (A^-1 (x) G^-1) vec(X).
    expected = np.linalg.solve(np.kron(a_d, g_d), full.reshape(-1, order="F")).reshape(full.shape, order="F")
    np.testing.assert_allclose(step.weight, expected[:, :-1], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(step.bias, expected[:, -1], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("likelihood", ["gaussian", "categorical"])
def test_fisher_gram_matches_dense_fisher(likelihood):
    mlp = _mlp()
    x = jax.random.normal(jax.random.key(1), (6, 2))
    params, static = eqx.partition(mlp, eqx.is_inexact_array)
    flat, unravel = jax.flatten_util.ravel_pytree(params)
    u, v = jax.random.normal(jax.random.key(4), (2, flat.size))
    gram = _fisher_gram(mlp, x, likelihood, (unravel(u), unravel(v)))
    jac = jax.jacobian(lambda f: jax.vmap(eqx.combine(unravel(f), static))(x))(flat)  # (n, out, p)
    out = jax.vmap(mlp)(x)
    if likelihood == "gaussian":
        hess = jnp.broadcast_to(jnp.eye(3), (6, 3, 3))
    else:
        p = jax.nn.softmax(out)
        hess = jax.vmap(lambda q: jnp.diag(q) - jnp.outer(q, q))(p)
    fisher = jnp.einsum("nop,noq,nqr->pr", jac, hess, jac) / 6
    dense = jnp.array([[w @ fisher @ z for z in (u, v)] for w in (u, v)])
    np.testing.assert_allclose(gram, dense, rtol=1e-4, atol=1e-6)


def _regression():
    x = jnp.linspace(-3, 3, 128)[:, None]
    return x, jnp.sin(2 * x) + 0.3 * x


def _steps_to(target, losses):
    below = np.flatnonzero(np.asarray(losses) <= target)
    return int(below[0]) + 1 if below.size else None


TARGET = 2e-3  # 0.5 * mean squared error on the regression below


@pytest.fixture(scope="module")
def kfac_losses():
    x, y = _regression()
    mlp = eqx.nn.MLP(1, 1, 32, 2, activation=jnp.tanh, key=jax.random.key(5))
    opt = ds.optimizers.kfac()
    state = opt.init(eqx.filter(mlp, eqx.is_inexact_array))

    def step(carry, key):
        mlp, state = carry
        mlp, state, loss = ds.optimizers.kfac_step(mlp, state, opt, x, y, key)
        return (mlp, state), loss

    params, static = eqx.partition(mlp, eqx.is_inexact_array)

    @jax.jit
    def run(params, state):
        def body(carry, key):
            (p, s), loss = step((eqx.combine(carry[0], static), carry[1]), key)
            return (eqx.filter(p, eqx.is_inexact_array), s), loss

        return jax.lax.scan(body, (params, state), jax.random.split(jax.random.key(6), 300))[1]

    return np.asarray(run(params, state))


def test_kfac_reaches_target_in_fewer_steps_than_tuned_adam(kfac_losses):
    x, y = _regression()
    mlp = eqx.nn.MLP(1, 1, 32, 2, activation=jnp.tanh, key=jax.random.key(5))
    params, static = eqx.partition(mlp, eqx.is_inexact_array)
    loss_fn = lambda p: ds.optimizers.mlp_loss(eqx.combine(p, static), x, y)  # noqa: E731

    @jax.jit
    def adam_losses(lr):
        opt = optax.adam(lr)

        def body(carry, _):
            p, s = carry
            loss, g = jax.value_and_grad(loss_fn)(p)
            u, s = opt.update(g, s, p)
            return (optax.apply_updates(p, u), s), loss

        return jax.lax.scan(body, (params, opt.init(params)), None, length=3000)[1]

    rates = jnp.array([1e-3, 3e-3, 1e-2, 3e-2, 1e-1])
    adam = np.asarray(jax.vmap(adam_losses)(rates))
    adam_best = min((s for s in (_steps_to(TARGET, l) for l in adam) if s is not None), default=None)
    kfac_steps = _steps_to(TARGET, kfac_losses)
    assert kfac_steps is not None, f"K-FAC did not reach {TARGET} in 300 steps (last {kfac_losses[-1]:.3g})"
    assert adam_best is not None
    assert kfac_steps * 3 <= adam_best, (kfac_steps, adam_best)


def test_kfac_fixed_rate_and_momentum_descends():
    x, y = _regression()
    mlp = eqx.nn.MLP(1, 1, 16, 1, activation=jnp.tanh, key=jax.random.key(7))
    opt = ds.optimizers.kfac(learning_rate=0.1, momentum=0.5, adapt_damping=False, damping=1e-2)
    state = opt.init(eqx.filter(mlp, eqx.is_inexact_array))
    step = eqx.filter_jit(lambda m, s, k: ds.optimizers.kfac_step(m, s, opt, x, y, k))
    losses = []
    for k in jax.random.split(jax.random.key(8), 30):
        mlp, state, loss = step(mlp, state, k)
        losses.append(float(loss))
    assert losses[-1] < 0.5 * losses[0]
    assert np.all(np.isfinite(losses))


def test_kfac_classification_descends():
    x = jax.random.normal(jax.random.key(1), (64, 2))
    y = (x[:, 0] * x[:, 1] > 0).astype(jnp.int32)
    mlp = eqx.nn.MLP(2, 2, 16, 2, activation=jnp.tanh, key=jax.random.key(9))
    opt = ds.optimizers.kfac()
    state = opt.init(eqx.filter(mlp, eqx.is_inexact_array))
    step = eqx.filter_jit(lambda m, s, k: ds.optimizers.kfac_step(m, s, opt, x, y, k, likelihood="categorical"))
    first = None
    for k in jax.random.split(jax.random.key(8), 40):
        mlp, state, loss = step(mlp, state, k)
        first = float(loss) if first is None else first
    final = float(ds.optimizers.mlp_loss(mlp, x, y, likelihood="categorical"))
    assert final < 0.5 * first


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"momentum": 1.0}, "momentum"),
        ({"damping": 0.0}, "damping"),
        ({"decay": 1.0}, "decay"),
        ({"damping": 1e-3, "min_damping": 1e-2}, "min_damping"),
    ],
)
def test_bad_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ds.optimizers.kfac(**kwargs)


def test_bad_inputs():
    mlp = _mlp()
    x = jnp.ones((4, 2))
    opt = ds.optimizers.kfac()
    state = opt.init(eqx.filter(mlp, eqx.is_inexact_array))
    with pytest.raises(ValueError, match="curvature"):
        opt.update(eqx.filter(mlp, eqx.is_inexact_array), state, eqx.filter(mlp, eqx.is_inexact_array))
    with pytest.raises(ValueError, match="likelihood"):
        ds.optimizers.kfac_curvature(mlp, x, KEY, likelihood="poisson")
    with pytest.raises(TypeError, match="eqx.nn.MLP"):
        ds.optimizers.kfac_curvature(eqx.nn.Linear(2, 3, key=KEY), x, KEY)
    with pytest.raises(ValueError, match="scan=False"):
        ds.optimizers.kfac_curvature(_mlp(scan=True), x, KEY)
