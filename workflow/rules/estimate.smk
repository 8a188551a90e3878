rule estimate_models:
    input:
        panel="data/processed/panel.csv",
    output:
        estimates="results/estimates/estimates.csv",
        hausman="results/estimates/hausman.csv",
    log:
        "logs/estimate_models/estimate_models.log",
    conda:
        "../../environment.yml"
    params:
        models=config["models"],
        hausman=config["hausman"],
        unit=config["study"]["unit"],
    script:
        "../scripts/estimate_models.py"
