/* MariaDB's maintenance and reports: vacuum jobs (OPTIMIZE and ANALYZE TABLE), integrity
 * jobs (CHECK TABLE, foreign keys), the slow-query report and the index analysis. The
 * driver's entries for DB_FEAT_MAINTENANCE and the reports (db_driver.h). */
#ifndef UK_MY_MAINTAIN_H
#define UK_MY_MAINTAIN_H

#include "db/db.h"

int my_maintain(const ConfigDatabase *db, const DbMaintainRequest *req, DbMaintainResult *res,
                UkError *err);
int my_check_live(const ConfigDatabase *db, const char *check, char *result, size_t len,
                  UkError *err);
int my_slow_queries(const ConfigDatabase *db, double min_mean_ms, size_t top, DbQueryReport *out,
                    UkError *err);
int my_analyze_indexes(const ConfigDatabase *db, bool apply, DbIndexReport *out, UkError *err);

#endif
