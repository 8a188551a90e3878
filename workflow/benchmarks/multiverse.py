"""Benchmark the multiverse and print the numbers (run by `make bench` in .venv-bench).

1. Throughput: specifications per second for innopanel's engine (one process, one
   core) against ``specification_curve`` 0.3.9 and pyfixest's multiple estimation, on
   the same grid in the same run (each engine's best of two runs), and their ratio, at
   two panel sizes, as the ratio depends on the size: the demo's (64 cities) and 3,000
   units over the demo's years (growth.py's generated study: the demo DGP's raw files
   for the demo's cities plus seeded synthetic ones, cleaned by the workflow). The
   common grid is what all three can fit: log patents on each focal definition (no
   lag), every subset of the controls, no, unit or unit-and-year fixed effects (dummies
   for specification_curve, which fits only OLS), on each sample but the balanced one;
   innopanel and pyfixest cluster by unit (specification_curve's SEs are classical,
   which is less work). At 3,000 units specification_curve is left out: its unit
   dummies make each fit a dense OLS of 3,000 columns. pyfixest orders its fixed-effect
   columns by the hash seed, which moves its clustered SEs in the fourth digit, so this
   script reruns itself with PYTHONHASHSEED=0.
2. The bootstrap: the demo's whole multiverse with its null draws in one process, and
   the cost per draw.
3. Chunking: wall time of the multiverse rules against the number of chunks, locally
   with --cores 2 (and with --slurm on the running SLURM cluster, profiles/slurm, which
   needs the executor plugin in .venv-bench too: pip install --require-hashes -r
   requirements-slurm.lock), and how long ``snakemake -n`` takes to plan a DAG of up to
   thousands of chunk jobs.

Usage: python workflow/benchmarks/multiverse.py [--quick] [--slurm]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import os
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from growth import NAME_SEED, install_study
from growth import STUDY as GENERATED_STUDY

from innopanel.config.multiverse import multiverse_path, multiverse_spec
from innopanel.config.paths import DEFAULT_STUDY, StudyPaths
from innopanel.config.specs import with_defaults
from innopanel.econometrics.curve_inference import null_chunk
from innopanel.econometrics.multiverse import design, estimate_chunk, prepare_panel
from innopanel.reproducibility.benchmarking import copy_workflow, format_table, run_timed

ROOT = Path(__file__).resolve().parents[2]
DEMO = StudyPaths(DEFAULT_STUDY)
# The demo study is the default one: a run without --config builds it.
TARGETS = [multiverse_path(DEMO.results, "joint_tests.csv")]
SECTIONS = ("throughput", "bootstrap", "chunking", "planning")
#: The larger panel of the throughput, where the ratio to pyfixest differs from the demo's.
LARGE_UNITS = 3000
#: Each engine's best of this many runs: the first pays imports and pyfixest's JIT
#: compilation, which would otherwise land on whichever panel size runs first.
THROUGHPUT_REPEATS = 2


#: The job cap of the benchmark's copies of the demo: its smallest chunks plan 11,008 jobs.
BENCHMARK_MAX_JOBS = 100_000


def demo_config() -> dict:
    return with_defaults(yaml.safe_load((ROOT / DEMO.config).read_text("utf-8")))


def demo_panel(workdir: Path) -> pd.DataFrame:
    """The demo panel, built by the workflow's own clean step in ``workdir``."""
    project(workdir)
    run_timed(_snakemake(workdir, "--cores", "2", DEMO.panel), workdir, _env())
    return pd.read_csv(workdir / DEMO.panel, dtype={"unit_id": str})


def generated_panel(workdir: Path, units: int) -> pd.DataFrame:
    """A panel of ``units`` units over the demo's years with the demo's variables:
    growth.py's generated study (the demo config, its multiverse kept), built by the
    workflow's own clean step in ``workdir``."""
    project(workdir)
    study = demo_config()["study"]
    years = range(study["first_year"], study["last_year"] + 1)
    options = install_study(workdir, units, years, NAME_SEED, with_multiverse=True)
    run_timed(_snakemake(workdir, "--cores", "2", GENERATED_STUDY.panel, *options), workdir, _env())
    return pd.read_csv(workdir / GENERATED_STUDY.panel, dtype={"unit_id": str})


def panel_size(frame: pd.DataFrame) -> str:
    """``units x years (rows)`` of a panel, the label every throughput row carries."""
    return f"{frame['unit_id'].nunique():,} x {frame['year'].nunique()} ({len(frame):,} rows)"


