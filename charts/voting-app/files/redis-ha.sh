#!/bin/sh
# Starts one member of the high-availability queue: `redis-ha.sh server` its Redis server,
# `redis-ha.sh sentinel` the Sentinel beside it. Both ask the other members' Sentinels which
# server is the master; when none answers (the group's first start), the first pod's server is.
# Every address is a pod's name under the headless Service, resolved by CoreDNS.
# Environment: POD_NAME, HEADLESS (the headless Service's domain), REPLICAS, MASTER_NAME,
# REDIS_PASSWORD, and for the Sentinel QUORUM, DOWN_AFTER_MS, FAILOVER_TIMEOUT_MS; for the
# server MIN_REPLICAS, MAX_LAG_S.
set -eu

me="$POD_NAME.$HEADLESS"
set_name=${POD_NAME%-*}
export REDISCLI_AUTH="$REDIS_PASSWORD"

master_now() {
  i=0
  while [ "$i" -lt "$REPLICAS" ]; do
    peer="$set_name-$i.$HEADLESS"
    if [ "$peer" != "$me" ]; then
      answer=$(redis-cli -h "$peer" -p 26379 --raw sentinel get-master-addr-by-name "$MASTER_NAME" 2>/dev/null |
        head -1) || answer=
      if [ -n "$answer" ] && [ "${answer#ERR}" = "$answer" ]; then
        echo "$answer"
        return
      fi
    fi
    i=$((i + 1))
  done
  echo "$set_name-0.$HEADLESS"
}

# A name resolves once its pod has an address; the Sentinel refuses a name that does not.
wait_resolvable() {
  tries=0
  until getent hosts "$1" >/dev/null; do
    tries=$((tries + 1))
    if [ "$tries" -ge 120 ]; then
      echo "$1 does not resolve" >&2
      exit 1
    fi
    sleep 1
  done
}

master=$(master_now)
echo "master: $master"
wait_resolvable "$me"
wait_resolvable "$master"

case "$1" in
  server)
    set -- --appendonly yes --appendfsync always --dir /data \
      --requirepass "$REDIS_PASSWORD" --masterauth "$REDIS_PASSWORD" \
      --replica-announce-ip "$me" --repl-timeout "$MAX_LAG_S" \
      --min-replicas-to-write "$MIN_REPLICAS" --min-replicas-max-lag "$MAX_LAG_S"
    if [ "$master" != "$me" ]; then
      set -- "$@" --replicaof "$master" 6379
    fi
    exec redis-server "$@"
    ;;
  sentinel)
    # Each Sentinel waits a second longer than the one before it to call the master down. When
    # they all notice a lost master at the same moment, two of them each vote for themselves, no
    # one is elected, and the failover stalls for twice the failover timeout; staggered, the
    # later one finds the earlier one already asking for its vote.
    down_after=$((DOWN_AFTER_MS + ${POD_NAME##*-} * 1000))
    # Sentinel rewrites its file as it learns the group: a copy on the pod's own volume.
    conf=/sentinel/sentinel.conf
    cat >"$conf" <<CONF
port 26379
requirepass $REDIS_PASSWORD
sentinel sentinel-pass $REDIS_PASSWORD
sentinel resolve-hostnames yes
sentinel announce-hostnames yes
sentinel announce-ip $me
sentinel monitor $MASTER_NAME $master 6379 $QUORUM
sentinel auth-pass $MASTER_NAME $REDIS_PASSWORD
sentinel down-after-milliseconds $MASTER_NAME $down_after
sentinel failover-timeout $MASTER_NAME $FAILOVER_TIMEOUT_MS
sentinel parallel-syncs $MASTER_NAME 1
CONF
    exec redis-server "$conf" --sentinel
    ;;
  *)
    echo "usage: redis-ha.sh server|sentinel" >&2
    exit 2
    ;;
esac
