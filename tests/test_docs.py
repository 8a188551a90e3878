"""The README and docs/: short where a newcomer starts, every command they show runs as
written (after `source .venv/bin/activate`), every link resolves, and every quoted
number matches the output file it comes from."""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from innopanel.config.paths import bundled_studies
from innopanel.reproducibility import quotes
from innopanel.reproducibility.reference import copy_project, workflow_outputs

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCUMENTS = [README, *sorted((ROOT / "docs").glob("*.md"))]
MAX_README_LINES = 300
FIRST_COMMAND_WITHIN = 30
SHELL_BLOCK = re.compile(r"^```(?:sh|bash)\n(.*?)^```", flags=re.M | re.S)
INLINE_COMMAND = re.compile(r"`((?:snakemake|make|python) [^`]+)`")
# Commands that change the machine rather than the project: the docs show them for a
# reader to run; the test checks the files they name exist instead of running them.
SYSTEM_PROGRAMS = {"apt-get", "conda", "pip", "source"}
PLACEHOLDER = re.compile(r"<(study|yours|name)>")
# The reviewer map's commands differ only in target and rule: one dry run per study
# plans them all, and each forced rule must be in that plan.
REBUILD = re.compile(r"^snakemake --cores 1 (?:(\S+) )?--forcerun (\w+) --config study=<study>$")
BIN = Path(sys.executable).parent


def documented_commands(text: str) -> list[str]:
    """Each shell command of ``text``: the lines of its sh/bash blocks (comments and
    prompts removed, ``&&`` chains split) and the inline code spans that run a tool."""
    found = []
    for block in SHELL_BLOCK.findall(text):
        for line in block.replace("\\\n", " ").splitlines():
            line = " ".join(line.split(" # ")[0].split())
            if line and not line.startswith("#"):
                found.extend(part.strip() for part in line.split("&&"))
    found.extend(INLINE_COMMAND.findall(" ".join(text.split())))
    return found


def all_commands() -> dict[str, list[str]]:
    """Every documented command and the documents that show it."""
    commands: dict[str, list[str]] = {}
    for document in DOCUMENTS:
        for command in documented_commands(document.read_text(encoding="utf-8")):
            commands.setdefault(command, []).append(document.name)
    return commands


def as_dry_run(command: str, study: str) -> list[str]:
    """``command`` with its study placeholder filled, made a dry run that changes nothing."""
    words = shlex.split(PLACEHOLDER.sub(study, command))
    program, arguments = words[0], words[1:]
    if program == "snakemake":
        # Right after the program: an option after --config would be read as a setting.
        return [str(BIN / "snakemake"), "--dry-run", "--quiet", "rules", *arguments]
    if program == "make":
        return ["make", "--dry-run", *arguments]
    if program == "python":
        # A script's own options (and its placeholders such as BUILD_A) stay unread.
        target = arguments[:2] if arguments[0] == "-m" else arguments[:1]
        return [sys.executable, *target, "--help"]
    raise AssertionError(f"the docs show {command!r}: teach test_docs.py how to check it")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project (no outputs), as a fresh clone has it."""
    workdir = tmp_path_factory.mktemp("docs")
    copy_project(ROOT, workdir)
    return workdir


def run(command: list[str], workdir: Path) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        # What `source .venv/bin/activate` does: the pinned tools first on the path.
        "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")]),
        "PYTHONPATH": str(workdir / "workflow"),
    }
    return subprocess.run(
        command, cwd=workdir, env=environment, capture_output=True, text=True, check=False
    )


def test_the_readme_starts_with_the_commands_and_stays_short() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) < MAX_README_LINES, f"README.md has {len(lines)} lines"
    first_block = lines.index("```sh")
    assert first_block < FIRST_COMMAND_WITHIN, f"the first command is on line {first_block + 2}"
    assert lines[first_block + 1].startswith("make run")


def test_every_link_between_the_docs_resolves() -> None:
    broken = []
    for document in DOCUMENTS:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", document.read_text("utf-8")):
            if not target.startswith(("http://", "https://")):
                if not (document.parent / target).exists():
                    broken.append(f"{document.relative_to(ROOT)} links to {target}")
    assert not broken, "\n".join(broken)


def test_every_quoted_number_matches_its_source() -> None:
    assert quotes.check(DOCUMENTS, ROOT) == []
    assert sum(len(quotes.quotes_in(document)) for document in DOCUMENTS) > 0


def test_a_moved_number_is_caught(tmp_path: Path) -> None:
    """The check can fail: one estimate changed in the source, the README's quote is named."""
    first = quotes.quotes_in(README)[0]
    source = ROOT / first.file
    copy = tmp_path / first.file
    copy.parent.mkdir(parents=True)
    text = source.read_text(encoding="utf-8")
    value = quotes.source_value(ROOT, first.file, first.selector)
    copy.write_text(text.replace(str(value), str(float(value) + 0.5), 1), encoding="utf-8")
    problems = quotes.check([README], tmp_path)
    assert any(problem.startswith(f"{README}:{first.line}:") for problem in problems)


