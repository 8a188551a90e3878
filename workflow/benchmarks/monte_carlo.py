"""Monte Carlo coverage of configured estimators on the demo DGP; prints the numbers.

    python workflow/benchmarks/monte_carlo.py                     # 500 replications
    python workflow/benchmarks/monte_carlo.py --replications 50 --workers 2
    python workflow/benchmarks/monte_carlo.py --extra-covariance clustered
    python workflow/benchmarks/monte_carlo.py --units 1000 --models ppml_twoway ...

Each replication simulates the demo design (every city of the unit table with its
tier, the study's years) from innopanel.synthetic.dgp with seed study.seed + r, derives the
analysis variables as the clean step does, fits the models (default: twoway_fe and
ppml_twoway from config/studies/demo_cities.yaml) and checks whether each 95 % interval covers
the true coefficient. The target for two-way FE and PPML is 93-97 % coverage.
``--units N`` runs it on N cities instead: the unit table's, then seeded synthetic
ones (workflow/benchmarks/growth.py's), to see how CV1 and the jackknife fare at large G.
"""

from __future__ import annotations

import os

# One BLAS thread per worker: the replications run in parallel processes, and
# multithreaded BLAS on small matrices is many times slower when cores are shared.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "workflow"))

import pandas as pd  # noqa: E402
import yaml  # noqa: E402
from growth import NAME_SEED, synthetic_units  # noqa: E402

from innopanel.io import write_csv  # noqa: E402
from innopanel.synthetic.monte_carlo import Design, run_replication, summarise  # noqa: E402

TARGET = (0.93, 0.97)


def _replicate(arguments: tuple) -> pd.DataFrame:
    design, seed, models, study = arguments
    return run_replication(design, seed, models, study)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config", type=Path, default=ROOT / "config" / "studies" / "demo_cities.yaml"
    )
    parser.add_argument("--replications", type=int, default=500)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--models", nargs="+", default=["twoway_fe", "ppml_twoway"])
    parser.add_argument(
        "--extra-covariance",
        action="append",
        default=[],
        help="also fit each model with this covariance (e.g. clustered), named model[kind]",
    )
    parser.add_argument("--out", type=Path, help="write every replication's estimates here")
    parser.add_argument(
        "--record", type=Path, help="write the summary table as CSV here (docs quote it)"
    )
    parser.add_argument("--units", type=int, help="cities simulated (default: the unit table's)")
    arguments = parser.parse_args(argv)

    config = yaml.safe_load(arguments.config.read_text(encoding="utf-8"))
    unit_table = ROOT / config["data"]["unit_table"]
    units = pd.read_csv(unit_table, dtype=str, keep_default_na=False)
    if arguments.units is not None:
        units = synthetic_units(units, arguments.units, NAME_SEED)
    study = config["study"]
    design = Design.from_unit_table(units, study["first_year"], study["last_year"])
    models = {name: config["models"][name] for name in arguments.models}
    for kind in arguments.extra_covariance:
        for name in arguments.models:
            models[f"{name}[{kind}]"] = {**config["models"][name], "covariance": kind}
    seeds = [int(study["seed"]) + r for r in range(arguments.replications)]

    started = time.perf_counter()
    jobs = [(design, seed, models, config) for seed in seeds]
    if arguments.workers > 1:
        with ProcessPoolExecutor(max_workers=arguments.workers) as pool:
            frames = list(pool.map(_replicate, jobs, chunksize=4))
    else:
        frames = [_replicate(job) for job in jobs]
    elapsed = time.perf_counter() - started
    replications = pd.concat(frames, ignore_index=True)
    if arguments.out is not None:
        replications.to_csv(arguments.out, index=False, float_format="%.12g")

    summary = summarise(replications)
    summary["in_target"] = summary["coverage"].between(*TARGET)
    print(
        f"Monte Carlo on the demo DGP: {arguments.replications} replications, "
        f"{len(design.unit_ids)} cities x {len(design.years)} years, seeds "
        f"{seeds[0]}..{seeds[-1]}, {arguments.workers} worker(s), {elapsed:.1f} s "
        f"({elapsed / arguments.replications:.2f} s per replication)"
    )
    columns = [
        "model",
        "term",
        "truth",
        "mean_estimate",
        "bias",
        "bias_mc_se",
        "sd_estimate",
        "mean_std_error",
        "coverage",
        "coverage_mc_se",
        "in_target",
    ]
    if arguments.record is not None:
        write_csv(arguments.record, summary[["replications", *columns]])
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(summary[columns].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    by_model = replications.groupby("model", sort=False)["covered"].mean()
    print("\nCoverage pooled over terms (target 93-97 %):")
    for model, coverage in by_model.items():
        print(f"  {model}: {coverage:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
