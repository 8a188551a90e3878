# Every figure is written as PDF (for the paper) and PNG (slides, the report), with
# fixed metadata so that a rerun gives the same bytes.
from innopanel.config import exhibit_specs

# The exhibits whose config may leave a key absent, resolved once (see exhibit_specs).
FOCAL_VS_PEERS = exhibit_specs.focal_vs_peers_spec(EXHIBITS)
RANKING = exhibit_specs.ranking_spec(EXHIBITS)
COEFFICIENT_PLOT = exhibit_specs.coefficient_plot_spec(EXHIBITS)


rule plot_focal_vs_peers:
    input:
        panel=PATHS.panel,
    output:
        pdf=PATHS.figure("focal_vs_peers", "pdf"),
        png=report(
            PATHS.figure("focal_vs_peers", "png"),
            caption="../report/focal_vs_peers.rst",
            category="Figures",
        ),
    log:
        PATHS.log("plot_focal_vs_peers"),
    benchmark:
        PATHS.benchmark("plot_focal_vs_peers")
    conda:
        "../../environment.yml"
    params:
        focal_unit=config["study"]["focal_unit"],
        peer_units=config["study"]["peer_units"],
        variables=list(FOCAL_VS_PEERS.variables),
        relative_to_peers=list(FOCAL_VS_PEERS.relative_to_peers),
        year=FOCAL_VS_PEERS.year,
        labels=variable_labels(),
        unit=unit_noun(),
        footer=config["data"]["footer"],
    script:
        "../scripts/plot_focal_vs_peers.py"


rule plot_trends:
    input:
        panel=PATHS.panel,
    output:
        pdf=PATHS.figure("trends", "pdf"),
        png=report(
            PATHS.figure("trends", "png"),
            caption="../report/trends.rst",
            category="Figures",
        ),
    log:
        PATHS.log("plot_trends"),
    benchmark:
        PATHS.benchmark("plot_trends")
    conda:
        "../../environment.yml"
    params:
        focal_unit=config["study"]["focal_unit"],
        peer_units=config["study"]["peer_units"],
        variables=EXHIBITS["trends"]["variables"],
        labels=variable_labels(),
        unit=unit_noun(),
        footer=config["data"]["footer"],
    script:
        "../scripts/plot_trends.py"


rule plot_ranking:
    input:
        panel=PATHS.panel,
    output:
        pdf=PATHS.figure("ranking", "pdf"),
        png=report(
            PATHS.figure("ranking", "png"),
            caption="../report/ranking.rst",
            category="Figures",
        ),
    log:
        PATHS.log("plot_ranking"),
    benchmark:
        PATHS.benchmark("plot_ranking")
    conda:
        "../../environment.yml"
    params:
        variable=RANKING.variable,
        year=RANKING.year,
        focal_unit=config["study"]["focal_unit"],
        peer_units=config["study"]["peer_units"],
        labels=variable_labels(),
        unit=unit_noun(),
        footer=config["data"]["footer"],
    script:
        "../scripts/plot_ranking.py"


# The within relationship draws the partial regression of rule partial_regression
# (estimate.smk), so its slope is the model's coefficient.
rule plot_within_relationship:
    input:
        panel=PATHS.panel,
        partial=PATHS.result("estimates/within_relationship.parquet"),
        estimates=PATHS.result("estimates/estimates.csv"),
    output:
        pdf=PATHS.figure("within_relationship", "pdf"),
        png=report(
            PATHS.figure("within_relationship", "png"),
            caption="../report/within_relationship.rst",
            category="Figures",
        ),
    log:
        PATHS.log("plot_within_relationship"),
    benchmark:
        PATHS.benchmark("plot_within_relationship")
    conda:
        "../../environment.yml"
    params:
        model=EXHIBITS["within_relationship"]["model"],
        regressor=EXHIBITS["within_relationship"]["regressor"],
        labels=variable_labels(),
        focal_unit=config["study"]["focal_unit"],
        unit=unit_noun(),
        footer=config["data"]["footer"],
    script:
        "../scripts/plot_within_relationship.py"


rule plot_correlation_heatmap:
    input:
        panel=PATHS.panel,
    output:
        pdf=PATHS.figure("correlation_heatmap", "pdf"),
        png=report(
            PATHS.figure("correlation_heatmap", "png"),
            caption="../report/correlation_heatmap.rst",
            category="Figures",
        ),
    log:
        PATHS.log("plot_correlation_heatmap"),
    benchmark:
        PATHS.benchmark("plot_correlation_heatmap")
    conda:
        "../../environment.yml"
    params:
        variables=EXHIBITS["correlation_table"]["variables"],
        labels=variable_labels(),
        unit=unit_noun(),
        footer=config["data"]["footer"],
    script:
        "../scripts/plot_correlation_heatmap.py"


rule plot_coefficients:
    input:
        estimates=PATHS.result("estimates/estimates.csv"),
    output:
        pdf=PATHS.figure("coefficients", "pdf"),
        png=report(
            PATHS.figure("coefficients", "png"),
            caption="../report/coefficients.rst",
            category="Figures",
        ),
    log:
        PATHS.log("plot_coefficients"),
    benchmark:
        PATHS.benchmark("plot_coefficients")
    conda:
        "../../environment.yml"
    params:
        terms=list(COEFFICIENT_PLOT.terms),
        true_values=TRUE_COEFFICIENTS,
        models=list(COEFFICIENT_PLOT.models),
        model_labels=model_labels(),
        term_labels=variable_labels(),
        footer=config["data"]["footer"],
    script:
        "../scripts/plot_coefficients.py"


# The estimate step writes every linear model's residuals; the figure never refits.
# The panel is read only for the units' English names.
rule plot_residuals:
    input:
        panel=PATHS.panel,
        residuals=PATHS.result("estimates/residuals.parquet"),
    output:
        pdf=PATHS.figure("residuals", "pdf"),
        png=report(
            PATHS.figure("residuals", "png"),
            caption="../report/residuals.rst",
            category="Figures",
        ),
    log:
        PATHS.log("plot_residuals"),
    benchmark:
        PATHS.benchmark("plot_residuals")
    conda:
        "../../environment.yml"
    params:
        model=EXHIBITS["residual_plot"]["model"],
        outcome=config["models"][EXHIBITS["residual_plot"]["model"]]["outcome"],
        model_labels=model_labels(),
        labels=variable_labels(),
        focal_unit=config["study"]["focal_unit"],
        unit=unit_noun(),
        footer=config["data"]["footer"],
    script:
        "../scripts/plot_residuals.py"