def test_quotes_print_as_the_prose_does() -> None:
    assert quotes.render("-0.0582", ".2f") == "−0.06"
    assert quotes.render("372.0", ",d") == "372"
    assert quotes.render(1234.5, ",.1f") == "1,234.5"
    with pytest.raises(quotes.QuoteError, match="not a whole number"):
        quotes.render("1.5", "d")


def test_the_command_finder_reads_blocks_and_inline_commands() -> None:
    text = (
        "Run `make run` first.\n\n```sh\nsource .venv/bin/activate\n# a comment\n"
        "snakemake --cores 1 \\\n  --config study=x   # build\n```\n"
    )
    assert documented_commands(text) == [
        "source .venv/bin/activate",
        "snakemake --cores 1 --config study=x",
        "make run",
    ]


def planned_rules(output: str) -> set[str]:
    """The rules in the job-stats table of a dry run's output."""
    table = output[output.index("Job stats:") :].splitlines()[3:]
    return {line.split()[0] for line in table if line.split() and line.split()[0] != "total"}


def test_every_documented_command_runs_as_written(project: Path) -> None:
    """Each command, with `<study>` filled by every bundled study, as a dry run."""
    commands = all_commands()
    rebuilds = [REBUILD.match(command) for command in commands]
    failures, checked = [], 0
    for command, documents in sorted(commands.items()):
        program = command.split()[0]
        if program in SYSTEM_PROGRAMS or REBUILD.match(command):
            continue
        if "--profile profiles/slurm" in command and not importlib.util.find_spec(
            "snakemake_executor_plugin_slurm"
        ):
            continue  # needs the cluster plugin; .ci/run runs it on its SLURM cluster
        for study in bundled_studies(ROOT) if PLACEHOLDER.search(command) else [""]:
            result = run(as_dry_run(command, study), project)
            checked += 1
            if result.returncode != 0:
                failures.append(
                    f"{command!r} ({', '.join(documents)}, study {study or 'none'}):\n"
                    + (result.stdout + result.stderr)[-1500:]
                )
    unused = {match[1] for match in rebuilds if match and match[1]}
    for study in bundled_studies(ROOT):
        # A study builds only its own exhibits (the vintage table, say, is optional).
        outputs = workflow_outputs(project, study)
        mine = [m for m in rebuilds if m and m[1] and PLACEHOLDER.sub(study, m[1]) in outputs]
        unused -= {match[1] for match in mine}
        forced = {outputs[PLACEHOLDER.sub(study, match[1])] for match in mine}
        targets = " ".join(sorted({match[1] for match in mine}))
        batch = f"snakemake --cores 1 {targets} --forcerun {' '.join(sorted(forced))} "
        result = run(as_dry_run(batch + "--config study=<study>", study), project)
        checked += len(mine)
        if result.returncode != 0:
            failures.append(f"the reviewer map's commands, study {study}:\n{result.stdout[-3000:]}")
        elif missing := forced - planned_rules(result.stdout + result.stderr):
            failures.append(f"study {study}: --forcerun plans none of {sorted(missing)}")
    if unused:
        failures.append(f"no bundled study builds {sorted(unused)}")
    assert checked > 20
    assert not failures, "\n\n".join(failures)


def test_the_system_commands_name_files_that_exist() -> None:
    for command in all_commands():
        if command.split()[0] in SYSTEM_PROGRAMS:
            for word in shlex.split(command):
                if word.endswith((".lock", ".yml", ".yaml", "/activate")):
                    assert (ROOT / word).exists() or word == ".venv/bin/activate", command


def test_a_json_quote_reads_a_path_and_counts_a_list(tmp_path: Path) -> None:
    (tmp_path / "report.json").write_text('{"a": {"b": [1, 2, 3], "c": 0.5}}', "utf-8")
    assert quotes.source_value(tmp_path, "report.json", "a.b.#") == 3
    assert quotes.source_value(tmp_path, "report.json", "a.c") == 0.5
    with pytest.raises(quotes.QuoteError, match=r"no value at 'a\.d'"):
        quotes.source_value(tmp_path, "report.json", "a.d")
