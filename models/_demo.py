"""`difsci demo`: the main job, end to end, writing PNGs and a summary.

Each section is a library function owned by the package that does the work; this module
only runs them in turn, times them, and writes `summary.json`.
"""

import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp

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


def trebuchet_section(out_dir: Path, key) -> dict:
    """Aim the trebuchet at 75 m in a 3 m/s headwind by Levenberg-Marquardt through diffrax."""
    import physics

    return physics.demo_aimed_shot(out_dir, target=75.0, wind=-3.0)


def surrogate_section(out_dir: Path, key, quick: bool = False) -> dict:
    """A short run of training the trebuchet aimer through the simulator, and its misses on
    a held-out grid (the full run is `examples/train_trebuchet_surrogate.py`)."""
    import physics

    from ._surrogate import evaluate_aimer, train_aimer

    trebuchet = physics.Trebuchet()
    steps = 20 if quick else 300
    model, result = train_aimer(trebuchet, key, num_steps=steps, batch_size=32, learning_rate=1e-2,
                                progress_bar=False)
    targets, winds = jnp.meshgrid(jnp.linspace(25.0, 95.0, 6), jnp.linspace(-6.0, 6.0, 5))
    stats = evaluate_aimer(model, trebuchet, targets.ravel(), winds.ravel())
    return {"steps": steps, "final_loss": float(result.losses[-1]), **stats}


def inference_section(out_dir: Path, key, quick: bool = False) -> dict:
    """NUTS on the coin model: the posterior of the bias from 50 flips, against its closed form."""
    n = 50
    flips = ds.trace(ds.substitute(_coin_model, {"p": 0.7}), jax.random.fold_in(key, 1))(n)["x"].value
    result = ds.nuts(ds.condition(_coin_model, {"x": flips}), key, n, num_warmup=200 if quick else 500,
                     num_samples=200 if quick else 1000, num_chains=4)
    heads = int(flips.sum())
    table = result.summary()["p"]
    return {
        "posterior_mean": float(table["mean"]),
        "closed_form_mean": (1 + heads) / (2 + n),
        "posterior_sd": float(table["sd"]),
        "closed_form_sd": float(jnp.sqrt(ds.Beta(1.0 + heads, 1.0 + n - heads).variance)),
        "r_hat": float(table["r_hat"]),
        "ess_bulk": float(table["ess_bulk"]),
        "divergences": result.num_divergences,
    }


def light_section(out_dir: Path, key, quick: bool = False) -> dict:
    """Fit a point light to a "photo" (an 8-bit PNG render) through the ray tracer."""
    import render

    size, steps = (32, 150) if quick else (64, 200)
    return render.fit_light_to_photo(out_dir / "light", size=size, steps=steps)


def run_demo(out_dir: str | Path = "difsci-demo", quick: bool = False) -> int:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    key = jax.random.key(0)
    sections = {
        "probabilistic": probabilistic_section,
        "inference": lambda out, key: inference_section(out, key, quick),
        "trebuchet": trebuchet_section,
        "light": lambda out, key: light_section(out, key, quick),
    }
    if not quick:  # training compiles the batched simulator gradient (~30 s); tests cover it elsewhere
        sections["surrogate"] = lambda out, key: surrogate_section(out, key)
    summary = {"devices": [str(d) for d in jax.devices()], "quick": quick}
    for name, section in sections.items():
        start = time.perf_counter()
        result = section(out, jax.random.fold_in(key, len(summary)))
        result["seconds"] = round(time.perf_counter() - start, 2)
        summary[name] = result
        print(f"[{name}] " + ", ".join(f"{k}={_fmt(v)}" for k, v in result.items()))
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"wrote {out / 'summary.json'}")
    return 0


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


