"""One way to run an example script with tiny settings, shared by the examples' tests."""

import math
import runpy
from pathlib import Path

EXAMPLES = Path(__file__).parents[2] / "examples"

# Each example's arguments for a run of a few seconds; "{out}" is replaced by a temporary folder.
TINY_ARGS = {
    "bayesian_nn": ["--train", "16", "--vi-steps", "10", "--warmup", "10", "--samples", "10", "--chains", "1",
                    "--width", "2", "--out", "{out}"],
    "cartpole_control": ["--episodes", "1", "--task", "balance", "--horizon", "1.05", "--out", "{out}"],
    "discrete_vae": ["--steps", "2", "--hidden", "4", "--batch-size", "4", "--out", "{out}"],
    "infer_trebuchet": ["--warmup", "5", "--samples", "5", "--chains", "1"],
    # Two chains, so split R-hat is defined.
    "lotka_volterra": ["--warmup", "5", "--samples", "5", "--chains", "2", "--out", "{out}"],
    "neural_ode_pelts": ["--steps", "3", "--refine-steps", "0", "--lm-steps", "3", "--width", "4", "--depth", "1",
                         "--out", "{out}"],
    "pendulum_control": ["--episodes", "1", "--horizon", "1.05", "--out", "{out}"],
    "train_trebuchet_surrogate": ["--steps", "2", "--refine", "1", "--refine-points", "8", "--batch-size", "4",
                                  "--hidden", "4", "--grid", "2", "--out", "{out}"],
    "vae_digits": ["--steps", "2", "--hidden", "4", "--iwae-samples", "2", "--out", "{out}"],
}


def run_tiny(name: str, out: Path, argv: list[str] | None = None) -> dict:
    """Run `examples/<name>.py`'s `main` with its tiny arguments (or `argv`), writing under `out`."""
    argv = TINY_ARGS[name] if argv is None else argv
    main = runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name=f"example_{name}")["main"]
    return main([a.replace("{out}", str(out)) for a in argv])


def non_finite_leaves(tree, path: str = "") -> list[str]:
    """Paths of the float leaves of a nested dict/list summary that are NaN or infinite."""
    if isinstance(tree, dict):
        return [p for k, v in tree.items() for p in non_finite_leaves(v, f"{path}.{k}")]
    if isinstance(tree, (list, tuple)):
        return [p for i, v in enumerate(tree) for p in non_finite_leaves(v, f"{path}[{i}]")]
    if isinstance(tree, float) and not math.isfinite(tree):
        return [path]
    return []
