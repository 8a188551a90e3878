rule clean_panel:
    input:
        unpack(staged_sources),
        unit_table=config["data"]["unit_table"],
    output:
        panel="data/processed/panel.csv",
        quality_json="results/data_quality/report.json",
        quality_md="results/data_quality/report.md",
    log:
        "logs/clean_panel/clean_panel.log",
    benchmark:
        "benchmarks/clean_panel/clean_panel.tsv"
    conda:
        "../../environment.yml"
    params:
        config=cleaning_config(),
    script:
        "../scripts/clean_panel.py"
