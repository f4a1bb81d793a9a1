import runpy
from pathlib import Path

EXAMPLE = Path(__file__).parents[2] / "examples" / "fit_point_light.py"


def test_fit_point_light_example_runs_tiny(tmp_path):
    out = runpy.run_path(str(EXAMPLE))["main"](["--steps", "150", "--size", "24", "--out", str(tmp_path)])
    assert out["relative_error"] < 0.02 and out["final_loss"] < 0.01 * out["initial_loss"]
    for name in ("reference.png", "fit_strip.png", "fit_loss.png"):
        assert (tmp_path / name).stat().st_size > 100
