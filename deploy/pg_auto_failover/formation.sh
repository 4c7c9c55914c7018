#!/usr/bin/env bash
# A pg_auto_failover formation for the registry: one monitor and two or three PostgreSQL nodes,
# synchronous replication, automatic promotion (docs/high-availability.md). Run each command on
# its own machine as the PostgreSQL OS user (pg_autoctl refuses root); the formation's test
# (tests/test_failover.py) runs these same commands on one machine.
#
#   formation.sh monitor    create the monitor in $PGDATA and run it in the foreground
#   formation.sh node       create a node in $PGDATA, register it with $MONITOR_URI, run it
#   formation.sh settings   apply the formation's settings and the monitor's failover timing on
#                           the monitor (after the nodes joined)
#   formation.sh node-settings  on each node, once it runs: its keeper's network partition
#                           timeout (refused unless below the monitor's primary_demote_timeout)
#   formation.sh check      print the formation; fail unless the primary's commits wait for a
#                           standby (synchronous_commit=on, synchronous_standby_names set)
#
# Environment
#   PGDATA                the data directory (created; must not exist yet for monitor/node)
#   PGPORT                the port PostgreSQL listens on
#   NODE_HOSTNAME         how the other nodes, the monitor and the application reach this one
#   MONITOR_URI           node: the monitor's URI (`pg_autoctl show uri` on the monitor prints it)
#   DBNAME                node: the application's database (default crm)
#   NUMBER_SYNC_STANDBYS  settings: standbys a commit waits for beyond the first: 0 with two
#                         nodes, 1 with three (default 0; see docs/high-availability.md)
#   UNHEALTHY_TIMEOUT_MS  settings: pgautofailover.node_considered_unhealthy_timeout (8000)
#   DEMOTE_TIMEOUT_MS     settings: pgautofailover.primary_demote_timeout (12000)
#   HEALTH_CHECK_PERIOD_MS settings: pgautofailover.health_check_period (2000), with
#                         health_check_retry_delay at half of it
#   NETWORK_PARTITION_TIMEOUT node-settings: the keeper's timeout.network_partition_timeout in
#                         seconds (8); must stay below DEMOTE_TIMEOUT_MS (docs/high-availability.md)
#   AUTH                  pg_hba method between the nodes and the monitor (default scram-sha-256;
#                         then set the passwords as docs/high-availability.md says)
#   SSL                   TLS options (default --ssl-self-signed; production: --ssl-ca-file,
#                         --server-cert, --server-key with --ssl-mode verify-full)
#   PG_CTL                pg_ctl of the PostgreSQL to run (default: the newest installed)
set -euo pipefail

command=${1:-}
: "${PGDATA:?set PGDATA}"
AUTH=${AUTH:-scram-sha-256}
SSL=${SSL:---ssl-self-signed}
if [[ -z ${PG_CTL:-} ]]; then
  PG_CTL=$(ls -d /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | sort -V | tail -n 1)
fi

# Every node is an equal candidate for promotion and counts in the write quorum: a commit is
# acknowledged only once a quorum standby has flushed it (synchronous_commit=on, which
# pg_auto_failover sets), so the standby promoted after a failure has every acknowledged commit.
NODE_POLICY=(--candidate-priority 50 --replication-quorum true)

