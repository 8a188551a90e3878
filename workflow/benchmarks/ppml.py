"""Benchmark PPML with unit and year effects against pyfixest's ``fepois``; print numbers.

Run it in .venv-bench (``make bench`` does), where pyfixest 0.60.0 is installed.
For each size, a seeded Poisson panel with unit and year effects and five regressors:

- ``innopanel``: :func:`innopanel.econometrics.estimators.fit_ppml`, clustered by unit
  (from an indexed frame, as the pipeline calls it);
- ``pyfixest``: ``fepois("y ~ x1 + ... + x5 | unit_id + year", vcov={"CRV1":
  "unit_id"})`` with the same small-sample convention, G/(G-1) and no (n-1)/(n-k)
  (``ssc(k_adj=False, G_adj=True)``, Stata's for ML estimators), at its default
  tolerances and again at 1e-13 (``iwls_tol``, ``fixef_tol``) for the agreement check
  (at 1e-12 pyfixest's SEs still differ by ~1e-8: it forms them with the weights
  of its previous iteration; at 1e-13 the two agree to rounding).

Time is the best of warm repeats after one warm-up call. Agreement is the largest
relative difference of the coefficients and SEs from pyfixest at 1e-13. The
jackknife (CV3) is timed for innopanel at ``--jackknife-units`` units x 12 years;
``--pyfixest-jackknife`` also times pyfixest's CRV3 there (minutes).

Usage: python workflow/benchmarks/ppml.py [--rows 100000] [--jackknife-units 3000]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from innopanel.econometrics.covariance import CovarianceSpec
from innopanel.econometrics.estimators import fit_ppml
from innopanel.reproducibility.benchmarking import format_table

SEED = 20260102
TERMS = ["x1", "x2", "x3", "x4", "x5"]
SLOPES = np.array([0.3, -0.2, 0.1, 0.05, 0.0])
REPEATS = 3


def poisson_panel(n_units: int, n_years: int, seed: int = SEED) -> pd.DataFrame:
    """Counts with mean exp(a_i + g_t + x b); x1 loads on a_i (seeded)."""
    rng = np.random.default_rng(seed)
    unit_effect = rng.normal(0.5, 1.0, n_units)
    year_effect = rng.normal(0.0, 0.3, n_years)
    x = rng.normal(size=(n_units, n_years, len(TERMS)))
    x[:, :, 0] += 0.5 * unit_effect[:, None]
    mean = np.exp(unit_effect[:, None] + year_effect[None, :] + x @ SLOPES)
    frame = pd.DataFrame(x.reshape(-1, len(TERMS)), columns=TERMS)
    frame.insert(0, "y", rng.poisson(mean).ravel().astype(float))
    frame.insert(0, "year", np.tile(np.arange(2000, 2000 + n_years), n_units))
    frame.insert(0, "unit_id", np.repeat([f"u{i:06d}" for i in range(n_units)], n_years))
    return frame


def best_seconds(call: Callable[[], Any]) -> tuple[float, Any]:
    result = call()  # warm-up
    seconds = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        result = call()
        seconds.append(time.perf_counter() - start)
    return min(seconds), result


def innopanel_fit(frame: pd.DataFrame, kind: str) -> Any:
    indexed = frame.set_index(["unit_id", "year"])
    return fit_ppml(indexed["y"], indexed[TERMS], CovarianceSpec(kind))


def pyfixest_fit(frame: pd.DataFrame, vcov: Any, tolerance: float | None) -> Any:
    import pyfixest as pf

    tight = {} if tolerance is None else {"iwls_tol": tolerance, "fixef_tol": tolerance}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.fepois(
            f"y ~ {' + '.join(TERMS)} | unit_id + year",
            data=frame,
            vcov=vcov,
            ssc=pf.ssc(k_adj=False, G_adj=True),
            iwls_maxiter=100,
            **tight,
        )


def largest_relative(ours: pd.Series, theirs: pd.Series) -> float:
    """The largest |ours - theirs| / |theirs| over the regressors."""
    mine, reference = ours[TERMS].to_numpy(), theirs[TERMS].to_numpy()
    return float(np.max(np.abs(mine - reference) / np.abs(reference)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the large panel")
    parser.add_argument("--jackknife-units", type=int, default=3000)
    parser.add_argument("--pyfixest-jackknife", action="store_true")
    arguments = parser.parse_args()
    print(f"== PPML benchmark: load average {os.getloadavg()[0]:.2f} ==")
    rows = []
    for n_units, n_years in ((64, 12), (3000, 12), (arguments.rows // 10, 10)):
        frame = poisson_panel(n_units, n_years)
        ours_s, ours = best_seconds(lambda f=frame: innopanel_fit(f, "clustered"))
        default_s, _ = best_seconds(lambda f=frame: pyfixest_fit(f, {"CRV1": "unit_id"}, None))
        tight_s, tight = best_seconds(lambda f=frame: pyfixest_fit(f, {"CRV1": "unit_id"}, 1e-13))
        rows.append(
            {
                "units": n_units,
                "rows": len(frame),
                "innopanel_s": ours_s,
                "pyfixest_s": default_s,
                "pyfixest_1e-13_s": tight_s,
                "ratio": ours_s / default_s,
                "ratio_1e-13": ours_s / tight_s,
                "coef_rel_diff": f"{largest_relative(ours.params, tight.coef()):.1e}",
                "se_rel_diff": f"{largest_relative(ours.std_errors, tight.se()):.1e}",
            }
        )
        print(format_table(rows[-1:], list(rows[-1])), flush=True)
    print("\n-- PPML, two-way FE, clustered by unit: innopanel against pyfixest fepois --")
    print(format_table(rows, list(rows[0])))

    frame = poisson_panel(arguments.jackknife_units, 12)
    start = time.perf_counter()
    jackknife = innopanel_fit(frame, "clustered_jackknife")
    seconds = time.perf_counter() - start
    print(
        f"\njackknife (CV3), {arguments.jackknife_units} units x 12 years: innopanel "
        f"{seconds:.1f} s ({jackknife.n_entities} leave-one-unit-out refits)"
    )
    if arguments.pyfixest_jackknife:
        start = time.perf_counter()
        theirs = pyfixest_fit(frame, {"CRV3": "unit_id"}, 1e-13)
        seconds = time.perf_counter() - start
        # pyfixest scales the sum of squared deviations by G/(G-1), innopanel by (G-1)/G
        # (MacKinnon, Nielsen and Webb's CV3): SEs differ by G/(G-1) by convention.
        g = jackknife.n_entities
        difference = largest_relative(jackknife.std_errors * g / (g - 1), theirs.se())
        print(
            f"pyfixest CRV3 at 1e-13: {seconds:.1f} s; "
            f"SE largest relative difference {difference:.2e} after the G/(G-1) convention"
        )


if __name__ == "__main__":
    main()