def project(target: Path, chunk_size: int | None = None, draws_per_chunk: int | None = None):
    if not (target / "Snakefile").exists():
        copy_workflow(ROOT, target)
    path = target / DEMO.config
    config = yaml.safe_load(path.read_text("utf-8"))
    if chunk_size is not None:
        config["multiverse"]["chunk_size"] = chunk_size
    if draws_per_chunk is not None:
        config["multiverse"]["inference"]["draws_per_chunk"] = draws_per_chunk
    if chunk_size is not None or draws_per_chunk is not None:
        # Timing small chunks plans more jobs than a study may by default.
        config["multiverse"]["max_jobs"] = BENCHMARK_MAX_JOBS
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), "utf-8")


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "workflow")}


def _snakemake(workdir: Path, *arguments: str) -> list[str]:
    return [
        "timeout",
        "-s",
        "INT",
        "3600",
        sys.executable,
        "-m",
        "snakemake",
        "--directory",
        str(workdir),
        *arguments,
    ]


def common_multiverse(config: dict):
    """The grid every engine can fit, on one sample at a time (module docstring)."""
    edited = copy.deepcopy(config)
    grid = edited["multiverse"]
    focal = next(iter(grid["focal"]))
    grid.update(
        outcomes={"log_linear": grid["outcomes"]["log_linear"]},
        lags=[0],
        covariances=["clustered"],
        samples={"all": {}},
        exclude=[],
        focal_specification={
            **grid["focal_specification"],
            "focal": focal,
            "lag": 0,
            "covariance": "clustered",
            "sample": "all",
        },
    )
    return multiverse_spec(edited)


def time_innopanel(frames, common, study) -> tuple[float, pd.DataFrame]:
    """Every specification of ``common`` on each sample's rows."""
    started, tables = time.perf_counter(), []
    for sample, data in frames.items():
        prepared = prepare_panel(data, common)
        tables.append(
            estimate_chunk(prepared, common, common.specifications, study).assign(sample=sample)
        )
    return time.perf_counter() - started, pd.concat(tables, ignore_index=True)


def sample_frames(prepared, multiverse, study) -> dict[str, pd.DataFrame]:
    """Each sample's complete rows (those of its all-controls, no-lag specification; the
    balanced sample is left out), as panels every engine reads."""
    widest = max(multiverse.control_sets, key=lambda name: len(multiverse.control_sets[name]))
    frames = {}
    for spec in multiverse.specifications:
        if (
            spec.sample in frames
            or spec.sample == "balanced"
            or spec.controls != widest
            or spec.lag != 0
            or spec.outcome != "log_linear"
        ):
            continue
        rows = design(prepared, multiverse, spec, study).rows
        frames[spec.sample] = prepared.frame.iloc[rows].reset_index(drop=True)
    return frames


def time_pyfixest(frames, multiverse) -> tuple[float, int, pd.DataFrame]:
    import pyfixest as pf

    focal = " , ".join(f.term for f in multiverse.focal.values())
    started, fitted, rows = time.perf_counter(), 0, []
    for sample, data in frames.items():
        for name, controls in multiverse.control_sets.items():
            rhs = f"sw({focal})" + "".join(f" + {c}" for c in controls)
            models = pf.feols(
                f"log_patents_granted ~ {rhs} | sw0(unit_id, unit_id + year)",
                data=data,
                vcov={"CRV1": "unit_id"},
            )
            for model in models.all_fitted_models.values():
                tidy = model.tidy()
                term = next(t for t in tidy.index if t in focal.split(" , "))
                rows.append(
                    {
                        "sample": sample,
                        "controls": name,
                        "term": term,
                        "fixed_effects": model._fixef or "none",
                        "estimate": tidy.loc[term, "Estimate"],
                    }
                )
                fitted += 1
    return time.perf_counter() - started, fitted, pd.DataFrame(rows)


def time_specification_curve(frames, multiverse) -> tuple[float, int]:
    import specification_curve as specy

    pool = sorted({c for members in multiverse.control_sets.values() for c in members})
    focal = [f.term for f in multiverse.focal.values()]
    started, fitted = time.perf_counter(), 0
    for data in frames.values():
        for effects in ((), ("unit_id",), ("unit_id", "year")):
            dummies = (
                pd.get_dummies(data[list(effects)].astype(str), drop_first=True, dtype=float)
                if effects
                else pd.DataFrame(index=data.index)
            )
            table = pd.concat([data[["log_patents_granted", *focal, *pool]], dummies], axis=1)
            curve = specy.SpecificationCurve(
                table,
                "log_patents_granted",
                focal,
                pool,
                always_include=list(dummies.columns) or None,
            )
            with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                curve.fit()
            fitted += len(curve.df_r)
    return time.perf_counter() - started, fitted


