"""Inverse rendering: fit a point light (and optionally surface colours) to a reference image."""

import os
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from ._camera import Camera
from ._diffuse import Diffuse
from ._image import save_png
from ._point_light import PointLight
from ._render import render
from ._scene import Scene
from ._types import Array, ArrayLike, Float, Image

# Albedos are optimised as logits, kept this far inside (0, 1) so the logit is finite.
_ALBEDO_MARGIN = 1e-4


class LightFit(eqx.Module):
    """The result of `fit_light`.

    **Fields:**
    - `scene`: the fitted scene (the light moved, and intensity/albedos changed if they were fitted).
    - `initial`: the scene the fit started from.
    - `losses`: `(steps,)` mean squared pixel error, (W/(sr m^2))^2, before each step.
    - `final_loss`: the error of the fitted scene.
    """

    scene: Scene
    initial: Scene
    losses: Float[Array, " steps"]
    final_loss: Float[Array, ""]


def _diffuse_indices(scene: Scene) -> list[int]:
    return [i for i, obj in enumerate(scene.objects) if isinstance(obj.material, Diffuse)]


def _parameters(scene: Scene, light: int, fit_intensity: bool, fit_albedo: bool) -> dict:
    # Unconstrained coordinates of equal scale: metres for the position, log for the intensity,
    # logits for the albedos, so one Adam learning rate suits them all.
    params = {"position": scene.lights[light].position}
    if fit_intensity:
        params["log_intensity"] = jnp.log(jnp.maximum(scene.lights[light].intensity, 1e-30))
    if fit_albedo:
        params["albedo_logit"] = [
            jax.scipy.special.logit(jnp.clip(scene.objects[i].material.albedo, _ALBEDO_MARGIN, 1 - _ALBEDO_MARGIN))
            for i in _diffuse_indices(scene)
        ]
    return params


def _with_parameters(scene: Scene, light: int, params: dict) -> Scene:
    scene = eqx.tree_at(lambda s: s.lights[light].position, scene, params["position"])
    if "log_intensity" in params:
        scene = eqx.tree_at(lambda s: s.lights[light].intensity, scene, jnp.exp(params["log_intensity"]))
    if "albedo_logit" in params:
        for i, logit in zip(_diffuse_indices(scene), params["albedo_logit"]):
            scene = eqx.tree_at(lambda s: s.objects[i].material.albedo, scene, jax.nn.sigmoid(logit))
    return scene


def fit_light(
    scene: Scene,
    camera: Camera,
    reference: Float[ArrayLike, "height width 3"],
    *,
    light: int = 0,
    fit_intensity: bool = False,
    fit_albedo: bool = False,
    steps: int = 200,
    learning_rate: float = 0.1,
    spp: int = 1,
    key: jax.Array | None = None,
    max_depth: int = 2,
) -> LightFit:
    """Move `scene.lights[light]` (a `PointLight`) so that `render(scene, camera)` matches `reference`.

    Minimises the mean squared pixel error with optax Adam, `steps` steps, the learning rate
    decaying from `learning_rate` (metres per step for the position) along a cosine to 1% of it.
    Optionally also fits the light's RGB intensity (W/sr, on a log scale) and the RGB albedo of
    every `Diffuse` object (as logits, so it stays in (0, 1)).

    **Arguments:**
    - `scene`: the starting guess; everything not fitted is held fixed.
    - `camera`: the camera the reference was taken with.
    - `reference`: `(camera.height, camera.width, 3)` linear radiance, e.g. from `render.load_png`.
    - `spp`, `key`, `max_depth`: as for `render`; with a `key`, every step uses the same samples.

    **Returns:** a `LightFit` with the fitted scene and the loss history.

    Hard shadow edges contribute no gradient (see `render`); the fit follows the shading, which is
    smooth in the light's position, and converges when the start is in the right basin.
    """
    if not isinstance(light, int) or not 0 <= light < len(scene.lights):
        raise ValueError(f"fit_light: `light` must index `scene.lights` (0 to {len(scene.lights) - 1}), got {light!r}")
    if not isinstance(scene.lights[light], PointLight):
        raise ValueError(f"fit_light: `scene.lights[{light}]` must be a PointLight, got {type(scene.lights[light]).__name__}")
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"fit_light: `steps` must be a positive integer, got {steps!r}")
    if not learning_rate > 0:
        raise ValueError(f"fit_light: `learning_rate` must be > 0, got {learning_rate!r}")
    reference = jnp.asarray(reference)
    if reference.shape != (camera.height, camera.width, 3):
        raise ValueError(
            f"fit_light: `reference` must have the camera's shape ({camera.height}, {camera.width}, 3), "
            f"got {reference.shape}"
        )
    if fit_albedo and not _diffuse_indices(scene):
        raise ValueError("fit_light: `fit_albedo=True` but no object in the scene has a Diffuse material")
    params = _parameters(scene, light, fit_intensity, fit_albedo)
    return _fit(scene, camera, reference, params, key, light=light, steps=steps, learning_rate=learning_rate,
                spp=spp, max_depth=max_depth)


