"""The universal-ODE example: a smoke run with tiny settings, and the full run (slow)."""

import math
import runpy
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parents[2] / "examples" / "ude_lotka_volterra.py"


def test_ude_example_runs_tiny(tmp_path):
    main = runpy.run_path(str(EXAMPLE))["main"]
    out = main(["--steps", "3", "--refine-steps", "0", "--width", "4", "--depth", "1", "--points", "11", "--horizon", "5",
                "--num-thresholds", "2", "--refit-steps", "3", "--out", str(tmp_path)])
    assert math.isfinite(out["final_loss_ude"]) and math.isfinite(out["final_loss_neural_ode"])
    assert set(out["extrapolation_rmse"]) == {"recovered", "ude_network", "neural_ode"}
    assert Path(out["png"]).stat().st_size > 10_000
    assert (tmp_path / "result.json").exists()
    assert 1 <= len(out["candidates"]) <= 2


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ude_example_recovers_the_interactions_and_extrapolates(seed, tmp_path):
    # The example's full run (31 noisy points on [0, 3]); about 1-5 minutes a seed on 2 cores.
    out = runpy.run_path(str(EXAMPLE))["main"](["--seed", str(seed), "--out", str(tmp_path)])
    assert out["beta_relative_error"] < 0.1, out
    assert out["gamma_relative_error"] < 0.1, out
    assert abs(out["other_terms_abs_sum"]) < 0.05, out  # no spurious terms
    errors = out["extrapolation_rmse"]
    assert errors["recovered"] < 0.5, errors
    assert errors["recovered"] < 1e-3 * errors["neural_ode"], errors
