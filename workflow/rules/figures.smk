# Every figure is written as PDF (for the paper) and PNG (slides, the report), with
# fixed metadata so that a rerun gives the same bytes.
from innopanel.config import exhibit_specs

# The exhibits whose config may leave a key absent, resolved once (see exhibit_specs).
FOCAL_VS_PEERS = exhibit_specs.focal_vs_peers_spec(EXHIBITS)
RANKING = exhibit_specs.ranking_spec(EXHIBITS)
COEFFICIENT_PLOT = exhibit_specs.coefficient_plot_spec(EXHIBITS)


rule plot_focal_vs_peers:
    input:
        panel="data/processed/panel.csv",
    output:
        pdf="results/figures/focal_vs_peers.pdf",
        png=report(
            "results/figures/focal_vs_peers.png",
            caption="../report/focal_vs_peers.rst",
            category="Figures",
        ),
    log:
        "logs/plot_focal_vs_peers/plot_focal_vs_peers.log",
    benchmark:
        "benchmarks/plot_focal_vs_peers/plot_focal_vs_peers.tsv"
    conda:
        "../../environment.yml"
    params:
        focal_unit=config["study"]["focal_unit"],
        peer_units=config["study"]["peer_units"],
        variables=list(FOCAL_VS_PEERS.variables),
        relative_to_peers=list(FOCAL_VS_PEERS.relative_to_peers),
        year=FOCAL_VS_PEERS.year,
        labels=variable_labels(),
        unit=study_unit(),
        footer=config["data"]["footer"],
    script:
        "../scripts/plot_focal_vs_peers.py"


rule plot_trends:
    input:
        panel="data/processed/panel.csv",
    output:
        pdf="results/figures/trends.pdf",
        png=report(
            "results/figures/trends.png",
            caption="../report/trends.rst",
            category="Figures",
        ),
    log:
        "logs/plot_trends/plot_trends.log",
    benchmark:
        "benchmarks/plot_trends/plot_trends.tsv"
    conda:
        "../../environment.yml"
    params:
        focal_unit=config["study"]["focal_unit"],
        peer_units=config["study"]["peer_units"],
        variables=EXHIBITS["trends"]["variables"],
        labels=variable_labels(),
        unit=study_unit(),
        footer=config["data"]["footer"],
    script:
        "../scripts/plot_trends.py"


rule plot_ranking:
    input:
        panel="data/processed/panel.csv",
    output:
        pdf="results/figures/ranking.pdf",
        png=report(
            "results/figures/ranking.png",
            caption="../report/ranking.rst",
            category="Figures",
        ),
    log:
        "logs/plot_ranking/plot_ranking.log",
    benchmark:
        "benchmarks/plot_ranking/plot_ranking.tsv"
    conda:
        "../../environment.yml"
    params:
        variable=RANKING.variable,
        year=RANKING.year,
        focal_unit=config["study"]["focal_unit"],
        peer_units=config["study"]["peer_units"],
        labels=variable_labels(),
        unit=study_unit(),
        footer=config["data"]["footer"],
    script:
        "../scripts/plot_ranking.py"


rule plot_within_relationship:
    input:
        panel="data/processed/panel.csv",
    output:
        pdf="results/figures/within_relationship.pdf",
        png=report(
            "results/figures/within_relationship.png",
            caption="../report/within_relationship.rst",
            category="Figures",
        ),
    log:
        "logs/plot_within_relationship/plot_within_relationship.log",
    benchmark:
        "benchmarks/plot_within_relationship/plot_within_relationship.tsv"
    conda:
        "../../environment.yml"
    params:
        outcome=EXHIBITS["within_relationship"]["outcome"],
        regressor=EXHIBITS["within_relationship"]["regressor"],
        labels=variable_labels(),
        focal_unit=config["study"]["focal_unit"],
        unit=study_unit(),
        footer=config["data"]["footer"],
    script:
        "../scripts/plot_within_relationship.py"


rule plot_correlation_heatmap:
    input:
        panel="data/processed/panel.csv",
    output:
        pdf="results/figures/correlation_heatmap.pdf",
        png=report(
            "results/figures/correlation_heatmap.png",
            caption="../report/correlation_heatmap.rst",
            category="Figures",
        ),
    log:
        "logs/plot_correlation_heatmap/plot_correlation_heatmap.log",
    benchmark:
        "benchmarks/plot_correlation_heatmap/plot_correlation_heatmap.tsv"
    conda:
        "../../environment.yml"
    params:
        variables=EXHIBITS["correlation_table"]["variables"],
        labels=variable_labels(),
        unit=study_unit(),
        footer=config["data"]["footer"],
    script:
        "../scripts/plot_correlation_heatmap.py"


rule plot_coefficients:
    input:
        estimates="results/estimates/estimates.csv",
    output:
        pdf="results/figures/coefficients.pdf",
        png=report(
            "results/figures/coefficients.png",
            caption="../report/coefficients.rst",
            category="Figures",
        ),
    log:
        "logs/plot_coefficients/plot_coefficients.log",
    benchmark:
        "benchmarks/plot_coefficients/plot_coefficients.tsv"
    conda:
        "../../environment.yml"
    params:
        terms=list(COEFFICIENT_PLOT.terms),
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
        panel="data/processed/panel.csv",
        residuals="results/estimates/residuals.parquet",
    output:
        pdf="results/figures/residuals.pdf",
        png=report(
            "results/figures/residuals.png",
            caption="../report/residuals.rst",
            category="Figures",
        ),
    log:
        "logs/plot_residuals/plot_residuals.log",
    benchmark:
        "benchmarks/plot_residuals/plot_residuals.tsv"
    conda:
        "../../environment.yml"
    params:
        model=EXHIBITS["residual_plot"]["model"],
        outcome=config["models"][EXHIBITS["residual_plot"]["model"]]["outcome"],
        model_labels=model_labels(),
        labels=variable_labels(),
        focal_unit=config["study"]["focal_unit"],
        unit=study_unit(),
        footer=config["data"]["footer"],
    script:
        "../scripts/plot_residuals.py"
