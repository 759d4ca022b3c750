# Sample data for feedforward.conf: the generated application database, and the backups' key.
"$UPKEEP" key generate backup.key >/dev/null
"$GENDB" data/feedforward.db --size-mb 3 >/dev/null
# The application's logs: one big enough to rotate, one too small.
mkdir -p logs
seq 1 5000 | sed 's/^/request /' > logs/app.log
echo "started" > logs/worker.log
