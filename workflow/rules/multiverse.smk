# The multiverse: every declared specification estimated in chunks, the null draws of
# the joint tests in (chunk, block) pieces, gathered into results/multiverse/.
import sys

from innopanel.config.multiverse import multiverse_path, multiverse_spec

MULTIVERSE = multiverse_spec(config)
# The grid's size, before anything runs.
print(MULTIVERSE.describe(), file=sys.stderr)
MULTIVERSE_SETTINGS = {key: config[key] for key in ("study", "variables", "multiverse")}


wildcard_constraints:
    chunk=r"\d+",
    block=r"\d+",


rule multiverse_estimate:
    input:
        panel="data/processed/panel.csv",
    output:
        chunk=temp(multiverse_path("data/processed", "chunks/{chunk}.parquet")),
    log:
        "logs/multiverse_estimate/{chunk}.log",
    benchmark:
        "benchmarks/multiverse_estimate/{chunk}.tsv"
    conda:
        "../../environment.yml"
    resources:
        mem_mb=1000,
        runtime=20,
    params:
        settings=MULTIVERSE_SETTINGS,
    script:
        "../scripts/multiverse_estimate.py"


rule multiverse_specifications:
    input:
        chunks=expand(
            multiverse_path("data/processed", "chunks/{chunk}.parquet"),
            chunk=range(MULTIVERSE.chunks),
        ),
    output:
        specifications=multiverse_path("results", "specifications.parquet"),
    log:
        "logs/multiverse_specifications/multiverse_specifications.log",
    benchmark:
        "benchmarks/multiverse_specifications/multiverse_specifications.tsv"
    conda:
        "../../environment.yml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        data_note=config["data"]["data_note"],
    script:
        "../scripts/multiverse_specifications.py"


rule multiverse_null:
    input:
        panel="data/processed/panel.csv",
    output:
        draws=temp(multiverse_path("data/processed", "null/{chunk}_{block}.npz")),
    log:
        "logs/multiverse_null/{chunk}_{block}.log",
    benchmark:
        "benchmarks/multiverse_null/{chunk}_{block}.tsv"
    conda:
        "../../environment.yml"
    resources:
        mem_mb=1000,
        runtime=30,
    params:
        settings=MULTIVERSE_SETTINGS,
    script:
        "../scripts/multiverse_null.py"


rule multiverse_joint_tests:
    input:
        specifications=multiverse_path("results", "specifications.parquet"),
        draws=expand(
            multiverse_path("data/processed", "null/{chunk}_{block}.npz"),
            chunk=range(MULTIVERSE.chunks),
            block=range(MULTIVERSE.null.chunks),
        ),
    output:
        tests=multiverse_path("results", "joint_tests.csv"),
        null=multiverse_path("results", "null_draws.parquet"),
    log:
        "logs/multiverse_joint_tests/multiverse_joint_tests.log",
    benchmark:
        "benchmarks/multiverse_joint_tests/multiverse_joint_tests.tsv"
    conda:
        "../../environment.yml"
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        data_note=config["data"]["data_note"],
    script:
        "../scripts/multiverse_joint_tests.py"


rule plot_specification_curve:
    input:
        specifications=multiverse_path("results", "specifications.parquet"),
    output:
        pdf="results/figures/specification_curve.pdf",
        png=report(
            "results/figures/specification_curve.png",
            caption="../report/multiverse/specification_curve.rst",
            category="Multiverse",
        ),
    log:
        "logs/plot_specification_curve/plot_specification_curve.log",
    benchmark:
        "benchmarks/plot_specification_curve/plot_specification_curve.tsv"
    conda:
        "../../environment.yml"
    params:
        focal_id=MULTIVERSE.focal_id,
        footer=config["data"]["footer"],
    script:
        "../scripts/plot_specification_curve.py"


rule plot_multiverse_choices:
    input:
        specifications=multiverse_path("results", "specifications.parquet"),
    output:
        pdf="results/figures/multiverse_choices.pdf",
        png=report(
            "results/figures/multiverse_choices.png",
            caption="../report/multiverse/multiverse_choices.rst",
            category="Multiverse",
        ),
    log:
        "logs/plot_multiverse_choices/plot_multiverse_choices.log",
    benchmark:
        "benchmarks/plot_multiverse_choices/plot_multiverse_choices.tsv"
    conda:
        "../../environment.yml"
    params:
        footer=config["data"]["footer"],
    script:
        "../scripts/plot_multiverse_choices.py"


rule make_joint_tests_table:
    input:
        tests=multiverse_path("results", "joint_tests.csv"),
    output:
        tex="results/tables/joint_tests.tex",
        md="results/tables/joint_tests.md",
        csv="results/tables/joint_tests.csv",
        html=report(
            "results/tables/joint_tests.html",
            caption="../report/multiverse/joint_tests.rst",
            category="Multiverse",
        ),
    log:
        "logs/make_joint_tests_table/make_joint_tests_table.log",
    benchmark:
        "benchmarks/make_joint_tests_table/make_joint_tests_table.tsv"
    conda:
        "../../environment.yml"
    params:
        note=config["data"]["data_note"],
    script:
        "../scripts/make_joint_tests_table.py"
