"""How each kind of output is compared with the reference: exact, numeric or as a figure.

The policy is a table of path patterns; the first pattern that matches an output decides
its class, so a new output falls into a class without code changes, and an output that
matches none is an error when the reference is written. ``make reference`` writes the
policy and the tolerances into the manifest, and ``make verify`` applies the ones
recorded there, so a reference states how it is to be checked.

- exact: what a human reads (tables, the data-quality report, the paper's source, the
  panel and staged sources). Byte for byte; committed under results/<study>/.
- provenance: provenance.json and .md, by what they record: every field (line) but the
  commit the run was built from and the files not as in it, so a build in a checkout
  agrees with a reference built in a copy that is none. Their reference copies live
  under reference/<study>/; verify prints both commits.
- numeric: full-precision machine outputs (estimates, diagnostics, residuals). Cell by
  cell within ``NUMERIC_TOLERANCE``; text cells exactly. Their reference copies live
  under reference/<study>/, where the workflow never writes.
- figure: figures and the paper's PDF. Rendered at a fixed resolution and compared with
  a committed reference rendering under reference/<study>/, within ``FIGURE_TOLERANCE``.
- skip: records of when sources were obtained, and the HTML report, which assembles
  outputs compared under their own classes. Rebuilt, never compared.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass

from innopanel.config.paths import REFERENCE, RESULTS, StudyPaths

RESULTS_README = f"{RESULTS}/README.md"
RASTER_SUFFIX = ".raster.png"
CLASSES = ("exact", "numeric", "figure", "provenance", "skip")


def study_rules(study: str) -> tuple[tuple[str, str], ...]:
    """(class, glob) of one study's outputs in order; the first match decides. ``*``
    also matches ``/``. Every pattern lies in the study's own folders."""
    paths = StudyPaths(study)
    results, staged = paths.results, paths.staged
    return (
        ("skip", f"{results}/provenance/retrieval_log.json"),
        ("skip", f"{staged}/*.retrieval.json"),
        # The multiverse's chunks and null draws are temporary: gathered, then deleted.
        ("skip", f"{paths.processed}/multiverse/*"),
        # The report only assembles outputs each compared under its own class: the text
        # is the paper's source (exact), the figures are renderings and provenance is
        # compared by meaning, so its bytes (PNGs, the commit) differ between machines.
        ("skip", f"{results}/report.html"),
        ("numeric", f"{results}/estimates/*.csv"),
        ("numeric", f"{results}/multiverse/*.csv"),
        ("numeric", f"{results}/**/*.parquet"),
        ("figure", f"{results}/figures/*.pdf"),
        ("figure", f"{results}/figures/*.png"),
        ("figure", f"{results}/paper/*.pdf"),
        ("exact", f"{results}/tables/*"),
        ("exact", f"{results}/data_quality/*"),
        ("exact", f"{results}/paper/*.tex"),
        ("provenance", f"{results}/provenance/provenance.json"),
        ("provenance", f"{results}/provenance/provenance.md"),
        ("exact", f"{paths.processed}/*.csv"),
        # The data-quality report of the panel cleaned under each vintage policy.
        ("exact", f"{paths.processed}/vintages/*.json"),
        ("exact", f"{staged}/*"),
    )


@dataclass(frozen=True)
class NumericTolerance:
    """Two numbers agree if ``|a - b| <= max(relative * max(|a|, |b|), absolute)``."""

    relative: float
    absolute: float

    def render(self) -> str:
        return f"relative {self.relative:g} absolute {self.absolute:g}"


@dataclass(frozen=True)
class FigureTolerance:
    """Renderings at ``dpi`` agree if no pixel's colour moves by more than ``channel``
    (on a 0-1 scale) in any channel; PNG figures are first averaged over ``block`` x
    ``block`` pixels, which is the same fixed resolution as a PDF at ``dpi``."""

    dpi: int
    block: int
    channel: float

    def render(self) -> str:
        return f"dpi {self.dpi} block {self.block} channel {self.channel:g}"


