rule fetch_source:
    input:
        unpack(source_inputs),
    output:
        staged="data/staged/{source}.{ext}",
        record="data/staged/{source}.{ext}.provenance.json",
        retrieval="data/staged/{source}.{ext}.retrieval.json",
    log:
        "logs/fetch_source/{source}.{ext}.log",
    benchmark:
        "benchmarks/fetch_source/{source}.{ext}.tsv"
    conda:
        "../../environment.yml"
    params:
        spec=fetch_spec,
        window=source_window,
    script:
        "../scripts/fetch_source.py"
