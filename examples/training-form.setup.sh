# Sample data for training-form.conf: the generated application database (forms with
# deleted_at and attachment_path) and a file for every attachment.
"$GENDB" data/forms.db --size-mb 3 >/dev/null
sqlite3 data/forms.db "UPDATE forms SET deleted_at = datetime('now', '-' || (id % 400) || ' days')
    WHERE deleted_at IS NOT NULL"
sqlite3 data/forms.db "SELECT attachment_path FROM forms WHERE attachment_path IS NOT NULL" |
    while read -r f; do mkdir -p "uploads/$(dirname "$f")"; : > "uploads/$f"; done
