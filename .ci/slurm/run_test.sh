#!/usr/bin/env bash
# CI's SLURM run: start a one-node cluster with accounting (.ci/slurm/start.sh), run the
# demo study's multiverse through profiles/slurm and locally, compare them within the
# reproducibility policy (tests/test_multiverse_workflow.py), and stop the cluster.
set -euo pipefail
cd "$(dirname "$0")/../.."
trap .ci/slurm/stop.sh EXIT
.ci/slurm/start.sh
INNOPANEL_SLURM=1 .venv/bin/python -m pytest -m slurm -p no:cacheprovider -s \
  tests/test_multiverse_workflow.py
