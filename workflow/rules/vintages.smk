# The headline under each vintage policy (innopanel.data.vintages): the panel cleaned
# once per policy, the headline model fitted on each, one table. Only for a study that
# declares exhibits.vintage_table.
from innopanel.config.data_specs import VINTAGE_POLICIES as POLICIES

VINTAGE_TABLE_SPEC = EXHIBITS["vintage_table"]
VINTAGE_POLICIES = list(POLICIES)


wildcard_constraints:
    vintage="|".join(VINTAGE_POLICIES),


def vintage_cleaning_config():
    """What a policy's clean depends on: the clean step's, but not the chosen policy
    (the {vintage} wildcard replaces it)."""
    parts = cleaning_config()
    rules = parts["data"]["vintages"]
    parts["data"] = {
        **parts["data"],
        "vintages": {key: value for key, value in rules.items() if key != "policy"},
    }
    return parts


rule clean_panel_vintage:
    input:
        unpack(staged_sources),
        records=source_records(".provenance.json"),
        unit_table=config["data"]["unit_table"],
    output:
        panel=f"{PATHS.processed}/vintages/panel_{{vintage}}.csv",
        quality_json=f"{PATHS.processed}/vintages/quality_{{vintage}}.json",
    log:
        PATHS.log("clean_panel_vintage", "{vintage}"),
    benchmark:
        PATHS.benchmark("clean_panel_vintage", "{vintage}")
    conda:
        "../../environment.yml"
    params:
        config=vintage_cleaning_config(),
    script:
        "../scripts/clean_panel_vintage.py"


rule estimate_vintage:
    input:
        panel=f"{PATHS.processed}/vintages/panel_{{vintage}}.csv",
    output:
        estimates=PATHS.result("estimates/vintage_{vintage}.csv"),
    log:
        PATHS.log("estimate_vintage", "{vintage}"),
    benchmark:
        PATHS.benchmark("estimate_vintage", "{vintage}")
    conda:
        "../../environment.yml"
    params:
        models=Digested(
            "models",
            {
                VINTAGE_TABLE_SPEC["model"]: config["models"][
                    VINTAGE_TABLE_SPEC["model"]
                ]
            },
        ),
        window={key: config["study"][key] for key in ("first_year", "last_year")},
        unit=unit_noun(),
        data_note=config["data"]["data_note"],
    script:
        "../scripts/estimate_vintage.py"


rule make_vintage_table:
    input:
        estimates=expand(
            PATHS.result("estimates/vintage_{vintage}.csv"), vintage=VINTAGE_POLICIES
        ),
        quality=expand(
            f"{PATHS.processed}/vintages/quality_{{vintage}}.json",
            vintage=VINTAGE_POLICIES,
        ),
        panel=f"{PATHS.processed}/vintages/panel_{config['data']['vintages']['policy']}.csv",
    output:
        tex=PATHS.table("vintages", "tex"),
        md=PATHS.table("vintages", "md"),
        csv=PATHS.table("vintages", "csv"),
        html=report(
            PATHS.table("vintages", "html"),
            caption="../report/vintages.rst",
            category="Tables",
        ),
    log:
        PATHS.log("make_vintage_table"),
    benchmark:
        PATHS.benchmark("make_vintage_table")
    conda:
        "../../environment.yml"
    params:
        chosen=config["data"]["vintages"]["policy"],
        model=VINTAGE_TABLE_SPEC["model"],
        term=VINTAGE_TABLE_SPEC["term"],
        model_label=config["models"][VINTAGE_TABLE_SPEC["model"]]["label"],
        term_label=variable_labels().get(
            VINTAGE_TABLE_SPEC["term"], VINTAGE_TABLE_SPEC["term"]
        ),
        unit=unit_noun(),
        labels=variable_labels(),
        digits=VINTAGE_TABLE_SPEC["digits"],
        note=config["data"]["data_note"],
    script:
        "../scripts/make_vintage_table.py"
