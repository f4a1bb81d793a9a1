"""The physics part of `difsci demo`: aim the trebuchet at a target in a headwind and draw the shot."""

import time
from pathlib import Path

import equinox as eqx
import jax.numpy as jnp

from ._aim import aim
from ._plot import plot_shot
from ._trebuchet import POUND, Trebuchet


def demo_aimed_shot(out_dir: str | Path, target: float = 75.0, wind: float = -3.0) -> dict:
    """Aim a `Trebuchet()` at `target` m in `wind` m/s, simulate the shot, save `trebuchet_shot.png`."""
    trebuchet = Trebuchet()
    start = time.perf_counter()
    result = eqx.filter_jit(aim)(trebuchet, target, wind)
    shot = eqx.filter_jit(trebuchet.simulate)(result.counterweight_mass, result.release_angle, wind)
    seconds = time.perf_counter() - start
    png = plot_shot(
        trebuchet, shot, Path(out_dir) / "trebuchet_shot.png",
        title=f"aimed at {target:g} m in a {abs(wind):g} m/s {'headwind' if wind < 0 else 'tailwind'}: "
        f"{float(result.counterweight_mass) / POUND:.1f} lb, {float(jnp.rad2deg(result.release_angle)):.2f} deg",
    )
    return {
        "target_m": target,
        "wind_m_per_s": wind,
        "counterweight_kg": float(result.counterweight_mass),
        "release_angle_rad": float(result.release_angle),
        "distance_m": float(shot.distance),
        "miss_m": float(abs(shot.distance - target)),
        "solver_steps": int(result.steps),
        "seconds_including_compile": round(seconds, 2),
        "png": str(png),
    }
