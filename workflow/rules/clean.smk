rule clean_panel:
    input:
        unpack(staged_sources),
        # Each staged file is checked against its fetch record before it is read.
        records=source_records(".provenance.json"),
        unit_table=config["data"]["unit_table"],
    output:
        panel=PATHS.panel,
        quality_json=PATHS.result("data_quality/report.json"),
        quality_md=PATHS.result("data_quality/report.md"),
    log:
        PATHS.log("clean_panel"),
    benchmark:
        PATHS.benchmark("clean_panel")
    conda:
        "../../environment.yml"
    params:
        config=cleaning_config(),
    script:
        "../scripts/clean_panel.py"