case "$command" in
  monitor)
    : "${PGPORT:?set PGPORT}" "${NODE_HOSTNAME:?set NODE_HOSTNAME}"
    # shellcheck disable=SC2086  # SSL holds several options
    exec pg_autoctl create monitor --pgdata "$PGDATA" --pgport "$PGPORT" \
      --hostname "$NODE_HOSTNAME" --auth "$AUTH" $SSL --pgctl "$PG_CTL" --run
    ;;
  node)
    : "${PGPORT:?set PGPORT}" "${NODE_HOSTNAME:?set NODE_HOSTNAME}" "${MONITOR_URI:?set MONITOR_URI}"
    # shellcheck disable=SC2086
    exec pg_autoctl create postgres --pgdata "$PGDATA" --pgport "$PGPORT" \
      --hostname "$NODE_HOSTNAME" --dbname "${DBNAME:-crm}" --auth "$AUTH" $SSL \
      --pgctl "$PG_CTL" --monitor "$MONITOR_URI" "${NODE_POLICY[@]}" --run
    ;;
  settings)
    # The monitor's own function: `pg_autoctl set formation number-sync-standbys` of the
    # packaged 2.0 refuses every value (pg_auto_failover issue #929). It needs the primary in
    # the "primary" state, i.e. a standby already streaming.
    monitor=$(pg_autoctl show uri --pgdata "$PGDATA" --formation monitor)
    psql "$monitor" -XAtc "SELECT pgautofailover.set_formation_number_sync_standbys(
      'default', ${NUMBER_SYNC_STANDBYS:-0})"
    # A whole node lost (keeper and PostgreSQL): the defaults (20 s before the node counts as
    # unhealthy, then 30 s for the old primary to demote itself) made the standby writable after
    # 50 s; these make it about 22 s. Set as the OS user on the monitor's own socket (ALTER
    # SYSTEM needs a superuser; autoctl_node is not one).
    period=${HEALTH_CHECK_PERIOD_MS:-2000}
    port=$(pg_autoctl config get --pgdata "$PGDATA" postgresql.port)
    psql -p "$port" -d pg_auto_failover -XAtq -v ON_ERROR_STOP=1 >/dev/null <<SQL
ALTER SYSTEM SET pgautofailover.node_considered_unhealthy_timeout = ${UNHEALTHY_TIMEOUT_MS:-8000};
ALTER SYSTEM SET pgautofailover.primary_demote_timeout = ${DEMOTE_TIMEOUT_MS:-12000};
ALTER SYSTEM SET pgautofailover.health_check_period = $period;
ALTER SYSTEM SET pgautofailover.health_check_retry_delay = $((period / 2));
SELECT pg_reload_conf();
SQL
    ;;
  node-settings)
    # A primary cut off from the monitor and the standby stops itself after this long; it must
    # do so before the monitor promotes the standby (primary_demote_timeout after its
    # decision), or a cut-off primary could still take writes.
    partition=${NETWORK_PARTITION_TIMEOUT:-8}
    monitor=$(pg_autoctl config get --pgdata "$PGDATA" pg_autoctl.monitor)
    demote_ms=$(psql "$monitor" -XAtc "SELECT setting FROM pg_settings
      WHERE name = 'pgautofailover.primary_demote_timeout'")
    if (( partition * 1000 >= demote_ms )); then
      echo "node-settings: network_partition_timeout ${partition}s is not below the monitor's" \
        "primary_demote_timeout ${demote_ms}ms" >&2
      exit 1
    fi
    # `config set` on a running node reloads its keeper.
    pg_autoctl config set --pgdata "$PGDATA" timeout.network_partition_timeout "$partition"
    ;;
  check)
    pg_autoctl show state --pgdata "$PGDATA"
    pg_autoctl show settings --pgdata "$PGDATA"
    pg_autoctl show uri --pgdata "$PGDATA" --formation default
    port=$(pg_autoctl config get --pgdata "$PGDATA" postgresql.port)
    psql -p "$port" -d pg_auto_failover -XAtc "SELECT name || ' = ' || setting || unit
      FROM pg_settings WHERE name ~ '^pgautofailover\.(node_considered|primary_demote|health_check_(period|retry))'"
    # The node whose reported and assigned states are both "primary" (host:port column).
    primary=$(pg_autoctl show state --pgdata "$PGDATA" | awk -F'|' '
      { gsub(/ /, "") } $6 == "primary" && $7 == "primary" { print $3 }')
    if [[ -z $primary ]]; then
      echo "check: no node is in the primary state (a standby is missing or catching up)" >&2
      exit 1
    fi
    host=${primary%:*} port=${primary##*:}
    commit=$(psql -h "$host" -p "$port" -d "${DBNAME:-crm}" -XAtc "SHOW synchronous_commit")
    standbys=$(psql -h "$host" -p "$port" -d "${DBNAME:-crm}" -XAtc "SHOW synchronous_standby_names")
    echo "primary $host:$port: synchronous_commit=$commit synchronous_standby_names=$standbys"
    if [[ $commit != on && $commit != remote_apply ]] || [[ -z $standbys ]]; then
      echo "check: commits on the primary do not wait for a standby" >&2
      exit 1
    fi
    ;;
  *)
    sed -n '/^set -euo/q;2,$p' "$0" >&2
    exit 2
    ;;
esac
