"""Every script in examples/ runs with tiny settings, so none of them rots between full runs."""

import pytest

from ._tiny import EXAMPLES, TINY_ARGS, non_finite_leaves, run_tiny

# Examples whose own test file runs them in the default suite with tiny settings.
OWN_TEST = {
    "char_lstm": "test_char_lstm_example.py",
    "fit_geometry": "test_fit_geometry.py",
    "fit_point_light": "test_fit_point_light.py",
    "natural_gradients": "test_natural_gradients_example.py",
    "taylor_sin": "test_taylor_sin.py",
    "ude_lotka_volterra": "test_ude_example.py",
}
# Tiny runs that still compile for long (NUTS, training or control through ODE solves) are
# slow tests, named here, not skipped; `.ci/run` runs them after the default suite.
# Measured with --durations on 2 cores at load ~9 (so ~4x a quiet machine): infer_trebuchet
# 175 s and lotka_volterra 130 s compiling NUTS, train_trebuchet_surrogate 180 s, bayesian_nn 121 s,
# cartpole_control 105 s, discrete_vae 53 s; the default-suite ones: vae_digits 40 s, pendulum 28 s.
SLOW = {"bayesian_nn", "cartpole_control", "discrete_vae", "infer_trebuchet", "lotka_volterra",
        "train_trebuchet_surrogate"}
# Examples that print a summary and draw nothing (the surrogate saves its network and summary.json).
NO_PICTURE = {"infer_trebuchet", "train_trebuchet_surrogate"}


def test_every_example_has_a_tiny_run():
    scripts = {p.stem for p in EXAMPLES.glob("*.py")}
    untested = scripts - set(TINY_ARGS) - set(OWN_TEST)
    assert not untested, f"add tiny arguments to tests/examples/_tiny.py for {sorted(untested)}"
    assert not set(TINY_ARGS) & set(OWN_TEST)
    here = EXAMPLES.parent / "tests" / "examples"
    for name, test_file in OWN_TEST.items():
        if name in scripts:
            assert (here / test_file).exists(), f"{name} is listed as tested by the missing {test_file}"


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in sorted(TINY_ARGS)]
)
@pytest.mark.filterwarnings("ignore:ds.nuts.*divergent transitions:RuntimeWarning")
# Short chains are reported as unmixed (tested in tests/difsci/test_chain_health.py); here they only run.
@pytest.mark.filterwarnings("ignore::difsci.ChainHealthWarning")
def test_example_runs_tiny(name, tmp_path):
    summary = run_tiny(name, tmp_path)
    assert isinstance(summary, dict) and summary, f"{name}.main returned {summary!r}, not its summary"
    assert not non_finite_leaves(summary), f"{name}: non-finite results at {non_finite_leaves(summary)}"
    pictures = sorted(tmp_path.rglob("*.png"))
    if name not in NO_PICTURE:
        assert pictures, f"{name} wrote no picture under --out"
    for png in pictures:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 1000, png
