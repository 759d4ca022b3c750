#!/bin/bash
# Every example config is valid and its jobs run end to end against a generated database.
source "$(dirname "$0")/lib.sh"
EXAMPLES=${EXAMPLES:?}
n=0
for example in "$EXAMPLES"/*.conf; do
    name=$(basename "$example" .conf)
    mkdir "$name" && cd "$name"
    cp "$example" upkeep.conf
    # Each example names its database files as sqlite://data/NAME.db.
    for db in $(sed -n 's|^url = sqlite://data/\(.*\)$|\1|p' upkeep.conf); do
        mkdir -p data
        "$GENDB" "data/$db" --size-mb 3 >/dev/null
    done
    expect_status 0 "$UPKEEP" check
    expect_status 0 env FLASK_ENV=production "$UPKEEP" run --all
    expect_status 0 "$UPKEEP" verify --all
    cd ..
    n=$((n + 1))
    pass "example $name"
done
[ "$n" -ge 1 ] || fail "no examples found in $EXAMPLES"
