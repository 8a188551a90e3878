rule fetch_source:
    input:
        raw=source_path,
    output:
        staged="data/staged/{source}.csv",
    log:
        "logs/fetch_source/{source}.log",
    conda:
        "../../environment.yml"
    params:
        sha256=source_sha256,
    script:
        "../scripts/fetch_source.py"
