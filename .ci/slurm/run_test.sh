#!/usr/bin/env bash
# CI's SLURM run: add the pinned executor plugin (make setup-slurm), start a one-node
# cluster with accounting (.ci/slurm/start.sh), run the demo study's multiverse through
# profiles/slurm, compare it within the reproducibility policy with the local run committed
# as its reference, which `make verify` has just reproduced
# (tests/test_multiverse_workflow.py), stop the cluster and take the plugin out of .venv
# again (make remove-slurm): installed, it probes for a cluster at every Snakemake start.
set -euo pipefail
cd "$(dirname "$0")/../.."
make setup-slurm
trap '.ci/slurm/stop.sh; make remove-slurm' EXIT
.ci/slurm/start.sh
INNOPANEL_SLURM=1 .venv/bin/python -m pytest -m slurm -p no:cacheprovider -s \
  tests/test_multiverse_workflow.py
