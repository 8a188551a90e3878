rule estimate_models:
    input:
        panel="data/processed/panel.csv",
    output:
        estimates="results/estimates/estimates.csv",
        estimates_parquet="results/estimates/estimates.parquet",
        residuals="results/estimates/residuals.parquet",
    log:
        "logs/estimate_models/estimate_models.log",
    benchmark:
        "benchmarks/estimate_models/estimate_models.tsv"
    conda:
        "../../environment.yml"
    params:
        models=config["models"],
        # The years a model defaults to, and the unit noun of messages and labels.
        window={key: config["study"][key] for key in ("first_year", "last_year")},
        unit=config["study"]["unit"],
        data_note=config["data"]["data_note"],
    script:
        "../scripts/estimate_models.py"


rule run_diagnostics:
    input:
        panel="data/processed/panel.csv",
    output:
        diagnostics="results/estimates/diagnostics.csv",
    log:
        "logs/run_diagnostics/run_diagnostics.log",
    benchmark:
        "benchmarks/run_diagnostics/run_diagnostics.tsv"
    conda:
        "../../environment.yml"
    params:
        models=config["models"],
        diagnostics=config["diagnostics"],
        # The years a model defaults to, and the unit noun of messages and labels.
        window={key: config["study"][key] for key in ("first_year", "last_year")},
        unit=config["study"]["unit"],
        data_note=config["data"]["data_note"],
    script:
        "../scripts/run_diagnostics.py"
