# The paper: the study's text, then every table and figure. paper.tex is always written;
# paper.pdf only where the configured LaTeX engine is installed (see common.smk). The
# report (rule write_report) is the same document as one HTML page.

# The exhibits in the paper's order, which the report follows too.
PAPER_TABLES = exhibits.table_names(WITH_MULTIVERSE, WITH_VINTAGES)
PAPER_FIGURES = exhibits.figure_names(WITH_MULTIVERSE)


rule write_paper:
    input:
        captions=caption_files(),
        # The paper's sentence on the vintage choice quotes this table's numbers.
        vintages=[PATHS.table(exhibits.VINTAGE_TABLE, "csv")] if WITH_VINTAGES else [],
        # The study's text (study.narrative) quotes these files' numbers.
        estimates=PATHS.result("estimates/estimates.csv"),
        quality=PATHS.result("data_quality/report.json"),
    output:
        tex=PATHS.paper_tex,
    log:
        PATHS.log("write_paper"),
    benchmark:
        PATHS.benchmark("write_paper")
    conda:
        "../../environment.yml"
    params:
        config=Digested("config", config),
        tables=PAPER_TABLES,
        figures=PAPER_FIGURES,
    script:
        "../scripts/write_paper.py"


rule compile_paper:
    input:
        tex=PATHS.paper_tex,
        tables=table_outputs(),
        figures=figure_outputs(),
    output:
        pdf=report(
            PATHS.paper_pdf,
            caption="../report/paper.rst",
            category="Paper",
        ),
    log:
        PATHS.log("compile_paper"),
    benchmark:
        PATHS.benchmark("compile_paper")
    conda:
        "../../environment.yml"
    params:
        engine=PAPER_ENGINE,
    script:
        "../scripts/compile_paper.py"


# The report: the paper's text and exhibits, the data-quality, coverage and provenance
# documents, as one self-contained HTML page (figures embedded), built by default.
rule write_report:
    input:
        captions=caption_files(),
        tables=[PATHS.table(name, "html") for name in PAPER_TABLES],
        figures=[PATHS.figure(name, "png") for name in PAPER_FIGURES],
        estimates=PATHS.result("estimates/estimates.csv"),
        quality=PATHS.result("data_quality/report.json"),
        quality_md=PATHS.result("data_quality/report.md"),
        coverage=PATHS.result("data_quality/model_coverage.md"),
        provenance=PATHS.result("provenance/provenance.md"),
        unit_table=config["data"]["unit_table"],
    output:
        html=PATHS.result("report.html"),
    log:
        PATHS.log("write_report"),
    benchmark:
        PATHS.benchmark("write_report")
    conda:
        "../../environment.yml"
    params:
        config=Digested("config", config),
        tables=PAPER_TABLES,
        figures=PAPER_FIGURES,
    script:
        "../scripts/write_report.py"
