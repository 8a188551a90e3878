#!/usr/bin/env bash
# Start a one-node SLURM cluster on this Debian machine, as root and without systemd:
# munge, MariaDB and slurmdbd (accounting, as real sites have, so that the executor
# plugin's default status command, sacct, is what runs), slurmctld and slurmd.
# No cgroups: ProctrackType=proctrack/linuxproc, TaskPlugin=task/none.
#   SLURM_ACCOUNTING=0 .ci/slurm/start.sh   starts it without accounting (then use
#                                            profiles/slurm-squeue, which polls squeue)
# Stop it with .ci/slurm/stop.sh. Prints the seconds the set-up took.
set -euo pipefail
ACCOUNTING=${SLURM_ACCOUNTING:-1}
STATE=/run/innopanel-slurm
started=$(date +%s)

packages=(slurmctld slurmd slurm-client munge)
if [ "$ACCOUNTING" = 1 ]; then packages+=(slurmdbd mariadb-server); fi
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
installed=$(date +%s)

mkdir -p "$STATE" /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge
chown munge:munge /run/munge
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
fi
chown munge:munge /etc/munge/munge.key
chmod 400 /etc/munge/munge.key
runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid
cp /run/munge/munged.pid "$STATE/munged.pid"

cpus=$(nproc)
memory=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
if [ "$ACCOUNTING" = 1 ]; then
  mkdir -p /run/mysqld
  chown mysql:mysql /run/mysqld
  mysqld_safe --user=mysql --pid-file=/run/mysqld/mysqld.pid >/dev/null 2>&1 &
  for _ in $(seq 60); do mysqladmin ping >/dev/null 2>&1 && break; sleep 0.5; done
  mysql -e "CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurm';
            GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';"
  cat > /etc/slurm/slurmdbd.conf <<CONF
AuthType=auth/munge
DbdHost=localhost
SlurmUser=slurm
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=slurm
StorageLoc=slurm_acct_db
LogFile=/var/log/slurm/slurmdbd.log
PidFile=$STATE/slurmdbd.pid
CONF
  chown slurm:slurm /etc/slurm/slurmdbd.conf
  chmod 600 /etc/slurm/slurmdbd.conf
  slurmdbd
  for _ in $(seq 60); do sacctmgr -n show cluster >/dev/null 2>&1 && break; sleep 0.5; done
  accounting="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
JobAcctGatherType=jobacct_gather/linux"
else
  accounting="AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none"
fi

cat > /etc/slurm/slurm.conf <<CONF
ClusterName=innopanel
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
ReturnToService=2
# squeue polling needs finished jobs kept this long (the plugin checks it).
MinJobAge=300
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
$accounting
NodeName=localhost CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=main Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF

slurmctld
if [ "$ACCOUNTING" = 1 ]; then
  # Register the cluster and give root an account, as a site's administrator would.
  for _ in $(seq 60); do sacctmgr -n list cluster format=cluster | grep -q innopanel && break; sleep 0.5; done
  sacctmgr -i add account innopanel Cluster=innopanel >/dev/null 2>&1 || true
  sacctmgr -i add user root Account=innopanel >/dev/null 2>&1 || true
fi
slurmd -N localhost
for _ in $(seq 120); do
  state=$(sinfo -h -N -o %T 2>/dev/null || true)
  [ "$state" = idle ] && break
  sleep 0.5
done
if [ "$state" != idle ]; then
  echo "SLURM node is '$state', not idle; see /var/log/slurm/" >&2
  exit 1
fi
ready=$(date +%s)
echo "SLURM cluster up: install $((installed - started)) s, start $((ready - installed)) s" \
  "(accounting: $ACCOUNTING, $cpus CPUs, ${memory} MB)"
