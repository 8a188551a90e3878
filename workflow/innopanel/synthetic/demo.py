"""The demo folder ``data/raw/demo``: writing it, and the command that regenerates it.

The demo panel lets the whole workflow run (and be tested) without real statistics.
Everything in it is SYNTHETIC: :mod:`innopanel.synthetic.dgp` simulates it,
:mod:`innopanel.synthetic.calibration` calibrates a few 2020 values to figures quoted by
the source study, :mod:`innopanel.synthetic.messy_files` formats the three yearbook
extracts and :mod:`innopanel.synthetic.documentation` writes the README and the truth
file. ``python -m innopanel.synthetic.demo --config config/studies/demo_cities.yaml --out
data/raw/demo`` regenerates the folder byte for byte.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from innopanel.io import sha256_file, write_bytes, write_json, write_text
from innopanel.synthetic.calibration import build_demo_panel
from innopanel.synthetic.dgp import DEFAULT_PARAMETERS, DemoParameters, random_streams
from innopanel.synthetic.documentation import (
    MANIFEST_FILE,
    README_FILE,
    TRUTH_FILE,
    readme_text,
    truth_payload,
)
from innopanel.synthetic.messy_files import (
    ECONOMY_FILE,
    OPEN_PLATFORMS_FILE,
    SCIENCE_TECHNOLOGY_FILE,
    economy_text,
    open_platforms_text,
    science_technology_text,
)


def write_demo_files(
    panel: pd.DataFrame,
    units: pd.DataFrame,
    out_dir: str | Path,
    seed: int,
    parameters: DemoParameters = DEFAULT_PARAMETERS,
) -> dict[str, str]:
    """Write the messy raw files, ``dgp_truth.json``, ``README.md`` and the manifest.

    ``parameters`` must be the ones the panel was built with (they are recorded as
    the truth). Returns ``{filename: sha256}`` for every file written.
    """
    out_dir = Path(out_dir)
    units = units.copy()
    units["unit_id"] = units["unit_id"].astype(str)
    unknown = sorted(set(panel["unit_id"]) - set(units["unit_id"]))
    if unknown:
        raise ValueError(f"panel units missing from the unit table: {unknown}")
    units = units[units["unit_id"].isin(set(panel["unit_id"]))]
    formatting = random_streams(seed)["formatting"]

    # The order of the three calls is the order of the formatting stream's draws.
    economy = economy_text(panel, units, formatting)
    write_bytes(out_dir / ECONOMY_FILE, economy.encode("utf-8-sig"))
    science = science_technology_text(panel, units, formatting)
    write_bytes(out_dir / SCIENCE_TECHNOLOGY_FILE, science.encode("gbk"))
    platforms = open_platforms_text(panel, units, formatting)
    write_bytes(out_dir / OPEN_PLATFORMS_FILE, platforms.encode("utf-8"))
    write_json(out_dir / TRUTH_FILE, truth_payload(panel, seed, parameters))
    write_text(out_dir / README_FILE, readme_text(panel, seed, parameters))

    written = [ECONOMY_FILE, SCIENCE_TECHNOLOGY_FILE, OPEN_PLATFORMS_FILE, TRUTH_FILE, README_FILE]
    digests = {name: sha256_file(out_dir / name) for name in sorted(written)}
    write_text(
        out_dir / MANIFEST_FILE,
        "".join(f"{digest}  {name}\n" for name, digest in digests.items()),
    )
    digests[MANIFEST_FILE] = sha256_file(out_dir / MANIFEST_FILE)
    return digests


def main(argv: Sequence[str] | None = None) -> int:
    """Regenerate data/raw/demo from the study configuration."""
    import yaml  # only the command line needs it

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config/studies/demo_cities.yaml", type=Path)
    parser.add_argument("--out", default="data/raw/demo", type=Path)
    arguments = parser.parse_args(argv)

    config = yaml.safe_load(arguments.config.read_text(encoding="utf-8"))
    seed = int(config["demo"]["seed"])
    # The demo simulates every unit of the study's unit table (its cities, names, tiers).
    units = pd.read_csv(config["data"]["unit_table"], dtype=str, keep_default_na=False)
    # The config declares the true coefficients; the figures mark the same ones.
    parameters = DemoParameters(**config["demo"]["true_coefficients"])
    panel = build_demo_panel(
        units, config["study"]["first_year"], config["study"]["last_year"], seed, parameters
    )
    digests = write_demo_files(panel, units, arguments.out, seed, parameters)
    for name, digest in digests.items():
        print(f"{digest}  {arguments.out / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
