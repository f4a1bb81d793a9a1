"""Universal ODEs, their two losses, and SINDy against closed forms and numpy's least squares."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import physics

SETTINGS = physics.SolverSettings(rtol=1e-10, atol=1e-10, max_steps=4096)


class Linear(eqx.Module):
    weight: jax.Array

    def __call__(self, y):
        return self.weight @ y


def _ude(w):
    # Known decay -y plus a "network" W y: dy/dt = (W - I) y, whose flow is expm((W - I) t).
    return physics.UniversalODE(lambda t, y: -y, Linear(w), SETTINGS)


W = jnp.array([[0.0, 1.0], [-1.0, 0.0]])
TS = jnp.linspace(0.0, 2.0, 9)
Y0 = jnp.array([1.0, 0.5])


def _exact(w, y0, ts):
    return np.stack([np.asarray(jax.scipy.linalg.expm((w - jnp.eye(2)) * t) @ y0) for t in ts])


def test_losses_vanish_on_the_truth_and_multiple_shooting_has_the_right_gradient():
    data = jnp.asarray(_exact(W, Y0, TS))
    np.testing.assert_allclose(eqx.filter_jit(lambda m: physics.observe(m, Y0, ts=TS))(_ude(W)), data, rtol=1e-8, atol=1e-10)
    starts = physics.shooting_starts(data, 2)
    assert starts.shape == (4, 2)
    loss = eqx.filter_jit(lambda w, s: physics.multiple_shooting_loss(_ude(w), s, TS, data, 2, continuity=3.0))
    assert float(loss(W, starts)) < 1e-16
    # Off the truth: the gradient with respect to the network and the starts against finite differences.
    w1, s1 = W + 0.1, starts + 0.05
    g_w, g_s = eqx.filter_jit(jax.grad(lambda w, s: physics.multiple_shooting_loss(_ude(w), s, TS, data, 2, continuity=3.0), argnums=(0, 1)))(w1, s1)
    h = 1e-6
    for (i, j) in [(0, 1), (1, 0)]:
        e = jnp.zeros((2, 2)).at[i, j].set(h)
        np.testing.assert_allclose(g_w[i, j], (loss(w1 + e, s1) - loss(w1 - e, s1)) / (2 * h), rtol=1e-5)
    e = jnp.zeros((4, 2)).at[2, 1].set(h)
    np.testing.assert_allclose(g_s[2, 1], (loss(w1, s1 + e) - loss(w1, s1 - e)) / (2 * h), rtol=1e-5)


def test_loss_arguments_are_checked():
    data = jnp.zeros((9, 2))
    with pytest.raises(ValueError, match="segment"):
        physics.shooting_starts(data, 3)  # 8 steps do not split into segments of 3
    with pytest.raises(ValueError, match="starts"):
        physics.multiple_shooting_loss(_ude(W), jnp.zeros((3, 2)), TS, data, 2)
    with pytest.raises(ValueError, match="`data` shape"):
        physics.trajectory_loss(_ude(W), TS, jnp.zeros((8, 2)))


def test_polynomial_library_and_names():
    x = np.array([[2.0, 3.0], [-1.0, 0.5]])
    lib = np.asarray(physics.polynomial_library(x, 2))
    a, b = x[:, 0], x[:, 1]
    np.testing.assert_allclose(lib, np.stack([np.ones(2), a, b, a**2, a * b, b**2], 1))
    assert physics.polynomial_names(("x", "y"), 2) == ("1", "x", "y", "x^2", "x y", "y^2")
    with pytest.raises(ValueError, match="degree"):
        physics.polynomial_library(x, -1)


def test_stlsq_without_threshold_is_least_squares_and_sindy_recovers_a_sparse_system(key):
    x = jax.random.normal(key, (60, 2))
    lib = physics.polynomial_library(x, 2)
    y = jax.random.normal(jax.random.fold_in(key, 1), (60, 2))
    np.testing.assert_allclose(physics.stlsq(lib, y, 0.0), np.linalg.lstsq(np.asarray(lib), np.asarray(y), rcond=None)[0], rtol=1e-8, atol=1e-10)
    # Lotka-Volterra's right-hand side plus small noise: the four true terms, nothing else.
    a, b = x[:, 0], x[:, 1]
    dx = jnp.stack([1.3 * a - 0.9 * a * b, 0.8 * a * b - 1.8 * b], 1) + 1e-3 * y
    result = physics.sindy(x, dx, threshold=0.1, names=("x", "y"))
    expected = np.zeros((6, 2))
    expected[1, 0], expected[4, 0], expected[4, 1], expected[2, 1] = 1.3, -0.9, 0.8, -1.8
    np.testing.assert_allclose(result.coefficients, expected, atol=5e-3)
    assert result.equations(("x", "y"), precision=2) == ["dx/dt = +1.3 x -0.9 x y", "dy/dt = -1.8 y +0.8 x y"]
    with pytest.raises(ValueError, match="threshold"):
        physics.stlsq(lib, y, -1.0)
    with pytest.raises(ValueError, match="same m"):
        physics.stlsq(lib, y[:10], 0.1)


def test_sindy_path_gives_each_support_once_and_results_evaluate_their_equations(key):
    x = jax.random.normal(key, (60, 2))
    a, b = x[:, 0], x[:, 1]
    dx = jnp.stack([1.3 * a - 0.9 * a * b, 0.8 * a * b - 1.8 * b], 1) + 0.05 * jax.random.normal(jax.random.fold_in(key, 1), (60, 2))
    thresholds = np.geomspace(1e-4, 3.0, 12)
    path = physics.sindy_path(x, dx, thresholds, names=("x", "y"))
    supports = [np.asarray(r.support) for r in path]
    assert len({s.tobytes() for s in supports}) == len(path) >= 3
    assert supports[0].all() and not supports[-1].any()  # least squares first, nothing at 3
    single = physics.sindy(x, dx, threshold=0.1, names=("x", "y"))
    assert any(np.array_equal(s, np.asarray(single.support)) for s in supports)
    y = jnp.array([0.7, -1.2])
    expected = np.asarray(single.coefficients).T @ np.array([1.0, 0.7, -1.2, 0.49, -0.84, 1.44])
    np.testing.assert_allclose(single(y), expected, rtol=1e-12)
    with pytest.raises(ValueError, match="thresholds"):
        physics.sindy_path(x, dx, [-0.1, 0.2])


def test_aicc_is_the_corrected_akaike_criterion():
    # N log(rss/N) + 2k + 2k(k+1)/(N-k-1) with N = 20, k = 3, rss = 0.5 by hand.
    np.testing.assert_allclose(physics.aicc(0.5, 20, 3), 20 * np.log(0.025) + 6 + 24 / 16, rtol=1e-12)
    with pytest.raises(ValueError, match="num_observations"):
        physics.aicc(0.5, 4, 3)
    with pytest.raises(ValueError, match="num_parameters"):
        physics.aicc(0.5, 20, -1)


def test_select_sparse_model_refits_and_prefers_the_true_support(key):
    # Lotka-Volterra with known growth and death: the interactions -0.9 x y, 0.8 x y are to be found.
    settings = physics.SolverSettings(rtol=1e-8, atol=1e-8, max_steps=1024)
    known = lambda t, y: jnp.stack([1.3 * y[0], -1.8 * y[1]])  # noqa: E731
    truth = lambda t, y: known(t, y) + jnp.stack([-0.9 * y[0] * y[1], 0.8 * y[0] * y[1]])  # noqa: E731
    ts = jnp.linspace(0.0, 2.0, 11)
    clean = physics.observe(physics.UniversalODE(truth, None, settings), jnp.array([0.44, 4.63]), ts=ts)
    data = clean + 1e-3 * jax.random.normal(key, clean.shape)
    terms = physics.polynomial_names(("x", "y"), 2)

    def candidate(entries):
        c = np.zeros((6, 2))
        for (i, j), v in entries.items():
            c[i, j] = v
        return physics.SINDyResult(jnp.asarray(c), terms, 2)

    true_support = candidate({(4, 0): -0.7, (4, 1): 0.6})  # right terms, wrong values
    wrong = candidate({(1, 0): -0.3, (4, 1): 0.6})  # x instead of x y in dx/dt
    superset = candidate({(4, 0): -0.7, (4, 1): 0.6, (0, 0): 0.05, (5, 1): 0.01})
    best, fits = physics.select_sparse_model(known, (wrong, superset, true_support), ts, data, settings=settings)
    assert best is fits[2] and bool(best.converged)
    expected = np.zeros((6, 2))
    expected[4] = [-0.9, 0.8]
    np.testing.assert_allclose(best.equations.coefficients, expected, atol=1e-2)
    np.testing.assert_allclose(best.y0, [0.44, 4.63], atol=5e-3)
    # Refitting keeps each support; the criterion follows the residuals and term counts.
    assert np.array_equal(np.asarray(fits[1].equations.support), np.asarray(superset.support))
    assert float(fits[0].rss) > 100 * float(best.rss)
    np.testing.assert_allclose(best.aicc, physics.aicc(best.rss, data.size, 4), rtol=1e-12)
    with pytest.raises(ValueError, match="candidates"):
        physics.select_sparse_model(known, (), ts, data)
