import json
import subprocess
import sys
from pathlib import Path

import pytest

from difsci._infer._cache import compilation_cache_dir
from models._cli import enable_compilation_cache, main


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


def test_demo_quick_writes_summary_and_pngs(tmp_path, capsys):
    from PIL import Image

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
    with Image.open(light["strip"]) as strip:
        assert strip.height >= 256 and strip.width >= 3 * 256
    for name in ("probabilistic", "inference", "trebuchet"):
        assert Path(summary[name]["png"]).stat().st_size > 10_000, name
    # The closing screen names every section that ran and where its pictures are.
    screen = capsys.readouterr().out.split("=" * 78)[-2]
    for name in ("probabilistic", "inference", "trebuchet", "light"):
        assert f"- {name} (" in screen and summary[name].get("png", summary[name].get("strip")) in screen
    assert len(screen.strip().splitlines()) <= 24


def test_shipped_aimer_hits_reachable_targets():
    import jax
    import jax.numpy as jnp

    import physics
    from models import relative_miss
    from models._demo import load_shipped_aimer

    jax.config.update("jax_enable_x64", True)
    targets, winds = jnp.array([30.0, 60.0, 90.0]), jnp.array([4.0, -2.0, 0.0])
    misses = jnp.abs(relative_miss(load_shipped_aimer(), physics.Trebuchet(), targets, winds)) * 100
    assert jnp.all(misses < 0.5), misses


@pytest.mark.slow  # compiles batched Levenberg-Marquardt aiming through the simulator
def test_demo_surrogate_section_on_a_small_grid(tmp_path):
    import jax

    from models._demo import surrogate_section

    jax.config.update("jax_enable_x64", True)
    result = surrogate_section(tmp_path, jax.random.key(0), quick=True)
    assert result["reachable_mean_miss_percent"] < 0.5 and result["reachable_fraction"] > 0.5
    assert Path(result["png"]).stat().st_size > 10_000


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


_TETRAHEDRON = "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 3 2\nf 1 2 4\nf 1 4 3\nf 2 3 4\n"


def test_render_frames_the_mesh_by_default(tmp_path, capsys):
    import numpy as np

    import render

    (tmp_path / "tet.obj").write_text(_TETRAHEDRON)
    out = tmp_path / "tet.png"
    assert main(["render", str(tmp_path / "tet.obj"), "--out", str(out), "--width", "40", "--height", "32"]) == 0
    image = np.asarray(render.load_png(out))
    assert image.shape == (32, 40, 3)
    lit = image.mean(axis=2) > 0.1  # the background is 0.05
    rows, cols = np.nonzero(lit)
    # The whole mesh is in view (no lit pixel on the border) and fills a fair part of it.
    assert lit.sum() > 0.1 * lit.size and rows.min() > 0 and cols.min() > 0
    assert rows.max() < 31 and cols.max() < 39
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["missing.obj"], "is not a file"),
        (["{obj}", "--out", "x.jpg"], "--out must name a .png"),
        (["{obj}", "--out", "{tmp}/no/such/dir/x.png"], "does not exist"),
        (["{obj}", "--fov", "180"], "--fov must be in (0, 180)"),
        (["{obj}", "--width", "0"], "--width and --height must be >= 1"),
        (["{obj}", "--albedo", "2,0,0"], "--albedo must be in [0, 1]"),
        (["{bad}"], "cannot read MESH"),
    ],
)
def test_render_bad_input_is_a_clear_error(tmp_path, capsys, argv, message):
    (tmp_path / "tet.obj").write_text(_TETRAHEDRON)
    (tmp_path / "bad.obj").write_text("v 0 0\nf 1 2 3\n")
    subs = {"{obj}": str(tmp_path / "tet.obj"), "{bad}": str(tmp_path / "bad.obj"), "{tmp}": str(tmp_path)}
    argv = [subs.get(a, a.replace("{tmp}", str(tmp_path))) for a in argv]
    assert main(["render", *argv]) == 2
    assert message in capsys.readouterr().err


def test_render_bad_triple_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["render", "m.obj", "--eye", "1,2"])
    assert exc.value.code == 2 and "expected three finite numbers" in capsys.readouterr().err


def test_every_command_has_help(capsys):
    for command in (["demo"], ["trebuchet"], ["trebuchet", "aim"], ["trebuchet", "train"], ["render"]):
        with pytest.raises(SystemExit) as exc:
            main([*command, "--help"])
        assert exc.value.code == 0 and "usage: difsci" in capsys.readouterr().out


def _three_spheres_photo(path, light=(1.0, 3.0, 2.0), size=(24, 20)):
    import jax

    import render

    jax.config.update("jax_enable_x64", True)
    scene, camera = render.three_spheres(light, width=size[0], height=size[1])
    return render.save_png(path, render.render(scene, camera))


def test_fit_light_recovers_the_light_of_a_photo(tmp_path, capsys):
    import numpy as np

    from PIL import Image

    truth = np.array([1.0, 3.0, 2.0])
    photo = _three_spheres_photo(tmp_path / "photo.png", truth)
    out = tmp_path / "fit"
    assert main(["render", "fit-light", str(photo), "--out", str(out), "--steps", "120"]) == 0
    result = json.loads((out / "light.json").read_text())
    assert result == json.loads(capsys.readouterr().out)
    fitted = np.array(result["fitted_position_m"])
    # From (-1, 2, 3.5) m, 3 m away; the 8-bit photo's rounding limits how close it gets.
    assert np.linalg.norm(fitted - truth) < 0.05 * np.linalg.norm(truth), fitted
    assert result["final_loss"] < 0.01 * result["initial_loss"] and result["size"] == [24, 20]
    with Image.open(result["strip"]) as strip:
        assert strip.size == (3 * 24 + 2 * 2, 20)
    assert Path(result["loss_curve"]).is_file()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["{tmp}/missing.png"], "is not a file"),
        (["{tmp}/notes.txt"], "cannot read PHOTO"),
        (["{tmp}/tiny.png"], "PHOTO must be 8 to 512 pixels on each side, got 4x4"),
        (["{photo}", "--steps", "0"], "--steps must be >= 1"),
        (["{photo}", "--intensity", "-3"], "--intensity must be > 0"),
        (["{photo}", "--learning-rate", "nan"], "--learning-rate must be > 0"),
        (["{photo}", "--out", "{tmp}/notes.txt"], "is not a folder"),
    ],
)
def test_fit_light_bad_input_is_a_clear_error(tmp_path, capsys, argv, message):
    import numpy as np

    import render

    (tmp_path / "notes.txt").write_text("not a picture")
    render.save_png(tmp_path / "tiny.png", np.full((4, 4, 3), 0.5))
    render.save_png(tmp_path / "photo.png", np.full((10, 10, 3), 0.5))
    subs = {"{photo}": str(tmp_path / "photo.png")}
    argv = [subs.get(a, a.replace("{tmp}", str(tmp_path))) for a in argv]
    assert main(["render", "fit-light", *argv]) == 2
    assert message in capsys.readouterr().err


def test_fit_light_help_names_the_scene(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["render", "fit-light", "--help"])
    text = capsys.readouterr().out
    assert exc.value.code == 0 and "usage: difsci render fit-light" in text and "three_spheres" in text
    with pytest.raises(SystemExit):
        main(["render", "fit-light", "p.png", "--start", "1,2"])
    assert "expected three finite numbers" in capsys.readouterr().err
