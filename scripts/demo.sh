#!/bin/bash
# `make run`: a guided tour on a generated application database. Everything happens in
# BUILD/demo; run it again to start over.
set -euo pipefail
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$top/$build:$PATH"
upkeep=upkeep
gendb="$top/$build/test/upkeep-gendb"
demo="$top/$build/demo"
rm -rf "$demo"
mkdir -p "$demo"
cd "$demo"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

say "A demo application database: users, forms (some soft-deleted, with attachments), two years of audit logs"
"$gendb" app.db --size-mb 100 --seed 7

cat > upkeep.conf <<'CONF'
# The demo's configuration: one SQLite database, one local repository, one nightly job.
[upkeep]
state = state/state.db

[database app]
url = sqlite://app.db

[repository local]
url = file://backups
compression = zstd:3
keep_daily = 7
keep_weekly = 4
keep_monthly = 12
keep_tag = pre-update

[job nightly-backup]
task = backup
database = app
repository = local
schedule = 0 3 * * *
verify = yes
CONF
say "The configuration (upkeep.conf), checked"
cat upkeep.conf
show "$upkeep" check

say "Run the nightly job now: a consistent backup of the live database, retention, then proof that it restores"
show "$upkeep" run nightly-backup

say "The application changes about 1% of its rows"
"$gendb" app.db --mutate 1 --seed 8

say "A second backup stores only the pages that changed"
show "$upkeep" backup app --tag pre-update

say "Every backup: its full size, the new bytes it added, and when it was last proven restorable"
show "$upkeep" backups

say "Prove the newest backup restorable: every chunk's hash, the whole image, SQLite's integrity check"
show "$upkeep" verify latest

say "Restore it to a new file (it appears only after its checks passed)"
show "$upkeep" restore latest --database app --to restored.db
printf 'rows in restored forms table: %s (live database: %s)\n' \
    "$(sqlite3 restored.db 'SELECT count(*) FROM forms')" "$(sqlite3 app.db 'SELECT count(*) FROM forms')"

say "What retention would keep or remove, and why (nothing is removed with --dry-run)"
show "$upkeep" prune --dry-run

say "Status of the jobs: the next scheduled run of each, and whether the scheduler runs"
show "$upkeep" status

say "A job at 02:30 in Berlin when clocks go forward (02:30 does not exist on 28 March: it runs once, at 03:00)"
show "$upkeep" calendar '30 2 * * *' --tz Europe/Berlin --from 2027-03-26T12:00:00+01:00 --count 3

say "Put the scheduler in place: what 'upkeep install systemd' would write"
show "$upkeep" install systemd --dry-run

printf '\nEverything above lives in %s. Next: README.md, "upkeep --help", man upkeep.\n' "$demo"
