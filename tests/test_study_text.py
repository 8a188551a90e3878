"""The study's own words: any unit noun in any language, config text that cannot act as
markup in the report, and config mistakes refused with the file, line, key or model."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from innopanel.config.caption_text import mid_sentence, plain_text, rst_text
from innopanel.config.checks import ConfigError
from innopanel.config.study import load_study, study_unit
from innopanel.exhibits import paper
from innopanel.vocabulary import UnitNoun, unit_noun, unit_words

ROOT = Path(__file__).resolve().parents[1]
DEMO = "demo_cities"


def study_copy(tmp_path: Path, edit=None, text_edit=None) -> Path:
    """A project root in ``tmp_path`` holding the demo study's config (edited) and the
    schema, so that :func:`load_study` can read it (run from the real root)."""
    for part in ("config/schemas",):
        source, target = ROOT / part, tmp_path / part
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy(source, target)
    text = (ROOT / "config/studies" / f"{DEMO}.yaml").read_text(encoding="utf-8")
    if edit is not None:
        config = yaml.safe_load(text)
        edit(config)
        text = yaml.safe_dump(config, allow_unicode=True, sort_keys=False)
    if text_edit is not None:
        text = text_edit(text)
    target = tmp_path / "config/studies" / f"{DEMO}.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return tmp_path


def load(root: Path) -> dict:
    _, config = load_study({"study": DEMO}, [], root)
    return config


# --- the unit noun ------------------------------------------------------------------


def test_a_unit_noun_carries_its_own_plural_in_any_language() -> None:
    assert unit_words(unit_noun("région", "régions")) == ("région", "régions")
    assert unit_words(unit_noun("Land", "Länder")) == ("Land", "Länder")
    assert unit_words(unit_noun("region")) == ("region", "regions")
    assert f"Clustered by {unit_noun('région', 'régions')}" == "Clustered by région"


def test_the_config_names_the_unit_and_every_caption_follows_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def regions(config: dict) -> None:
        config["study"]["unit"] = "région"
        config["study"]["unit_plural"] = "régions"

    monkeypatch.chdir(ROOT)  # the study's data files are named relative to the project
    config = load(study_copy(tmp_path, regions))
    assert study_unit(config) == UnitNoun("région", "régions")
    assert (config["_run"]["unit"], config["_run"]["units"]) == ("région", "régions")
    for name in ("ranking", "trends", "focal_vs_peers", "within_relationship", "regressions"):
        title, description = paper.read_caption(name, config, ROOT)
        text = title + " " + description
        assert "city" not in text.lower() and "cities" not in text.lower(), (name, text)
    title, _ = paper.read_caption("ranking", config, ROOT)
    assert title.startswith("The régions ranked by")


def test_a_unit_noun_on_two_lines_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)

    def two_lines(config: dict) -> None:
        config["study"]["unit"] = "region\n.. raw:: html"

    with pytest.raises(ConfigError, match=r"study\.unit = .*write the noun on one line"):
        load(study_copy(tmp_path, two_lines))


# --- config text in the report's markup ---------------------------------------------------


@pytest.mark.parametrize(
    "label",
    [
        ".. include:: /etc/passwd",
        ".. raw:: html\n\n   <script>alert(1)</script>",
        "`link <http://example.org>`_ and |substitution| and *emphasis*",
        "R&D (% of GDP) :math:`x` \\ backslash",
    ],
)
def test_config_text_renders_as_itself_in_restructuredtext(label: str) -> None:
    from docutils.core import publish_parts

    settings = {"file_insertion_enabled": True, "raw_enabled": True, "report_level": 5}
    html = publish_parts(rst_text(label), writer="html", settings_overrides=settings)
    body = html["body"]
    assert "<script>" not in body and "root:" not in body
    assert "include" not in body or "include::" in body.replace("\\", "")
    # What renders is the label's text, one line, every character kept.
    flat = " ".join(label.split())
    import html as html_module

    rendered = html_module.unescape(body.replace("<p>", "").replace("</p>", "")).strip()
    assert " ".join(rendered.split()) == flat
    # The paper gets the label back as written.
    assert plain_text(rst_text(flat)) == flat


def test_labels_are_lowered_mid_sentence_only_when_the_word_is() -> None:
    assert mid_sentence("Patent applications") == "patent applications"
    assert mid_sentence("GDP per capita") == "GDP per capita"
    assert mid_sentence("R&D intensity") == "R&D intensity"


# --- config mistakes -------------------------------------------------------------------


def test_a_key_written_twice_is_refused_with_its_line(tmp_path: Path) -> None:
    def twice(text: str) -> str:
        return text.replace("study:\n", "study:\n  seed: 1\n", 1)

    with pytest.raises(ConfigError) as refused:
        load(study_copy(tmp_path, text_edit=twice))
    message = str(refused.value)
    assert message.startswith("config/studies/demo_cities.yaml, line ")
    assert "the key 'seed' is written twice in one mapping (first on line 9)" in message


def test_a_term_twice_in_one_model_is_refused_naming_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)

    def repeat(config: dict) -> None:
        model = config["models"]["twoway_fe"]
        model["controls"] = [*model.get("controls", []), model["regressors"][0]]

    with pytest.raises(ConfigError, match=r"models\.twoway_fe\.controls\[\d+\] = '\w+' repeats "):
        load(study_copy(tmp_path, repeat))


# Each starts a line of its own, as a YAML block scalar lets a label do.
HOSTILE = {
    "include": "Patents\n\n.. include:: /etc/passwd\n\nx",
    "raw": "GDP\n\n.. raw:: html\n\n   <img src=x onerror=alert(1)>\n\nx",
}


def hostile_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """The demo study with every free text the captions print set to a directive."""

    def hostile(config: dict) -> None:
        config["study"]["title"] = HOSTILE["include"]
        config["study"]["reference_study"] = HOSTILE["raw"]
        config["data"]["data_note"] = HOSTILE["raw"]
        for index, spec in enumerate(config["variables"].values()):
            spec["label"] = HOSTILE["include"] if index % 2 else HOSTILE["raw"]
        for spec in config["models"].values():
            spec["label"] = HOSTILE["raw"]

    monkeypatch.chdir(ROOT)
    return load(study_copy(tmp_path, hostile))


@pytest.mark.parametrize(
    "caption", sorted(p.stem for p in (ROOT / "workflow/report").glob("*.rst"))
)
def test_no_label_runs_as_a_directive_in_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caption: str
) -> None:
    """Each caption rendered exactly as Snakemake's report renders it (Jinja without
    escaping, then docutils with its defaults, which allow include and raw)."""
    from types import SimpleNamespace

    import jinja2
    from docutils.core import publish_parts

    config = hostile_config(tmp_path, monkeypatch)
    template = (ROOT / "workflow/report" / f"{caption}.rst").read_text(encoding="utf-8")
    environment = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
    rst = environment.from_string(template).render(snakemake=SimpleNamespace(config=config))
    body = publish_parts(rst, writer="html")["html_body"]
    assert "root:" not in body, "a label included /etc/passwd"
    assert "<img" not in body, "a label injected raw HTML"
    assert "system-message" not in body, "a label was parsed as markup"


def test_text_that_would_end_the_reports_script_element_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def breaking(config: dict) -> None:
        config["variables"]["gdp"]["label"] = "GDP</script><img src=x onerror=alert(1)>"

    monkeypatch.chdir(ROOT)
    with pytest.raises(ConfigError, match=r"variables\.gdp\.label = .*remove '</script'"):
        load(study_copy(tmp_path, breaking))
