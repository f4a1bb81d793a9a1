"""`difsci demo`: the main job, end to end, writing PNGs and a summary.

Each section is a library function owned by the package that does the work; this module
only runs them in turn, times them, and writes `summary.json`.
"""

import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import difsci as ds


def _coin_model(n: int):
    p = ds.sample("p", ds.Beta(1.0, 1.0))
    return ds.sample("x", ds.Bernoulli(probs=p), sample_shape=(n,))


def probabilistic_section(out_dir: Path, key) -> dict:
    """Edward2's coin: simulate flips, then recover the coin's bias from its log-joint."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = 50
    sim_key, _ = jax.random.split(key)
    truth = ds.trace(ds.substitute(_coin_model, {"p": 0.7}), sim_key)(n)
    flips = truth["x"].value
    log_joint = ds.log_joint(ds.condition(_coin_model, {"x": flips}))
    grid = jnp.linspace(1e-3, 1 - 1e-3, 999)
    log_post = jax.vmap(lambda p: log_joint({"p": p}, n))(grid)
    post = jnp.exp(log_post - log_post.max())
    post = post / jnp.trapezoid(post, grid)
    heads = int(flips.sum())
    exact = jnp.exp(ds.Beta(1.0 + heads, 1.0 + n - heads).log_prob(grid))
    max_abs_error = float(jnp.max(jnp.abs(post - exact)))
    post_mean = float(jnp.trapezoid(grid * post, grid))

    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot(grid, post, label="log_joint, normalised on a grid")
    ax.plot(grid, exact, "--", label=f"closed form Beta({1 + heads}, {1 + n - heads})")
    ax.axvline(0.7, color="k", lw=0.8, label="true p")
    ax.set_xlabel("p")
    ax.set_ylabel("posterior density")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = out_dir / "coin_posterior.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return {
        "flips": n,
        "heads": heads,
        "posterior_mean": post_mean,
        "closed_form_mean": (1 + heads) / (2 + n),
        "max_density_error": max_abs_error,
        "png": str(path),
    }


def trebuchet_section(out_dir: Path, key, quick: bool = False) -> dict:
    """Aim the trebuchet at 75 m in a 3 m/s headwind by Levenberg-Marquardt through diffrax
    (quick: with the shipped network aimer, one forward pass, and simulate that shot)."""
    import physics

    if quick:
        return network_shot(out_dir, target=75.0, wind=-3.0)
    return physics.demo_aimed_shot(out_dir, target=75.0, wind=-3.0)


def _simulate_collecting_checks(trebuchet, mass, angle, wind):
    from difsci._checks import checks_as_values

    # The settings' checks come back as one flag instead of `eqx.error_if` host callbacks, which
    # JAX's persistent cache refuses to store: so a second quick demo loads this program.
    with checks_as_values() as checks:
        shot = trebuchet.simulate(mass, angle, wind, throw=False)
    return shot, checks.passed()


def network_shot(out_dir: Path, target: float = 75.0, wind: float = -3.0) -> dict:
    """The quick demo's trebuchet: the shipped aimer's settings for `target` (m) in `wind` (m/s),
    simulated once (one compiled program, which the persistent cache keeps) and drawn."""
    import physics

    start = time.perf_counter()
    trebuchet = physics.Trebuchet()
    mass, angle = load_shipped_aimer()(jnp.asarray(target), jnp.asarray(wind))
    physics.ShotSettings(mass, angle, wind)  # the settings' checks, eagerly: a ValueError naming the bad one
    shot, passed = jax.jit(_simulate_collecting_checks)(trebuchet, mass, angle, jnp.asarray(wind, float))
    if not bool(passed):
        raise ValueError(f"network_shot: the aimer's settings (mass {float(mass)} kg, angle {float(angle)} rad) "
                         "failed the simulator's checks")
    if int(shot.failure) != 0:
        raise RuntimeError(f"network_shot: the aimed shot failed: {physics.TrebuchetFailure(int(shot.failure)).message}")
    seconds = time.perf_counter() - start
    png = physics.plot_shot(
        trebuchet, shot, out_dir / "trebuchet_shot.png",
        title=f"network aim at {target:g} m in a {abs(wind):g} m/s {'headwind' if wind < 0 else 'tailwind'}: "
        f"{float(mass) / physics.POUND:.1f} lb, {float(jnp.rad2deg(angle)):.2f} deg",
    )
    return {
        "aimed_by": f"shipped network aimer ({AIMER_FILE.name}), one forward pass",
        "target_m": target,
        "wind_m_per_s": wind,
        "counterweight_kg": float(mass),
        "release_angle_rad": float(angle),
        "distance_m": float(shot.distance),
        "miss_m": float(abs(shot.distance - target)),
        "seconds_including_compile": round(seconds, 2),
        "png": str(png),
    }


AIMER_FILE = Path(__file__).with_name("trebuchet_aimer.eqx")
# How the shipped aimer was made (`difsci trebuchet train --steps 600 --refine 40 --seed 0`,
# about 10 minutes on 2 cores), so the demo shows a trained network within its time budget.
AIMER_HIDDEN = 32


def load_shipped_aimer():
    """The pre-trained trebuchet aimer that ships with difsci (`models/trebuchet_aimer.eqx`)."""
    import equinox as eqx

    from ._surrogate import TrebuchetAimer

    if not AIMER_FILE.exists():
        raise FileNotFoundError(f"the shipped aimer {AIMER_FILE} is missing; make it with "
                                f"`difsci trebuchet train --steps 600 --refine 40 --out DIR` and copy DIR/aimer.eqx there")
    return eqx.tree_deserialise_leaves(AIMER_FILE, TrebuchetAimer(AIMER_HIDDEN, key=jax.random.key(0)))


def surrogate_section(out_dir: Path, key, quick: bool = False) -> dict:
    """The shipped aimer (trained through the simulator) against direct Levenberg-Marquardt
    aiming on a grid of targets x wind, and a picture of its miss over that grid."""
    import equinox as eqx

    import physics

    from ._surrogate import evaluate_aimer, relative_miss

    trebuchet = physics.Trebuchet()
    model = load_shipped_aimer()
    nt, nw = (4, 3) if quick else (12, 7)
    target_axis, wind_axis = jnp.linspace(25.0, 95.0, nt), jnp.linspace(-6.0, 6.0, nw)
    targets, winds = (a.ravel() for a in jnp.meshgrid(target_axis, wind_axis))
    aimed = eqx.filter_jit(jax.vmap(lambda t, w: physics.aim(trebuchet, t, w)))(targets, winds)
    stats = evaluate_aimer(model, trebuchet, targets, winds, reachable=aimed.reachable)
    misses = np.asarray(jnp.abs(eqx.filter_jit(lambda *a: relative_miss(*a, throw=False))(
        model, trebuchet, targets, winds))) * 100
    grid = np.where(np.asarray(aimed.reachable), misses, np.nan).reshape(nw, nt)
    png = _plot_miss_grid(out_dir / "surrogate_miss.png", grid, np.asarray(target_axis), np.asarray(wind_axis))
    return {"aimer": f"shipped pre-trained ({AIMER_FILE.name})", "grid": f"{nt} targets x {nw} winds", **stats,
            "png": str(png)}


def _plot_miss_grid(path: Path, grid, target_axis, wind_axis) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    dt, dw = (target_axis[1] - target_axis[0]) / 2, (wind_axis[1] - wind_axis[0]) / 2
    ax.set_facecolor("0.85")  # unreachable cells (no setting within the bounds hits them) stay grey
    image = ax.imshow(np.clip(grid, 1e-3, None), origin="lower", aspect="auto", cmap="viridis",
                      norm=LogNorm(vmin=1e-3, vmax=max(1.0, float(np.nanmax(grid)) if np.isfinite(grid).any() else 1.0)),
                      extent=(target_axis[0] - dt, target_axis[-1] + dt, wind_axis[0] - dw, wind_axis[-1] + dw))
    fig.colorbar(image, ax=ax, label="miss (% of target)")
    ax.set_xlabel("target (m)")
    ax.set_ylabel("wind (m/s, + = tailwind)")
    ax.set_title(f"network aimer: mean miss {np.nanmean(grid):.3g} % on reachable targets (grey: unreachable)",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def inference_section(out_dir: Path, key, quick: bool = False) -> dict:
    """NUTS on the coin model: the posterior of the bias from 50 flips, against its closed form."""
    n = 50
    flips = ds.trace(ds.substitute(_coin_model, {"p": 0.7}), jax.random.fold_in(key, 1))(n)["x"].value
    result = ds.nuts(ds.condition(_coin_model, {"x": flips}), key, n, num_warmup=200 if quick else 500,
                     num_samples=200 if quick else 1000, num_chains=4)
    heads = int(flips.sum())
    table = result.summary()["p"]
    closed_form = ds.Beta(1.0 + heads, 1.0 + n - heads)
    png = _plot_nuts(out_dir / "nuts_posterior.png", result.samples["p"], closed_form, heads, n)
    return {
        "posterior_mean": float(table["mean"]),
        "closed_form_mean": (1 + heads) / (2 + n),
        "posterior_sd": float(table["sd"]),
        "closed_form_sd": float(jnp.sqrt(closed_form.variance)),
        "r_hat": float(table["r_hat"]),
        "ess_bulk": float(table["ess_bulk"]),
        "divergences": result.num_divergences,
        "png": str(png),
    }


def _plot_nuts(path: Path, draws, closed_form, heads: int, n: int) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    draws = np.asarray(draws)  # (chains, draws)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2), gridspec_kw={"width_ratios": [1, 1.4]})
    grid = jnp.linspace(1e-3, 1 - 1e-3, 500)
    left.hist(draws.ravel(), bins=40, density=True, alpha=0.5, label=f"NUTS, {draws.size} draws")
    left.plot(grid, jnp.exp(closed_form.log_prob(grid)), "k--", label=f"closed form Beta({1 + heads}, {1 + n - heads})")
    left.set_xlim(float(draws.min()) - 0.05, float(draws.max()) + 0.05)
    left.set_xlabel("p")
    left.set_ylabel("posterior density")
    left.legend(fontsize=7)
    for c, chain in enumerate(draws):
        right.plot(chain, lw=0.5, alpha=0.8, label=f"chain {c}")
    right.set_xlabel("draw")
    right.set_ylabel("p")
    right.set_title("chain traces", fontsize=9)
    right.legend(fontsize=6, ncol=len(draws), loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def light_section(out_dir: Path, key, quick: bool = False) -> dict:
    """Fit a point light to a "photo" (an 8-bit PNG render) through the ray tracer."""
    import render

    size, steps = (32, 150) if quick else (64, 200)
    result = render.fit_light_to_photo(out_dir / "light", size=size, steps=steps)
    result["strip"] = str(_enlarge(Path(result["strip"]), min_height=256))
    return result


def _enlarge(path: Path, min_height: int) -> Path:
    """Scale a small picture up by a whole factor (nearest pixel) to at least `min_height` rows."""
    from PIL import Image

    with Image.open(path) as image:
        factor = -(-min_height // image.height)
        if factor > 1:
            image.resize((image.width * factor, image.height * factor), Image.Resampling.NEAREST).save(path)
    return path


SECTION_STORY = {
    "probabilistic": "a model's log_joint, normalised on a grid, matches the closed-form coin posterior",
    "inference": "NUTS draws of the coin's bias match the closed-form posterior (histogram, chain traces)",
    "trebuchet": "Levenberg-Marquardt through the diffrax simulator aims the trebuchet at 75 m in a headwind",
    "light": "Adam through the ray tracer moves a point light until the render matches an 8-bit photo",
    "surrogate": "a network trained through the simulator aims in one forward pass (miss over targets x wind)",
}
# In quick mode the trebuchet is aimed by the shipped network (no Levenberg-Marquardt compile).
_QUICK_STORY = {"trebuchet": "the shipped network aims the trebuchet at 75 m in a headwind; diffrax simulates the shot"}
_HEADLINE = {
    "probabilistic": lambda r: f"max density error {r['max_density_error']:.2g}",
    "inference": lambda r: f"mean {r['posterior_mean']:.3f} vs {r['closed_form_mean']:.3f}, r_hat {r['r_hat']:.3f}",
    "trebuchet": lambda r: f"miss {r['miss_m'] * 100:.2g} cm",
    "light": lambda r: f"light within {r['relative_error'] * 100:.2g} % of the truth",
    "surrogate": lambda r: f"reachable mean miss {r['reachable_mean_miss_percent']:.3g} %",
}


def _pictures(result: dict) -> list[str]:
    return [v for k, v in result.items() if k in ("png", "strip", "loss_curve") and isinstance(v, str)]


def print_summary(summary: dict, out: Path) -> None:
    """One screen: what each section showed, its headline number, and where its pictures are."""
    print("\n" + "=" * 78 + f"\ndifsci demo ({'quick' if summary['quick'] else 'full'}): {out}")
    for name, story in SECTION_STORY.items():
        if name not in summary:
            continue
        story = _QUICK_STORY.get(name, story) if summary["quick"] else story
        result = summary[name]
        print(f"- {name} ({result['seconds']:.0f} s): {story}\n    {_HEADLINE[name](result)}; "
              f"pictures: {', '.join(_pictures(result)) or '-'}")
    print(f"all numbers: {out / 'summary.json'}\n" + "=" * 78)


def run_demo(out_dir: str | Path = "difsci-demo", quick: bool = False) -> int:
    jax.config.update("jax_enable_x64", True)  # as `difsci trebuchet`: the simulator's tolerances are float64's
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    key = jax.random.key(0)
    sections = {
        "probabilistic": probabilistic_section,
        "inference": lambda out, key: inference_section(out, key, quick),
        "trebuchet": lambda out, key: trebuchet_section(out, key, quick),
        "light": lambda out, key: light_section(out, key, quick),
    }
    if not quick:  # the batched aim and evaluation compile for ~30 s; tests cover them with a tiny grid
        sections["surrogate"] = lambda out, key: surrogate_section(out, key)
    summary = {"devices": [str(d) for d in jax.devices()], "quick": quick}
    for name, section in sections.items():
        start = time.perf_counter()
        result = section(out, jax.random.fold_in(key, len(summary)))
        result["seconds"] = round(time.perf_counter() - start, 2)
        summary[name] = result
        print(f"[{name}] " + ", ".join(f"{k}={_fmt(v)}" for k, v in result.items()))
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print_summary(summary, out)
    return 0


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


