/*
** Storage measurement of encrypted placements: the administrative reports
** open a shared file with its key in the SQLCipher host and through the
** VFS codec in a host without a codec, so they work in both.
*/
#include "tap.h"

#include <string.h>

int main(void){
  sqlite3 *dbAdmin, *db;

  tap_fresh_root("measure");
  tap_open(&dbAdmin);
  tap_is_str(tap_exec_error(dbAdmin,
      "SELECT tenant_provision('S1','sapphire','us-west1');"
      "SELECT tenant_provision('X1','onyx','us-west1','S1');"), 0,
      "setup: encrypted fleet provisioned");

  db = tap_open_uri("X1?vfs=tenant", 0, 0);
  tap_is_str(tap_exec_error(db, "INSERT INTO basic_communications(id,data) "
      "VALUES('a','abc'),('b','defgh')"), 0, "setup: X1 writes two rows");
  sqlite3_close(db);

  tap_is_str(tap_query_text(dbAdmin, "SELECT stored_bytes>0 AND difference=0"
      " FROM tenant_storage_check('X1')"), "1",
      "check: stored usage of an encrypted file matches the recount");
  tap_is_str(tap_query_text(dbAdmin, "SELECT error FROM "
      "tenant_storage_check('X1')"), 0, "check: no error");
  tap_is_str(tap_query_text(dbAdmin, "SELECT tenant_storage_repair('X1')"),
      "0", "repair: nothing to correct");
  tap_is_str(tap_query_text(dbAdmin, "SELECT storage_bytes>0 FROM "
      "tenant_usage_report WHERE customer='X1'"), "1",
      "report: usage of an encrypted shared file");
  sqlite3_close(dbAdmin);
  tap_done();
  return 0;
}
