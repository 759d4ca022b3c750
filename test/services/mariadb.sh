# A throwaway MariaDB server on a loopback port, for the end-to-end tests. Source it, then
# `my_up` installs a data folder with mariadb-install-db and starts mariadbd on it (as the
# mysql user when run as root, which mariadbd refuses to be), creates the user upkeep with a
# password and the database app, and exports:
#   MY_URL        mariadb://upkeep@127.0.0.1:PORT/app (no password in it)
#   MY_PASSWORD   the user's password;  MY_PASSFILE a file holding it (mode 600)
#   my_admin ...  mariadb as root over the server's unix socket, e.g. my_admin app -e '…'
#   my_app ...    mariadb as upkeep over TCP with the password
# Binary logging is on, as on a server with replicas or point-in-time recovery.
# MY_FSYNC=on flushes the log at every commit (benchmarks; tests run without it).
# MY_BUFFER_POOL=SIZE sizes InnoDB's buffer pool (benchmarks: a server sized for its data, as
# production ones are; the default 128M makes every statement on a 1 GiB table read the disk).
# `my_down` stops it and removes the folder (also on the shell's EXIT trap it adds to).
my_up() {
    command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] ||
        { echo "MariaDB server not installed (make test-deps)" >&2; return 1; }
    MY_DIR=$(mktemp -d /tmp/upkeep-my.XXXXXX)
    MY_SOCK=$MY_DIR/mariadbd.sock
    local user
    user=$(id -un)
    if [ "$(id -u)" = 0 ]; then
        chown mysql:mysql "$MY_DIR"
        user=mysql
    fi
    # --no-defaults first: nothing from /etc/mysql (its socket, data folder, port).
    mariadb-install-db --no-defaults --user="$user" --datadir="$MY_DIR/data" \
        --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve \
        >"$MY_DIR/install-db.log" 2>&1 || { cat "$MY_DIR/install-db.log" >&2; return 1; }
    local flush=0
    [ "${MY_FSYNC:-off}" = on ] && flush=1
    # A random port can be taken (another test's server): try a few.
    local tries=0
    while :; do
        MY_PORT=$((30000 + RANDOM % 20000))
        /usr/sbin/mariadbd --no-defaults --user="$user" --datadir="$MY_DIR/data" \
            --bind-address=127.0.0.1 --port="$MY_PORT" --socket="$MY_SOCK" \
            --pid-file="$MY_DIR/mariadbd.pid" --log-error="$MY_DIR/error.log" \
            --skip-name-resolve --innodb-flush-log-at-trx-commit=$flush \
            --log-bin="$MY_DIR/data/binlog" --server-id=1 \
            --performance-schema=ON --innodb-buffer-pool-size="${MY_BUFFER_POOL:-128M}" \
            >/dev/null 2>&1 &
        MY_PID=$!
        local i
        for i in $(seq 1 120); do
            mariadb-admin --no-defaults --socket="$MY_SOCK" -uroot --connect-timeout=1 ping >/dev/null 2>&1 && break 2
            kill -0 "$MY_PID" 2>/dev/null || break
            sleep 0.25
        done
        tries=$((tries + 1))
        if [ "$tries" -ge 5 ] || ! grep -q "Can't start server: Bind\|Address already in use" "$MY_DIR/error.log"; then
            cat "$MY_DIR/error.log" >&2
            return 1
        fi
        : > "$MY_DIR/error.log"
    done
    # Added to what the EXIT trap already does (the scratch folder, another server).
    local previous
    previous=$(trap -p EXIT | sed -e "s/^trap -- '//" -e "s/' EXIT\$//")
    trap "my_down; ${previous:-:}" EXIT
    MY_PASSWORD="pw-$RANDOM-$RANDOM"
    my_admin -e "CREATE DATABASE app; CREATE USER 'upkeep'@'%' IDENTIFIED BY '$MY_PASSWORD';
        GRANT ALL PRIVILEGES ON *.* TO 'upkeep'@'%'"
    MY_URL="mariadb://upkeep@127.0.0.1:$MY_PORT/app"
    MY_PASSFILE=$MY_DIR/password
    echo "$MY_PASSWORD" > "$MY_PASSFILE"
    chmod 600 "$MY_PASSFILE"
    export MY_URL MY_PASSWORD MY_PASSFILE MY_PORT MY_SOCK
}

my_admin() { mariadb --no-defaults --socket="$MY_SOCK" -uroot "$@"; }
my_app() { MYSQL_PWD=$MY_PASSWORD mariadb --no-defaults --protocol=TCP -h 127.0.0.1 -P "$MY_PORT" -u upkeep "$@"; }

my_down() {
    [ -n "${MY_DIR:-}" ] || return 0
    kill "$MY_PID" 2>/dev/null && wait "$MY_PID" 2>/dev/null || true
    rm -rf "$MY_DIR"
    MY_DIR=
}
