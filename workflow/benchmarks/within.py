"""Benchmark the two-way FE estimate with city-clustered SEs and print the numbers.

Engines, each in its own fresh process per panel size (so memory is its own):

- ``innopanel``: innopanel.econometrics.within.fit_within_frame on the flat frame (factorising
  the ids is part of the time), with linearmodels' Stata-like cluster correction;
- ``pyfixest``: ``feols("y ~ ... | unit_id + year", vcov={"CRV1": "unit_id"})`` with
  the small-sample correction set to the same one (k_fixef="full"), its defaults
  otherwise; ``pyfixest-lean`` adds lean=True, copy_data=False, store_data=False;
- ``linearmodels``: PanelOLS with both effects (the reference for equality).

Sizes run from the demo panel's shape up to 3,000 units x 30 years, and a
1,000,000-row panel. Time is the best (and median) of warm repeats after one
warm-up call; memory is the peak RSS during a warm call above the RSS before it,
beside the size of the panel's numeric columns. Equality is the largest relative
difference from linearmodels of the coefficients and clustered SEs.

Usage: python workflow/benchmarks/within.py [--sizes demo,300x30,...] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time
import tracemalloc
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from innopanel.io import write_csv
from innopanel.reproducibility.benchmarking import (
    current_rss_bytes,
    format_table,
    peak_rss_bytes,
    repeat,
    reset_peak_rss,
    synthetic_panel,
)

SEED = 20240601
DEMO_SHAPE = (64, 12)  # config/cities.csv's 64 cities, 2011-2022
SIZES = {
    "demo": DEMO_SHAPE,
    "300x30": (300, 30),
    "1000x30": (1000, 30),
    "3000x30": (3000, 30),
    # 3 % of rows are dropped at random: 41,250 x 25 leaves just over 1,000,000.
    "1M rows": (41_250, 25),
}
ENGINES = ("innopanel", "pyfixest", "pyfixest-lean", "linearmodels")
CLUSTERED = dict(
    cov_type="clustered",
    cluster_entity=True,
    debiased=True,
    group_debias=True,
    auto_df=False,
    count_effects=True,
)
#: What Snakemake sets for a job's threads (snakemake/shell.py), so set alike here.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
TARGET_TIME_RATIO = 1.5
TARGET_MEMORY_RATIO = 3.0


def estimator(engine: str, frame: Any, terms: list[str]):
    """Return a zero-argument function that fits the model and returns (params, SEs)."""
    if engine == "innopanel":
        from innopanel.econometrics.within import fit_within_frame

        def fit():
            result = fit_within_frame(
                frame,
                "y",
                terms,
                "unit_id",
                "year",
                entity_effects=True,
                time_effects=True,
                **CLUSTERED,
            )
            return result.params.to_numpy(), result.std_errors.to_numpy()

        return fit
    if engine.startswith("pyfixest"):
        import pyfixest as pf

        formula = "y ~ " + " + ".join(terms) + " | unit_id + year"
        lean = (
            dict(lean=True, copy_data=False, store_data=False) if engine == "pyfixest-lean" else {}
        )
        correction = pf.ssc(k_adj=True, k_fixef="full", G_adj=True)

        def fit():
            model = pf.feols(formula, data=frame, vcov={"CRV1": "unit_id"}, ssc=correction, **lean)
            return model.coef()[terms].to_numpy(), model.se()[terms].to_numpy()

        return fit
    from linearmodels.panel import PanelOLS

    indexed = frame.set_index(["unit_id", "year"])
    model = PanelOLS(indexed["y"], indexed[terms], entity_effects=True, time_effects=True)

    def fit():
        result = model.fit(**CLUSTERED)
        return result.params.to_numpy(), result.std_errors.to_numpy()

    return fit


def measure(engine: str, n_entities: int, n_periods: int, repeats: int) -> dict[str, Any]:
    """Time and memory of one engine on one panel size (run in a fresh process)."""
    frame, terms = synthetic_panel(n_entities, n_periods, SEED)
    numeric_bytes = int(frame.select_dtypes("number").memory_usage(index=False).sum())
    fit = estimator(engine, frame, terms)
    start = time.perf_counter()
    params, std_errors = fit()  # warm-up: imports, JIT compilation, caches
    first = time.perf_counter() - start
    gc.collect()
    reset_peak_rss()
    before = current_rss_bytes()
    fit()
    peak = max(peak_rss_bytes() - before, 0)
    traced = None
    if engine == "innopanel":
        tracemalloc.start()
        fit()
        traced = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    timing = repeat(fit, repeats)
    return {
        "engine": engine,
        "rows": len(frame),
        "first_s": first,
        "best_s": timing.best,
        "median_s": timing.median,
        "peak_rss_bytes": peak,
        "traced_bytes": traced,
        "numeric_bytes": numeric_bytes,
        "params": params.tolist(),
        "std_errors": std_errors.tolist(),
    }


def run_child(
    engine: str, shape: tuple[int, int], repeats: int, threads: str
) -> dict[str, Any] | None:
    command = [
        sys.executable,
        __file__,
        "--measure",
        engine,
        "--shape",
        f"{shape[0]}x{shape[1]}",
        "--repeats",
        str(repeats),
    ]
    environment = {**os.environ, **{name: threads for name in THREAD_VARIABLES}}
    run = subprocess.run(command, capture_output=True, text=True, check=False, env=environment)
    if run.returncode != 0:
        tail = (run.stderr or run.stdout).strip().splitlines()[-1:]
        print(f"  {engine} at {shape}: failed ({' '.join(tail)})")
        return None
    return json.loads(run.stdout.strip().splitlines()[-1])


def relative_difference(ours: list[float], reference: list[float]) -> float:
    a, b = np.asarray(ours), np.asarray(reference)
    return float(np.max(np.abs(a - b) / np.abs(b)))


def available(module: str) -> bool:
    from importlib.util import find_spec

    return find_spec(module) is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(SIZES))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--blas-threads",
        default="1",
        help="BLAS/OpenMP threads of every engine; 1 is what each Snakemake job gets "
        "(threads: 1), and keeps BLAS threads from spinning on a busy machine",
    )
    parser.add_argument("--record", type=Path, help="also write the table as CSV here")
    parser.add_argument("--measure", choices=ENGINES, help=argparse.SUPPRESS)
    parser.add_argument("--shape", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.measure:
        n_entities, n_periods = (int(v) for v in arguments.shape.split("x"))
        warnings.simplefilter("ignore")
        result = measure(arguments.measure, n_entities, n_periods, arguments.repeats)
        print(json.dumps(result))
        return

    engines = [e for e in ENGINES if not e.startswith("pyfixest") or available("pyfixest")]
    if "pyfixest" not in engines:
        print("pyfixest is not installed here: `make bench` installs it into .venv-bench.")
    print(
        f"== two-way FE benchmark: {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.2f}, BLAS threads {arguments.blas_threads}, best of "
        f"{arguments.repeats} warm repeats =="
    )
    rows = []
    for name in arguments.sizes.split(","):
        shape = SIZES[name]
        results = {}
        for engine in engines:
            # linearmodels is the slow reference: fewer repeats on large panels.
            slow = engine == "linearmodels" and shape[0] * shape[1] > 100_000
            results[engine] = run_child(
                engine, shape, 2 if slow else arguments.repeats, arguments.blas_threads
            )
        reference = results.get("linearmodels")
        pyfixest = results.get("pyfixest")
        for engine, result in results.items():
            if result is None:
                continue
            row = {
                "size": name,
                "units x years": f"{shape[0]:,} x {shape[1]}",
                "rows": result["rows"],
                "engine": engine,
                "best_s": result["best_s"],
                "median_s": result["median_s"],
                "vs_pyfixest": result["best_s"] / pyfixest["best_s"] if pyfixest else None,
                "peak_MiB": result["peak_rss_bytes"] / 2**20,
                "numeric_MiB": result["numeric_bytes"] / 2**20,
                "peak/numeric": result["peak_rss_bytes"] / result["numeric_bytes"],
                "traced/numeric": (
                    result["traced_bytes"] / result["numeric_bytes"]
                    if result["traced_bytes"] is not None
                    else None
                ),
            }
            if reference is not None:
                row["params_rel_diff"] = relative_difference(result["params"], reference["params"])
                row["se_rel_diff"] = relative_difference(
                    result["std_errors"], reference["std_errors"]
                )
            rows.append(row)
        print(f"  done: {name}")
    columns = [
        "size",
        "units x years",
        "rows",
        "engine",
        "best_s",
        "median_s",
        "vs_pyfixest",
        "peak_MiB",
        "numeric_MiB",
        "peak/numeric",
        "traced/numeric",
        "params_rel_diff",
        "se_rel_diff",
    ]
    print(format_table([{k: _short(v) for k, v in row.items()} for row in rows], columns))
    if arguments.record:
        # The docs quote these cells (innopanel.reproducibility.quotes); the load is
        # recorded beside them because wall times move with it.
        load = f"{os.getloadavg()[0]:.2f}"
        write_csv(arguments.record, pd.DataFrame(rows, columns=columns).assign(load_average=load))
    print("\n-- innopanel / pyfixest warm time (best of repeats), by panel size --")
    print("\n".join(ratio_lines(rows)))

    largest = [r for r in rows if r["size"] == "1M rows"]
    ours = next((r for r in largest if r["engine"] == "innopanel"), None)
    if ours is not None:
        print("\n-- targets on the 1,000,000-row panel --")
        if ours["vs_pyfixest"] is not None:
            ratio = ours["vs_pyfixest"]
            verdict = "met" if ratio <= TARGET_TIME_RATIO else "MISSED"
            print(f"innopanel / pyfixest warm time: {ratio:.2f}x (target <= 1.5x: {verdict})")
        memory = ours["peak/numeric"]
        verdict = "met" if memory < TARGET_MEMORY_RATIO else "MISSED"
        print(f"innopanel peak memory / numeric columns: {memory:.2f}x (target < 3x: {verdict})")
        if "params_rel_diff" in ours:
            worst = max(ours["params_rel_diff"], ours["se_rel_diff"])
            print(f"innopanel vs linearmodels, largest relative difference: {worst:.2e} (<= 1e-8)")


def ratio_lines(rows: list[dict[str, Any]]) -> list[str]:
    """innopanel's best time over pyfixest's at each panel size, the size named."""
    return [
        f"{row['size']}, {row['units x years']} units x years ({row['rows']:,} rows): "
        f"innopanel {row['best_s']:.4f} s, pyfixest {row['best_s'] / row['vs_pyfixest']:.4f} s, "
        f"innopanel / pyfixest {row['vs_pyfixest']:.2f}x"
        for row in rows
        if row["engine"] == "innopanel" and row["vs_pyfixest"] is not None
    ]


def _short(value: Any) -> Any:
    if isinstance(value, float) and value and abs(value) < 1e-3:
        return f"{value:.1e}"
    return value


if __name__ == "__main__":
    main()