#: What the tolerances were chosen from (written into the manifest and the README): the
#: largest difference between four builds on one machine (Xeon with AVX-512, whose own
#: OpenBLAS kernel is SkylakeX; forced Haswell and Prescott kernels; 1 and 2 threads),
#: over all pairs, from `python -m innopanel.reproducibility.reference compare A B`.
MEASURED = (
    "estimates (csv, parquet): 6.6e-10 relative, a confidence bound of the PPML "
    "jackknife (its SE moved 1.4e-10); other models 1.3e-10 or less",
    "diagnostics: 1.2e-11 relative; cells within 1e-6 of zero: 8e-19 absolute",
    "figures and the paper's PDF: no pixel moved at 50 dpi (the PDF bytes differ)",
    "thread count alone (1 vs 2, same kernel): nothing moved",
)
# Relative 1e-8 leaves a margin of 15 over the largest measured move and is 100 times
# below a change anyone would call real (1e-6). The absolute floor is about five machine
# epsilons, the size of a rounding-error zero among values of order 1-10. A pixel may
# move by 0.2 of its range: a sub-pixel shift of an anti-aliased edge stays below it, a
# moved marker or a new glyph goes well beyond.
NUMERIC_TOLERANCE = NumericTolerance(relative=1e-8, absolute=1e-15)
FIGURE_TOLERANCE = FigureTolerance(dpi=50, block=4, channel=0.2)


class PolicyError(ValueError):
    """An output falls in no class, or the manifest's policy lines cannot be read."""


@dataclass(frozen=True)
class Policy:
    """The ordered patterns and the tolerances a reference is checked with."""

    rules: tuple[tuple[str, str], ...]
    numeric: NumericTolerance = NUMERIC_TOLERANCE
    figure: FigureTolerance = FIGURE_TOLERANCE

    @classmethod
    def for_study(cls, study: str) -> Policy:
        """The policy a new reference of ``study`` is written with."""
        return cls(study_rules(study))

    def kind(self, path: str) -> str:
        """The class of ``path``: the first pattern that matches it decides."""
        for kind, pattern in self.rules:
            if fnmatch.fnmatchcase(path, pattern):
                return kind
        raise PolicyError(
            f"{path}: no comparison class matches this output. Add a (class, pattern) line "
            "to study_rules in workflow/innopanel/reproducibility/policy.py (exact for what a "
            "human reads, numeric for full-precision numbers, figure for renderings), and "
            "say why in the README's reference section."
        )

    def render(self) -> list[str]:
        """The manifest's comment lines that record this policy."""
        return [
            *[f"# policy: {kind} {pattern}" for kind, pattern in self.rules],
            f"# tolerance: numeric {self.numeric.render()}",
            f"# tolerance: figure {self.figure.render()}",
        ]

    @classmethod
    def parse(cls, lines: Sequence[str], source: str) -> Policy:
        """Read the policy back from the manifest's comment lines."""
        rules = []
        numeric, figure = None, None
        for line in lines:
            if match := re.fullmatch(r"# policy: (\w+) (\S+)", line):
                if match.group(1) not in CLASSES:
                    raise PolicyError(f"{source}: unknown comparison class in {line!r}")
                rules.append((match.group(1), match.group(2)))
            elif match := re.fullmatch(r"# tolerance: numeric relative (\S+) absolute (\S+)", line):
                numeric = NumericTolerance(float(match.group(1)), float(match.group(2)))
            elif match := re.fullmatch(
                r"# tolerance: figure dpi (\d+) block (\d+) channel (\S+)", line
            ):
                figure = FigureTolerance(
                    int(match.group(1)), int(match.group(2)), float(match.group(3))
                )
        if not rules or numeric is None or figure is None:
            raise PolicyError(
                f"{source} records no comparison policy (lines '# policy: ...' and "
                "'# tolerance: ...'); it predates the policy. Regenerate it with "
                "`make reference`."
            )
        return cls(tuple(rules), numeric, figure)


def reference_copy(path: str, kind: str) -> str | None:
    """Where the reference of an output of class ``kind`` is kept, if not in the manifest
    alone: numeric and provenance outputs as copies, figures as renderings, all under
    reference/<study>/ (``results/<study>/x`` -> ``reference/<study>/x``)."""
    inside = path.removeprefix(f"{RESULTS}/")
    if kind in ("numeric", "provenance"):
        return f"{REFERENCE}/{inside}"
    if kind == "figure":
        return f"{REFERENCE}/{inside}{RASTER_SUFFIX}"
    return None
