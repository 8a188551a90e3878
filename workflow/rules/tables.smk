rule make_regression_table:
    input:
        estimates="results/estimates/estimates.csv",
    output:
        tex="results/tables/regressions.tex",
    log:
        "logs/make_regression_table/make_regression_table.log",
    conda:
        "../../environment.yml"
    params:
        models=config["exhibits"]["regression_table"]["models"],
        model_labels=model_labels(),
        term_labels=variable_labels(),
        digits=config["exhibits"]["regression_table"]["digits"],
        stars=config["exhibits"]["regression_table"]["stars"],
        note=config["data"]["data_note"],
    script:
        "../scripts/make_regression_table.py"
