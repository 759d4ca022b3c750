# Sample data for training-form-mariadb.conf: a MariaDB server of the test's own (the
# config's url and password file are pointed at it) with the forms table, some of it
# soft-deleted up to 400 days ago, and a file for every attachment.
source "$helpers/../services/mariadb.sh"
my_up
my_app app -e "CREATE TABLE forms(id INT AUTO_INCREMENT PRIMARY KEY, title VARCHAR(200) NOT NULL,
        body TEXT, created_at DATETIME NOT NULL, deleted_at DATETIME NULL,
        attachment_path VARCHAR(255), KEY (deleted_at));
    INSERT INTO forms(title, body, created_at, deleted_at, attachment_path)
        SELECT CONCAT('Training form ', seq), REPEAT('answer ', 20), NOW() - INTERVAL 500 DAY,
        IF(seq % 3 = 0, NOW() - INTERVAL (seq % 400) DAY, NULL),
        IF(seq % 2 = 0, CONCAT('forms/', seq % 50, '/', seq, '.pdf'), NULL) FROM seq_1_to_3000"
my_app -N app -e "SELECT attachment_path FROM forms WHERE attachment_path IS NOT NULL" |
    while read -r f; do mkdir -p "uploads/$(dirname "$f")"; : > "uploads/$f"; done
sed -i -e "s|^url = mariadb://.*|url = $MY_URL|" upkeep.conf
cp "$MY_PASSFILE" forms.password
