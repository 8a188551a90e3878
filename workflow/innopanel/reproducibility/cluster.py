"""What the SLURM executor needs on the submitting host, checked before any job is sent.

The pinned plugin (snakemake-executor-plugin-slurm 2.8.0) accepts the profile's
``slurm-no-account: true`` but never reads it: for every job without a
``slurm_account`` resource it runs ``sacct`` to guess an account, then checks the
guess with ``sacctmgr``. Where those commands are not installed each submission fails
with ``[Errno 2] No such file or directory: 'sacct'`` and no word of why. A run with the
SLURM executor therefore stops at its start, with the reason and the fix, when either
is missing (:func:`refuse_slurm_without_accounting_tools`). Where they are installed but
the cluster keeps no accounting, ``sacct`` fails and the plugin submits without an
account, which is what ``slurm-no-account`` asks for.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable

#: The executor (Snakemake's plugin name) these checks are for.
SLURM_EXECUTOR = "slurm"
#: Commands the plugin runs on the submitting host to choose each job's account.
ACCOUNT_COMMANDS = ("sacct", "sacctmgr")


class ClusterSetupError(RuntimeError):
    """The submitting host lacks what the executor runs; the message says what to do."""


def missing_account_commands(
    executor: str | None, which: Callable[[str], str | None] = shutil.which
) -> list[str]:
    """The commands of :data:`ACCOUNT_COMMANDS` not on ``PATH``, for the SLURM executor
    (none for any other executor, which runs no SLURM command)."""
    if executor != SLURM_EXECUTOR:
        return []
    return [command for command in ACCOUNT_COMMANDS if which(command) is None]


def refuse_slurm_without_accounting_tools(
    executor: str | None, which: Callable[[str], str | None] = shutil.which
) -> None:
    """Raise :class:`ClusterSetupError` if the SLURM executor is used on a host without
    ``sacct`` or ``sacctmgr``, saying why the plugin needs them and how to run."""
    missing = missing_account_commands(executor, which)
    if not missing:
        return
    raise ClusterSetupError(
        f"The SLURM executor cannot submit jobs from this host: {' and '.join(missing)} "
        "not found on PATH. The SLURM plugin (snakemake-executor-plugin-slurm 2.8.0) "
        "runs sacct to guess each job's account and sacctmgr to check it, even with "
        "slurm-no-account: true in profiles/slurm/config.yaml (the plugin accepts that "
        "setting but ignores it). Run Snakemake on a host with SLURM's client commands "
        "installed (the cluster's login node; Debian's slurm-client package). On a "
        "cluster without accounting they fail there and the plugin submits without an "
        "account; add --slurm-status-command squeue (README, 'Running on a SLURM cluster')."
    )
