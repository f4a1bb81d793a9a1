import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.mark.slow  # the library under it is tested in tests/models
def test_vae_digits_example_runs_tiny(tmp_path):
    main = runpy.run_path(str(EXAMPLES / "vae_digits.py"))["main"]
    out = main(["--steps", "20", "--hidden", "16", "--iwae-samples", "8", "--out", str(tmp_path)])
    assert out["held_out_iwae_log_likelihood_nats"] >= out["held_out_elbo_nats"] - 1.0
    assert (tmp_path / "vae_digits.png").stat().st_size > 1000


@pytest.mark.slow  # the library under it is tested in tests/models
def test_discrete_vae_example_runs_tiny(tmp_path):
    main = runpy.run_path(str(EXAMPLES / "discrete_vae.py"))["main"]
    out = main(["--steps", "10", "--hidden", "16", "--batch-size", "8", "--out", str(tmp_path)])
    assert set(out) == {"gumbel", "straight_through", "score", "png"}
    for estimator in ("gumbel", "straight_through", "score"):
        assert out[estimator]["gradient_variance_at_init"] > 0
    assert (tmp_path / "discrete_vae.png").stat().st_size > 1000
