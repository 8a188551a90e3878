#!/usr/bin/env bash
# Stop the cluster .ci/slurm/start.sh started: its jobs, then each daemon by its pid file.
set -uo pipefail
STATE=/run/innopanel-slurm
scancel --user root >/dev/null 2>&1
stop() {
  local pidfile=$1
  [ -s "$pidfile" ] || return 0
  local pid
  pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.25; done
  kill -9 "$pid" 2>/dev/null
}
stop "$STATE/slurmd.pid"
stop "$STATE/slurmctld.pid"
stop "$STATE/slurmdbd.pid"
if [ -s /run/mysqld/mysqld.pid ]; then mysqladmin shutdown 2>/dev/null; fi
stop "$STATE/munged.pid"
rm -rf "$STATE"
echo "SLURM cluster stopped"
