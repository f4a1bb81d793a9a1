"""NUTS: difsci vs NumPyro vs BlackJAX used directly, same model, warm-up, draws and chains.

Workloads: Bayesian logistic regression on scikit-learn's breast-cancer data (569 x 30,
standardised, plus an intercept; Normal(0, 1) priors) and the non-centred eight schools.
Reported per sampler: compile seconds (everything before sampling), the seconds JAX itself
spent tracing, lowering and compiling (its monitoring events: the same measure on every side),
sampling seconds (warm-up + draws, after compiling), the smallest bulk ESS over all parameters,
and min-ESS per sampling second. NumPyro runs twice: its sampling seconds are its second run's
wall time less the compiling JAX records in it (NumPyro compiles parts of its sampler again on
every run, its `pmap`'d chains all of it), and its compile seconds are its first run less that. All three use
Stan's window adaptation and a diagonal mass matrix with target acceptance 0.8.

    python benchmarks/nuts.py            # 4 chains x (500 warm-up + 1000 draws)
    python benchmarks/nuts.py --quick    # tiny smoke run
    DIFSCI_BENCH_DEVICES=2 python benchmarks/nuts.py --lotka-volterra --warmup 300 --draws 300 --chains 2
"""

import argparse
import os
import sys
import time

# One host device per chain (4 by default): each device then runs its chain independently.
DEVICES = int(os.environ.get("DIFSCI_BENCH_DEVICES", 4))
if __name__ == "__main__":
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={DEVICES}"
    ).strip()

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

sys.path.insert(0, os.path.dirname(__file__))
from _common import report  # noqa: E402

import difsci as ds  # noqa: E402

EIGHT_SCHOOLS_Y = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
EIGHT_SCHOOLS_SIGMA = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])


def breast_cancer():
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    x = (data.data - data.data.mean(0)) / data.data.std(0)
    return jnp.asarray(x), jnp.asarray(data.target, dtype=jnp.float64)


# --- difsci models -------------------------------------------------------------------------
def logistic_model(x, y):
    w = ds.sample("w", ds.Normal(jnp.zeros(x.shape[1]), 1.0))
    b = ds.sample("b", ds.Normal(0.0, 1.0))
    ds.sample("y", ds.Bernoulli(logits=x @ w + b), obs=y)


def schools_model(sigma, y):
    mu = ds.sample("mu", ds.Normal(0.0, 5.0))
    tau = ds.sample("tau", ds.HalfCauchy(5.0))
    theta_raw = ds.sample("theta_raw", ds.Normal(jnp.zeros(8), 1.0))
    ds.sample("y", ds.Normal(mu + tau * theta_raw, sigma), obs=y)


# --- NumPyro models ------------------------------------------------------------------------
def numpyro_models():
    import numpyro
    import numpyro.distributions as dist

    def logistic(x, y):
        w = numpyro.sample("w", dist.Normal(jnp.zeros(x.shape[1]), 1.0).to_event(1))
        b = numpyro.sample("b", dist.Normal(0.0, 1.0))
        numpyro.sample("y", dist.Bernoulli(logits=x @ w + b), obs=y)

    def schools(sigma, y):
        mu = numpyro.sample("mu", dist.Normal(0.0, 5.0))
        tau = numpyro.sample("tau", dist.HalfCauchy(5.0))
        theta_raw = numpyro.sample("theta_raw", dist.Normal(jnp.zeros(8), 1.0).to_event(1))
        numpyro.sample("y", dist.Normal(mu + tau * theta_raw, sigma), obs=y)

    return {"logistic": logistic, "schools": schools}


_COMPILE_EVENTS = ("/jax/core/compile/jaxpr_trace_duration", "/jax/core/compile/jaxpr_to_mlir_module_duration",
                   "/jax/core/compile/backend_compile_duration")


class CompileClock:
    """Seconds JAX spends tracing, lowering and compiling inside a `with` block (its own
    monitoring events), the same measure for every sampler."""

    def __init__(self):
        self.seconds = 0.0
        self._running = False
        jax.monitoring.register_event_duration_secs_listener(self._record)

    def _record(self, event, duration, **kwargs):
        if self._running and event in _COMPILE_EVENTS:
            self.seconds += duration

    def __enter__(self):
        self.seconds, self._running = 0.0, True
        return self

    def __exit__(self, *exc):
        self._running = False


