"""Benchmark the whole workflow and print the numbers (asserts nothing).

In a temporary copy of the project (the files git tracks, no outputs):

1. the cold end-to-end run, ``snakemake --cores N`` from nothing, after set-up;
2. the per-rule times from Snakemake's ``benchmark:`` files (every rule has one);
3. the no-op rerun, repeated;
4. the start-up and imports of each job, timed apart in fresh interpreters;
5. the one-process lower bound (workflow/benchmarks/lower_bound.py): the same job
   scripts run in one interpreter, whose outputs must equal the cold run's bytes.

Usage: python workflow/benchmarks/pipeline.py [--root .] [--cores all] [--repeats 5]
[--record docs/measured/pipeline.json]

``--record`` also writes the summary as JSON, the file the docs quote their runtimes from
(innopanel.reproducibility.quotes), with the machine and its load.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

from innopanel.config.paths import DEFAULT_STUDY, StudyPaths
from innopanel.io import sha256_file, write_json
from innopanel.reproducibility.benchmarking import (
    Timing,
    format_table,
    job_scripts,
    read_benchmarks,
    run_timed,
    script_imports,
    script_rule,
)
from innopanel.reproducibility.policy import Policy
from innopanel.reproducibility.reference import (
    copy_project,
    snakemake_command,
    workflow_outputs,
)

NOOP_TARGET_SECONDS = 2.0
COLD_TARGET_RATIO = 2.0
LOWER_BOUND = Path(__file__).with_name("lower_bound.py")


def remove_built(workdir: Path, outputs: Iterable[str], *folders: str) -> None:
    """Delete the workflow's outputs and the given folders from ``workdir``."""
    for path in outputs:
        (workdir / path).unlink(missing_ok=True)
    for folder in folders:
        shutil.rmtree(workdir / folder, ignore_errors=True)


