/*
** The first write transaction of a bound connection, whose main database
** is an in-memory file, and logical partition names opened without a
** binding.
**
** A bound connection's main database and its rollback journal live in
** memory. BEGIN IMMEDIATE and BEGIN EXCLUSIVE start a write transaction on
** main too, and the first one writes page 1 of the empty main database,
** which opens its journal. COMMIT must then succeed, and a COMMIT that
** reports an error must leave no row of its transaction behind.
*/
#include "tap.h"

#include <stdio.h>
#include <string.h>

/* Provision Sapphire S1 and its Onyx child X1. */
static void testProvision(sqlite3 *dbAdmin){
  static const char *const azSetup[] = {
    "SELECT tenant_provision('S1','sapphire','us-west1')",
    "SELECT tenant_provision('X1','onyx','us-west1','S1')",
    0
  };
  int i;
  if( !tap_host_is_sqlcipher() ){
    tap_ok(tap_exec_error(dbAdmin,
        "SELECT tenant_policy_set('sapphire','encrypted',0);"
        "SELECT tenant_policy_set('onyx','encrypted',0);")==0,
        "setup: tiers marked unencrypted in the stock host");
  }
  for(i=0; azSetup[i]; i++){
    const char *zErr = tap_exec_error(dbAdmin, azSetup[i]);
    if( !tap_ok(zErr==0, "setup: %s", azSetup[i]) ) tap_diag("%s", zErr);
  }
}

/* An empty BEGIN zMode ... COMMIT as the first transaction of a session. */
static void testEmptyFirstCommit(const char *zCustomer, const char *zMode){
  char zUri[64], zSql[64];
  sqlite3 *db;
  const char *zErr;

  snprintf(zUri, sizeof(zUri), "%s?vfs=tenant", zCustomer);
  db = tap_open_uri(zUri, 0, 0);
  if( !tap_ok(db!=0, "empty %s: %s session opens", zMode, zCustomer) ){
    tap_skip(2, "no session");
    return;
  }
  snprintf(zSql, sizeof(zSql), "BEGIN %s", zMode);
  zErr = tap_exec_error(db, zSql);
  if( !tap_ok(zErr==0, "empty %s: %s starts", zMode, zSql) ){
    tap_diag("%s: %s", zSql, zErr);
  }
  zErr = tap_exec_error(db, "COMMIT");
  if( !tap_ok(zErr==0, "empty %s: COMMIT succeeds", zMode) ){
    tap_diag("COMMIT: %s (extended code %d)", zErr,
             sqlite3_extended_errcode(db));
  }
  sqlite3_close(db);
}

/* An insert in BEGIN zMode ... COMMIT as the first transaction: the
** COMMIT succeeds, and its result agrees with whether the row exists. */
static void testInsertFirstCommit(const char *zMode, const char *zId){
  static const char zTable[] = "communications_data";
  char zSql[256];
  sqlite3 *db;
  const char *zErr;
  const char *zCount;
  int bCommitted;

  db = tap_open_uri("S1?vfs=tenant", 0, 0);
  if( !tap_ok(db!=0, "insert %s: S1 session opens", zMode) ){
    tap_skip(3, "no session");
    return;
  }
  snprintf(zSql, sizeof(zSql), "BEGIN %s; INSERT INTO %s(id, data) "
           "VALUES('%s', 'first')", zMode, zTable, zId);
  zErr = tap_exec_error(db, zSql);
  if( !tap_ok(zErr==0, "insert %s: insert in transaction", zMode) ){
    tap_diag("%s", zErr);
  }
  zErr = tap_exec_error(db, "COMMIT");
  bCommitted = zErr==0;
  if( !tap_ok(bCommitted, "insert %s: COMMIT succeeds", zMode) ){
    tap_diag("COMMIT: %s (extended code %d)", zErr,
             sqlite3_extended_errcode(db));
    tap_exec_error(db, "ROLLBACK");
  }
  sqlite3_close(db);

  db = tap_open_uri("S1?vfs=tenant", 0, 0);
  snprintf(zSql, sizeof(zSql), "SELECT count(*) FROM %s WHERE id='%s'",
           zTable, zId);
  zCount = db ? tap_query_text(db, zSql) : 0;
  tap_is_str(zCount, bCommitted ? "1" : "0",
             "insert: row kept only if COMMIT succeeded");
  sqlite3_close(db);
}

/*
** BEGIN IMMEDIATE in a session that also reaches read-only partitions.
** SQLite 3.15.2, in the SQLCipher host, starts a write transaction on every
** attached database, including those attached with mode=ro, and fails.
*/
static void testReadOnlyPartitions(void){
  sqlite3 *db = tap_open_uri("X1?vfs=tenant", 0, 0);
  const char *zErr = db ? tap_exec_error(db, "BEGIN IMMEDIATE") : "no session";
  if( tap_host_is_sqlcipher() ){
    tap_todo(zErr==0, "SQLite 3.15.2 does not skip read-only attachments",
             "read-only: BEGIN IMMEDIATE in an Onyx session");
  }else{
    tap_ok(zErr==0, "read-only: BEGIN IMMEDIATE in an Onyx session");
  }
  if( zErr ) tap_diag("BEGIN IMMEDIATE: %s", zErr);
  if( db && zErr==0 ){
    zErr = tap_exec_error(db, "INSERT INTO basic_communications(id, data) "
                              "VALUES('x1-immediate', 'first'); COMMIT");
  }
  if( tap_host_is_sqlcipher() ){
    tap_todo(zErr==0, "SQLite 3.15.2 does not skip read-only attachments",
             "read-only: insert and COMMIT in an Onyx session");
  }else{
    tap_ok(zErr==0, "read-only: insert and COMMIT in an Onyx session");
  }
  sqlite3_close(db);
}

/* A logical partition name with a guessed binding token does not open,
** from a connection of the same process that is not binding. */
static void testGuessedToken(void){
  static const char *const azName[] = {
    "file:X1/basic_communications@00000000000000000000000000000000"
        "?vfs=tenant",
    "file:X1/basic_communications@00000000000000000000000000000000"
        "?vfs=tenant&bind=00000000000000000000000000000000",
    "file:X1/basic_communications?vfs=tenant",
    0
  };
  int i;
  for(i=0; azName[i]; i++){
    sqlite3 *db = 0;
    int rc = sqlite3_open_v2(azName[i], &db,
                             SQLITE_OPEN_READWRITE|SQLITE_OPEN_URI, 0);
    if( !tap_is_int(rc, SQLITE_CANTOPEN, "token: guessed name is rejected") ){
      tap_diag("%s", azName[i]);
    }
    sqlite3_close(db);
  }
}

int main(void){
  sqlite3 *dbAdmin;
  tap_fresh_root("session-commit");
  tap_open(&dbAdmin);
  testProvision(dbAdmin);
  testEmptyFirstCommit("S1", "IMMEDIATE");
  testEmptyFirstCommit("S1", "EXCLUSIVE");
  testInsertFirstCommit("IMMEDIATE", "s1-immediate");
  testInsertFirstCommit("EXCLUSIVE", "s1-exclusive");
  testReadOnlyPartitions();
  testGuessedToken();
  sqlite3_close(dbAdmin);
  tap_done();
  return 0;
}
