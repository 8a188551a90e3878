"""Compare a rebuilt output with its reference: tables cell by cell, figures as pixels,
provenance by what it records.

Each comparison returns an ``Agreement``: whether it holds, the largest difference found
and where it is (row and column of a table, pixel box of a figure), so a failure names
the cell and a pass says how close it came.
"""

from __future__ import annotations

import difflib
import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from innopanel.reproducibility.policy import FigureTolerance, NumericTolerance
from innopanel.reproducibility.provenance import SITE_FIELD, markdown_site, site

# How many differing fields or lines of a provenance record a failure lists.
SHOWN = 8
# A value longer than this is cut in a failure message (a config section, a digest).
SHOWN_CHARACTERS = 80


@dataclass(frozen=True)
class Agreement:
    """The outcome of one comparison: ``largest`` difference, at ``where``."""

    holds: bool
    largest: float
    where: str
    problem: str = ""


def read_table(path: Path) -> pd.DataFrame:
    """A numeric output as a data frame; CSV text cells stay text (no NA guessing)."""
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def compare_tables(reference: Path, rebuilt: Path, tolerance: NumericTolerance) -> Agreement:
    """Cell by cell: floating-point columns within ``tolerance``, every other cell exactly.

    ``largest`` is the largest relative difference of a float cell (the absolute one
    where both values are within the absolute floor of zero).
    """
    old, new = read_table(reference), read_table(rebuilt)
    if list(old.columns) != list(new.columns) or len(old) != len(new):
        return Agreement(
            False,
            np.inf,
            "the table's shape",
            f"columns or rows changed: {len(old)} rows {list(old.columns)} -> "
            f"{len(new)} rows {list(new.columns)}",
        )
    largest, where, problems = 0.0, "", []
    for column in old.columns:
        before, after = old[column], new[column]
        floats = pd.api.types.is_float_dtype(before) and pd.api.types.is_float_dtype(after)
        if not floats:
            changed = ~((before == after) | (before.isna() & after.isna()))
            if changed.any():
                row = int(np.flatnonzero(changed.to_numpy())[0])
                problems.append(
                    f"{_row(reference, row)}, column {column}: "
                    f"{before.tolist()[row]!r} -> {after.tolist()[row]!r} (compared exactly)"
                )
            continue
        a, b = before.to_numpy(dtype=float), after.to_numpy(dtype=float)
        same = (a == b) | (np.isnan(a) & np.isnan(b))
        with np.errstate(invalid="ignore"):
            gap = np.where(same, 0.0, np.abs(a - b))
            scale = np.maximum(np.abs(a), np.abs(b))
            allowed = np.maximum(tolerance.relative * scale, tolerance.absolute)
            relative = np.where(same, 0.0, np.where(scale > tolerance.absolute, gap / scale, gap))
        relative = np.where(np.isnan(relative), np.inf, relative)
        worst = int(np.argmax(relative)) if len(relative) else 0
        if len(relative) and relative[worst] > largest:
            largest, where = float(relative[worst]), _cell(reference, worst, column, a, b)
        outside = ~same & ~(gap <= allowed)
        if outside.any():
            row = int(np.flatnonzero(outside)[0])
            problems.append(
                f"{_cell(reference, row, column, a, b)} differs by "
                f"{relative[row]:.3g} (relative), beyond {tolerance.render()}"
            )
    return Agreement(not problems, largest, where or "no cell moved", "; ".join(problems))


def _row(path: Path, row: int) -> str:
    # CSV rows are named by their line number (the header is line 1).
    return f"line {row + 2}" if path.suffix == ".csv" else f"row {row}"


def _cell(path: Path, row: int, column: str, a: np.ndarray, b: np.ndarray) -> str:
    return f"{_row(path, row)}, column {column}: {float(a[row])!r} -> {float(b[row])!r}"


