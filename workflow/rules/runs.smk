# What a run does when it starts, succeeds or fails.
# - A second run of a study that a live run is writing stops, saying so
#   (innopanel.reproducibility.running), before Snakemake looks at any file.
# - A run is all or nothing for the study's final outputs
#   (innopanel.reproducibility.last_good): they are kept when the run starts and, if it
#   fails, put back as they were, together with Snakemake's record of each, so the next
#   run sees exactly the state before the failed one (and `git status` shows nothing new).
# - A run with the SLURM executor on a host without sacct/sacctmgr stops at its start,
#   saying why the plugin needs them (innopanel.reproducibility.cluster).
# - A failed run's last lines are the failed steps' own messages, each once
#   (innopanel.runlog): what to fix, not Snakemake's generic WorkflowError.
import sys

from snakemake.io import IOFile

from innopanel import runlog
from innopanel.reproducibility import cluster, last_good, running

# Jobs a cluster runs parse this file again; only the run itself checks.
if workflow.is_main_process:
    running.refuse_if_running(STUDY)

# The kept outputs and Snakemake's records of them, from onstart to onsuccess/onerror.
LAST_GOOD = {}


def snakemake_records(paths):
    """Snakemake's metadata record of each path (None where it has none)."""
    return {path: workflow.persistence.metadata(IOFile(str(path))) for path in paths}


def put_back_records(records):
    """Return Snakemake's records to what they were when the run started.

    The failed job's record names its new params and inputs; left beside a restored
    output, it would make the next run take that output as built from them. The record
    calls are those of Snakemake 9's persistence (pinned in requirements.lock).
    """
    for path, record in records.items():
        workflow.persistence.cleanup_metadata(IOFile(str(path)))
        if record is not None:
            workflow.persistence._write_record(str(path), record)


onstart:
    # The executor is known only now, once the run starts (not when this file is parsed).
    cluster.refuse_slurm_without_accounting_tools(
        workflow.executor_plugin and workflow.executor_plugin.name
    )
    running.mark(STUDY)
    # An earlier run's error notes are not this run's.
    for note in runlog.error_notes(PATHS.logs):
        note.unlink()
    kept = last_good.keep(final_outputs(), last_good.keep_folder(STUDY))
    LAST_GOOD.update(kept=kept, records=snakemake_records(kept.outputs))


onsuccess:
    if "kept" in LAST_GOOD:
        last_good.discard(LAST_GOOD["kept"])
    running.unmark(STUDY)


onerror:
    notes = runlog.merged_notes(
        [
            note.read_text(encoding="utf-8")
            for note in runlog.error_notes(PATHS.logs)
        ]
    )
    fix = (
        "Fix this and run again:" if notes else "Fix the error above and run again."
    )
    if "kept" in LAST_GOOD:
        rolled = last_good.roll_back(LAST_GOOD["kept"])
        put_back_records(LAST_GOOD["records"])
        fix = (
            f"The run failed, so study '{STUDY}' keeps its last good outputs: "
            f"{len(rolled.restored)} put back as they were before the run, "
            f"{len(rolled.removed)} new one(s) removed. {fix}"
        )
    if notes:
        runlog.print_last([fix, *notes])
    elif "kept" in LAST_GOOD:
        print(fix, file=sys.stderr)
    running.unmark(STUDY)
