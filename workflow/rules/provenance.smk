rule write_provenance:
    input:
        unpack(provenance_inputs),
    output:
        provenance="results/provenance/provenance.json",
        markdown="results/provenance/provenance.md",
        retrieval_log="results/provenance/retrieval_log.json",
    log:
        "logs/write_provenance/write_provenance.log",
    benchmark:
        "benchmarks/write_provenance/write_provenance.tsv"
    conda:
        "../../environment.yml"
    params:
        config=config,
        git=git_revision(),
    script:
        "../scripts/write_provenance.py"
