import runpy
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parents[2] / "examples" / "fit_geometry.py"


def _run(tmp_path, *extra):
    return runpy.run_path(str(EXAMPLE))["main"](["--size", "16", "--steps", "80", "--out", str(tmp_path), *extra])


def test_fit_geometry_example_runs_tiny(tmp_path):
    out = _run(tmp_path)
    fitted = out["boundary"]
    assert fitted["error"]["center"] < 0.25 * out["initial_error"]["center"]
    assert fitted["error"]["radius"] < 0.25 * out["initial_error"]["radius"]
    assert fitted["final_loss"] < 0.05 * out["initial_loss"]
    for name in ("fit_strip.png", "fit_loss.png"):
        assert (tmp_path / name).stat().st_size > 100


@pytest.mark.slow
def test_interior_only_gradients_do_not_recover_the_sphere(tmp_path):
    out = _run(tmp_path, "--compare")
    assert out["interior only"]["error"]["center"] > 4 * out["boundary"]["error"]["center"]
