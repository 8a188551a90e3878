"""The one-process lower bound of the workflow: every job's script, run in one Python
process in the order the jobs ran, so each library is imported once.

The scripts are the very ones Snakemake ran (kept by ``--skip-script-cleanup``), with
their pickled inputs, outputs and params, so the computation is the same; the
outputs must be removed first (workflow/benchmarks/pipeline.py does both, and checks
that the bytes come out identical). Prints one line per job: seconds, rule, script.

Usage: python workflow/benchmarks/lower_bound.py WORKDIR
"""

import os
import runpy
import sys
import time
from pathlib import Path

# Snakemake runs each single-threaded job with one BLAS/OpenMP thread; do the same before
# numpy loads, so sums are ordered as in the workflow and the bytes agree.
for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"

from innopanel.reproducibility.benchmarking import job_scripts, script_rule  # noqa: E402


def main(workdir: Path) -> None:
    os.chdir(workdir)
    stdout, stderr = sys.stdout, sys.stderr
    for script in job_scripts(workdir):
        start = time.perf_counter()
        runpy.run_path(str(script), run_name="__main__")
        # Each script sends stderr to its rule's log; take it back for the next one.
        sys.stdout, sys.stderr = stdout, stderr
        print(f"{time.perf_counter() - start:.3f}\t{script_rule(script)}\t{script.name}")


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve())
