# A small document that inputs every table and figure. paper.tex is always written;
# paper.pdf only where the configured LaTeX engine is installed (see common.smk).


rule write_paper:
    input:
        captions=caption_files(),
    output:
        tex="results/paper/paper.tex",
    log:
        "logs/write_paper/write_paper.log",
    benchmark:
        "benchmarks/write_paper/write_paper.tsv"
    conda:
        "../../environment.yml"
    params:
        config=config,
        tables=exhibits.table_names(),
        figures=list(exhibits.FIGURES),
    script:
        "../scripts/write_paper.py"


rule compile_paper:
    input:
        tex="results/paper/paper.tex",
        tables=table_outputs(),
        figures=figure_outputs(),
    output:
        pdf=report(
            "results/paper/paper.pdf",
            caption="../report/paper.rst",
            category="Paper",
        ),
    log:
        "logs/compile_paper/compile_paper.log",
    benchmark:
        "benchmarks/compile_paper/compile_paper.tsv"
    conda:
        "../../environment.yml"
    params:
        engine=PAPER_ENGINE,
    script:
        "../scripts/compile_paper.py"
