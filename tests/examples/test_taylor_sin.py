import math
import runpy
from pathlib import Path

EXAMPLE = Path(__file__).parents[2] / "examples" / "taylor_sin.py"


def test_taylor_sin_example_runs_tiny():
    namespace = runpy.run_path(str(EXAMPLE))
    out = namespace["main"](["--points", "64", "--repeats", "2"])
    assert abs(out["value"] - math.sin(1.0)) < 1e-8
    assert abs(out["d_reverse"] - math.cos(1.0)) < 1e-8
    assert abs(out["d_forward"] - math.cos(1.0)) < 1e-8
    assert out["grid_value_error"] < 1e-8 and out["grid_slope_error"] < 1e-5
    assert out["grid_eager_gap"] < 1e-12
