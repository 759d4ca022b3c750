# A throwaway PostgreSQL server on a loopback port, for the end-to-end tests. Source it, then
# `pg_up` starts a cluster in a fresh folder (initdb refuses root, so as the postgres user when
# run as root), creates the role upkeep with a password and the database app, and exports:
#   PG_URL        postgresql://upkeep@127.0.0.1:PORT/app (no password in it)
#   PG_PASSWORD   the role's password;  PG_PASSFILE a file holding it (mode 600)
#   pg_admin ...  psql as superuser over the cluster's unix socket, e.g. pg_admin -d app -c '…'
#   pg_app ...    psql as upkeep over TCP with the password
# PG_FSYNC=on keeps fsync (benchmarks; tests run without it).
# `pg_down` stops it and removes the folder (also on the shell's EXIT trap it adds to).
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)

pg_up() {
    [ -x "$PG_BIN/initdb" ] || { echo "PostgreSQL server not installed (make test-deps)" >&2; return 1; }
    PG_DIR=$(mktemp -d /tmp/upkeep-pg.XXXXXX)
    PG_PORT=$((30000 + RANDOM % 20000))
    local as=()
    if [ "$(id -u)" = 0 ]; then
        chown postgres:postgres "$PG_DIR"
        as=(runuser -u postgres --)
    fi
    (cd / && "${as[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth-local=trust \
        --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1) ||
        { cat "$PG_DIR/initdb.log" >&2; return 1; }
    # A random port can be taken (another test's server): try a few.
    local tries=0
    until (cd / && "${as[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c fsync=${PG_FSYNC:-off} -c shared_preload_libraries=pg_stat_statements" start >/dev/null); do
        tries=$((tries + 1))
        if [ "$tries" -ge 5 ] || ! grep -q "could not bind\|could not create any TCP/IP sockets" "$PG_DIR/server.log"; then
            cat "$PG_DIR/server.log" >&2
            return 1
        fi
        PG_PORT=$((30000 + RANDOM % 20000))
    done
    PG_AS=("${as[@]}")
    # Added to what the EXIT trap already does (the scratch folder, another server).
    local previous
    previous=$(trap -p EXIT | sed -e "s/^trap -- '//" -e "s/' EXIT\$//")
    trap "pg_down; ${previous:-:}" EXIT
    PG_PASSWORD="pw-$RANDOM-$RANDOM"
    pg_admin -d postgres -c "CREATE ROLE upkeep LOGIN CREATEDB PASSWORD '$PG_PASSWORD'" \
        -c "CREATE DATABASE app OWNER upkeep" >/dev/null
    PG_URL="postgresql://upkeep@127.0.0.1:$PG_PORT/app"
    PG_PASSFILE=$PG_DIR/password
    echo "$PG_PASSWORD" > "$PG_PASSFILE"
    chmod 600 "$PG_PASSFILE"
    export PG_URL PG_PASSWORD PG_PASSFILE PG_PORT
}

pg_admin() { psql -X -q -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$PG_PORT" -U postgres "$@"; }
pg_app() { PGPASSWORD=$PG_PASSWORD psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U upkeep "$@"; }

pg_down() {
    [ -n "${PG_DIR:-}" ] || return 0
    (cd / && "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1) || true
    rm -rf "$PG_DIR"
    PG_DIR=
}
