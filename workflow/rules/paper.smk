# A small document that inputs every table and figure. paper.tex is always written;
# paper.pdf only where the configured LaTeX engine is installed (see common.smk).


rule write_paper:
    input:
        captions=caption_files(),
        # The paper's sentence on the vintage choice quotes this table's numbers.
        vintages=[PATHS.table(exhibits.VINTAGE_TABLE, "csv")] if WITH_VINTAGES else [],
    output:
        tex=PATHS.paper_tex,
    log:
        PATHS.log("write_paper"),
    benchmark:
        PATHS.benchmark("write_paper")
    conda:
        "../../environment.yml"
    params:
        config=config,
        tables=exhibits.table_names(WITH_MULTIVERSE, WITH_VINTAGES),
        figures=exhibits.figure_names(WITH_MULTIVERSE),
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
