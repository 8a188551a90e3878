# Every table is written as LaTeX (for the paper), Markdown (README), CSV and a
# self-contained HTML page (the report shows it).


rule make_regression_table:
    input:
        estimates=PATHS.result("estimates/estimates.csv"),
        coverage=PATHS.result("data_quality/model_coverage.json"),
    output:
        tex=PATHS.table("regressions", "tex"),
        md=PATHS.table("regressions", "md"),
        csv=PATHS.table("regressions", "csv"),
        html=report(
            PATHS.table("regressions", "html"),
            caption="../report/regressions.rst",
            category="Tables",
        ),
    log:
        PATHS.log("make_regression_table"),
    benchmark:
        PATHS.benchmark("make_regression_table")
    conda:
        "../../environment.yml"
    params:
        name="regressions",
        config_key="exhibits.regression_table.models",
        models=EXHIBITS["regression_table"]["models"],
        model_labels=model_labels(),
        term_labels=variable_labels(),
        unit=unit_noun(),
        digits=EXHIBITS["regression_table"]["digits"],
        stars=EXHIBITS["regression_table"]["stars"],
        note=config["data"]["data_note"],
        true_coefficients=TRUE_COEFFICIENTS,
    script:
        "../scripts/make_regression_table.py"


rule make_robustness_table:
    input:
        estimates=PATHS.result("estimates/estimates.csv"),
        coverage=PATHS.result("data_quality/model_coverage.json"),
    output:
        tex=PATHS.table("robustness", "tex"),
        md=PATHS.table("robustness", "md"),
        csv=PATHS.table("robustness", "csv"),
        html=report(
            PATHS.table("robustness", "html"),
            caption="../report/robustness.rst",
            category="Tables",
        ),
    log:
        PATHS.log("make_robustness_table"),
    benchmark:
        PATHS.benchmark("make_robustness_table")
    conda:
        "../../environment.yml"
    params:
        name="robustness",
        config_key="exhibits.robustness_table.models",
        models=EXHIBITS["robustness_table"]["models"],
        model_labels=model_labels(),
        term_labels=variable_labels(),
        unit=unit_noun(),
        digits=EXHIBITS["regression_table"]["digits"],
        stars=EXHIBITS["regression_table"]["stars"],
        note=config["data"]["data_note"],
        true_coefficients=TRUE_COEFFICIENTS,
    script:
        "../scripts/make_regression_table.py"


rule make_descriptive_table:
    input:
        panel=PATHS.panel,
    output:
        tex=PATHS.table("descriptives", "tex"),
        md=PATHS.table("descriptives", "md"),
        csv=PATHS.table("descriptives", "csv"),
        html=report(
            PATHS.table("descriptives", "html"),
            caption="../report/descriptives.rst",
            category="Tables",
        ),
    log:
        PATHS.log("make_descriptive_table"),
    benchmark:
        PATHS.benchmark("make_descriptive_table")
    conda:
        "../../environment.yml"
    params:
        panels=EXHIBITS["descriptive_table"]["panels"],
        digits=EXHIBITS["descriptive_table"]["digits"],
        labels=variable_labels(),
        unit=unit_noun(),
        note=config["data"]["data_note"],
    script:
        "../scripts/make_descriptive_table.py"


rule make_correlation_table:
    input:
        panel=PATHS.panel,
    output:
        tex=PATHS.table("correlations", "tex"),
        md=PATHS.table("correlations", "md"),
        csv=PATHS.table("correlations", "csv"),
        html=report(
            PATHS.table("correlations", "html"),
            caption="../report/correlations.rst",
            category="Tables",
        ),
    log:
        PATHS.log("make_correlation_table"),
    benchmark:
        PATHS.benchmark("make_correlation_table")
    conda:
        "../../environment.yml"
    params:
        variables=EXHIBITS["correlation_table"]["variables"],
        digits=EXHIBITS["correlation_table"]["digits"],
        labels=variable_labels(),
        unit=unit_noun(),
        note=config["data"]["data_note"],
    script:
        "../scripts/make_correlation_table.py"


rule make_diagnostics_table:
    input:
        diagnostics=PATHS.result("estimates/diagnostics.csv"),
    output:
        tex=PATHS.table("diagnostics", "tex"),
        md=PATHS.table("diagnostics", "md"),
        csv=PATHS.table("diagnostics", "csv"),
        html=report(
            PATHS.table("diagnostics", "html"),
            caption="../report/diagnostics.rst",
            category="Tables",
        ),
    log:
        PATHS.log("make_diagnostics_table"),
    benchmark:
        PATHS.benchmark("make_diagnostics_table")
    conda:
        "../../environment.yml"
    params:
        model_labels=model_labels(),
        term_labels=variable_labels(),
        digits=EXHIBITS["diagnostics_table"]["digits"],
        note=config["data"]["data_note"],
    script:
        "../scripts/make_diagnostics_table.py"
