rule write_provenance:
    input:
        unpack(provenance_inputs),
    output:
        provenance=PATHS.result("provenance/provenance.json"),
        markdown=PATHS.result("provenance/provenance.md"),
        retrieval_log=PATHS.result("provenance/retrieval_log.json"),
    log:
        PATHS.log("write_provenance"),
    benchmark:
        PATHS.benchmark("write_provenance")
    conda:
        "../../environment.yml"
    params:
        config=Digested("config", config),
        git=Digested("git status", git_revision(".", files_read())),
    script:
        "../scripts/write_provenance.py"