def best_of(timed: Callable[..., tuple], *arguments) -> tuple:
    """The fastest of ``THROUGHPUT_REPEATS`` calls of ``timed``, whose result starts
    with its seconds."""
    return min((timed(*arguments) for _ in range(THROUGHPUT_REPEATS)), key=lambda r: r[0])


def throughput(prepared, multiverse, config, with_curve: bool = True) -> list[dict]:
    """One row per engine on the common grid of ``prepared``, each labelled with the
    panel's size; specification_curve only ``with_curve`` (else a row saying so)."""
    frames = sample_frames(prepared, multiverse, config["study"])
    common = common_multiverse(config)
    size = panel_size(prepared.frame)
    seconds, ours = best_of(time_innopanel, frames, common, config["study"])
    count = len(common.specifications) * len(frames)
    rows = [{"panel": size, "engine": "innopanel", "specifications": count, "seconds": seconds}]
    fixest_seconds, fixest_count, fixest = best_of(time_pyfixest, frames, multiverse)
    rows.append(
        {
            "panel": size,
            "engine": "pyfixest (multiple estimation)",
            "specifications": fixest_count,
            "seconds": fixest_seconds,
        }
    )
    if with_curve:
        curve_seconds, curve_count = best_of(time_specification_curve, frames, multiverse)
        rows.append(
            {
                "panel": size,
                "engine": "specification_curve 0.3.9",
                "specifications": curve_count,
                "seconds": curve_seconds,
            }
        )
    ours_rate = count / seconds
    for row in rows:
        row["per second"] = row["specifications"] / row["seconds"]
        row["innopanel x"] = ours_rate / row["per second"]
    if not with_curve:
        rows.append(
            {
                "panel": size,
                "engine": "specification_curve 0.3.9: left out (a dense OLS with a dummy "
                "column per unit, per fit)",
            }
        )
    # The two clustered engines agree on the common grid's focal estimates.
    focal = ours[ours["role"] == "focal"].set_index(["sample", "controls", "fixed_effects", "term"])
    fixest["fixed_effects"] = fixest["fixed_effects"].map(
        {"none": "none", "unit_id": "unit", "unit_id + year": "unit_and_year"}
    )
    merged = fixest.join(
        focal["estimate"].rename("ours"),
        on=["sample", "controls", "fixed_effects", "term"],
        how="inner",
    )
    gap = float(np.max(np.abs(merged["estimate"] - merged["ours"]) / np.abs(merged["ours"])))
    print(
        f"{size}: pyfixest and innopanel focal estimates: {len(merged)} matched, "
        f"largest relative difference {gap:.1e}"
    )
    return rows


def ratio_lines(rows: list[dict]) -> list[str]:
    """innopanel's and pyfixest's specifications per second and their ratio, per panel."""
    lines = []
    for ours in (row for row in rows if row["engine"] == "innopanel"):
        fixest = next(
            row
            for row in rows
            if row["panel"] == ours["panel"] and row["engine"].startswith("pyfixest")
        )
        lines.append(
            f"innopanel vs pyfixest multiple estimation at {ours['panel']}: "
            f"{ours['per second']:,.0f} vs {fixest['per second']:,.1f} specifications per "
            f"second, innopanel {fixest['innopanel x']:.1f}x"
        )
    return lines


def bootstrap(frame, multiverse, study, draws: int) -> list[dict]:
    specifications = multiverse.specifications
    started = time.perf_counter()
    estimate_chunk(frame, multiverse, specifications, study)
    estimated = time.perf_counter() - started
    started = time.perf_counter()
    redrawn = null_chunk(frame, multiverse, specifications, range(draws), study)
    seconds = time.perf_counter() - started
    return [
        {
            "step": "estimate every specification",
            "specifications": len(specifications),
            "draws": 0,
            "seconds": estimated,
        },
        {
            "step": "null draws (restricted wild cluster)",
            "specifications": len(redrawn.spec_ids),
            "draws": draws,
            "seconds": seconds,
            "ms per draw": 1000 * seconds / draws,
            "us per spec-draw": 1e6 * seconds / draws / len(redrawn.spec_ids),
        },
    ]