def import_seconds(statements: list[str], workdir: Path, env: dict[str, str]) -> float:
    """Wall time of a fresh interpreter that runs only ``statements``."""
    return run_timed([sys.executable, "-c", "\n".join(statements)], workdir, env).wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path.cwd())
    parser.add_argument("--cores", default="all")
    parser.add_argument("--repeats", type=int, default=5, help="no-op reruns")
    parser.add_argument(
        "--cold-repeats", type=int, default=3, help="cold runs and lower-bound runs"
    )
    parser.add_argument("--record", type=Path, help="also write the summary as JSON here")
    arguments = parser.parse_args()
    root = arguments.root.resolve()
    cores = str(os.cpu_count()) if arguments.cores == "all" else arguments.cores
    load_before = os.getloadavg()[0]

    print(
        f"== pipeline benchmark: {cores} cores of {os.cpu_count()}, Python "
        f"{platform.python_version()}, snakemake {metadata.version('snakemake')}, "
        f"load average {load_before:.2f} =="
    )
    with tempfile.TemporaryDirectory(prefix="innopanel-bench-") as temporary:
        workdir = Path(temporary)
        copy_project(root, workdir)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                [str(workdir / "workflow"), *filter(None, [os.environ.get("PYTHONPATH")])]
            ),
        }
        run = [*snakemake_command(workdir, "--cores", cores)]

        colds, outputs = [], {}
        for _ in range(arguments.cold_repeats):
            # Cold: no output, no log, no Snakemake metadata, as in a fresh clone.
            remove_built(workdir, outputs, ".snakemake", "logs", "benchmarks")
            measured = run_timed([*run, "--skip-script-cleanup"], workdir, env)
            outputs = outputs or workflow_outputs(workdir, DEFAULT_STUDY)
            colds.append(
                (measured, read_benchmarks(workdir / StudyPaths(DEFAULT_STUDY).benchmarks))
            )
        cold, per_rule = min(colds, key=lambda pair: pair[0].wall)
        # Retrieval records hold times by design; every other output must agree.
        policy = Policy.for_study(DEFAULT_STUDY)
        digests = {
            path: sha256_file(workdir / path) for path in outputs if policy.kind(path) != "skip"
        }

        noop_seconds = []
        for _ in range(arguments.repeats):
            rerun = run_timed(run, workdir, env)
            if "Nothing to be done" not in rerun.result.stdout + rerun.result.stderr:
                raise SystemExit("the rerun was not a no-op: the workflow is not idempotent")
            noop_seconds.append(rerun.wall)
        noop = Timing(tuple(noop_seconds))

        scripts = job_scripts(workdir)
        startup = import_seconds(["pass"], workdir, env)
        imports = [
            {
                "job": script.name.split(".", 1)[1],
                "rule": script_rule(script),
                "start_and_import_s": import_seconds(script_imports(script), workdir, env),
            }
            for script in scripts
        ]
        all_imports = sorted({s for script in scripts for s in script_imports(script)})
        imports_once = import_seconds(all_imports, workdir, env)

        lowers, identical = [], True
        for _ in range(arguments.cold_repeats):
            remove_built(workdir, outputs, "logs")
            lowers.append(run_timed([sys.executable, str(LOWER_BOUND), str(workdir)], root, env))
            identical &= all(sha256_file(workdir / p) == digest for p, digest in digests.items())
        lower = min(lowers, key=lambda measured: measured.wall)

    print("\n-- per-rule times (Snakemake benchmark files: s = wall, cpu_time, max_rss MiB) --")
    print(format_table(per_rule, ["rule", "job", "s", "cpu_time", "max_rss"]))
    print("\n-- start-up and imports of each job (fresh interpreter, nothing else) --")
    print(format_table(imports, ["rule", "job", "start_and_import_s"]))
    print("\n-- one-process lower bound, per job (s, rule, script) --")
    print(lower.result.stdout.rstrip())

    job_wall = sum(row["s"] or 0.0 for row in per_rule)
    import_total = sum(row["start_and_import_s"] for row in imports)
    print("\n-- summary --")
    cold_median = statistics.median(measured.wall for measured, _ in colds)
    lower_median = statistics.median(measured.wall for measured in lowers)
    print(
        f"cold end-to-end run after set-up:        {cold.wall:8.2f} s best, {cold_median:.2f} s "
        f"median of {len(colds)}  (CPU {cold.cpu:.2f} s)"
    )
    print(
        f"one-process lower bound:                 {lower.wall:8.2f} s best, {lower_median:.2f} s "
        f"median of {len(lowers)}  (CPU {lower.cpu:.2f} s)"
    )
    print(
        "lower bound's outputs byte-identical to the workflow's: "
        + ("yes" if identical else "NO: the lower bound does not do the same computation")
    )
    ratio = cold.wall / lower.wall
    verdict = "met" if ratio <= COLD_TARGET_RATIO else f"MISSED by {ratio - COLD_TARGET_RATIO:.2f}x"
    print(
        f"cold / lower bound:                      {ratio:8.2f} x  "
        f"(target <= {COLD_TARGET_RATIO:g}x: {verdict})"
    )
    print(
        f"cold / lower bound in CPU time:          {cold.cpu / lower.cpu:8.2f} x  "
        "(less sensitive to other load on the machine)"
    )
    noop_verdict = (
        "met"
        if noop.best <= NOOP_TARGET_SECONDS
        else f"MISSED by {noop.best - NOOP_TARGET_SECONDS:.2f} s"
    )
    print(
        f"no-op rerun:                             {noop.best:8.2f} s best, {noop.median:.2f} s "
        f"median of {len(noop.seconds)}  (target <= {NOOP_TARGET_SECONDS:g} s: {noop_verdict})"
    )
    print("\n-- where the time goes --")
    print(f"snakemake start-up, parsing, DAG (~ no-op rerun): {noop.best:6.2f} s")
    print(f"sum of job wall times (benchmark files):          {job_wall:6.2f} s over {cores} cores")
    print(
        f"  of which interpreter start-up and imports:      {import_total:6.2f} s "
        f"({len(imports)} jobs; an empty interpreter starts in {startup:.2f} s)"
    )
    print(f"the same imports, once, in one interpreter:       {imports_once:6.2f} s")
    print(f"repeated imports the one-process run avoids:      {import_total - imports_once:6.2f} s")
    if arguments.record:
        write_json(
            arguments.record,
            {
                "study": DEFAULT_STUDY,
                "machine": {
                    "cores_used": int(cores),
                    "cores": os.cpu_count(),
                    "python": platform.python_version(),
                    "snakemake": metadata.version("snakemake"),
                    "load_average_before": round(load_before, 2),
                    "load_average_after": round(os.getloadavg()[0], 2),
                },
                "jobs": len(per_rule),
                "cold": {"wall_s": cold.wall, "cpu_s": cold.cpu, "median_wall_s": cold_median},
                "lower_bound": {
                    "wall_s": lower.wall,
                    "cpu_s": lower.cpu,
                    "median_wall_s": lower_median,
                    "outputs_identical": identical,
                },
                "ratio": {"wall": ratio, "cpu": cold.cpu / lower.cpu},
                "noop": {"best_s": noop.best, "median_s": noop.median},
                "job_wall_sum_s": job_wall,
                "imports": {"per_job_sum_s": import_total, "once_s": imports_once},
            },
        )


if __name__ == "__main__":
    main()
