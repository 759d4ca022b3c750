# Sample data for accounting.conf: companies, vouchers and a year of logs (Unix seconds).
sqlite3 data/accounting.db "
  CREATE TABLE companies(id INTEGER PRIMARY KEY, name TEXT);
  CREATE TABLE vouchers(id INTEGER PRIMARY KEY, company_id INTEGER REFERENCES companies(id),
    amount_cents INTEGER, booked_on TEXT);
  CREATE TABLE logs(id INTEGER PRIMARY KEY, created_at INTEGER, message TEXT);
  WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 20)
  INSERT INTO companies SELECT i, 'Company ' || i FROM c;
  WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 5000)
  INSERT INTO vouchers SELECT i, 1 + i % 20, i * 137 % 100000, date('now', '-' || (i % 365) || ' days') FROM c;
  WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 20000)
  INSERT INTO logs SELECT i, unixepoch() - (i % 365) * 86400, 'voucher ' || i || ' posted by clerk' FROM c;"
