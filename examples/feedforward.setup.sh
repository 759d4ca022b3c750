# Sample data for feedforward.conf: the generated application database, and the backups' key.
"$UPKEEP" key generate backup.key >/dev/null
"$GENDB" data/feedforward.db --size-mb 3 >/dev/null
# Uploaded files and the application's configuration, backed up with the database.
mkdir -p uploads/2026/11 config
head -c 200000 /dev/urandom > uploads/2026/11/essay-1.pdf
head -c 50000 /dev/urandom > uploads/2026/11/essay-2.pdf
echo "partial" > uploads/2026/11/upload.tmp
printf '[app]\nsecret_key_file = /etc/feedforward/secret\n' > config/app.ini
# The application's logs: one big enough to rotate, one too small.
mkdir -p logs
seq 1 5000 | sed 's/^/request /' > logs/app.log
echo "started" > logs/worker.log
