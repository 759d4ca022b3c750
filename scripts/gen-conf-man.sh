#!/bin/sh
# Builds upkeep.conf(5): the hand-written page with the key reference, generated from the
# program's own key table, in place of @KEYS@. Usage: gen-conf-man.sh UPKEEP TEMPLATE SCDOC
set -eu
keys=$(mktemp)
trap 'rm -f "$keys"' EXIT
"$1" check --keys=scdoc > "$keys"
awk -v keys="$keys" '$0 == "@KEYS@" { while ((getline line < keys) > 0) print line; next } { print }' "$2" | "$3"
