import json
import subprocess
import sys

import pytest

from models._cli import compilation_cache_dir, enable_compilation_cache, main


@pytest.fixture(autouse=True)
def _no_user_cache(monkeypatch):
    # main() turns on the persistent compilation cache; tests never fill the user's real one.
    monkeypatch.setenv("DIFSCI_NO_CACHE", "1")


_COMPILE_ONCE = (
    "import jax, jax.numpy as jnp; from models._cli import enable_compilation_cache as e; "
    "print(e()); jax.jit(lambda x: jnp.sin(x) * 2 + jnp.cos(x))(1.0).block_until_ready()"
)


def _compile_in_subprocess(env_updates: dict, tmp_path) -> subprocess.CompletedProcess:
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("DIFSCI_NO_CACHE", "DIFSCI_CACHE_DIR")}
    env.update({"XDG_CACHE_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path / "home"), **env_updates})
    return subprocess.run([sys.executable, "-c", _COMPILE_ONCE], capture_output=True, text=True, env=env, check=True)


def test_compilation_cache_fills_the_user_cache_dir(tmp_path):
    result = _compile_in_subprocess({}, tmp_path)
    cache = tmp_path / "xdg" / "difsci" / "jax"
    assert result.stdout.strip() == str(cache)
    assert any(cache.iterdir()), "a compiled program should have been written to the cache"
    assert not (tmp_path / "home").exists()


def test_compilation_cache_switch_and_override(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert compilation_cache_dir() is None and enable_compilation_cache() is None  # DIFSCI_NO_CACHE=1
    assert not (tmp_path / "xdg").exists()
    monkeypatch.delenv("DIFSCI_NO_CACHE")
    assert compilation_cache_dir() == tmp_path / "xdg" / "difsci" / "jax"
    monkeypatch.setenv("DIFSCI_CACHE_DIR", str(tmp_path / "mine"))
    assert compilation_cache_dir() == tmp_path / "mine"
    monkeypatch.setenv("DIFSCI_NO_CACHE", "0")  # "0" means keep it on
    assert compilation_cache_dir() == tmp_path / "mine"
    assert main(["--no-cache", "trebuchet", "aim", "--target", "-1"]) == 2  # the flag parses before a command


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