CLOCK = None


def min_ess(samples: dict) -> float:
    return float(min(np.min(ds.ess_bulk(np.asarray(v))) for v in samples.values()))


def run_difsci(model, args, warmup, draws, chains, method):
    with CLOCK:
        start = time.perf_counter()
        result = ds.nuts(model, jax.random.key(0), *args, num_warmup=warmup, num_samples=draws,
                         num_chains=chains, chain_method=method)
        total = time.perf_counter() - start
    # "Compile" = everything but sampling (tracing, initialisation, XLA), as for NumPyro below.
    return total - result.sample_seconds, result.sample_seconds, result.samples, CLOCK.seconds


def run_numpyro(model, args, warmup, draws, chains, method="vectorized"):
    from numpyro.infer import MCMC, NUTS

    # jit_model_args: the data are arguments of the compiled sampler, so a second run can reuse
    # it (with the data closed over, NumPyro compiles its whole sampler again on every run).
    mcmc = MCMC(NUTS(model), num_warmup=warmup, num_samples=draws, num_chains=chains,
                chain_method=method, progress_bar=False, jit_model_args=True)

    def timed_run(seed):
        with CLOCK:
            start = time.perf_counter()
            mcmc.run(jax.random.key(seed), *args)
            jax.block_until_ready(mcmc.get_samples())
            return time.perf_counter() - start, CLOCK.seconds

    first, jax_compile = timed_run(1)
    # NumPyro traces and compiles parts of its sampler again on every run (jit_model_args or
    # not); that time is compilation, not sampling, so it is taken off the second run.
    second, recompiled = timed_run(2)
    sample_s = second - recompiled
    print(f"  (numpyro {method}: its second run spent {recompiled:.2f} s of {second:.2f} s compiling again)")
    return first - sample_s, sample_s, mcmc.get_samples(group_by_chain=True), jax_compile


