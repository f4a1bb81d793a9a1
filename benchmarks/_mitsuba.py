"""Mitsuba 3 for the render benchmarks: loading it (it needs a recent LLVM), a difsci camera as
a Mitsuba sensor, and a fitting iteration as a Mitsuba user writes it."""

import glob
import os
from pathlib import Path

import numpy as np


def _find_llvm() -> str | None:
    """The newest libLLVM >= 16 on the system (Dr.Jit 1.x emits intrinsics LLVM 15 cannot compile)."""
    found = []
    for path in glob.glob("/usr/lib/*/libLLVM-*.so*") + glob.glob("/usr/lib/llvm-*/lib/libLLVM*.so*"):
        digits = "".join(c if c.isdigit() else " " for c in Path(path).name.split(".so")[0]).split()
        if digits and int(digits[0]) >= 16:
            found.append((int(digits[0]), path))
    return max(found)[1] if found else None


def load_mitsuba():
    """`(mi, dr)` with the `llvm_ad_rgb` variant set, or `(None, reason)`."""
    if "DRJIT_LIBLLVM_PATH" not in os.environ:
        llvm = _find_llvm()
        if llvm:
            os.environ["DRJIT_LIBLLVM_PATH"] = llvm
    try:
        import drjit as dr
        import mitsuba as mi

        mi.set_variant("llvm_ad_rgb")
        mi.load_dict({"type": "scene", "s": {"type": "sphere"}})  # fails here if LLVM is unusable
        return mi, dr
    except Exception as error:  # report why, then time difsci alone
        return None, f"{type(error).__name__}: {error}".splitlines()[0]


def sensor(mi, camera, spp: int) -> dict:
    """A difsci `render.Camera` as a Mitsuba perspective sensor: same pose, horizontal field of
    view, pixels, box filter and `spp` stratified samples per pixel."""
    return {
        "type": "perspective", "fov": float(camera.fov), "fov_axis": "x",
        "to_world": mi.ScalarTransform4f().look_at(
            origin=np.asarray(camera.eye).tolist(), target=np.asarray(camera.target).tolist(),
            up=np.asarray(camera.up).tolist()),
        "film": {"type": "hdrfilm", "width": camera.width, "height": camera.height, "rfilter": {"type": "box"},
                 "pixel_format": "rgb"},
        "sampler": {"type": "stratified", "sample_count": spp},
    }


def fit_loop(mi, dr, scene, reference, spp: int, key: str, start, lr: float):
    """One fitting iteration as a Mitsuba user writes it: render, backward, Adam step on the
    scene parameter `key` from `start`. Returns `(iteration, state, current value)`."""
    params = mi.traverse(scene)
    optimiser = mi.ad.Adam(lr=lr)
    optimiser[key] = start
    params.update(optimiser)
    reference = mi.TensorXf(np.asarray(reference, np.float32))
    state = {"seed": 0, "loss": None}

    def iteration():
        image = mi.render(scene, params, spp=spp, seed=state["seed"])
        loss = dr.mean(dr.square(image - reference), axis=None)
        dr.backward(loss)
        optimiser.step()
        params.update(optimiser)
        dr.eval(params[key])
        state["loss"] = float(np.asarray(loss).ravel()[0])
        state["seed"] += 1

    return iteration, state, lambda: np.asarray(params[key]).ravel()
