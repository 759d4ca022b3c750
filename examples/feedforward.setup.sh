# Sample data for feedforward.conf: the generated application database.
"$GENDB" data/feedforward.db --size-mb 3 >/dev/null