def chunking(built: Path, base: Path, sizes: list[int], cluster: bool) -> list[dict]:
    """Wall time of the multiverse from the panel ``built`` holds, for each chunk size."""
    rows = []
    for size in sizes:
        workdir = base / f"{'slurm' if cluster else 'local'}_chunks_{size}"
        shutil.copytree(built, workdir, symlinks=True)
        project(workdir, chunk_size=size, draws_per_chunk=500)
        n_chunks = multiverse_spec(
            yaml.safe_load((workdir / DEMO.config).read_text("utf-8"))
        ).chunks
        arguments = ["--profile", "profiles/slurm"] if cluster else ["--cores", "2"]
        measured = run_timed(_snakemake(workdir, *arguments, *TARGETS), workdir, _env())
        rows.append(
            {
                "where": "SLURM" if cluster else "local --cores 2",
                "chunk size": size,
                "chunks": n_chunks,
                "jobs": 2 * n_chunks + 2,
                "wall seconds": measured.wall,
                # Jobs on the cluster run under slurmd: only local CPU time is counted.
                "cpu seconds": None if cluster else measured.cpu,
            }
        )
    return rows


def planning(base: Path, sizes: list[int]) -> list[dict]:
    rows = []
    for size in sizes:
        workdir = base / f"plan_{size}"
        project(workdir, chunk_size=size, draws_per_chunk=500)
        started = time.perf_counter()
        run_timed(_snakemake(workdir, "--cores", "2", "--dry-run", *TARGETS), workdir, _env())
        chunks = multiverse_spec(yaml.safe_load((workdir / DEMO.config).read_text("utf-8"))).chunks
        rows.append(
            {
                "chunk size": size,
                "jobs planned": 2 * chunks + 2,
                "dry run seconds": time.perf_counter() - started,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer chunkings and plans")
    parser.add_argument("--slurm", action="store_true", help="also time the SLURM profile")
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help=f"comma-separated, of {', '.join(SECTIONS)} (default all)",
    )
    options = parser.parse_args()
    sections = options.sections.split(",")
    if os.environ.get("PYTHONHASHSEED") != "0":
        # pyfixest's fixed-effect column order (and so its last SE digits) follows it.
        os.execve(
            sys.executable, [sys.executable, *sys.argv], {**os.environ, "PYTHONHASHSEED": "0"}
        )
    print(f"load average before: {os.getloadavg()}")
    config = demo_config()
    multiverse = multiverse_spec(config)
    print(multiverse.describe())
    with tempfile.TemporaryDirectory(prefix="innopanel-multiverse-") as temporary:
        base = Path(temporary)
        frame = prepare_panel(demo_panel(base / "panel"), multiverse)
        if "throughput" in sections:
            print("\nThroughput on the common grid (one process, one core)")
            rows = throughput(frame, multiverse, config)
            large = prepare_panel(generated_panel(base / "large", LARGE_UNITS), multiverse)
            rows += throughput(large, multiverse, config, with_curve=False)
            columns = ["panel", "engine", "specifications", "seconds", "per second"]
            print(format_table(rows, [*columns, "innopanel x"]))
            print("\n".join(ratio_lines(rows)))
        if "bootstrap" in sections:
            print("\nThe whole multiverse and its null draws (one process, one core)")
            rows = bootstrap(frame, multiverse, config["study"], multiverse.null.draws)
            print(
                format_table(
                    rows,
                    [
                        "step",
                        "specifications",
                        "draws",
                        "seconds",
                        "ms per draw",
                        "us per spec-draw",
                    ],
                )
            )
        if "chunking" in sections:
            sizes = [6000, 1000, 250] if options.quick else [6000, 2000, 500, 250, 100]
            print("\nWall time of the multiverse rules against the chunk count")
            rows = chunking(base / "panel", base, sizes, cluster=False)
            if options.slurm:
                rows += chunking(base / "panel", base, sizes, cluster=True)
            print(
                format_table(
                    rows, ["where", "chunk size", "chunks", "jobs", "wall seconds", "cpu seconds"]
                )
            )
        if "planning" in sections:
            print("\nPlanning: snakemake --dry-run over the multiverse targets")
            sizes = [500, 5] if options.quick else [500, 50, 5, 1]
            print(
                format_table(
                    planning(base, sizes), ["chunk size", "jobs planned", "dry run seconds"]
                )
            )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
