import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[2] / "examples"


def test_natural_gradients_example(tmp_path):
    main = runpy.run_path(str(EXAMPLES / "natural_gradients.py"))["main"]
    out = main(["--steps", "120", "--out", str(tmp_path)])
    assert out["ngvi_steps_to_kl_1e-4"] is not None and out["ngvi_steps_to_kl_1e-4"] <= 10
    assert out["kfac_steps_to_loss_2e-3"] is not None and out["kfac_steps_to_loss_2e-3"] <= 30
    adam = [s for s in out["adam_steps_to_loss_2e-3"].values() if s is not None]
    assert not adam or min(adam) > 2 * out["kfac_steps_to_loss_2e-3"]
    # Accumulating four minibatches' gradients is one full-batch gradient.
    assert out["multisteps_vs_full_batch_max_relative_gap"] < 0.05
    assert (tmp_path / "natural_gradients.png").stat().st_size > 1000


def test_bad_steps_exit_with_usage(tmp_path):
    main = runpy.run_path(str(EXAMPLES / "natural_gradients.py"))["main"]
    with pytest.raises(SystemExit) as exit_info:
        main(["--steps", "0", "--out", str(tmp_path)])
    assert exit_info.value.code == 2
