rule estimate_models:
    input:
        panel=PATHS.panel,
    output:
        estimates=PATHS.result("estimates/estimates.csv"),
        estimates_parquet=PATHS.result("estimates/estimates.parquet"),
        residuals=PATHS.result("estimates/residuals.parquet"),
    log:
        PATHS.log("estimate_models"),
    benchmark:
        PATHS.benchmark("estimate_models")
    conda:
        "../../environment.yml"
    params:
        models=Digested("models", config["models"]),
        # The years a model defaults to, and the unit noun of messages and labels.
        window={key: config["study"][key] for key in ("first_year", "last_year")},
        unit=unit_noun(),
        data_note=config["data"]["data_note"],
    script:
        "../scripts/estimate_models.py"


rule run_diagnostics:
    input:
        panel=PATHS.panel,
    output:
        diagnostics=PATHS.result("estimates/diagnostics.csv"),
    log:
        PATHS.log("run_diagnostics"),
    benchmark:
        PATHS.benchmark("run_diagnostics")
    conda:
        "../../environment.yml"
    params:
        models=Digested("models", config["models"]),
        diagnostics=Digested("diagnostics", config["diagnostics"]),
        # The years a model defaults to, and the unit noun of messages and labels.
        window={key: config["study"][key] for key in ("first_year", "last_year")},
        unit=unit_noun(),
        data_note=config["data"]["data_note"],
    script:
        "../scripts/run_diagnostics.py"


rule model_coverage:
    input:
        panel=PATHS.panel,
    output:
        json=PATHS.result("data_quality/model_coverage.json"),
        md=PATHS.result("data_quality/model_coverage.md"),
    log:
        PATHS.log("model_coverage"),
    benchmark:
        PATHS.benchmark("model_coverage")
    conda:
        "../../environment.yml"
    params:
        models=Digested("models", config["models"]),
        window={key: config["study"][key] for key in ("first_year", "last_year")},
        log_of=logged_variables(),
        unit=unit_noun(),
    script:
        "../scripts/write_model_coverage.py"


# One fixed-effects model's partial regression (Frisch-Waugh-Lovell): the estimate
# step's within transformation, with the model's other terms partialled out.
rule partial_regression:
    input:
        panel=PATHS.panel,
    output:
        partial=PATHS.result("estimates/within_relationship.parquet"),
    log:
        PATHS.log("partial_regression"),
    benchmark:
        PATHS.benchmark("partial_regression")
    conda:
        "../../environment.yml"
    params:
        model=EXHIBITS["within_relationship"]["model"],
        regressor=EXHIBITS["within_relationship"]["regressor"],
        models=Digested(
            "models",
            {
                EXHIBITS["within_relationship"]["model"]: config["models"][
                    EXHIBITS["within_relationship"]["model"]
                ]
            },
        ),
        window={key: config["study"][key] for key in ("first_year", "last_year")},
        data_note=config["data"]["data_note"],
    script:
        "../scripts/partial_regression.py"
