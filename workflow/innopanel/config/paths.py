"""Where a study's files live: its config, its outputs, its working data, logs and timings.

A study is one config, ``config/studies/<study>.yaml``. Everything a run of it writes
lies under folders named for it (``results/<study>/``, ``data/processed/<study>/``,
``data/staged/<study>/``, ``logs/<study>/``, ``benchmarks/<study>/``), so building one
study never touches another's files. The bundled studies, whose outputs are committed
and checked by ``make verify``, are listed one a line in ``config/studies/bundled.txt``.

This is the one place that knows these paths: the Snakefile and its rules, the paper and
the reproducibility checks all ask :class:`StudyPaths`. Only the standard library is
imported, so the Snakefile can use this at start-up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

STUDIES_DIRECTORY = "config/studies"
#: The bundled studies, one name a line; `make run` and `make verify` build each.
BUNDLED_LIST = f"{STUDIES_DIRECTORY}/bundled.txt"
#: The study built when none is named (`snakemake --cores all`).
DEFAULT_STUDY = "demo_cities"
RESULTS = "results"
#: Reference copies of numeric outputs and figure renderings (never written by a run).
REFERENCE = "reference"
STUDY_NAME = re.compile(r"[a-z][a-z0-9_]*")


class StudyNameError(ValueError):
    """A study name that names no study config; the message lists the studies there are."""


@dataclass(frozen=True)
class StudyPaths:
    """Every path of one study, relative to the project root."""

    study: str

    @property
    def config(self) -> str:
        return f"{STUDIES_DIRECTORY}/{self.study}.yaml"

    @property
    def results(self) -> str:
        return f"{RESULTS}/{self.study}"

    @property
    def reference(self) -> str:
        return f"{REFERENCE}/{self.study}"

    @property
    def staged(self) -> str:
        return f"data/staged/{self.study}"

    @property
    def processed(self) -> str:
        return f"data/processed/{self.study}"

    @property
    def panel(self) -> str:
        return f"{self.processed}/panel.csv"

    @property
    def manifest(self) -> str:
        return f"{self.results}/MANIFEST.sha256"

    @property
    def environment(self) -> str:
        return f"{self.results}/MANIFEST.environment.json"

    @property
    def paper_tex(self) -> str:
        return f"{self.results}/paper/paper.tex"

    @property
    def paper_pdf(self) -> str:
        return f"{self.results}/paper/paper.pdf"

    def staged_file(self, name: str) -> str:
        """``data/staged/<study>/<name>`` (``name`` may hold wildcards)."""
        return f"{self.staged}/{name}"

    def result(self, name: str) -> str:
        """``results/<study>/<name>``, e.g. ``result("estimates/estimates.csv")``."""
        return f"{self.results}/{name}"

    def table(self, name: str, extension: str) -> str:
        return f"{self.results}/tables/{name}.{extension}"

    def figure(self, name: str, extension: str) -> str:
        return f"{self.results}/figures/{name}.{extension}"

    @property
    def benchmarks(self) -> str:
        return f"benchmarks/{self.study}"

    @property
    def logs(self) -> str:
        return f"logs/{self.study}"

    def log(self, rule: str, job: str | None = None) -> str:
        """``logs/<study>/<rule>/<job or rule>.log`` (``job`` may hold wildcards)."""
        return f"{self.logs}/{rule}/{job or rule}.log"

    def benchmark(self, rule: str, job: str | None = None) -> str:
        """``benchmarks/<study>/<rule>/<job or rule>.tsv`` (``job`` may hold wildcards)."""
        return f"{self.benchmarks}/{rule}/{job or rule}.tsv"


def available_studies(root: str | Path = ".") -> list[str]:
    """The studies there are: the configs under ``config/studies/`` named as a study may be."""
    configs = (Path(root) / STUDIES_DIRECTORY).glob("*.yaml")
    return sorted(path.stem for path in configs if STUDY_NAME.fullmatch(path.stem))


def study_paths(study: str, root: str | Path = ".") -> StudyPaths:
    """Return the paths of ``study``, refusing a name with no config under ``root``."""
    paths = StudyPaths(study)
    if not STUDY_NAME.fullmatch(study):
        raise StudyNameError(_invalid_name_message(study, root))
    if not (Path(root) / paths.config).is_file():
        raise StudyNameError(
            f"study '{study}' has no config {paths.config}. Studies: "
            f"{', '.join(available_studies(root)) or 'none'}; build one with "
            f"`snakemake --cores all --config study=<name>`, or add "
            f"{STUDIES_DIRECTORY}/<name>.yaml (a lower-case name: letters, digits, _)."
        )
    return paths


def _invalid_name_message(study: str, root: str | Path) -> str:
    """Why ``study`` is no study name, and the fix: rename its file if it has one."""
    rule = (
        f"study '{study}': a study name must be a lower-case name of ASCII letters, digits "
        f"and _, starting with a letter ({STUDY_NAME.pattern}), because it names the "
        "study's folders and outputs."
    )
    config = Path(root) / STUDIES_DIRECTORY / f"{study}.yaml"
    if "/" in study or "\\" in study or not config.is_file():
        return f"{rule} Studies: {', '.join(available_studies(root)) or 'none'}."
    suggestion = re.sub(r"[^a-z0-9_]+", "_", study.lower()).strip("_")
    if not STUDY_NAME.fullmatch(suggestion):
        suggestion = f"study_{suggestion}".rstrip("_")
    return (
        f"{rule} {STUDIES_DIRECTORY}/{study}.yaml exists: rename it, e.g. to "
        f"{STUDIES_DIRECTORY}/{suggestion}.yaml, and build it with "
        f"`snakemake --cores all --config study={suggestion}`."
    )


def bundled_studies(root: str | Path = ".") -> list[str]:
    """The bundled studies listed in ``config/studies/bundled.txt``, each checked."""
    listing = Path(root) / BUNDLED_LIST
    names = [line.strip() for line in listing.read_text(encoding="utf-8").splitlines()]
    studies = [name for name in names if name and not name.startswith("#")]
    for study in studies:
        study_paths(study, root)
    return studies
