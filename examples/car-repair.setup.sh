# Sample data for car-repair.conf: the application's logs, one of them empty.
mkdir -p logs
seq 1 2000 | sed 's/^/GET \/cars\//' > logs/access.log
echo "worker started" > logs/worker.log
: > logs/mail.log
