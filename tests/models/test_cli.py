import json
import subprocess
import sys

import pytest

from models._cli import main


def test_demo_quick_writes_summary_and_pngs(tmp_path):
    assert main(["demo", "--quick", "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    coin = summary["probabilistic"]
    assert summary["trebuchet"]["miss_m"] < 0.01
    assert abs(coin["posterior_mean"] - coin["closed_form_mean"]) < 1e-3
    assert coin["max_density_error"] < 1e-2
    nuts = summary["inference"]
    assert abs(nuts["posterior_mean"] - nuts["closed_form_mean"]) < 4 * nuts["closed_form_sd"] / nuts["ess_bulk"] ** 0.5
    assert abs(nuts["posterior_sd"] - nuts["closed_form_sd"]) < 0.15 * nuts["closed_form_sd"]
    light = summary["light"]
    assert light["relative_error"] < 0.02 and light["final_loss"] < 0.01 * light["initial_loss"]
    assert (tmp_path / "light" / "fit_strip.png").stat().st_size > 1000
    for section in summary.values():
        if isinstance(section, dict) and "png" in section:
            assert (tmp_path / section["png"].split("/")[-1]).stat().st_size > 1000


def test_bad_arguments_exit_nonzero_with_usage():
    result = subprocess.run([sys.executable, "-m", "models._cli", "frobnicate"], capture_output=True, text=True)
    assert result.returncode != 0
    assert "usage: difsci" in result.stderr


def test_no_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code != 0
    assert "usage: difsci" in capsys.readouterr().err


def test_trebuchet_aim_json(capsys):
    assert main(["trebuchet", "aim", "--target", "75", "--wind", "-3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"counterweight_mass", "release_angle", "wind", "distance"}
    assert out["wind"] == -3.0 and abs(out["distance"] - 75.0) < 0.01


def test_trebuchet_aim_bad_target(capsys):
    assert main(["trebuchet", "aim", "--target", "-2"]) == 2
    assert "--target must be > 0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["trebuchet", "aim", "--wind", "3"])  # --target is required


def test_train_rejects_bad_counts(capsys):
    assert main(["trebuchet", "train", "--refine", "-1"]) == 2
    assert "--refine >= 0" in capsys.readouterr().err
