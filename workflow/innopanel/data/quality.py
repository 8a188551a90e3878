"""The data-quality report: what cleaning read, dropped, filled and flagged, for people.

:class:`SourceReport` collects, per source, the rows read, the header blocks (with
their units) and every row dropped; :func:`flag_outliers` flags values far from their
unit's median without changing them; :func:`quality_report` assembles the JSON report
(missing cells, interpolated cells, outlier flags) and :func:`quality_markdown` renders
it for people.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from innopanel.data.magnitudes import scale_breaks_markdown
from innopanel.data.staging import privacy_markdown
from innopanel.data.vintages import vintages_markdown

# Iglewicz and Hoaglin's modified z-score: 0.6745 makes the MAD consistent for a normal SD.
MAD_CONSISTENCY = 0.6745


@dataclass
class SourceReport:
    """What cleaning did to one source, for the data-quality report."""

    name: str
    path: str
    rows_read: int = 0
    header_blocks: list[dict[str, Any]] = field(default_factory=list)
    dropped: list[dict[str, Any]] = field(default_factory=list)
    # A yearbook table's edition, and the rows dropped as totals (全国, …) or as regions
    # outside the study (香港, …), with their values.
    edition: int | None = None
    totals_dropped: list[dict[str, Any]] = field(default_factory=list)
    # Rows dropped, renamed or merged by data.harmonise and data.aliases: name, rule, rows.
    harmonised: list[dict[str, Any]] = field(default_factory=list)
    # Unit-years merged with a sub-unit's row absent: unit, year, present, absent, result.
    partial_merges: list[dict[str, Any]] = field(default_factory=list)
    # Rows outside the study window, per year (summarised: they may be most of a file).
    out_of_window: dict[int, int] = field(default_factory=dict)


def flag_outliers(
    panel: pd.DataFrame, variables: Sequence[str], threshold: float
) -> list[dict[str, Any]]:
    """Flag values far from their unit's median (modified z-score); change nothing."""
    flags: list[dict[str, Any]] = []
    for variable in variables:
        values = panel[["unit_id", "year", variable]].dropna()
        grouped = values.groupby("unit_id")[variable]
        median = grouped.transform("median")
        mad = (values[variable] - median).abs().groupby(values["unit_id"]).transform("median")
        score = MAD_CONSISTENCY * (values[variable] - median) / mad.where(mad > 0)
        flagged = values.loc[score.abs() > threshold]
        for index, row in flagged.iterrows():
            flags.append(
                {
                    "unit_id": row["unit_id"],
                    "year": int(row["year"]),
                    "variable": variable,
                    "value": float(row[variable]),
                    "unit_median": float(median[index]),
                    "modified_z": round(float(score[index]), 3),
                }
            )
    flags.sort(key=lambda f: (f["unit_id"], f["year"], f["variable"]))
    return flags


