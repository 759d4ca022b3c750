# Sample data for car-repair.conf: a PostgreSQL server of the test's own (the config's url
# and password file are pointed at it) with the shop's tables, and the application's logs,
# one of them empty.
source "$helpers/../services/postgresql.sh"
pg_up
pg_app -d app -c "CREATE TABLE customers(id serial PRIMARY KEY, name text, phone text);
    CREATE TABLE vehicles(id serial PRIMARY KEY, customer int REFERENCES customers(id),
        vin text UNIQUE, model text, for_sale boolean DEFAULT false, price numeric(10, 2));
    CREATE TABLE repair_orders(id serial PRIMARY KEY, vehicle int REFERENCES vehicles(id),
        opened timestamptz DEFAULT now(), closed timestamptz, notes text);
    INSERT INTO customers(name, phone) SELECT 'Customer ' || i, '+49 30 ' || (100000 + i)
        FROM generate_series(1, 500) i;
    INSERT INTO vehicles(customer, vin, model, for_sale, price) SELECT 1 + i % 500,
        'WVW' || lpad(i::text, 14, '0'), (ARRAY['Golf', 'Passat', 'Polo'])[1 + i % 3],
        i % 10 = 0, 5000 + i * 10 FROM generate_series(1, 800) i;
    INSERT INTO repair_orders(vehicle, opened, notes) SELECT 1 + i % 800,
        now() - (i % 400) * interval '1 day', 'brake pads, oil ' || i
        FROM generate_series(1, 3000) i;
    CREATE TABLE repair_photos(id serial PRIMARY KEY, repair_order int, path text,
        uploaded_at timestamptz DEFAULT now() - interval '2 days');
    INSERT INTO repair_photos(repair_order, path) SELECT i, 'orders/' || i || '.jpg'
        FROM generate_series(2991, 3010) i;
    CREATE TABLE temp_quotes(id serial PRIMARY KEY, created_at timestamptz, body text);
    INSERT INTO temp_quotes(created_at, body) SELECT now() - i * interval '1 day' + interval '1 hour',
        'quote ' || i
        FROM generate_series(1, 60) i;
    CREATE TABLE audit_log(id bigserial PRIMARY KEY, at timestamptz, action text);
    INSERT INTO audit_log(at, action) SELECT now() - i * interval '1 day' + interval '1 hour',
        'login ' || i
        FROM generate_series(1, 200) i;
    CREATE TABLE users(id serial PRIMARY KEY, email text, last_login timestamptz,
        active boolean DEFAULT true);
    INSERT INTO users(email, last_login) SELECT 'mechanic' || i || '@example.com',
        now() - i * interval '10 days' + interval '1 hour' FROM generate_series(1, 20) i;" >/dev/null
# The slow-query report reads pg_stat_statements (loaded by the server; created by a superuser).
pg_admin -d app -c "CREATE EXTENSION pg_stat_statements" >/dev/null
mkdir -p photos/orders
for i in $(seq 2991 3010); do echo "jpeg $i" > "photos/orders/$i.jpg"; done
sed -i -e "s|^url = postgresql://.*|url = $PG_URL|" upkeep.conf
cp "$PG_PASSFILE" shop.password
mkdir -p logs
seq 1 2000 | sed 's/^/GET \/cars\//' > logs/access.log
echo "worker started" > logs/worker.log
: > logs/mail.log