@eqx.filter_jit
def _fit(scene, camera, reference, params, key, *, light, steps, learning_rate, spp, max_depth) -> LightFit:
    schedule = optax.cosine_decay_schedule(learning_rate, steps, alpha=0.01)
    optimiser = optax.adam(schedule)

    def loss(params):
        image = render(_with_parameters(scene, light, params), camera, spp=spp, key=key, max_depth=max_depth)
        return jnp.mean((image - reference) ** 2)

    def step(carry, _):
        params, state = carry
        value, grads = jax.value_and_grad(loss)(params)
        updates, state = optimiser.update(grads, state, params)
        return (optax.apply_updates(params, updates), state), value

    (params, _), losses = jax.lax.scan(step, (params, optimiser.init(params)), None, length=steps)
    return LightFit(_with_parameters(scene, light, params), scene, losses, loss(params))


def save_fit_pictures(
    directory: str | os.PathLike,
    fit: LightFit,
    camera: Camera,
    reference: Float[ArrayLike, "height width 3"],
    *,
    exposure: float = 0.0,
    spp: int = 1,
    key: jax.Array | None = None,
    prefix: str = "fit",
) -> tuple[Path, Path]:
    """Write `{prefix}_strip.png` (initial | fitted | reference, sRGB with `exposure` stops) and
    `{prefix}_loss.png` (loss against step, log scale) into `directory`; returns both paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    images = [render(fit.initial, camera, spp=spp, key=key), render(fit.scene, camera, spp=spp, key=key), reference]
    strip = save_strip(directory / f"{prefix}_strip.png", images, exposure=exposure)

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5, 3.2), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    losses = np.asarray(fit.losses)
    axes.semilogy(np.arange(1, losses.size + 1), np.maximum(losses, np.finfo(float).tiny))
    axes.set_xlabel("Adam step")
    axes.set_ylabel("mean squared pixel error")
    axes.set_title("fitting a point light to a reference image")
    axes.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    curve = directory / f"{prefix}_loss.png"
    figure.savefig(curve)
    return strip, curve


def save_strip(path: str | os.PathLike, images: list[Image], *, exposure: float = 0.0, gap: int = 2) -> Path:
    """Write images of one height side by side (white `gap` pixels apart) as one sRGB PNG."""
    images = [np.asarray(im, dtype=np.float64) for im in images]
    if not images or any(im.ndim != 3 or im.shape[0] != images[0].shape[0] or im.shape[2] != 3 for im in images):
        raise ValueError(f"save_strip: `images` must be (height, width, 3) of one height, got {[im.shape for im in images]}")
    spacer = np.full((images[0].shape[0], gap, 3), 2.0**-exposure * 1e3)  # white after clipping
    parts = [p for im in images for p in (im, spacer)][:-1]
    return save_png(path, np.concatenate(parts, axis=1), exposure=exposure)
