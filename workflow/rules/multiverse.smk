# The multiverse: every declared specification estimated in chunks, the null draws of
# the joint tests in (chunk, block) pieces, gathered into results/<study>/multiverse/
# (the joint tests, and the curve's null band per panel).
import sys

from innopanel.config.multiverse import multiverse_path, multiverse_spec

MULTIVERSE = multiverse_spec(config)
# The grid's size, before anything runs.
print(MULTIVERSE.describe(), file=sys.stderr)
MULTIVERSE_SETTINGS = Digested(
    "the multiverse's config",
    {
        "study": study_settings(),
        **{key: config[key] for key in ("variables", "multiverse")},
    },
)


wildcard_constraints:
    chunk=r"\d+",
    block=r"\d+",


rule multiverse_estimate:
    input:
        panel=PATHS.panel,
    output:
        chunk=temp(multiverse_path(PATHS.processed, "chunks/{chunk}.parquet")),
    log:
        PATHS.log("multiverse_estimate", "{chunk}"),
    benchmark:
        PATHS.benchmark("multiverse_estimate", "{chunk}")
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
            multiverse_path(PATHS.processed, "chunks/{chunk}.parquet"),
            chunk=range(MULTIVERSE.chunks),
        ),
    output:
        specifications=multiverse_path(PATHS.results, "specifications.parquet"),
    log:
        PATHS.log("multiverse_specifications"),
    benchmark:
        PATHS.benchmark("multiverse_specifications")
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
        panel=PATHS.panel,
    output:
        draws=temp(multiverse_path(PATHS.processed, "null/{chunk}_{block}.npz")),
    log:
        PATHS.log("multiverse_null", "{chunk}_{block}"),
    benchmark:
        PATHS.benchmark("multiverse_null", "{chunk}_{block}")
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
        specifications=multiverse_path(PATHS.results, "specifications.parquet"),
        draws=expand(
            multiverse_path(PATHS.processed, "null/{chunk}_{block}.npz"),
            chunk=range(MULTIVERSE.chunks),
            block=range(MULTIVERSE.null.chunks),
        ),
    output:
        tests=multiverse_path(PATHS.results, "joint_tests.csv"),
        null=multiverse_path(PATHS.results, "null_draws.parquet"),
    log:
        PATHS.log("multiverse_joint_tests"),
    benchmark:
        PATHS.benchmark("multiverse_joint_tests")
    conda:
        "../../environment.yml"
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        data_note=config["data"]["data_note"],
    script:
        "../scripts/multiverse_joint_tests.py"


rule multiverse_null_curve:
    input:
        specifications=multiverse_path(PATHS.results, "specifications.parquet"),
        draws=expand(
            multiverse_path(PATHS.processed, "null/{chunk}_{block}.npz"),
            chunk=range(MULTIVERSE.chunks),
            block=range(MULTIVERSE.null.chunks),
        ),
    output:
        curve=multiverse_path(PATHS.results, "null_curve.parquet"),
    log:
        PATHS.log("multiverse_null_curve"),
    benchmark:
        PATHS.benchmark("multiverse_null_curve")
    conda:
        "../../environment.yml"
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        data_note=config["data"]["data_note"],
    script:
        "../scripts/multiverse_null_curve.py"


rule plot_specification_curve:
    input:
        specifications=multiverse_path(PATHS.results, "specifications.parquet"),
        null_curve=multiverse_path(PATHS.results, "null_curve.parquet"),
    output:
        pdf=PATHS.figure("specification_curve", "pdf"),
        png=report(
            PATHS.figure("specification_curve", "png"),
            caption="../report/specification_curve.rst",
            category="Multiverse",
        ),
    log:
        PATHS.log("plot_specification_curve"),
    benchmark:
        PATHS.benchmark("plot_specification_curve")
    conda:
        "../../environment.yml"
    params:
        settings=MULTIVERSE_SETTINGS,
        footer=config["data"]["footer"],
    script:
        "../scripts/plot_specification_curve.py"


rule plot_multiverse_choices:
    input:
        specifications=multiverse_path(PATHS.results, "specifications.parquet"),
    output:
        pdf=PATHS.figure("multiverse_choices", "pdf"),
        png=report(
            PATHS.figure("multiverse_choices", "png"),
            caption="../report/multiverse_choices.rst",
            category="Multiverse",
        ),
    log:
        PATHS.log("plot_multiverse_choices"),
    benchmark:
        PATHS.benchmark("plot_multiverse_choices")
    conda:
        "../../environment.yml"
    params:
        settings=MULTIVERSE_SETTINGS,
        footer=config["data"]["footer"],
    script:
        "../scripts/plot_multiverse_choices.py"


rule make_joint_tests_table:
    input:
        tests=multiverse_path(PATHS.results, "joint_tests.csv"),
    output:
        tex=PATHS.table("joint_tests", "tex"),
        md=PATHS.table("joint_tests", "md"),
        csv=PATHS.table("joint_tests", "csv"),
        html=report(
            PATHS.table("joint_tests", "html"),
            caption="../report/joint_tests.rst",
            category="Multiverse",
        ),
    log:
        PATHS.log("make_joint_tests_table"),
    benchmark:
        PATHS.benchmark("make_joint_tests_table")
    conda:
        "../../environment.yml"
    params:
        note=config["data"]["data_note"],
    script:
        "../scripts/make_joint_tests_table.py"