def quality_report(
    panel: pd.DataFrame,
    reports: Sequence[SourceReport],
    shape: Mapping[str, Any],
    interpolated: list[dict[str, Any]],
    *,
    synthetic: bool,
    data_note: str,
    unit: str,
    years: tuple[int, int],
    source_variables: Sequence[str],
    value_columns: Sequence[str],
    max_gap: int | None,
    threshold: float,
    screened: Sequence[str],
    revisions: list[dict[str, Any]] | None = None,
    vintages: Mapping[str, Any] | None = None,
    derivation_drops: Sequence[Mapping[str, Any]] = (),
    provided: Mapping[str, pd.DataFrame] | None = None,
) -> dict[str, Any]:
    """Return the data-quality report of a cleaned panel (a JSON-ready dict).

    ``shape`` is what shaping the panel dropped, ``interpolated`` the cells filled
    (``max_gap`` None: interpolation is off), ``screened`` the variables flagged for
    outliers at ``threshold``. ``revisions`` (None: no yearbook editions) lists every
    earlier edition's value that the latest edition replaced, ``vintages`` the level
    breaks between statistical bases, what the policy did and which edition printed
    each kept value (:mod:`innopanel.data.vintages`). ``derivation_drops`` are
    the rows each derived variable left missing although its inputs were observed (a
    log's zeros and negatives, a zero denominator). ``provided`` (source name -> the
    unit-years it gave a value for) makes the unit x source x year coverage table.
    """
    missing = {
        column: {
            "missing": int(panel[column].isna().sum()),
            "share": round(float(panel[column].isna().mean()), 6) if len(panel) else 0.0,
        }
        for column in value_columns
    }
    missing_source_cells = [
        {"unit_id": u, "year": int(y), "variable": v}
        for v in source_variables
        for u, y in panel.loc[panel[v].isna(), ["unit_id", "year"]].itertuples(index=False)
    ]
    missing_source_cells.sort(key=lambda c: (c["unit_id"], c["year"], c["variable"]))
    report = {
        "synthetic": synthetic,
        "data_note": data_note,
        "panel": {
            "unit": unit,
            "units": int(panel["unit_id"].nunique()),
            "years": list(years),
            "rows": len(panel),
            **shape,
        },
        "derivation_drops": list(derivation_drops),
        "coverage": coverage(panel, provided or {}, source_variables),
        "sources": [_source_entry(r) for r in reports],
        "missing_values": {
            "treatment": (
                "kept missing; rows missing a model variable are dropped by the models "
                "(listwise) and counted in their N"
                + ("; interpolated cells listed under interpolated" if interpolated else "")
            ),
            "source_cells_missing": missing_source_cells,
        },
        "missing_cells": missing,
        "interpolated": {
            "method": (
                f"linear within unit, interior gaps of at most {max_gap} year(s)"
                if max_gap is not None
                else "none (data.cleaning.interpolate not set)"
            ),
            "cells": interpolated,
        },
        "outliers": {
            "method": (
                f"modified z-score {MAD_CONSISTENCY}·(x − unit median) / unit MAD; "
                f"|z| > {threshold} flagged, values unchanged"
            ),
            "variables": list(screened),
            "flags": flag_outliers(panel, screened, threshold),
        },
    }
    if revisions is not None:
        kinds = sorted({r["kind"] for r in revisions})
        report["editions"] = {
            "rule": "the latest edition with a value wins; earlier values that differ are listed",
            "differences": {kind: sum(r["kind"] == kind for r in revisions) for kind in kinds},
            "revised_values": revisions,
        }
    if vintages is not None:
        report["vintages"] = dict(vintages)
    return report


def year_spans(years: Sequence[int]) -> str:
    """Years as runs: [2011, 2012, 2013, 2016] -> '2011–2013, 2016'."""
    runs: list[list[int]] = []
    for year in sorted(years):
        if runs and year == runs[-1][-1] + 1:
            runs[-1].append(year)
        else:
            runs.append([year])
    return ", ".join(f"{r[0]}–{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)


def coverage(
    panel: pd.DataFrame,
    provided: Mapping[str, pd.DataFrame],
    source_variables: Sequence[str],
) -> dict[str, Any]:
    """Per unit and source, the years that source gave a value of any of its variables.

    ``provided`` maps each source to the unit-years it gave a value for (``unit_id``,
    ``year``; after harmonisation and the window), read before sources are merged, so
    that overlapping sources (yearbook editions) are each credited with what they held.
    """
    units: dict[str, dict[str, str]] = {str(u): {} for u in sorted(panel["unit_id"].unique())}
    for name, rows in provided.items():
        years = rows.groupby("unit_id")["year"].apply(list).to_dict()
        for unit_id, spans in units.items():
            spans[name] = year_spans(years.get(unit_id, []))
    return {
        "sources": list(provided),
        "units": units,
        "all_missing_variables": [v for v in source_variables if panel[v].isna().all()],
    }


def _source_entry(report: SourceReport) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": report.name,
        "path": report.path,
        "rows_read": report.rows_read,
        "header_blocks": report.header_blocks,
        "rows_dropped": report.dropped,
        "units_harmonised": report.harmonised,
        "partial_merges": report.partial_merges,
        "out_of_window": [
            {"year": year, "rows": rows} for year, rows in sorted(report.out_of_window.items())
        ],
    }
    if report.edition is not None:
        entry["edition"] = report.edition
        entry["totals_dropped"] = report.totals_dropped
    return entry


