"""NUTS through ODE solvers: the Lotka-Volterra and trebuchet examples on small budgets."""

import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:ds.nuts.*divergent transitions:RuntimeWarning")
# Short chains are reported as unmixed (tested in tests/difsci/test_chain_health.py); here they only run.
@pytest.mark.filterwarnings("ignore::difsci.ChainHealthWarning")
def test_lotka_volterra_recovers_the_published_posterior(tmp_path):
    main = runpy.run_path(str(EXAMPLES / "lotka_volterra.py"))["main"]
    out = main(["--warmup", "150", "--samples", "150", "--chains", "2", "--out", str(tmp_path)])
    for name, published in out["published_means"].items():
        assert abs(out["posterior_means"][name] - published) < 0.1 * published, name
    assert out["max_r_hat"] < 1.1
    assert out["divergences"] <= 0.05 * 300  # a short warm-up may leave a few; not more
    assert (tmp_path / "lotka_volterra.png").stat().st_size > 10_000


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:ds.nuts.*divergent transitions:RuntimeWarning")
# Short chains are reported as unmixed (tested in tests/difsci/test_chain_health.py); here they only run.
@pytest.mark.filterwarnings("ignore::difsci.ChainHealthWarning")
def test_trebuchet_wind_and_counterweight_are_recovered():
    main = runpy.run_path(str(EXAMPLES / "infer_trebuchet.py"))["main"]
    out = main(["--warmup", "100", "--samples", "100", "--chains", "2"])
    mean, sd = out["posterior_mean"], out["posterior_sd"]
    for name, truth in out["true"].items():
        assert abs(mean[name] - truth) < 3 * sd[name] + 1e-3 * abs(truth), name
    assert sd["wind"] < 0.5  # five shots pin the wind down to a fraction of its 5 m/s prior


@pytest.mark.slow  # the library under it is tested in tests/models
def test_bayesian_nn_example_runs_tiny(tmp_path):
    main = runpy.run_path(str(EXAMPLES / "bayesian_nn.py"))["main"]
    out = main(["--train", "40", "--vi-steps", "200", "--warmup", "60", "--samples", "60", "--chains", "2",
                "--width", "4", "--out", str(tmp_path)])
    assert 0.0 < out["vi"]["coverage_90"] <= 1.0 and 0.0 < out["nuts"]["coverage_90"] <= 1.0
    assert (tmp_path / "bayesian_nn.png").stat().st_size > 10_000
