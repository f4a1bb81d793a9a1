"""Pictures of a shot: the arm, counterweight and sling at moments of the throw, and the flight."""

from pathlib import Path

import jax.numpy as jnp
import numpy as np

from ._trebuchet import Shot, Trebuchet


def _geometry(trebuchet: Trebuchet, s):
    """Pivot, arm tips, counterweight centre and projectile positions for state `s` (arrays)."""
    b, c, d = float(trebuchet.long_arm), float(trebuchet.short_arm), float(trebuchet.weight_arm)
    aq, wq = np.asarray(s.arm), np.asarray(s.weight)
    tip = np.stack([-b * np.sin(aq), b * np.cos(aq)])
    hinge = np.stack([c * np.sin(aq), -c * np.cos(aq)])
    weight = hinge + np.stack([d * np.sin(aq + wq), -d * np.cos(aq + wq)])
    projectile = np.asarray(trebuchet.projectile_position(s))
    return tip, hinge, weight, projectile


def plot_shot(trebuchet: Trebuchet, shot: Shot, path: str | Path, *, title: str | None = None, frames: int = 6) -> Path:
    """Draw `shot` (from `Trebuchet.simulate`) to a PNG at `path`: a close-up of the arm and
    sling at `frames` moments up to release, and the whole flight to the landing point."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    a = float(trebuchet.pivot_height)
    fig, (near, far) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [1, 2.2]})
    n = shot.arm_times.shape[0]
    for k, i in enumerate(np.linspace(0, n - 1, frames).astype(int)):
        s = type(shot.arm_states)(*(np.asarray(f)[i] for f in shot.arm_states.__dict__.values()))
        tip, hinge, weight, proj = _geometry(trebuchet, s)
        alpha = 0.25 + 0.75 * k / max(frames - 1, 1)
        near.plot([hinge[0], tip[0]], [hinge[1], tip[1]], "-", color="saddlebrown", lw=3, alpha=alpha)
        near.plot([hinge[0], weight[0]], [hinge[1], weight[1]], "-", color="k", lw=1, alpha=alpha)
        near.plot(*weight, "s", color="dimgray", ms=10, alpha=alpha)
        near.plot([tip[0], proj[0]], [tip[1], proj[1]], "-", color="tab:blue", lw=1, alpha=alpha)
        near.plot(*proj, "o", color="tab:red", ms=5, alpha=alpha)
    states = shot.arm_states
    positions = np.asarray(jnp.stack([trebuchet.projectile_position(type(states)(*(f[i] for f in states.__dict__.values()))) for i in range(n)]))
    near.plot(positions[:, 0], positions[:, 1], ":", color="tab:red", lw=1)
    near.plot([0, 0], [-a, 0], "-", color="k", lw=2)
    near.axhline(-a, color="olivedrab")
    near.set_aspect("equal")
    near.set_title("arm and sling until release")
    near.set_xlabel("x (m)")
    near.set_ylabel("height above pivot (m)")

    flight = np.asarray(shot.flight)
    far.plot(positions[:, 0], positions[:, 1] + a, color="tab:red", lw=1)
    far.plot(flight[:, 0], flight[:, 1] + a, color="tab:red", lw=2, label="projectile")
    far.axhline(0, color="olivedrab")
    far.plot([float(shot.distance)], [0], "v", color="k", ms=8)
    far.annotate(f"{float(shot.distance):.2f} m", (float(shot.distance), 0), textcoords="offset points", xytext=(-30, 10))
    far.set_xlabel("distance from pivot (m)")
    far.set_ylabel("height (m)")
    far.set_title(
        title
        or f"release {np.rad2deg(float(shot.release_direction)):.1f} deg at {float(shot.release_speed):.1f} m/s"
    )
    far.set_aspect("equal", adjustable="datalim")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
