#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests: `source .ci/postgres.sh; pg_start; ...; pg_stop`.
# pg_start installs Debian's postgresql when pg_ctl is missing (CI runs as root on a clean machine),
# initialises a cluster in a temporary folder, starts it on a free loopback port and exports its URL
# as SUPPORTDESK_TEST_PG_URL. As root the server runs as the `postgres` user (initdb refuses root).

pg_bin_dir() {
    if command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v pg_ctl)")"
        return
    fi
    local found
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$found" ]; then
        if [ "$(id -u)" != 0 ]; then
            echo "postgres.sh: pg_ctl not found; install Debian's postgresql (apt-get install postgresql)" >&2
            return 1
        fi
        echo "postgres.sh: installing Debian's postgresql" >&2
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >&2
        found=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    fi
    echo "$found"
}

pg_as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

pg_start() {
    local bin port
    bin=$(pg_bin_dir) || return 1
    PG_TEST_DIR=$(mktemp -d /tmp/supportdesk-pg.XXXXXX)
    chmod 755 "$PG_TEST_DIR"
    [ "$(id -u)" = 0 ] && chown postgres "$PG_TEST_DIR"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    pg_as_owner "$bin/initdb" -D "$PG_TEST_DIR/data" -U supportdesk --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    pg_as_owner "$bin/pg_ctl" -D "$PG_TEST_DIR/data" -l "$PG_TEST_DIR/log" -w \
        -o "-p $port -k $PG_TEST_DIR -h 127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null
    PG_TEST_BIN=$bin
    export SUPPORTDESK_TEST_PG_URL="postgresql://supportdesk@127.0.0.1:$port/postgres"
    echo "postgres.sh: test cluster at $SUPPORTDESK_TEST_PG_URL" >&2
}

pg_stop() {
    if [ -n "${PG_TEST_DIR:-}" ] && [ -d "$PG_TEST_DIR/data" ]; then
        pg_as_owner "$PG_TEST_BIN/pg_ctl" -D "$PG_TEST_DIR/data" -m immediate stop >/dev/null 2>&1 || true
        rm -rf "$PG_TEST_DIR"
    fi
}
