"""How the whole pipeline grows with the panel: per-rule time and peak memory, and a
growth exponent per rule (prints numbers, asserts nothing; part of ``make bench``).

For each size (units x years), in a temporary copy of the project: a unit table of
the demo's cities plus seeded synthetic ones, the three raw yearbook files the demo
DGP writes for them (:mod:`innopanel.synthetic.dgp`, formatted as the demo's own by
:mod:`innopanel.synthetic.demo`, so cleaning does the same work), and the demo
config pointed at them. Snakemake runs the pipeline cold on ``--cores``; its
``benchmark:`` files give each rule's wall time, CPU time and peak RSS (CPU and RSS as
Snakemake samples them: every 0.5 s for a job's first 30 s, every 30 s after, so a
lower bound for long jobs). The exponent of a rule is the slope of log CPU time on
log rows (least squares over the sizes run, and over the two largest alone), and of log
wall time over the two largest (the honest one for a job longer than 30 s). The demo's
multiverse is left out unless ``--with-multiverse``: it has a benchmark of its own.

Usage: python workflow/benchmarks/growth.py [--sizes 64x12,300x12,...] [--cores 2]
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from innopanel.config.paths import StudyPaths
from innopanel.reproducibility.benchmarking import format_table, read_benchmarks, run_timed
from innopanel.reproducibility.reference import copy_project, snakemake_command
from innopanel.synthetic.demo import write_demo_files
from innopanel.synthetic.dgp import DemoParameters, simulate_panel

# 10,000 x 20 runs apart, with --ppml-covariance clustered: the jackknife's default cap
# (models.<name>.jackknife_max_clusters, 5,000) refuses 10,000 clusters.
SIZES = "64x12,300x12,1000x12,3000x12"
NAME_SEED = 20260101
# Characters of the synthetic Chinese names: GBK-encodable, none an administrative
# suffix (市, 州, 区, 县) that name matching strips.
NAME_CHARACTERS = "安宝昌春丰富广和华嘉江金锦靖康乐临龙隆茂南宁平庆瑞山顺泰通文武西祥兴阳永远云长正"
SYLLABLES = ["an", "bao", "chang", "de", "feng", "gu", "he", "jia", "kang", "lin", "mao", "ning"]


def synthetic_units(demo_units: pd.DataFrame, count: int, seed: int) -> pd.DataFrame:
    """The demo's unit table, cut or extended to ``count`` units with seeded synthetic
    cities (unique Chinese and English names, tiers drawn 10/30/60 %)."""
    if count <= len(demo_units):
        return demo_units.head(count).reset_index(drop=True)
    rng = np.random.default_rng(seed)
    extra = count - len(demo_units)
    taken_zh = set(demo_units["name_zh"])
    names_zh: list[str] = []
    while len(names_zh) < extra:
        name = "".join(rng.choice(list(NAME_CHARACTERS), size=3))
        if name not in taken_zh:
            taken_zh.add(name)
            names_zh.append(name)
    numbers = rng.permutation(extra)
    names_en = [
        f"{SYLLABLES[n % 12].capitalize()}{SYLLABLES[(n // 12) % 12]}{n // 144:03d}"
        for n in numbers
    ]
    synthetic = pd.DataFrame(
        {
            "unit_id": [f"s{n:05d}" for n in range(extra)],
            "name_en": names_en,
            "name_zh": names_zh,
            "province_en": "Synthetic",
            "province_zh": "合成",
            "tier": rng.choice(["1", "2", "3"], size=extra, p=[0.1, 0.3, 0.6]),
            "aliases": "",
        }
    )
    return pd.concat([demo_units, synthetic], ignore_index=True)


def study_config(
    base: dict[str, Any],
    units_path: str,
    digests: dict[str, str],
    years: range,
    ppml_covariance: str | None = None,
    with_multiverse: bool = False,
) -> dict:
    """The demo config with its unit table and three sources replaced by the generated
    ones, the study window set to ``years``, if given every PPML model's covariance set
    to ``ppml_covariance``, and the multiverse dropped unless ``with_multiverse``."""
    config = copy.deepcopy(base)
    if not with_multiverse:
        # Its cost is specifications x draws x rows by design (README, "The multiverse",
        # has its own benchmark); kept, it would swamp every other rule's growth.
        config.pop("multiverse", None)
    for model in config["models"].values():
        if ppml_covariance is not None and model["estimator"] == "ppml":
            model["covariance"] = ppml_covariance
    config["data"]["unit_table"] = units_path
    config["study"]["first_year"], config["study"]["last_year"] = years[0], years[-1]
    for source in config["data"]["sources"].values():
        name = Path(source["path"]).name
        source["path"] = f"{GENERATED}/{name}"
        source["sha256"] = digests[name]
    return config


GENERATED = "data/raw/growth"
STUDY = StudyPaths("growth")


def install_study(
    workdir: Path,
    units: int,
    years: range,
    seed: int,
    ppml_covariance: str | None = None,
    with_multiverse: bool = False,
) -> list[str]:
    """Write a generated study into the project copy ``workdir`` and return the
    snakemake arguments that run it. The one place that knows where a study's
    config, unit table and raw files go (adapt it when the layout changes)."""
    base = yaml.safe_load((workdir / StudyPaths("demo_cities").config).read_text("utf-8"))
    demo_units = pd.read_csv(workdir / base["data"]["unit_table"], dtype=str, keep_default_na=False)
    table = synthetic_units(demo_units, units, NAME_SEED)
    units_path = "config/growth_units.csv"
    table.to_csv(workdir / units_path, index=False)
    demo_seed = int(base["demo"]["seed"])
    tiers = dict(zip(table["unit_id"], table["tier"].astype(int), strict=True))
    panel = simulate_panel(table["unit_id"].tolist(), years, demo_seed, DemoParameters(), tiers)
    digests = write_demo_files(panel, table, workdir / GENERATED, demo_seed)
    config = study_config(base, units_path, digests, years, ppml_covariance, with_multiverse)
    (workdir / STUDY.config).write_text(
        yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return ["--config", f"study={STUDY.study}"]


def parse_sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for item in text.split(","):
        units, _, years = item.partition("x")
        sizes.append((int(units), int(years)))
    return sizes


def growth_exponents(
    rows: Sequence[dict[str, Any]], measure: str = "cpu_time", largest: int | None = None
) -> dict[str, float]:
    """Per rule, the least-squares slope of log(``measure``) on log(rows), summed over
    the rule's jobs at each size (rules timed at fewer than two sizes get none).

    CPU time by default: on a machine shared with other work it inflates far less
    than wall time (a rule's CPU time includes the interpreter's start-up, which
    flattens the slope at small sizes: ``largest=2`` fits the two largest sizes only,
    the growth where it matters)."""
    frame = pd.DataFrame(rows)
    if largest is not None:
        frame = frame[frame["rows"].isin(sorted(frame["rows"].unique())[-largest:])]
    totals = frame.groupby(["rule", "rows"], as_index=False)[measure].sum()
    exponents = {}
    for rule, group in totals.groupby("rule"):
        group = group[group[measure] > 0]
        if group["rows"].nunique() >= 2:
            slope = np.polyfit(np.log(group["rows"]), np.log(group[measure]), 1)[0]
            exponents[str(rule)] = float(slope)
    return exponents


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path.cwd())
    parser.add_argument("--sizes", default=SIZES, help="units x years, comma-separated")
    parser.add_argument("--cores", default="2")
    parser.add_argument(
        "--ppml-covariance",
        help="set the PPML models' covariance (e.g. clustered: the jackknife's G refits "
        "grow as G x rows, so CV1 is the sensible choice at 10,000 units)",
    )
    parser.add_argument(
        "--with-multiverse",
        action="store_true",
        help="keep the demo's multiverse (5,504 specifications x 500 null draws)",
    )
    arguments = parser.parse_args()
    root = arguments.root.resolve()
    rows, ends = [], []
    multiverse = "with" if arguments.with_multiverse else "without"
    print(
        f"== growth benchmark: {arguments.cores} cores, {multiverse} the multiverse, "
        f"load {os.getloadavg()[0]:.2f} =="
    )
    for units, n_years in parse_sizes(arguments.sizes):
        years = range(2023 - n_years, 2023)
        with tempfile.TemporaryDirectory(prefix="innopanel-growth-") as temporary:
            workdir = Path(temporary)
            copy_project(root, workdir)
            shutil.rmtree(workdir / STUDY.benchmarks, ignore_errors=True)
            options = install_study(
                workdir,
                units,
                years,
                NAME_SEED,
                arguments.ppml_covariance,
                arguments.with_multiverse,
            )
            env = {
                **os.environ,
                "PYTHONPATH": os.pathsep.join(
                    [str(workdir / "workflow"), *filter(None, [os.environ.get("PYTHONPATH")])]
                ),
            }
            load = os.getloadavg()[0]
            command = snakemake_command(
                workdir, "--cores", arguments.cores, "--keep-going", *options
            )
            start = time.perf_counter()
            try:
                measured = run_timed(command, workdir, env)
                cpu, failed = measured.cpu, ""
            except RuntimeError as error:
                # Keep going: time every rule that can run, and name the ones that failed.
                cpu = float("nan")
                failed = " ".join(sorted(set(re.findall(r"Error in rule (\w+):", str(error)))))
                print(f"{units} x {n_years}: rule(s) failed: {failed}; their logs:")
                for name in failed.split():
                    for path in sorted((workdir / "logs" / name).rglob("*.log")):
                        print(path.read_text(encoding="utf-8")[-1500:])
            wall = time.perf_counter() - start
            per_rule = read_benchmarks(workdir / STUDY.benchmarks)
        size_rows = units * n_years
        peak = max((row["max_rss"] or 0.0) for row in per_rule)
        ends.append(
            {
                "units": units,
                "years": n_years,
                "rows": size_rows,
                "end_to_end_s": wall,
                "cpu_s": cpu,
                "peak_rule_rss_mib": peak,
                "load_before": load,
                "failed_rules": failed or "-",
            }
        )
        rows.extend({**row, "units": units, "rows": size_rows} for row in per_rule)
        print(format_table(ends[-1:], list(ends[-1])), flush=True)

    frame = pd.DataFrame(rows)
    per_rule = frame.groupby(["rule", "units"], as_index=False).agg(
        s=("s", "sum"), cpu=("cpu_time", "sum"), max_rss=("max_rss", "max")
    )
    exponents = growth_exponents(rows)
    top_exponents = growth_exponents(rows, largest=2)
    # Snakemake samples a job's CPU every 30 s after its first 30 s, so for a long job
    # the CPU slope understates the growth; wall time does not (on a quiet machine).
    top_wall_exponents = growth_exponents(rows, "s", largest=2)
    table = []
    for rule, group in per_rule.groupby("rule"):
        record: dict[str, Any] = {"rule": rule}
        for _, size in group.iterrows():
            units = int(size["units"])
            record[f"s@{units}"] = size["s"]
            record[f"cpu@{units}"] = size["cpu"]
            record[f"MiB@{units}"] = size["max_rss"]
        record["exponent_cpu"] = exponents.get(str(rule))
        record["exponent_top2"] = top_exponents.get(str(rule))
        record["wall_exponent_top2"] = top_wall_exponents.get(str(rule))
        table.append(record)
    columns = list(dict.fromkeys(key for record in table for key in record))
    print("\n-- per rule: wall and CPU seconds (summed over its jobs), peak RSS, by units --")
    print(format_table(table, columns))
    print("\n-- end to end --")
    print(format_table(ends, list(ends[0])))


if __name__ == "__main__":
    main()
