"""The exhibits tests' one city panel: named units and the study's variable names.

The figure, table and paper tests need what :func:`conftest.simulate_panel` does not
give: English and Chinese names, a focal city with named peers and other cities, and
the columns the exhibits draw (R&D intensity, talent, platforms, patents, GDP, the
controls), with a few gaps so that counts differ between variables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FOCAL = "chengdu"
PEERS = ["shanghai", "shenzhen", "beijing", "guangzhou", "hangzhou", "wuhan", "xian", "chongqing"]
OTHERS = ["nanjing", "suzhou", "tianjin", "changsha", "hefei", "jinan", "qingdao", "dalian"]
FIRST_YEAR, LAST_YEAR = 2011, 2022


def city_panel(seed: int = 7) -> pd.DataFrame:
    """A 25-city panel over 2011-2022; rd_intensity and log_talent each have gaps."""
    rng = np.random.default_rng(seed)
    rows = []
    for number, city in enumerate([FOCAL, *PEERS, *OTHERS]):
        level = rng.normal(0.0, 0.5)
        trend = rng.uniform(0.03, 0.12)
        for year in range(FIRST_YEAR, LAST_YEAR + 1):
            t = year - FIRST_YEAR
            rd = max(0.2, 2.0 + level + trend * t + rng.normal(0, 0.15))
            talent = max(1.0, 60 + 30 * level + 4 * t + rng.normal(0, 4))
            platforms = int(max(0, round(8 + 10 * level + 0.8 * t + rng.normal(0, 1.5))))
            log_patents = 6.0 + 0.35 * rd + 0.01 * talent + 0.5 * level + rng.normal(0, 0.1)
            rows.append(
                {
                    "unit_id": city,
                    "year": year,
                    "name_en": city.title() if city != "xian" else "Xi'an",
                    "name_zh": "成都" if city == FOCAL else "城市",
                    "tier": 1 + number % 3,
                    "gdp": float(np.exp(8.5 + level + 0.05 * t)),
                    "rd_intensity": rd,
                    "talent": talent,
                    "log_talent": float(np.log(talent)),
                    "open_platforms": platforms,
                    "log_patents_granted": log_patents,
                    "invention_patents_granted": float(round(np.exp(log_patents))),
                    "patents_per_10k": float(np.exp(log_patents) / 1000),
                }
            )
    panel = pd.DataFrame(rows)
    # A control of its own, drawn apart so the other columns do not depend on it.
    panel["secondary_share"] = 40 + np.random.default_rng(seed + 1).normal(0, 5, len(panel))
    panel.loc[(panel["unit_id"] == "wuhan") & (panel["year"] == 2015), "rd_intensity"] = np.nan
    panel.loc[(panel["unit_id"] == "dalian") & (panel["year"] <= 2012), "log_talent"] = np.nan
    return panel