def _markdown_row(cells: Sequence[Any]) -> str:
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def quality_markdown(quality: Mapping[str, Any]) -> str:
    """Render the data-quality report as Markdown for people."""
    lines = ["# Data-quality report", ""]
    if quality["synthetic"]:
        lines += [f"> **{quality['data_note']}**", ""]
    panel = quality["panel"]
    lines += [
        f"- Units ({panel['unit']}): {panel['units']}; years "
        f"{panel['years'][0]}–{panel['years'][1]}; rows: {panel['rows']}; "
        f"panel: {panel['type']}.",
        "- Unit-years dropped for having no value in any source: "
        f"{len(panel['unit_years_dropped_without_any_value'])}.",
    ]
    if panel["type"] == "balanced":
        dropped = panel["units_dropped_to_balance"]
        lines.append(
            f"- Units dropped to balance the panel on {', '.join(panel['balance_on'])}: "
            f"{len(dropped)}"
            + (f" ({', '.join(d['unit_id'] for d in dropped)})." if dropped else ".")
        )
    lines += [
        f"- Missing values: {quality['missing_values']['treatment']}.",
        f"- Interpolation: {quality['interpolated']['method']}; cells filled: "
        f"{len(quality['interpolated']['cells'])}.",
        *privacy_markdown(quality.get("privacy")),
        "",
        "## Sources",
        "",
        "| source | rows read | header blocks (units) | rows dropped |",
        "|---|---:|---|---:|",
    ]
    for source in quality["sources"]:
        units = "; ".join(
            (f"sheet {b['sheet']} " if "sheet" in b else "")
            + f"line {b['line']}: "
            + ", ".join(f"{v} [{u}]" for v, u in b["units"].items())
            for b in source["header_blocks"][:2]
        )
        more = len(source["header_blocks"]) - 2
        if more > 0:
            units += f"; … {more} more"
        lines.append(
            _markdown_row([source["name"], source["rows_read"], units, len(source["rows_dropped"])])
        )
    lines += [
        "",
        "## Rows dropped",
        "",
        "| source | row | unit | year | reason |",
        "|---|---:|---|---:|---|",
    ]
    for source in quality["sources"]:
        for drop in source["rows_dropped"]:
            row = f"{drop['row']} ({drop['sheet']})" if "sheet" in drop else drop["row"]
            lines.append(
                _markdown_row([source["name"], row, drop["unit_id"], drop["year"], drop["reason"]])
            )
    lines += _harmonised_markdown(quality["sources"])
    lines += _yearbook_markdown(quality)
    if "vintages" in quality:
        lines += vintages_markdown(quality["vintages"])
    if "scale_breaks" in quality:
        lines += scale_breaks_markdown(quality["scale_breaks"])
    lines += _derivation_markdown(quality["derivation_drops"])
    lines += _coverage_markdown(quality["coverage"])
    lines += [
        "",
        "## Missing cells per variable",
        "",
        "| variable | missing | share |",
        "|---|---:|---:|",
    ]
    for variable, count in quality["missing_cells"].items():
        lines.append(f"| {variable} | {count['missing']} | {count['share']:.2%} |")
    outliers = quality["outliers"]
    lines += [
        "",
        "## Outlier flags",
        "",
        f"{outliers['method']}. Flags: {len(outliers['flags'])}.",
        "",
        "| unit | year | variable | value | unit median | modified z |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for flag in outliers["flags"]:
        lines.append(
            _markdown_row(
                [
                    flag["unit_id"],
                    flag["year"],
                    flag["variable"],
                    f"{flag['value']:.6g}",
                    f"{flag['unit_median']:.6g}",
                    flag["modified_z"],
                ]
            )
        )
    return "\n".join(lines) + "\n"


def _harmonised_markdown(sources: Sequence[Mapping[str, Any]]) -> list[str]:
    """Rows outside the window per year, rows dropped, renamed or merged by
    data.harmonise and data.aliases, and unit-years merged with a sub-unit absent."""
    outside = [
        [source["name"], entry["year"], entry["rows"]]
        for source in sources
        for entry in source["out_of_window"]
    ]
    harmonised = [
        [source["name"], entry["name"], entry["rule"], entry["rows"]]
        for source in sources
        for entry in source["units_harmonised"]
    ]
    return [
        "",
        "## Rows outside the study window",
        "",
        *_table_or_none(["source", "year", "rows dropped"], "|---|---:|---:|", outside),
        "",
        "## Rows that are not units, renamed or merged (data.harmonise, data.aliases)",
        "",
        *_table_or_none(
            ["source", "name in the source", "rule", "rows"], "|---|---|---|---:|", harmonised
        ),
        "",
        "## Merges with a sub-unit's row absent (data.harmonise.concordance partial)",
        "",
        *_table_or_none(
            ["source", "unit", "year", "sub-units present", "absent", "result"],
            "|---|---|---:|---|---|---|",
            [
                [
                    source["name"],
                    entry["unit_id"],
                    entry["year"],
                    ", ".join(entry["present"]),
                    ", ".join(entry["absent"]),
                    entry["result"],
                ]
                for source in sources
                for entry in source["partial_merges"]
            ],
        ),
    ]


def _table_or_none(header: Sequence[str], rule: str, rows: Sequence[Sequence[Any]]) -> list[str]:
    """A Markdown table of ``rows``, or "None." when there are none."""
    if not rows:
        return ["None."]
    return [_markdown_row(header), rule, *(_markdown_row(row) for row in rows)]


# Up to this many sources, the coverage table has a column per source; beyond, one row
# per source (the JSON report always has every unit x source).
COVERAGE_COLUMNS = 8


def _coverage_markdown(coverage: Mapping[str, Any]) -> list[str]:
    """Which source covers which unit in which years; all-missing variables named."""
    lines = ["", "## Coverage: unit x source x year", ""]
    if coverage["all_missing_variables"]:
        lines += [
            "**Variables with no value at all** (every model using them is refused; check "
            "their source columns): " + ", ".join(coverage["all_missing_variables"]) + ".",
            "",
        ]
    sources, units = coverage["sources"], coverage["units"]
    if len(sources) <= COVERAGE_COLUMNS:
        lines += ["Years with a value from each source (— : none).", ""]
        lines += ["| unit | " + " | ".join(sources) + " |", "|---|" + "---|" * len(sources)]
        lines += [
            _markdown_row([unit_id, *[spans[name] or "—" for name in sources]])
            for unit_id, spans in units.items()
        ]
        return lines
    lines += [
        "Per source: the units it gave a value for, their years, and the units it gave "
        "nothing (every unit x source is in report.json).",
        "",
        "| source | units with a value | years | units without any value |",
        "|---|---:|---|---|",
    ]
    for name in sources:
        spans = {unit_id: by_source[name] for unit_id, by_source in units.items()}
        covered = sorted({span for span in spans.values() if span})
        without = [unit_id for unit_id, span in spans.items() if not span]
        lines.append(
            _markdown_row(
                [
                    name,
                    len(spans) - len(without),
                    "; ".join(covered) or "—",
                    ", ".join(without) or "—",
                ]
            )
        )
    return lines


def _derivation_markdown(drops: Sequence[Mapping[str, Any]]) -> list[str]:
    """Rows a derived variable left missing although its inputs were observed."""
    lines = [
        "",
        "## Values a derivation could not compute",
        "",
        "Rows where every input was observed but the derived value is missing (a log of "
        "zero or a negative value, a division by zero); models drop them listwise. "
        + ("None." if not drops else ""),
    ]
    if drops:
        lines += [
            "",
            "| variable | derivation | inputs | reason | rows |",
            "|---|---|---|---|---:|",
        ]
        lines += [
            _markdown_row(
                [d["variable"], d["operation"], ", ".join(d["inputs"]), d["reason"], d["rows"]]
            )
            for d in drops
        ]
    return lines


def _yearbook_markdown(quality: Mapping[str, Any]) -> list[str]:
    """The yearbook sections: rows dropped as totals or excluded regions, and revisions.

    Every revision is listed with both values; differences that are only rounding are
    counted here per variable and edition pair, and listed in the JSON report.
    """
    tables = [source for source in quality["sources"] if "edition" in source]
    if not tables:
        return []
    lines = [
        "",
        "## Yearbook rows that are not units",
        "",
        "Totals (全国 and regional groups) and regions outside the study, dropped from "
        "every table:",
        "",
        "| source | edition | row | region | reason |",
        "|---|---:|---:|---|---|",
    ]
    for source in tables:
        for dropped in source["totals_dropped"]:
            lines.append(
                _markdown_row(
                    [
                        source["name"],
                        source["edition"],
                        dropped["row"],
                        dropped["region"],
                        dropped["reason"],
                    ]
                )
            )
    editions = quality["editions"]
    revised = [r for r in editions["revised_values"] if r["kind"] == "revision"]
    rounded = [r for r in editions["revised_values"] if r["kind"] == "rounding"]
    lines += [
        "",
        "## Values revised by a later edition",
        "",
        f"Rule: {editions['rule']}. Earlier values that differ: {len(revised)} revised, "
        f"{len(rounded)} only rounded (the later edition prints fewer or more decimals).",
        "",
        "| unit | year | variable | earlier edition | earlier value | kept edition | kept value |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for r in revised:
        lines.append(
            _markdown_row(
                [
                    r["unit_id"],
                    r["year"],
                    r["variable"],
                    r["earlier_edition"],
                    f"{r['earlier_value']:.6g}",
                    r["later_edition"],
                    f"{r['later_value']:.6g}",
                ]
            )
        )
    if rounded:
        counts: dict[tuple[str, int, int], int] = {}
        for r in rounded:
            key = (r["variable"], r["earlier_edition"], r["later_edition"])
            counts[key] = counts.get(key, 0) + 1
        lines += [
            "",
            "Rounding-only differences (each is listed in report.json):",
            "",
            "| variable | earlier edition | kept edition | values |",
            "|---|---:|---:|---:|",
        ]
        lines += [_markdown_row([*key, n]) for key, n in sorted(counts.items())]
    return lines
