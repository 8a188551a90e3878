"""Provenance compared by what it records (issue 23): a build in a git checkout agrees
with a reference built in a copy that is none, and the comparison names both commits;
any other field that moves fails, naming it, in provenance.json and provenance.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from innopanel.config.study import RUN_KEY
from innopanel.reproducibility.comparison import compare_provenance, field_differences
from innopanel.reproducibility.policy import Policy, reference_copy
from innopanel.reproducibility.provenance import (
    build_provenance,
    markdown_site,
    provenance_markdown,
)

COMMIT = "1b16c8b0f5e3a1d2c4b6a8e0f1d3c5b7a9e1f3d5"
NO_CHECKOUT = {"commit": None, "dirty": None, "note": "not a git checkout"}
IN_CHECKOUT = {
    "commit": COMMIT,
    "dirty": True,
    "dirty_files": {"workflow/innopanel/new.py": "untracked"},
    "note": None,
}
RECORDS = [
    {
        "name": name,
        "kind": "bundled",
        "location": f"data/raw/demo/{name}.csv",
        "sha256": digit * 64,
        "bytes": 10,
    }
    for name, digit in (("science_technology", "b"), ("economy", "a"))
]
CONFIG = {
    "data": {
        "synthetic": True,
        "data_note": "Synthetic demo data.",
        "sources": {
            name: {"licence": "MIT", "citation": "innopanel demo"}
            for name in ("economy", "science_technology")
        },
    },
    "study": {"seed": 1},
    RUN_KEY: {
        "study": "demo",
        "config_file": "config/studies/demo.yaml",
        "results": "results/demo",
    },
}


def record(tmp_path: Path, git: dict[str, Any], **change: Any) -> dict[str, Any]:
    """A provenance record of a run built with ``git``; ``change`` edits it afterwards."""
    (tmp_path / "panel.csv").write_text("unit_id,year\nchengdu,2020\n", encoding="utf-8")
    provenance = build_provenance(RECORDS, CONFIG, git, {"panel": tmp_path / "panel.csv"})
    for edit in change.values():
        edit(provenance)
    return provenance


def written(tmp_path: Path, name: str, provenance: dict[str, Any]) -> tuple[Path, Path]:
    """provenance.json and provenance.md of one run, under ``tmp_path/name``."""
    folder = tmp_path / name
    folder.mkdir()
    (folder / "provenance.json").write_text(json.dumps(provenance, indent=2), encoding="utf-8")
    (folder / "provenance.md").write_text(provenance_markdown(provenance), encoding="utf-8")
    return folder / "provenance.json", folder / "provenance.md"


def test_provenance_has_its_class_and_its_reference_copy() -> None:
    policy = Policy.for_study("demo_cities")
    for name in ("provenance.json", "provenance.md"):
        path = f"results/demo_cities/provenance/{name}"
        assert policy.kind(path) == "provenance"
        assert reference_copy(path, "provenance") == f"reference/demo_cities/provenance/{name}"
    assert policy.kind("results/demo_cities/provenance/retrieval_log.json") == "skip"


def test_a_build_in_a_checkout_agrees_with_a_reference_built_elsewhere(tmp_path: Path) -> None:
    reference = written(tmp_path, "reference", record(tmp_path, NO_CHECKOUT))
    rebuilt = written(tmp_path, "rebuilt", record(tmp_path, IN_CHECKOUT))
    assert reference[0].read_bytes() != rebuilt[0].read_bytes()
    json_agreement = compare_provenance(reference[0], rebuilt[0])
    assert json_agreement.holds, json_agreement.problem
    assert json_agreement.where == (
        f"reference: not a git checkout; rebuilt: commit {COMMIT} with uncommitted changes "
        "(1 file(s))"
    )
    markdown_agreement = compare_provenance(reference[1], rebuilt[1])
    assert markdown_agreement.holds, markdown_agreement.problem
    assert markdown_agreement.where == (
        f"reference: not a git checkout; rebuilt: {COMMIT} (with uncommitted changes)"
    )


def test_the_files_not_as_in_the_commit_are_nested_under_it_in_the_markdown(
    tmp_path: Path,
) -> None:
    markdown = provenance_markdown(record(tmp_path, IN_CHECKOUT))
    assert (
        f"- Commit: {COMMIT} (with uncommitted changes)\n"
        "  - `workflow/innopanel/new.py`: untracked\n"
        "- Python "
    ) in markdown
    lines, commit = markdown_site(markdown)
    assert commit == f"{COMMIT} (with uncommitted changes)"
    assert not any("Commit" in text or "new.py" in text for _, text in lines)


def set_package(provenance: dict[str, Any]) -> None:
    provenance["software"]["packages"]["numpy"] = "0.0.1"


def set_source_digest(provenance: dict[str, Any]) -> None:
    provenance["sources"][0]["sha256"] = "f" * 64


@pytest.mark.parametrize(
    ("edit", "field", "line"),
    [
        (set_package, "software.packages.numpy: ", "numpy 0.0.1"),
        (
            set_source_digest,
            f"sources[economy].sha256: {json.dumps('a' * 64)} -> ",
            "economy.csv | `" + "f" * 40,
        ),
    ],
)
def test_any_other_field_that_moves_fails_naming_it(
    tmp_path: Path, edit: Any, field: str, line: str
) -> None:
    reference = written(tmp_path, "reference", record(tmp_path, NO_CHECKOUT))
    rebuilt = written(tmp_path, "rebuilt", record(tmp_path, IN_CHECKOUT, edit=edit))
    json_agreement = compare_provenance(reference[0], rebuilt[0])
    assert not json_agreement.holds
    assert json_agreement.problem.startswith(field), json_agreement.problem
    assert json_agreement.problem.endswith(
        f"rebuilt: commit {COMMIT} with uncommitted changes (1 file(s)))"
    )
    markdown_agreement = compare_provenance(reference[1], rebuilt[1])
    assert not markdown_agreement.holds
    assert markdown_agreement.problem.startswith("line "), markdown_agreement.problem
    assert line in markdown_agreement.problem


def test_fields_are_named_by_source_and_key_and_absent_ones_said() -> None:
    before = {"sources": [{"name": "a", "bytes": 1}], "synthetic_data": True, "x": [1, 2]}
    after = {"sources": [{"name": "a", "bytes": 2}], "synthetic_data": 1, "x": [1], "y": {}}
    assert field_differences(before, after) == [
        "sources[a].bytes: 1 -> 2",
        "synthetic_data: true -> 1",
        "x[1]: 2 -> absent",
        "y: absent -> {}",
    ]
