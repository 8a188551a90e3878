rule fetch_source:
    input:
        unpack(source_inputs),
    output:
        staged=PATHS.staged_file("{source}.{ext}"),
        record=PATHS.staged_file("{source}.{ext}.provenance.json"),
        retrieval=PATHS.staged_file("{source}.{ext}.retrieval.json"),
    log:
        PATHS.log("fetch_source", "{source}.{ext}"),
    benchmark:
        PATHS.benchmark("fetch_source", "{source}.{ext}")
    conda:
        "../../environment.yml"
    params:
        spec=fetch_spec,
        window=source_window,
    script:
        "../scripts/fetch_source.py"