def render(path: Path, tolerance: FigureTolerance) -> np.ndarray:
    """An RGB rendering (floats in 0-1) at the policy's fixed resolution.

    PDFs are drawn by poppler's ``pdftoppm`` at ``tolerance.dpi``, every page stacked
    top to bottom; PNGs are composited on white and averaged over square blocks.
    """
    if path.suffix.lower() == ".pdf":
        return _render_pdf(path, tolerance.dpi)
    from PIL import Image

    with Image.open(path) as image:
        rgba = np.asarray(image.convert("RGBA"), dtype=float) / 255.0
    rgb = rgba[..., :3] * rgba[..., 3:] + (1.0 - rgba[..., 3:])
    block = tolerance.block
    height, width = (rgb.shape[0] // block) * block, (rgb.shape[1] // block) * block
    blocks = rgb[:height, :width].reshape(height // block, block, width // block, block, 3)
    return blocks.mean(axis=(1, 3))


def _render_pdf(path: Path, dpi: int) -> np.ndarray:
    from PIL import Image

    if shutil.which("pdftoppm") is None:
        raise FileNotFoundError(
            f"{path}: comparing a PDF needs pdftoppm (Debian/Ubuntu: apt-get install "
            "poppler-utils; .ci/run installs it)."
        )
    with tempfile.TemporaryDirectory(prefix="innopanel-render-") as folder:
        subprocess.run(
            ["pdftoppm", "-r", str(dpi), "-png", str(path), f"{folder}/page"],
            check=True,
            capture_output=True,
        )
        pages = []
        for page in sorted(Path(folder).glob("page*.png")):
            with Image.open(page) as image:
                pages.append(np.asarray(image.convert("RGB"), dtype=float) / 255.0)
    width = max(page.shape[1] for page in pages)
    padded = [
        np.pad(p, ((0, 0), (0, width - p.shape[1]), (0, 0)), constant_values=1.0) for p in pages
    ]
    return np.concatenate(padded, axis=0)


def save_rendering(rendering: np.ndarray, target: Path) -> None:
    """Store a rendering as an 8-bit PNG (what reference/ keeps)."""
    from PIL import Image

    target.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.round(rendering * 255.0).astype(np.uint8), "RGB").save(target, optimize=True)


def load_rendering(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=float) / 255.0


def compare_renderings(
    reference: np.ndarray, rebuilt: np.ndarray, tolerance: FigureTolerance
) -> Agreement:
    """No pixel may move by more than ``tolerance.channel`` in any colour channel.

    Both sides are quantised to 8 bits first, as the stored reference is.
    """
    if reference.shape != rebuilt.shape:
        return Agreement(
            False,
            np.inf,
            "the rendering's size",
            f"rendered size changed: {reference.shape[1]}x{reference.shape[0]} -> "
            f"{rebuilt.shape[1]}x{rebuilt.shape[0]} pixels",
        )
    quantised = [np.round(image * 255.0) / 255.0 for image in (reference, rebuilt)]
    moved = np.abs(quantised[0] - quantised[1]).max(axis=2)
    largest = float(moved.max(initial=0.0))
    outside = moved > tolerance.channel
    if not outside.any():
        where = "no pixel moved" if largest == 0 else _box(moved > 0)
        return Agreement(True, largest, where)
    return Agreement(
        False,
        largest,
        _box(outside),
        f"{int(outside.sum())} pixel(s) moved by more than {tolerance.channel:g} at "
        f"{tolerance.render()}, in {_box(outside)}",
    )


def _box(mask: np.ndarray) -> str:
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return (
        f"pixels x {columns[0]}-{columns[-1]}, y {rows[0]}-{rows[-1]} "
        f"of {mask.shape[1]}x{mask.shape[0]}"
    )


def compare_provenance(reference: Path, rebuilt: Path) -> Agreement:
    """provenance.json field by field, provenance.md line by line, but for where each run
    was built (its commit, whether it departs from it): a build in a checkout agrees with
    a reference built elsewhere. ``where`` names both commits; ``largest`` is the number
    of fields or lines that differ, and the problem names them."""
    if reference.suffix == ".json":
        old, new = (json.loads(p.read_text(encoding="utf-8")) for p in (reference, rebuilt))
        sites = [site(record.pop(SITE_FIELD, {})) for record in (old, new)]
        changed = field_differences(old, new)
    else:
        (old_lines, old_site), (new_lines, new_site) = (
            markdown_site(p.read_text(encoding="utf-8")) for p in (reference, rebuilt)
        )
        sites = [old_site, new_site]
        changed = line_differences(old_lines, new_lines)
    where = f"reference: {sites[0]}; rebuilt: {sites[1]}"
    if not changed:
        return Agreement(True, 0.0, where)
    shown = changed[:SHOWN]
    if len(changed) > SHOWN:
        shown.append(f"{len(changed) - SHOWN} more")
    return Agreement(False, float(len(changed)), where, "; ".join(shown) + f" ({where})")


_ABSENT = object()


def field_differences(old: object, new: object, field: str = "") -> list[str]:
    """Each field of two JSON documents that differs, as ``field: old -> new``. A list of
    records with distinct names (the sources) is matched by name, any other by position."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [
            change
            for key in sorted(old.keys() | new.keys())
            for change in field_differences(
                old.get(key, _ABSENT), new.get(key, _ABSENT), f"{field}.{key}" if field else key
            )
        ]
    if isinstance(old, list) and isinstance(new, list):
        old_keyed, new_keyed = _keyed(old), _keyed(new)
        if old_keyed is None or new_keyed is None:
            old_keyed, new_keyed = dict(enumerate(old)), dict(enumerate(new))
        return [
            change
            for key in sorted(old_keyed.keys() | new_keyed.keys(), key=str)
            for change in field_differences(
                old_keyed.get(key, _ABSENT), new_keyed.get(key, _ABSENT), f"{field}[{key}]"
            )
        ]
    # True == 1 in Python, not in JSON.
    if type(old) is type(new) and old == new:
        return []
    return [f"{field}: {_shown(old)} -> {_shown(new)}"]


def _keyed(records: list[object]) -> dict[object, object] | None:
    names = [r.get("name") if isinstance(r, dict) else None for r in records]
    if None in names or len(set(names)) != len(names):
        return None
    return dict(zip(names, records, strict=True))


def _shown(value: object) -> str:
    if value is _ABSENT:
        return "absent"
    return _cut(json.dumps(value, ensure_ascii=False, sort_keys=True))


def line_differences(old: list[tuple[int, str]], new: list[tuple[int, str]]) -> list[str]:
    """Each changed, removed or added line of two numbered texts, by the reference's line
    number (the rebuilt's for an added line); a long changed line is shown from a little
    before where it changes."""
    matcher = difflib.SequenceMatcher(a=[t for _, t in old], b=[t for _, t in new], autojunk=False)
    changes = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        before = [text for _, text in old[i1:i2]]
        after = [text for _, text in new[j1:j2]]
        for k in range(max(len(before), len(after))):
            number = old[i1 + k][0] if k < len(before) else f"{new[j1 + k][0]} (rebuilt)"
            pair = [lines[k] if k < len(lines) else "" for lines in (before, after)]
            same = next(
                (i for i, (x, y) in enumerate(zip(*pair, strict=False)) if x != y),
                min(map(len, pair)),
            )
            start = max(0, same - SHOWN_CHARACTERS // 4)
            shown = [
                repr(("…" if start else "") + _cut(lines[k][start:]))
                if k < len(lines)
                else "absent"
                for lines in (before, after)
            ]
            changes.append(f"line {number}: {shown[0]} -> {shown[1]}")
    return changes


def _cut(text: str) -> str:
    return text if len(text) <= SHOWN_CHARACTERS else text[: SHOWN_CHARACTERS - 1] + "…"
