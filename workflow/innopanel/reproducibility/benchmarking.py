"""Helpers for the benchmark scripts in workflow/benchmarks/: timing commands,
reading Snakemake's ``benchmark:`` files, measuring peak memory, printing tables.

Speed is measured by scripts that print numbers (``make bench``), never by timed
tests; the tests check that these helpers read and compute the right things.
"""

from __future__ import annotations

import ast
import csv
import os
import re
import resource
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

BENCHMARK_COLUMNS = ("s", "max_rss", "cpu_time", "mean_load")
#: What a copy of the workflow needs to run the demo study in another directory.
WORKFLOW_PARTS = (
    "Snakefile",
    "config",
    "workflow/rules",
    "workflow/scripts",
    "workflow/report",
    "data/raw/demo",
    "environment.yml",
    "profiles",
)


@dataclass(frozen=True)
class Timing:
    """Wall times of repeated runs of one thing, in seconds."""

    seconds: tuple[float, ...]

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


@dataclass(frozen=True)
class Measured:
    """A finished command: its wall time, the CPU time of it and every process it
    waited for (user + system), and its result."""

    wall: float
    cpu: float
    result: subprocess.CompletedProcess[str]


def run_timed(command: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None) -> Measured:
    """Run ``command``; return its wall and CPU time and its result; raise if it fails.

    CPU time counts the command's descendants too (Snakemake waits for its jobs), so
    it is less sensitive than wall time to other load on the machine.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    run = subprocess.run(
        list(command),
        cwd=cwd,
        env=None if env is None else dict(env),
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if run.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed in {cwd}:\n{(run.stdout + run.stderr)[-3000:]}"
        )
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Measured(elapsed, cpu, run)


def repeat(function: Callable[[], Any], times: int) -> Timing:
    """Call ``function`` ``times`` times and return the wall time of each call."""
    seconds = []
    for _ in range(times):
        start = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - start)
    return Timing(tuple(seconds))


def read_benchmarks(folder: Path) -> list[dict[str, Any]]:
    """Every Snakemake benchmark file under a study's ``folder`` (benchmarks/<study>/ of
    a project) as one row per repeat.

    The rule is the first folder under ``folder`` and the job the file's stem
    (``<rule>/<wildcards>.tsv``).
    """
    rows = []
    for path in sorted(folder.rglob("*.tsv")):
        relative = path.relative_to(folder)
        rule = relative.parts[0] if len(relative.parts) > 1 else relative.stem
        with path.open(encoding="utf-8", newline="") as stream:
            for record in csv.DictReader(stream, delimiter="\t"):
                row: dict[str, Any] = {"rule": rule, "job": relative.with_suffix("").as_posix()}
                for column in BENCHMARK_COLUMNS:
                    row[column] = _number(record.get(column))
                rows.append(row)
    return rows


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "", "NA", "-") else None
    except ValueError:
        return None


def format_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """A plain-text table with right-aligned numbers (3 significant decimals)."""

    def cell(value: Any) -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:.3f}" if abs(value) < 1e5 else f"{value:.4g}"
        return str(value)

    cells = [[cell(row.get(column)) for column in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    header = "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))
    rule = "  ".join("-" * w for w in widths)
    body = [
        "  ".join(v.rjust(w) if _numeric(v) else v.ljust(w) for v, w in zip(r, widths, strict=True))
        for r in cells
    ]
    return "\n".join([header, rule, *body])


def _numeric(text: str) -> bool:
    return bool(re.fullmatch(r"[-+]?[\d.]+(e[-+]?\d+)?x?|-", text))


def current_rss_bytes() -> int:
    """Resident set size of this process now (Linux /proc; else the peak so far)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def reset_peak_rss() -> bool:
    """Reset this process's peak RSS to its current RSS (Linux >= 4.0); False if not."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_bytes() -> int:
    """Peak resident set size of this process (since the last reset, on Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def job_scripts(workdir: Path) -> list[Path]:
    """The scripts Snakemake ran in ``workdir`` (kept by --skip-script-cleanup),
    in the order the jobs started, which respects every dependency."""
    scripts = (workdir / ".snakemake" / "scripts").glob("*.py")
    return sorted(scripts, key=lambda path: path.stat().st_mtime_ns)


def script_rule(script: Path) -> str:
    """The rule a kept script belongs to: Snakemake names it tmpXXXX.<script name>.py."""
    return script.name.split(".", 1)[1].removesuffix(".py")


def script_imports(script: Path) -> list[str]:
    """The module-level import statements of a kept script, preamble included."""
    tree = ast.parse(script.read_text(encoding="utf-8"))
    return [
        ast.unparse(node) for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)
    ]


def synthetic_panel(
    n_entities: int, n_periods: int, seed: int, drop_share: float = 0.03
) -> tuple[pd.DataFrame, list[str]]:
    """A two-way FE panel shaped like the study's model: outcome ``y``, three
    regressors and two controls correlated with the effects, string unit ids.

    A share of rows is dropped at random, so the panel is unbalanced as real ones are.
    Returns the frame (columns unit_id, year, y and the terms) and the term names.
    """
    rng = np.random.default_rng(seed)
    entity = np.repeat(np.arange(n_entities), n_periods)
    period = np.tile(np.arange(n_periods), n_entities)
    entity_effect = rng.normal(0, 1, n_entities)[entity]
    time_effect = rng.normal(0, 0.5, n_periods)[period]
    terms = [
        "rd_intensity",
        "log_talent",
        "open_platforms",
        "log_gdp_per_capita",
        "secondary_share",
    ]
    slopes = [0.30, 0.50, 0.02, 0.40, -0.01]
    frame = pd.DataFrame(
        {"unit_id": pd.Series([f"u{i:07d}" for i in range(n_entities)])[entity].to_numpy()}
    )
    frame["year"] = (2000 + period).astype(np.int64)
    outcome = entity_effect + time_effect + rng.normal(0, 0.3, entity.size)
    for term, slope in zip(terms, slopes, strict=True):
        values = 0.5 * entity_effect + 0.3 * time_effect + rng.normal(0, 1, entity.size)
        frame[term] = values
        outcome += slope * values
    frame.insert(2, "y", outcome)
    if drop_share:
        frame = frame.loc[rng.random(len(frame)) >= drop_share].reset_index(drop=True)
    return frame, terms


def copy_workflow(root: Path, target: Path, parts: Sequence[str] = WORKFLOW_PARTS) -> Path:
    """Copy the workflow and the demo's raw data from ``root`` into ``target`` (the
    package stays in ``root``: point PYTHONPATH at root/workflow); return ``target``."""
    for part in parts:
        source = root / part
        if source.is_dir():
            shutil.copytree(source, target / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (target / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / part)
    return target