def run_blackjax(model, args, warmup, draws, chains):
    """BlackJAX's own window adaptation + NUTS, vmapped over chains, on difsci's log density."""
    import blackjax

    from difsci._infer._density import constrain, latent_sites, unconstrained_log_density

    sites = latent_sites(model, jax.random.key(0), args)
    logdensity = unconstrained_log_density(model, args)
    init = {n: jnp.zeros(s.unconstrained_shape) for n, s in sites.items()}

    def one_chain(key, position):
        k1, k2 = jax.random.split(key)
        warm = blackjax.window_adaptation(blackjax.nuts, logdensity)
        (state, params), _ = warm.run(k1, position, warmup)
        kernel = blackjax.nuts(logdensity, **params)

        def step(state, k):
            state, _ = kernel.step(k, state)
            return state, state.position

        return jax.lax.scan(step, state, jax.random.split(k2, draws))[1]

    keys = jax.random.split(jax.random.key(3), chains)
    positions = jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (chains,) + x.shape), init)
    with CLOCK:
        start = time.perf_counter()
        compiled = jax.jit(jax.vmap(one_chain)).lower(keys, positions).compile()
        compile_s = time.perf_counter() - start
    jax_compile = CLOCK.seconds
    start = time.perf_counter()
    out = jax.block_until_ready(compiled(keys, positions))
    run_s = time.perf_counter() - start
    samples = jax.jit(jax.vmap(jax.vmap(lambda u: constrain(model, u, args))))(out)
    return compile_s, run_s, samples, jax_compile


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    opts = parser.parse_args(argv)
    if opts.quick:
        opts.warmup, opts.draws, opts.chains = 50, 50, 2
    x, y = breast_cancer()
    workloads = {
        "logistic": (logistic_model, (x, y)),
        "schools": (schools_model, (jnp.asarray(EIGHT_SCHOOLS_SIGMA), jnp.asarray(EIGHT_SCHOOLS_Y))),
    }
    np_models = numpyro_models()
    metrics = {}
    global CLOCK
    CLOCK = CompileClock()
    # Pay JAX's one-time start-up (backends, first compile) before any sampler is timed.
    jax.block_until_ready(jax.jit(lambda a: jnp.sin(a) @ a)(jnp.ones((4, 4))))
    print(f"{jax.device_count()} devices; {opts.chains} chains x ({opts.warmup} warm-up + {opts.draws} draws)")
    print(f"{'workload':>9} {'sampler':>22} {'compile s':>10} {'JAX compile s':>13} {'sample s':>9} {'min ESS':>8} "
          f"{'ESS/s':>8} {'ESS/total s':>11}")
    for name, (model, args) in workloads.items():
        runs = {
            "difsci (parallel)": run_difsci(model, args, opts.warmup, opts.draws, opts.chains, "parallel"),
            "difsci (vectorized)": run_difsci(model, args, opts.warmup, opts.draws, opts.chains, "vectorized"),
            "numpyro (vectorized)": run_numpyro(np_models[name], args, opts.warmup, opts.draws, opts.chains),
            "numpyro (parallel)": run_numpyro(np_models[name], args, opts.warmup, opts.draws, opts.chains, "parallel"),
            "blackjax (vmap)": run_blackjax(model, args, opts.warmup, opts.draws, opts.chains),
        }
        means = {}
        for sampler, (compile_s, run_s, samples, jax_compile) in runs.items():
            ess = min_ess(samples)
            total = run_s + (0.0 if np.isnan(compile_s) else compile_s)
            per_s = float("nan") if np.isnan(compile_s) else ess / run_s
            print(f"{name:>9} {sampler:>22} {compile_s:>10.2f} {jax_compile:>13.2f} {run_s:>9.2f} {ess:>8.0f} "
                  f"{per_s:>8.0f} {ess / total:>11.0f}")
            key = {"difsci (parallel)": "difsci", "difsci (vectorized)": "difsci_vectorized",
                   "numpyro (vectorized)": "numpyro", "numpyro (parallel)": "numpyro_parallel",
                   "blackjax (vmap)": "blackjax"}[sampler]
            metrics[f"{name}_{key}_compile_s"] = round(compile_s, 3)
            metrics[f"{name}_{key}_jax_compile_s"] = round(jax_compile, 3)
            metrics[f"{name}_{key}_sample_s"] = round(run_s, 3)
            metrics[f"{name}_{key}_ess_per_s"] = round(per_s, 1)
            metrics[f"{name}_{key}_ess_per_total_s"] = round(ess / total, 1)
            first = "w" if name == "logistic" else "mu"
            means[sampler] = float(np.mean(np.asarray(samples[first])))
        ref = means["numpyro (vectorized)"]
        for sampler, m in means.items():  # same posterior on every side
            if not opts.quick and abs(m - ref) > 0.1 * max(1.0, abs(ref)):
                raise AssertionError(f"{name}: posterior means disagree: {means}")
        metrics[f"{name}_ess_per_s_ratio_vs_numpyro"] = round(
            metrics[f"{name}_difsci_ess_per_s"] / metrics[f"{name}_numpyro_ess_per_s"], 2)
        metrics[f"{name}_compile_ratio_vs_numpyro"] = round(
            metrics[f"{name}_difsci_compile_s"] / metrics[f"{name}_numpyro_compile_s"], 2)
        metrics[f"{name}_jax_compile_ratio_vs_numpyro"] = round(
            metrics[f"{name}_difsci_jax_compile_s"] / metrics[f"{name}_numpyro_jax_compile_s"], 2)
        for peer in ("numpyro", "numpyro_parallel"):  # end to end: compile + sampling
            metrics[f"{name}_ess_per_total_s_ratio_vs_{peer}"] = round(
                metrics[f"{name}_difsci_ess_per_total_s"] / metrics[f"{name}_{peer}_ess_per_total_s"], 2)
    report("nuts", metrics, f"model, priors, {opts.chains} chains, {opts.warmup} warm-up, {opts.draws} draws, "
           "target acceptance 0.8, diagonal mass matrix, float64")


