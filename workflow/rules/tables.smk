# Every table is written as LaTeX (for the paper), Markdown (README), CSV and a
# self-contained HTML page (the report shows it).


rule make_regression_table:
    input:
        estimates="results/estimates/estimates.csv",
    output:
        tex="results/tables/regressions.tex",
        md="results/tables/regressions.md",
        csv="results/tables/regressions.csv",
        html=report(
            "results/tables/regressions.html",
            caption="../report/regressions.rst",
            category="Tables",
        ),
    log:
        "logs/make_regression_table/make_regression_table.log",
    benchmark:
        "benchmarks/make_regression_table/make_regression_table.tsv"
    conda:
        "../../environment.yml"
    params:
        name="regressions",
        config_key="exhibits.regression_table.models",
        models=EXHIBITS["regression_table"]["models"],
        model_labels=model_labels(),
        term_labels=variable_labels(),
        unit=study_unit(),
        digits=EXHIBITS["regression_table"]["digits"],
        stars=EXHIBITS["regression_table"]["stars"],
        note=config["data"]["data_note"],
    script:
        "../scripts/make_regression_table.py"


rule make_robustness_table:
    input:
        estimates="results/estimates/estimates.csv",
    output:
        tex="results/tables/robustness.tex",
        md="results/tables/robustness.md",
        csv="results/tables/robustness.csv",
        html=report(
            "results/tables/robustness.html",
            caption="../report/robustness.rst",
            category="Tables",
        ),
    log:
        "logs/make_robustness_table/make_robustness_table.log",
    benchmark:
        "benchmarks/make_robustness_table/make_robustness_table.tsv"
    conda:
        "../../environment.yml"
    params:
        name="robustness",
        config_key="exhibits.robustness_table.models",
        models=EXHIBITS["robustness_table"]["models"],
        model_labels=model_labels(),
        term_labels=variable_labels(),
        unit=study_unit(),
        digits=EXHIBITS["regression_table"]["digits"],
        stars=EXHIBITS["regression_table"]["stars"],
        note=config["data"]["data_note"],
    script:
        "../scripts/make_regression_table.py"


rule make_descriptive_table:
    input:
        panel="data/processed/panel.csv",
    output:
        tex="results/tables/descriptives.tex",
        md="results/tables/descriptives.md",
        csv="results/tables/descriptives.csv",
        html=report(
            "results/tables/descriptives.html",
            caption="../report/descriptives.rst",
            category="Tables",
        ),
    log:
        "logs/make_descriptive_table/make_descriptive_table.log",
    benchmark:
        "benchmarks/make_descriptive_table/make_descriptive_table.tsv"
    conda:
        "../../environment.yml"
    params:
        panels=EXHIBITS["descriptive_table"]["panels"],
        digits=EXHIBITS["descriptive_table"]["digits"],
        labels=variable_labels(),
        unit=study_unit(),
        note=config["data"]["data_note"],
    script:
        "../scripts/make_descriptive_table.py"


rule make_correlation_table:
    input:
        panel="data/processed/panel.csv",
    output:
        tex="results/tables/correlations.tex",
        md="results/tables/correlations.md",
        csv="results/tables/correlations.csv",
        html=report(
            "results/tables/correlations.html",
            caption="../report/correlations.rst",
            category="Tables",
        ),
    log:
        "logs/make_correlation_table/make_correlation_table.log",
    benchmark:
        "benchmarks/make_correlation_table/make_correlation_table.tsv"
    conda:
        "../../environment.yml"
    params:
        variables=EXHIBITS["correlation_table"]["variables"],
        digits=EXHIBITS["correlation_table"]["digits"],
        labels=variable_labels(),
        unit=study_unit(),
        note=config["data"]["data_note"],
    script:
        "../scripts/make_correlation_table.py"


rule make_diagnostics_table:
    input:
        diagnostics="results/estimates/diagnostics.csv",
    output:
        tex="results/tables/diagnostics.tex",
        md="results/tables/diagnostics.md",
        csv="results/tables/diagnostics.csv",
        html=report(
            "results/tables/diagnostics.html",
            caption="../report/diagnostics.rst",
            category="Tables",
        ),
    log:
        "logs/make_diagnostics_table/make_diagnostics_table.log",
    benchmark:
        "benchmarks/make_diagnostics_table/make_diagnostics_table.tsv"
    conda:
        "../../environment.yml"
    params:
        model_labels=model_labels(),
        term_labels=variable_labels(),
        digits=EXHIBITS["diagnostics_table"]["digits"],
        note=config["data"]["data_note"],
    script:
        "../scripts/make_diagnostics_table.py"
