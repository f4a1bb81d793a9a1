"""Property tests of the command line: random invalid options (NaN, inf, negative, zero,
out of range, not a number, a missing or wrong file) exit with status 2 and a one-line message
naming the option, before anything is computed; random valid `render` options write a PNG.
Valid `trebuchet aim` runs compile the aimer (about 100 s on a CPU) and are `-m slow`.
"""

import json

import hypothesis.strategies as hs
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from models._cli import main

SETTINGS = settings(max_examples=3, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
EAGER = settings(SETTINGS, max_examples=40)

NOT_A_NUMBER = ["abc", "", "1,2"]


@pytest.fixture(autouse=True)
def _no_user_cache(monkeypatch):
    monkeypatch.setenv("DIFSCI_NO_CACHE", "1")


def _fails_naming(argv, option, capsys):
    """`main(argv)` refuses with status 2 and an error line naming `option`."""
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse: a value of the wrong type
        code = exit_.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, (argv, code, err)
    assert err and option in err[-1], (argv, err)


AIM_INVALID = {"--target": ["nan", "inf", "-inf", "0", "-20"] + NOT_A_NUMBER,
               "--wind": ["nan", "inf", "-inf"] + NOT_A_NUMBER,
               "--hidden": ["0", "-3", "1.5"] + NOT_A_NUMBER}


@EAGER
@given(data=hs.data())
def test_trebuchet_aim_invalid_options_name_the_option(data, capsys):
    option = data.draw(hs.sampled_from(sorted(AIM_INVALID)))
    argv = {"--target": "60", "--wind": "0", option: data.draw(hs.sampled_from(AIM_INVALID[option]))}
    _fails_naming(["trebuchet", "aim", *[x for kv in argv.items() for x in kv]], option, capsys)


TRAIN_INVALID = {"--steps": ["0", "-1", "2.5"], "--batch-size": ["0", "-4"], "--hidden": ["0", "-1"],
                 "--refine": ["-1", "x"]}


@EAGER
@given(data=hs.data())
def test_trebuchet_train_invalid_options_name_the_option(data, capsys, tmp_path):
    option = data.draw(hs.sampled_from(sorted(TRAIN_INVALID)))
    value = data.draw(hs.sampled_from(TRAIN_INVALID[option]))
    _fails_naming(["trebuchet", "train", "--out", str(tmp_path / "aimer"), option, value], option, capsys)
    assert not (tmp_path / "aimer").exists()  # refused before anything is written


TETRA = "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 3 2\nf 1 2 4\nf 1 4 3\nf 2 3 4\n"
RENDER_INVALID = {
    "--width": ["0", "-5", "2.5"], "--height": ["0", "-1"], "--fov": ["nan", "inf", "0", "180", "-10"],
    "--scale": ["nan", "inf", "0", "-1"], "--spp": ["0", "-2"], "--albedo": ["2,0,0", "-1,0.5,0.5", "nan,0,0", "1,1"],
    "--eye": ["nan,0,0", "1,2", "a,b,c"], "--target": ["inf,0,0", "1"], "--light": ["0,nan,0"],
    "--background": ["nan", "inf", "-1"], "--exposure": ["nan", "inf"], "--intensity": ["nan", "inf", "-1", "0"],
    "--out": ["picture.jpg", "no/such/folder/x.png"],
}


@pytest.fixture
def mesh_file(tmp_path):
    path = tmp_path / "tetra.obj"
    path.write_text(TETRA)
    return path


@EAGER
@given(data=hs.data())
def test_render_invalid_options_name_the_option(data, capsys, mesh_file):
    option = data.draw(hs.sampled_from(sorted(RENDER_INVALID)))
    value = data.draw(hs.sampled_from(RENDER_INVALID[option]))
    out = value if option == "--out" else str(mesh_file.with_suffix(".png"))
    argv = ["render", str(mesh_file), "--out", out, "--width", "4", "--height", "3"]
    if option != "--out":
        argv += [f"{option}={value}"]  # `=` so values starting with "-" are values
    _fails_naming(argv, option, capsys)
    assert not mesh_file.with_suffix(".png").exists()


@pytest.mark.parametrize("mesh, words", [("missing.obj", "is not a file"), ("tetra.txt", "Wavefront"),
                                         ("broken.obj", "cannot read MESH")])
def test_render_bad_mesh_files_are_named(mesh, words, tmp_path, capsys):
    (tmp_path / "tetra.txt").write_text(TETRA)
    (tmp_path / "broken.obj").write_text("v 0 0 0\nf 1 2 3\n")
    assert main(["render", str(tmp_path / mesh), "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert words in err and "MESH" in err


@SETTINGS
@given(fov=hs.floats(20.0, 90.0), albedo=hs.floats(0.1, 1.0), exposure=hs.floats(-2.0, 2.0),
       eye=hs.tuples(hs.floats(2.0, 4.0), hs.floats(0.5, 3.0), hs.floats(2.0, 4.0)))
def test_render_valid_options_write_a_png(fov, albedo, exposure, eye, mesh_file, capsys):
    from PIL import Image

    out = mesh_file.with_suffix(".png")
    argv = ["render", str(mesh_file), "--out", str(out), "--width", "4", "--height", "3", f"--fov={fov}",
            f"--albedo={albedo},{albedo},{albedo}", f"--exposure={exposure}", f"--eye={','.join(map(str, eye))}"]
    assert main(argv) == 0
    assert "wrote" in capsys.readouterr().out
    image = np.asarray(Image.open(out))
    assert image.shape == (3, 4, 3) and image.dtype == np.uint8


@pytest.mark.slow
@settings(SETTINGS, max_examples=2)
@given(target=hs.floats(40.0, 90.0), wind=hs.floats(-3.0, 3.0))
def test_trebuchet_aim_valid_targets_are_reached(target, wind, capsys):
    assert main(["trebuchet", "aim", "--target", str(target), f"--wind={wind}", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert abs(out["distance"] - target) < 0.01 and np.isfinite(out["counterweight_mass"])