# --- Lotka-Volterra ODE posterior (its own entry point: python benchmarks/nuts.py --lotka-volterra) ---
# The posteriordb posterior hudson_lynx_hare-lotka_volterra as examples/lotka_volterra.py writes it
# (difsci: physics' forward sensitivities through diffrax's Tsit5) against NumPyro as its users
# write it: the same priors and likelihood, diffrax's Tsit5 with its default adjoint (reverse mode,
# RecursiveCheckpointAdjoint). Same tolerances (rtol = atol = 1e-6, the case study's), max_steps 4096,
# failed solves rejected on both sides; target acceptance 0.8, diagonal mass matrix, float64.
# Measured 2026-12-03, 2 chains x (300 + 300), 2 host devices, machine LOADED (load 4-7 on 2 cores):
# difsci 33.5 s compile + 19.1 s sampling, min ESS 159; NumPyro sequential 42.1 + 44.9 s, ESS 155;
# NumPyro vectorized 176.6 s sampling with one chain stuck (ESS 3). Ratios vs the better NumPyro:
# 2.44x ESS per sampling second, 1.70x end to end. Compiling (ds.nuts's `start` and `advance`
# programs, 8-9 s each) is most of a short run; one log-density gradient costs 0.38 ms here
# against 2.0 ms for diffrax's reverse pass (same loaded measurement, jitted, one chain).
def lotka_volterra_example():
    """The example module (its difsci `model`, `data` and `populations`)."""
    import runpy

    return runpy.run_path(os.path.join(os.path.dirname(__file__), "..", "examples", "lotka_volterra.py"))


def numpyro_lotka_volterra():
    import diffrax as dfx
    import numpyro
    import numpyro.distributions as dist

    def field(t, z, theta):
        u, v = z
        alpha, beta, gamma, delta = theta
        return jnp.stack([(alpha - beta * v) * u, (-gamma + delta * u) * v])

    def model(times, observed_initial, observed):
        loc, scale = jnp.array([1.0, 0.05, 1.0, 0.05]), jnp.array([0.5, 0.05, 0.5, 0.05])
        theta = numpyro.sample("theta", dist.TruncatedNormal(loc, scale, low=0.0).to_event(1))
        z0 = numpyro.sample("z0", dist.LogNormal(jnp.log(10.0), 1.0).expand([2]).to_event(1))
        sigma = numpyro.sample("sigma", dist.LogNormal(-1.0, 1.0).expand([2]).to_event(1))
        # Strongly typed times: with Python floats (weakly typed) diffrax's checkpointed loop fails
        # under NumPyro's start-point search ("Closure-converted function called with different
        # dynamic arguments", diffrax issue #503's cause).
        t0, dt0 = jnp.zeros((), times.dtype), jnp.asarray(0.1, times.dtype)
        solution = dfx.diffeqsolve(
            dfx.ODETerm(field), dfx.Tsit5(), t0, times[-1], dt0, z0, args=theta, saveat=dfx.SaveAt(ts=times),
            stepsize_controller=dfx.PIDController(rtol=1e-6, atol=1e-6), max_steps=4096, throw=False,
        )
        # A failed solve scores -inf (rejected). Not NaN populations: NumPyro traces the model eagerly
        # on a prior draw, where a NaN location fails its argument validation.
        ok = dfx.is_successful(solution.result) & jnp.all(jnp.isfinite(solution.ys) & (solution.ys > 0))
        z = jnp.where(ok, solution.ys, 1.0)
        numpyro.factor("solve_failed", jnp.where(ok, 0.0, -jnp.inf))
        numpyro.sample("initial", dist.LogNormal(jnp.log(z0), sigma).to_event(1), obs=observed_initial)
        numpyro.sample("pelts", dist.LogNormal(jnp.log(z), sigma).to_event(2), obs=observed)

    return model


