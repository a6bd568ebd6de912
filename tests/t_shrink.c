/*
** The VFS codec after a database shrinks within one lock span.
**
** SQLite skips writing a free page whose content no longer matters, which
** leaves a gap in the file, and the VFS codec fills such gaps with
** encrypted pages. With PRAGMA locking_mode=EXCLUSIVE the file lock does
** not change between transactions, so the file size the codec remembers
** for one lock span outlives a VACUUM that shrinks the file. The gap a
** later transaction leaves past the new end must still be filled: a page
** of zeros inside an encrypted file is reported as damage.
**
** Runs in the stock host only, because the VFS codec is off under
** SQLCipher.
*/
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECKS_PER_MODE 7

static const char *zRoot;

/* Build the check name "shrink <mode>: <what>" in a static buffer. */
static const char *checkName(const char *zLocking, const char *zWhat){
  static char zName[128];
  snprintf(zName, sizeof(zName), "shrink %s: %s", zLocking, zWhat);
  return zName;
}

/* Open zPath through the VFS codec, creating it when missing. */
static sqlite3 *openCodec(const char *zPath){
  char zUri[1300];
  sqlite3 *db = 0;
  snprintf(zUri, sizeof(zUri), "file:%s?vfs=tenant&codec=vfs", zPath);
  if( sqlite3_open_v2(zUri, &db, SQLITE_OPEN_READWRITE|SQLITE_OPEN_CREATE
                      |SQLITE_OPEN_URI, 0)!=SQLITE_OK ){
    tap_diag("cannot open %s: %s", zPath, sqlite3_errmsg(db));
    sqlite3_close(db);
    return 0;
  }
  return db;
}

/* Copy every page of db with the backup API and return its result code,
** SQLITE_DONE when every page reads back. */
static int backupAllPages(sqlite3 *db){
  sqlite3 *dbCopy = 0;
  sqlite3_backup *pBackup;
  int rc;
  sqlite3_open(":memory:", &dbCopy);
  pBackup = sqlite3_backup_init(dbCopy, "main", db, "main");
  rc = pBackup ? sqlite3_backup_step(pBackup, -1) : SQLITE_ERROR;
  sqlite3_backup_finish(pBackup);
  sqlite3_close(dbCopy);
  return rc;
}

/*
** Shrink a file with VACUUM, then in one transaction grow two tables and
** empty the first, so that the file grows again with free pages SQLite
** does not write. zLocking is the PRAGMA locking_mode to use.
*/
static void testShrinkThenGap(const char *zLocking){
  char zDb[1200], zCmd[1300], zSql[128];
  sqlite3 *db;
  int nReserve = 48;
  int rc;

  snprintf(zCmd, sizeof(zCmd), "mkdir -p '%s/shrink/d-%s'", zRoot, zLocking);
  snprintf(zDb, sizeof(zDb), "%s/shrink/d-%s/owner.db", zRoot, zLocking);
  if( system(zCmd)!=0 || (db = openCodec(zDb))==0 ){
    tap_skip(CHECKS_PER_MODE, "cannot create the file");
    return;
  }
  sqlite3_exec(db, "PRAGMA page_size=1024", 0, 0, 0);
  /* Debian builds SQLite with secure_delete on, which writes freed pages
  ** as zeros instead of skipping them. */
  sqlite3_exec(db, "PRAGMA secure_delete=0", 0, 0, 0);
#ifdef SQLITE_FCNTL_RESERVE_BYTES
  sqlite3_file_control(db, "main", SQLITE_FCNTL_RESERVE_BYTES, &nReserve);
#else
  (void)nReserve;
#endif
  snprintf(zSql, sizeof(zSql), "PRAGMA locking_mode=%s", zLocking);
  sqlite3_exec(db, zSql, 0, 0, 0);

  rc = sqlite3_exec(db, "CREATE TABLE t(x); CREATE TABLE u(y);"
      "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c"
      " WHERE i<200) INSERT INTO t SELECT randomblob(900) FROM c;", 0, 0, 0);
  tap_is_int(rc, SQLITE_OK, checkName(zLocking, "fill 200 pages"));
  rc = sqlite3_exec(db, "DELETE FROM t; VACUUM;", 0, 0, 0);
  tap_is_int(rc, SQLITE_OK, checkName(zLocking, "VACUUM shrinks the file"));
  tap_is_str(tap_query_text(db, "SELECT page_count<10 FROM pragma_page_count"),
             "1", checkName(zLocking, "few pages after VACUUM"));

  /* In one transaction: t grows, u grows after it, t is emptied. */
  rc = sqlite3_exec(db, "BEGIN;"
                    "INSERT INTO t VALUES(randomblob(20000));"
                    "INSERT INTO u VALUES(randomblob(20000));"
                    "DELETE FROM t;"
                    "COMMIT;", 0, 0, 0);
  tap_is_int(rc, SQLITE_OK,
             checkName(zLocking, "grow and free in one transaction"));
  tap_ok(!tap_file_has_blank_page(zDb, 1024),
         "shrink %s: no page of the file is zeros", zLocking);
  sqlite3_close(db);

  /* The backup API reads the free pages too, from a fresh connection so
  ** that they come from the file. */
  db = openCodec(zDb);
  tap_is_int(db ? backupAllPages(db) : SQLITE_ERROR, SQLITE_DONE,
             checkName(zLocking, "every page of the file reads back"));
  tap_is_str(db ? tap_query_text(db, "PRAGMA integrity_check") : 0, "ok",
             checkName(zLocking, "integrity_check after reopening"));
  sqlite3_close(db);
}

int main(void){
  sqlite3 *db;

  sqlite3_config(SQLITE_CONFIG_URI, 1);
  tap_open(&db);
  zRoot = tap_fresh_root("codec-shrink");
  if( tap_host_is_sqlcipher() ){
    tap_skip(2*CHECKS_PER_MODE, "the VFS codec runs only in hosts without "
             "SQLCipher");
  }else{
    testShrinkThenGap("normal");
    testShrinkThenGap("exclusive");
  }
  sqlite3_close(db);
  tap_done();
  return 0;
}
