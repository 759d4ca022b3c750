# Sample data for print-service.conf: print jobs in every status, each with its upload.
sqlite3 data/prints.db "
  CREATE TABLE print_jobs(id INTEGER PRIMARY KEY, status TEXT, file TEXT, created_at TEXT);
  WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 600)
  INSERT INTO print_jobs SELECT i,
    CASE i % 3 WHEN 0 THEN 'UPLOADED' WHEN 1 THEN 'COMPLETED' ELSE 'PRINTING' END,
    CASE i % 3 WHEN 0 THEN 'uploaded/' WHEN 1 THEN 'completed/' ELSE 'printing/' END || i || '.stl',
    datetime('now', '-' || (i % 90) || ' days') FROM c;"
sqlite3 data/prints.db "SELECT file FROM print_jobs" |
    while read -r f; do mkdir -p "uploads/$(dirname "$f")"; echo solid > "uploads/$f"; done
# Slicer leftovers: temporary files, some of them days old, and orphaned uploads no job names.
for i in 1 2 3; do echo part > "uploads/printing/slice-$i.tmp"; touch -d '3 days ago' "uploads/printing/slice-$i.tmp"; done
echo part > uploads/printing/slice-now.tmp
echo solid > uploads/uploaded/orphan.stl && touch -d '30 days ago' uploads/uploaded/orphan.stl
touch -d '30 days ago' uploads/uploaded/3.stl # old, but its job still names it