def lotka_volterra_main(argv=None):
    """difsci vs NumPyro (+ diffrax) on the Lotka-Volterra posterior: end-to-end and sampling ESS/s."""
    parser = argparse.ArgumentParser(description="NUTS on the Lotka-Volterra ODE posterior")
    parser.add_argument("--lotka-volterra", action="store_true")
    parser.add_argument("--warmup", type=int, default=1000)
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--chains", type=int, default=4)
    # NumPyro's "parallel" (pmap'd) chains fail here: diffrax's checkpointed loop raises "Closure-
    # converted function called with different dynamic arguments" under its pmap (NumPyro 0.22,
    # diffrax 0.7.2); "vectorized" and "sequential" run.
    parser.add_argument("--numpyro-methods", default="vectorized,sequential",
                        help="comma-separated NumPyro chain methods to run")
    opts = parser.parse_args(argv)
    example = lotka_volterra_example()
    args = example["data"]()
    global CLOCK
    CLOCK = CompileClock()
    jax.block_until_ready(jax.jit(lambda a: jnp.sin(a) @ a)(jnp.ones((4, 4))))
    print(f"Lotka-Volterra: {jax.device_count()} devices; {opts.chains} chains x ({opts.warmup} warm-up + "
          f"{opts.draws} draws)")
    runs = {"difsci (parallel)": run_difsci(example["model"], args, opts.warmup, opts.draws, opts.chains, "parallel")}
    np_model = numpyro_lotka_volterra()
    for method in opts.numpyro_methods.split(","):
        runs[f"numpyro ({method})"] = run_numpyro(np_model, args, opts.warmup, opts.draws, opts.chains, method)
    print(f"{'sampler':>22} {'compile s':>10} {'JAX compile s':>13} {'sample s':>9} {'min ESS':>8} {'ESS/s':>8} "
          f"{'ESS/total s':>11} {'alpha mean':>10}")
    metrics, alphas = {}, {}
    for sampler, (compile_s, run_s, samples, jax_compile) in runs.items():
        if "theta" in samples:  # NumPyro's one vector site -> the example's four named rates
            theta = np.asarray(samples.pop("theta"))
            samples.update({k: theta[..., i] for i, k in enumerate(("alpha", "beta", "gamma", "delta"))})
        ess = min_ess(samples)
        alphas[sampler] = float(np.mean(np.asarray(samples["alpha"])))
        key = sampler.replace(" (", "_").rstrip(")")
        metrics.update({f"lv_{key}_compile_s": round(compile_s, 2), f"lv_{key}_jax_compile_s": round(jax_compile, 2),
                        f"lv_{key}_sample_s": round(run_s, 2), f"lv_{key}_min_ess": round(ess),
                        f"lv_{key}_ess_per_s": round(ess / run_s, 1),
                        f"lv_{key}_ess_per_total_s": round(ess / (compile_s + run_s), 2)})
        print(f"{sampler:>22} {compile_s:>10.2f} {jax_compile:>13.2f} {run_s:>9.2f} {ess:>8.0f} {ess / run_s:>8.1f} "
              f"{ess / (compile_s + run_s):>11.2f} {alphas[sampler]:>10.4f}")
    peers = [k for k in runs if k.startswith("numpyro")]
    for what in ("ess_per_s", "ess_per_total_s"):
        best = max(metrics[f"lv_{k.replace(' (', '_').rstrip(')')}_{what}"] for k in peers)
        metrics[f"lv_{what}_ratio_vs_best_numpyro"] = round(metrics[f"lv_difsci_parallel_{what}"] / best, 2)
    # posteriordb's reference: alpha = 0.547, sd 0.063. A run far from it has a chain stuck in a
    # wrong mode; it is reported (its ESS shows it), and difsci's own run must not be one.
    for sampler, alpha in alphas.items():
        metrics[f"lv_{sampler.replace(' (', '_').rstrip(')')}_alpha_mean"] = round(alpha, 4)
        if abs(alpha - 0.547) > 0.05:
            print(f"  {sampler}: posterior mean of alpha {alpha:.3f}, far from the reference 0.547 (a stuck chain)")
    if abs(alphas["difsci (parallel)"] - 0.547) > 0.05:
        raise AssertionError(f"Lotka-Volterra: difsci's posterior mean of alpha is off the reference: {alphas}")
    report("nuts_lotka_volterra", metrics, f"model, priors, data, Tsit5 at rtol = atol = 1e-6, max_steps 4096, "
           f"{opts.chains} chains, {opts.warmup} warm-up, {opts.draws} draws, target acceptance 0.8, diagonal "
           "mass matrix, float64")


if __name__ == "__main__":
    lotka_volterra_main() if "--lotka-volterra" in sys.argv else main()
