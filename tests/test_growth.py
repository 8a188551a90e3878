"""The growth benchmark's pieces: the generated unit table, config and exponents."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from innopanel.config.paths import StudyPaths

ROOT = Path(__file__).resolve().parents[1]
SPEC = importlib.util.spec_from_file_location("growth", ROOT / "workflow/benchmarks/growth.py")
assert SPEC is not None and SPEC.loader is not None
growth = importlib.util.module_from_spec(SPEC)
sys.modules["growth"] = growth
SPEC.loader.exec_module(growth)


def demo_units() -> pd.DataFrame:
    return pd.read_csv(ROOT / "config" / "cities.csv", dtype=str, keep_default_na=False)


def test_synthetic_units_extend_the_demo_table_with_unique_seeded_names() -> None:
    demo = demo_units()
    table = growth.synthetic_units(demo, 500, seed=1)
    assert len(table) == 500
    pd.testing.assert_frame_equal(table.head(len(demo)), demo)
    for column in ("unit_id", "name_zh", "name_en"):
        assert table[column].is_unique, column
    "".join(table["name_zh"]).encode("gbk")  # the science yearbook is written in GBK
    pd.testing.assert_frame_equal(table, growth.synthetic_units(demo, 500, seed=1))
    assert not table.equals(growth.synthetic_units(demo, 500, seed=2))
    assert len(growth.synthetic_units(demo, 10, seed=1)) == 10


def test_study_config_points_the_sources_at_the_generated_files() -> None:
    base = yaml.safe_load((ROOT / StudyPaths("demo_cities").config).read_text("utf-8"))
    digests = {
        Path(s["path"]).name: f"{i:064d}" for i, s in enumerate(base["data"]["sources"].values())
    }
    config = growth.study_config(base, "config/u.csv", digests, range(2003, 2023), "clustered")
    assert config["data"]["unit_table"] == "config/u.csv"
    assert (config["study"]["first_year"], config["study"]["last_year"]) == (2003, 2022)
    for source in config["data"]["sources"].values():
        assert source["path"].startswith(growth.GENERATED + "/")
        assert source["sha256"] == digests[Path(source["path"]).name]
    ppml = [m for m in config["models"].values() if m["estimator"] == "ppml"]
    assert ppml and all(m["covariance"] == "clustered" for m in ppml)
    assert list(config["variables"]) == list(base["variables"])  # order matters
    assert base["data"]["unit_table"] != "config/u.csv"  # the base is left alone
    assert "multiverse" in base and "multiverse" not in config
    kept = growth.study_config(base, "config/u.csv", digests, range(2003, 2023), None, True)
    assert kept["multiverse"] == base["multiverse"]


def test_growth_exponents_recover_a_power_law() -> None:
    sizes = [1_000, 3_000, 10_000, 30_000]
    rows = [{"rule": "linear", "rows": n, "cpu_time": 2e-3 * n} for n in sizes] + [
        {"rule": "quadratic_tail", "rows": n, "cpu_time": 1.0 + 1e-6 * n**2} for n in sizes
    ]
    exponents = growth.growth_exponents(rows)
    assert np.isclose(exponents["linear"], 1.0)
    top = growth.growth_exponents(rows, largest=2)
    assert top["quadratic_tail"] > 1.95 > exponents["quadratic_tail"]
