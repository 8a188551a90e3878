rule plot_focal_vs_peers:
    input:
        panel="data/processed/panel.csv",
    output:
        pdf="results/figures/focal_vs_peers.pdf",
        png="results/figures/focal_vs_peers.png",
    log:
        "logs/plot_focal_vs_peers/plot_focal_vs_peers.log",
    conda:
        "../../environment.yml"
    params:
        focal_unit=config["study"]["focal_unit"],
        peer_units=config["study"]["peer_units"],
        variables=config["exhibits"]["focal_vs_peers"]["variables"],
        labels=variable_labels(),
        footer=config["data"]["footer"],
    script:
        "../scripts/plot_focal_vs_peers.py"


rule plot_within_relationship:
    input:
        panel="data/processed/panel.csv",
    output:
        pdf="results/figures/within_relationship.pdf",
        png="results/figures/within_relationship.png",
    log:
        "logs/plot_within_relationship/plot_within_relationship.log",
    conda:
        "../../environment.yml"
    params:
        outcome=config["exhibits"]["within_relationship"]["outcome"],
        regressor=config["exhibits"]["within_relationship"]["regressor"],
        labels=variable_labels(),
        focal_unit=config["study"]["focal_unit"],
        footer=config["data"]["footer"],
    script:
        "../scripts/plot_within_relationship.py"


rule plot_coefficients:
    input:
        estimates="results/estimates/estimates.csv",
    output:
        pdf="results/figures/coefficients.pdf",
        png="results/figures/coefficients.png",
    log:
        "logs/plot_coefficients/plot_coefficients.log",
    conda:
        "../../environment.yml"
    params:
        terms=config["exhibits"]["coefficient_plot"]["terms"],
        models=config["exhibits"]["regression_table"]["models"],
        model_labels=model_labels(),
        term_labels=variable_labels(),
        footer=config["data"]["footer"],
    script:
        "../scripts/plot_coefficients.py"
