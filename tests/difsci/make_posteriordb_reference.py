"""Regenerate `posteriordb_reference.json`: reference means and sds of posteriordb posteriors.

posteriordb (github.com/stan-dev/posteriordb) publishes, for each reference posterior, 10 Stan
chains of 1,000 thinned draws (`posterior_database/reference_posteriors/draws/draws/*.json.zip`).
This script reads them (and the Stan run's sampler controls, from `.../draws/info/`) from a local
git clone and writes, per parameter, the mean, sd and the
Monte Carlo standard errors of both (Geyer's effective sample size over split chains; the sd's
by the delta method on the squared centred draws), so the test suite needs neither the network
nor the 10,000 draws.

    python tests/difsci/make_posteriordb_reference.py /path/to/posteriordb/.git
"""

import io
import json
import pathlib
import subprocess
import sys
import zipfile

import numpy as np

POSTERIORS = (
    "eight_schools-eight_schools_noncentered",
    "arK-arK",
    "arma-arma11",
    "garch-garch11",
    "gp_pois_regr-gp_pois_regr",
    "gp_pois_regr-gp_regr",
    "kidiq-kidscore_interaction",
    "kilpisjarvi_mod-kilpisjarvi",
    "sblrc-blr",
    "mesquite-logmesquite_logvas",
    "low_dim_gauss_mix-low_dim_gauss_mix",
    "hmm_example-hmm_example",
    "hudson_lynx_hare-lotka_volterra",
    # ARM regressions (issue 16 item 7).
    "kidiq-kidscore_momhs",
    "kidiq-kidscore_momhsiq",
    "kidiq-kidscore_momiq",
    "kidiq_with_mom_work-kidscore_interaction_c",
    "kidiq_with_mom_work-kidscore_interaction_c2",
    "kidiq_with_mom_work-kidscore_interaction_z",
    "kidiq_with_mom_work-kidscore_mom_work",
    "mesquite-logmesquite",
    "mesquite-logmesquite_logva",
    "mesquite-logmesquite_logvash",
    "mesquite-logmesquite_logvolume",
    "mesquite-mesquite",
    "earnings-earn_height",
    "earnings-log10earn_height",
    "earnings-logearn_height",
    "earnings-logearn_height_male",
    "earnings-logearn_interaction",
    "earnings-logearn_interaction_z",
    "earnings-logearn_logheight_male",
    *(f"nes{year}-nes" for year in range(1972, 2001, 4)),
    "sblri-blr",
)
DRAWS = "posterior_database/reference_posteriors/draws/draws/{}.json.zip"
INFO = "posterior_database/reference_posteriors/draws/info/{}.info.json"
LICENCE = (
    "Reference draws from posteriordb (https://github.com/stan-dev/posteriordb), distributed under "
    "the BSD 3-Clause License, Copyright (c) 2011-2024, Stan Developers and their Assignees. "
    "Only summaries of the draws are stored here; the full licence text is in "
    "shared/data/posteriordb/README.md and in posteriordb's LICENSE file."
)
OUT = pathlib.Path(__file__).with_name("posteriordb_reference.json")


def ess(draws: np.ndarray) -> float:
    """Effective sample size of `draws` `(chains, draws)`: split chains, Geyer's initial monotone
    sequence estimator (Stan Reference Manual, "Effective sample size"; Geyer 1992)."""
    n = draws.shape[1] // 2
    x = np.concatenate([draws[:, :n], draws[:, -n:]])
    m = x.shape[0]
    centred = x - x.mean(1, keepdims=True)
    spectrum = np.fft.rfft(centred, 2 * n)
    acov = np.fft.irfft(spectrum * np.conj(spectrum))[:, :n] / n
    within = acov[:, 0].mean() * n / (n - 1)
    var_plus = within * (n - 1) / n + x.mean(1).var(ddof=1)
    rho = 1 - (within - acov.mean(0)) / var_plus
    pairs = rho[: 2 * (n // 2)].reshape(-1, 2).sum(1)
    positive = np.cumprod(pairs > 0).astype(bool)
    pairs = np.minimum.accumulate(pairs[positive])
    return m * n / max(-1 + 2 * pairs.sum(), 1 / np.log10(m * n))


def mcse(draws: np.ndarray) -> tuple[float, float, float]:
    """Monte Carlo standard errors of the mean and the sd of `draws` `(chains, draws)`, and the ESS."""
    e = ess(draws)
    sq = (draws - draws.mean()) ** 2
    sd = draws.std(ddof=1)
    # The variance estimate's error is sd(sq) / sqrt(ess(sq)); d sd / d var = 1 / (2 sd).
    return sd / np.sqrt(e), sq.std(ddof=1) / np.sqrt(ess(sq)) / (2 * sd), e


def git(git_dir: str, *args: str) -> bytes:
    return subprocess.run(["git", f"--git-dir={git_dir}", *args], check=True, capture_output=True).stdout


def main(git_dir: str) -> None:
    commit = git(git_dir, "rev-parse", "HEAD").decode().strip()
    posteriors = {}
    for name in POSTERIORS:
        path = DRAWS.format(name)
        archive = zipfile.ZipFile(io.BytesIO(git(git_dir, "show", f"{commit}:{path}")))
        chains = json.loads(archive.read(archive.namelist()[0]))
        params = {}
        for param in chains[0]:
            x = np.array([chain[param] for chain in chains], dtype=np.float64)
            se_mean, se_sd, ess = mcse(x)
            params[param] = {"mean": x.mean(), "sd": x.std(ddof=1), "mcse_mean": se_mean,
                             "mcse_sd": se_sd, "ess": ess}
        # The Stan run's sampler controls (adapt_delta, max_treedepth): some posteriors needed more
        # than Stan's defaults, and difsci's run uses the same ones.
        info = json.loads(git(git_dir, "show", f"{commit}:{INFO.format(name)}"))
        posteriors[name] = {"source": path, "chains": len(chains), "draws_per_chain": len(chains[0][param]),
                            "control": info["inference"]["method_arguments"]["control"], "parameters": params}
    out = {"source": "https://github.com/stan-dev/posteriordb", "commit": commit, "licence": LICENCE,
           "generated_by": "tests/difsci/make_posteriordb_reference.py", "posteriors": posteriors}
    OUT.write_text(json.dumps(out, indent=1, default=float) + "\n")
    print(f"wrote {OUT} ({len(posteriors)} posteriors, commit {commit[:8]})")


if __name__ == "__main__":
    main(sys.argv[1])
