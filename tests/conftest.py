"""Shared fixtures: the study config as loaded from disk, and the repository root."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture
def study_config(monkeypatch: pytest.MonkeyPatch) -> dict:
    """A fresh deep copy of config/config.yaml, with the working directory at the root."""
    monkeypatch.chdir(ROOT)
    with open(ROOT / "config" / "config.yaml", encoding="utf-8") as stream:
        return copy.deepcopy(yaml.safe_load(stream))
