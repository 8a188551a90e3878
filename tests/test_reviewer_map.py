"""The reviewer map (docs/reviewer_map.md): its output table matches the outputs of every
bundled study, multiverse and vintages included, `--forcerun <rule>`
reruns that rule and its downstream jobs only, and a rerun with nothing to do touches
nothing."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from test_workflow import make_project, snakemake

from innopanel.config.paths import DEFAULT_STUDY, StudyPaths, bundled_studies
from innopanel.reproducibility.reference import copy_project, workflow_outputs

ROOT = Path(__file__).resolve().parents[1]
REVIEWER_MAP = ROOT / "docs" / "reviewer_map.md"
pytestmark = pytest.mark.workflow
DEMO = StudyPaths(DEFAULT_STUDY)
MAP_HEADER = re.compile(r"^\|\s*output\s*\|.*\|\s*made by rule\s*\|\s*rebuild just this\s*\|\s*$")
CODE = re.compile(r"`([^`]+)`")


def readme_map(readme: Path) -> list[dict[str, str]]:
    """Rows of the README table whose header is `| output | ... | made by rule | rebuild ... |`."""
    lines = readme.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if MAP_HEADER.match(line))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        output, rule, command = (CODE.findall(cells[i]) for i in (0, -2, -1))
        rows.append(
            {
                "output": output[0] if output else "",
                "rule": rule[0] if rule else "",
                "command": command[0] if command else "",
                "line": line,
            }
        )
    return rows


def pattern(output: str) -> re.Pattern[str]:
    """`results/<study>/figures/x.{pdf,png}` and `data/staged/<study>/<source>.csv` as a
    regex (``<...>`` is one path segment)."""
    parts = re.split(r"(\{[^}]*\}|<[^>]+>)", output)
    regex = ""
    for part in parts:
        if part.startswith("{"):
            regex += "(?:" + "|".join(re.escape(p) for p in part[1:-1].split(",")) + ")"
        elif part.startswith("<"):
            regex += "[^/]+"
        else:
            regex += re.escape(part)
    return re.compile(regex + "$")


def rule_graph(workdir: Path) -> dict[str, set[str]]:
    """Each rule's direct downstream rules, from `snakemake --rulegraph`."""
    run = snakemake(workdir, "--rulegraph", "--quiet", "all")
    assert run.returncode == 0, run.stderr[-2000:]
    names = dict(re.findall(r'^\s*(\d+)\[label = "(\w+)"', run.stdout, flags=re.M))
    graph: dict[str, set[str]] = {name: set() for name in names.values()}
    for upstream, downstream in re.findall(r"^\s*(\d+) -> (\d+)", run.stdout, flags=re.M):
        graph[names[upstream]].add(names[downstream])
    return graph


def downstream_of(graph: dict[str, set[str]], rule: str) -> set[str]:
    found, frontier = set(), [rule]
    while frontier:
        for child in graph[frontier.pop()]:
            if child not in found:
                found.add(child)
                frontier.append(child)
    return found


def planned_jobs(workdir: Path, *arguments: str) -> set[str]:
    """The rules a dry run would run, read from Snakemake's job-stats table."""
    run = snakemake(workdir, "--dry-run", "--quiet", "rules", *arguments)
    assert run.returncode == 0, run.stderr[-2000:]
    text = run.stdout + run.stderr
    if "Nothing to be done" in text:
        return set()
    jobs = set()
    # "Job stats:", the header "job  count", a rule of dashes, then rows until "total".
    for line in text[text.index("Job stats:") :].splitlines()[3:]:
        name = line.split()[0] if line.split() else "total"
        if name == "total":
            break
        jobs.add(name)
    return jobs


def state(workdir: Path, paths: list[str]) -> dict[str, tuple[int, str]]:
    return {
        p: (
            (workdir / p).stat().st_mtime_ns,
            hashlib.sha256((workdir / p).read_bytes()).hexdigest(),
        )
        for p in paths
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small project built once for this module (its tests rerun parts of it)."""
    workdir = make_project(tmp_path_factory.mktemp("reviewer"))
    run = snakemake(workdir)
    assert run.returncode == 0, run.stderr[-4000:]
    return workdir


def test_the_map_names_every_output_of_every_bundled_study(tmp_path: Path) -> None:
    """Each bundled study's full outputs (from `--summary` on a fresh copy, so nothing is
    built or left out), against the map's rows, rules and rebuild commands."""
    rows = readme_map(REVIEWER_MAP)
    copy_project(ROOT, tmp_path)
    problems, matched = [], set()
    for study in bundled_studies(ROOT):
        outputs = workflow_outputs(tmp_path, study)
        assert any("/multiverse/" in path for path in outputs), f"{study}: no multiverse?"
        for path, rule in sorted(outputs.items()):
            generic = path.replace(f"/{study}/", "/<study>/")
            matching = [row for row in rows if pattern(row["output"]).match(generic)]
            if not matching:
                problems.append(f"{path} (made by {rule}) has no row in the reviewer map")
                continue
            row = matching[0]
            matched.add(row["line"])
            if row["rule"] != rule:
                problems.append(f"{path}: the map says rule {row['rule']!r}, the workflow {rule!r}")
            if not re.search(rf"^snakemake .*--forcerun {rule}(\s|$)", row["command"]):
                problems.append(
                    f"{path}: rebuild command {row['command']!r} is not --forcerun {rule}"
                )
    for row in rows:
        if row["line"] not in matched:
            problems.append(f"map row matches no output of a bundled study: {row['line']}")
    assert not problems, "\n".join(problems)


def test_forcerun_reruns_the_rule_and_its_downstream_jobs_only(built: Path) -> None:
    graph = rule_graph(built)
    assert planned_jobs(built) == set(), "the built project should be up to date"
    for rule in sorted(set(graph) - {"all"}):
        expected = {rule} | downstream_of(graph, rule)
        assert planned_jobs(built, "--forcerun", rule) == expected, rule


def test_forcerun_rewrites_downstream_outputs_identically_and_leaves_the_rest(
    built: Path,
) -> None:
    outputs = workflow_outputs(built, DEMO.study)
    downstream = {"estimate_models"} | downstream_of(rule_graph(built), "estimate_models")
    before = state(built, list(outputs))
    run = snakemake(built, "--forcerun", "estimate_models")
    assert run.returncode == 0, run.stderr[-4000:]
    after = state(built, list(outputs))
    for path, rule in outputs.items():
        (mtime_before, digest_before), (mtime_after, digest_after) = before[path], after[path]
        assert digest_after == digest_before, f"{path} changed bytes on a forced rerun"
        if rule in downstream:
            assert mtime_after != mtime_before, f"{path} ({rule}) was not rerun"
        else:
            assert mtime_after == mtime_before, f"{path} ({rule}) was touched"


def test_a_rerun_with_nothing_to_do_touches_nothing(built: Path) -> None:
    outputs = list(workflow_outputs(built, DEMO.study))
    logs = [p.relative_to(built).as_posix() for p in (built / "logs").rglob("*.log")]
    before = state(built, outputs + logs)
    run = snakemake(built)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Nothing to be done" in run.stdout + run.stderr
    assert state(built, outputs + logs) == before
