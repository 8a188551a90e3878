"""The report opened in a real browser (headless Chromium), offline: it renders, shows
the headline, every exhibit and the data-quality report, loads nothing from elsewhere,
and nothing on it is cut off at 1,400 or 1,000 pixels.

A copy of the page gets a small script that measures the laid-out page once it has
loaded (every element against the window, every box that clips against its content,
every image decoded, every resource fetched) and writes its verdict into the page;
Chromium's --dump-dom prints the page, and the test reads the verdict back. Chromium
is a system package (Debian ``chromium``; .ci/run installs it): without it the test is
skipped, saying so.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_report import BUNDLED, REPORT_FIGURES, REPORT_TABLES, demo_report, outputs  # noqa: F401

from innopanel.config import exhibits

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = next(
    (path for name in ("chromium", "chromium-browser") if (path := shutil.which(name))), None
)
# CI sets INNOPANEL_REQUIRE_CHROMIUM=1 after installing it: there, a missing browser fails.
REQUIRE_CHROMIUM = os.environ.get("INNOPANEL_REQUIRE_CHROMIUM") == "1"
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None and not REQUIRE_CHROMIUM,
    reason="no Chromium on the PATH (apt-get install chromium; .ci/run does)",
)
WIDTHS = (1400, 1000)
DOCUMENTS = ("data-quality", "model-coverage", "provenance")

#: Runs once the page has loaded; writes {"problems": [...], ...} into <pre id=verdict>.
MEASURE = """
<script>
window.addEventListener("load", () => {
  const view = document.documentElement.clientWidth;
  const problems = [];
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    " in " + ((el.closest("section[id]") || {}).id || "page") +
    ": " + (el.textContent || el.alt || "").trim().slice(0, 60);
  if (document.documentElement.scrollWidth > view + 1) {
    problems.push("the page is wider than the window: " +
      document.documentElement.scrollWidth + " > " + view);
  }
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    const clips = ["hidden", "clip"].includes(getComputedStyle(el).overflowX);
    if (clips && el.scrollWidth > el.clientWidth + 1) problems.push("clipped: " + name(el));
    const scrolled = el.closest(".table-box");
    if (!scrolled && (box.right > view + 1 || box.left < -1)) {
      problems.push("outside the window: " + name(el));
    }
  }
  for (const img of document.images) {
    if (!img.complete || img.naturalWidth === 0) problems.push("not rendered: " + name(img));
    if (img.getBoundingClientRect().width > view) problems.push("too wide: " + name(img));
  }
  const fetched = performance.getEntriesByType("resource").map((r) => r.name)
    .filter((url) => !url.startsWith("data:"));
  const sections = {};
  for (const section of document.querySelectorAll("section[id]")) {
    sections[section.id] = Math.round(section.getBoundingClientRect().height);
  }
  const verdict = document.createElement("pre");
  verdict.id = "verdict";
  verdict.textContent = JSON.stringify({ problems, fetched, sections, view });
  document.body.appendChild(verdict);
});
</script>
"""


def open_in_browser(page: Path, width: int, scratch: Path) -> tuple[dict, str]:
    """Open ``page`` offline at ``width`` pixels; return the verdict and the page text."""
    if CHROMIUM is None:
        pytest.fail("INNOPANEL_REQUIRE_CHROMIUM=1 but no chromium is on the PATH")
    measured = scratch / f"measured-{width}.html"
    text = page.read_text(encoding="utf-8")
    assert text.count("</body>") == 1, f"{page}: not one </body>"
    measured.write_text(text.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    profile = scratch / f"profile-{width}"
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        # Offline: any address other than the page itself fails to resolve.
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--user-data-dir={profile}",
        f"--window-size={width},4000",
        "--virtual-time-budget=10000",
        "--dump-dom",
        measured.as_uri(),
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    verdict = re.search(r'<pre id="verdict">(.*?)</pre>', run.stdout, re.DOTALL)
    assert verdict, f"the page did not finish loading: {run.stderr[-2000:]}"
    return json.loads(html.unescape(verdict.group(1))), run.stdout


def check_page(page: Path, scratch: Path, tables: list[str], figures: list[str]) -> None:
    for width in WIDTHS:
        verdict, dom = open_in_browser(page, width, scratch)
        assert verdict["view"] <= width
        assert verdict["problems"] == [], f"at {width} px: {verdict['problems'][:10]}"
        assert verdict["fetched"] == [], f"the page fetched {verdict['fetched']}"
        expected = [*(f"table-{t}" for t in tables), *(f"figure-{f}" for f in figures)]
        for section in ["headline", *expected, *DOCUMENTS]:
            assert verdict["sections"].get(section, 0) > 40, f"{section} not shown at {width} px"
        assert "Headline." in dom and "The headline and its reading" in dom


@needs_chromium
def test_the_report_renders_offline_and_nothing_is_cut_off(outputs, tmp_path) -> None:  # noqa: F811
    config, estimates, quality = outputs
    page = tmp_path / "report.html"
    page.write_text(demo_report(tmp_path / "project", config, estimates, quality), "utf-8")
    check_page(page, tmp_path, REPORT_TABLES, REPORT_FIGURES)


@needs_chromium
def test_the_check_sees_a_cut_off_element(outputs, tmp_path) -> None:  # noqa: F811
    """The measurement can fail: a fixed-width block wider than the window is found."""
    config, estimates, quality = outputs
    text = demo_report(tmp_path / "project", config, estimates, quality)
    wide = '<div style="width:1300px">A line wider than the window</div>'
    page = tmp_path / "report.html"
    page.write_text(text.replace("<h2>The question</h2>", wide + "<h2>The question</h2>"), "utf-8")
    verdict, _ = open_in_browser(page, 1000, tmp_path)
    assert any("A line wider than the window" in p for p in verdict["problems"])


@needs_chromium
@pytest.mark.parametrize("study", BUNDLED)
def test_each_built_study_report_renders_offline(study: str, tmp_path: Path) -> None:
    """Each bundled study's report as `make run` built it in this checkout."""
    page = ROOT / "results" / study / "report.html"
    if not page.is_file():
        pytest.skip(f"{page.relative_to(ROOT)} is not built (make run builds it)")
    text = page.read_text(encoding="utf-8")
    tables = re.findall(r'<section class="exhibit table" id="table-([^"]+)"', text)
    figures = re.findall(r'<section class="exhibit figure" id="figure-([^"]+)"', text)
    assert tables[:3] == list(exhibits.TABLES[:3]) and figures[:3] == list(exhibits.FIGURES[:3])
    check_page(page, tmp_path, tables, figures)
