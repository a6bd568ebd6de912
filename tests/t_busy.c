/*
** Writers of one shared file wait for each other's write lock, up to the
** session's busy timeout, instead of failing with SQLITE_BUSY.
**
** Two processes write the same Opal database as customers P1 and P2, with
** metering and storage limits on: inserts, updates of a row found by its
** key and deletes, one statement each. SQLite calls no busy handler for a
** connection that holds a read transaction and then requests the write
** lock. So a statement through an isolation table must take the write lock
** before it reads the file (its scan, its storage check).
*/
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define BUSY_ROWS 150   /* statements of each kind per writer */

/* The fleet: Sapphire S1, and Opal P1 and P2 that share its Opal file. */
static void testSetup(sqlite3 *dbAdmin){
  static const char *const azSetup[] = {
    "SELECT tenant_provision('S1','sapphire','us-west1')",
    "SELECT tenant_provision('P1','opal','us-west1','S1')",
    "SELECT tenant_provision('P2','opal','us-west1','S1')",
    0
  };
  int i;
  for(i=0; azSetup[i]; i++){
    const char *zErr = tap_exec_error(dbAdmin, azSetup[i]);
    if( !tap_ok(zErr==0, "setup: %s", azSetup[i]) ) tap_diag("%s", zErr);
  }
}

/* Run zSql; count a failure in *pnFail and print its first message. */
static void writeOne(sqlite3 *db, const char *zSql, int *pnFail){
  if( sqlite3_exec(db, zSql, 0, 0, 0)==SQLITE_OK ) return;
  if( *pnFail==0 ){
    fprintf(stderr, "# %s: %s\n", zSql, sqlite3_errmsg(db));
  }
  if( *pnFail<254 ) (*pnFail)++;
}

/* Child: write as zCustomer and exit with the number of failed
** statements (at most 254). */
static void writerMain(const char *zCustomer){
  sqlite3 *dbLoad = 0;
  sqlite3 *db;
  char zTail[64];
  char zSql[200];
  int nFail = 0;
  int i;

  tap_open(&dbLoad);
  snprintf(zTail, sizeof(zTail), "%s?vfs=tenant", zCustomer);
  db = tap_open_uri(zTail, 0, 0);
  if( db==0 ) _exit(255);
  for(i=0; i<BUSY_ROWS; i++){
    snprintf(zSql, sizeof(zSql), "INSERT INTO communications_data(id, data)"
             " VALUES('%s-%d', 'row')", zCustomer, i);
    writeOne(db, zSql, &nFail);
  }
  for(i=0; i<BUSY_ROWS; i++){
    snprintf(zSql, sizeof(zSql), "UPDATE communications_data SET"
             " data=data||'+' WHERE id='%s-%d'", zCustomer, i);
    writeOne(db, zSql, &nFail);
  }
  for(i=0; i<BUSY_ROWS; i++){
    snprintf(zSql, sizeof(zSql), "DELETE FROM communications_data"
             " WHERE id='%s-%d'", zCustomer, i);
    writeOne(db, zSql, &nFail);
  }
  sqlite3_close(db);
  sqlite3_close(dbLoad);
  _exit(nFail);
}

/* 1. Both writers finish every statement, and the stored usage of each
** matches a recomputation. */
static void testTwoWriters(sqlite3 *dbAdmin){
  static const char *const azCustomer[] = { "P1", "P2" };
  pid_t aPid[2];
  int i;

  for(i=0; i<2; i++){
    aPid[i] = fork();
    if( aPid[i]==0 ) writerMain(azCustomer[i]);
  }
  for(i=0; i<2; i++){
    int status = 0;
    waitpid(aPid[i], &status, 0);
    if( !tap_ok(WIFEXITED(status) && WEXITSTATUS(status)==0,
                "writers: %s finished every statement", azCustomer[i]) ){
      tap_diag("%d of %d statements failed", WIFEXITED(status)
               ? WEXITSTATUS(status) : -1, 3*BUSY_ROWS);
    }
  }
  for(i=0; i<2; i++){
    char zSql[128];
    snprintf(zSql, sizeof(zSql), "SELECT stored_bytes||'|'||difference FROM"
             " tenant_storage_check('%s')", azCustomer[i]);
    tap_is_str(tap_query_text(dbAdmin, zSql), "0|0",
               i==0 ? "writers: usage of P1 exact and empty"
                    : "writers: usage of P2 exact and empty");
  }
}

/*
** A write inside BEGIN after the transaction has read the file, while
** another connection committed to it, fails as a plain SQLite write does:
** SQLITE_BUSY, with SQLITE_BUSY_SNAPSHOT as its extended code, which directs
** the application to roll back rather than retry. Run both with and
** without extended result codes turned on.
*/
static void testBusySnapshot(int bExtended){
  const char *zMode = bExtended ? "extended codes" : "primary codes";
  sqlite3 *dbReader = tap_open_uri("P1?vfs=tenant", 0, 0);
  sqlite3 *dbWriter = tap_open_uri("P2?vfs=tenant", 0, 0);
  int rc;

  if( !tap_ok(dbReader!=0 && dbWriter!=0, "snapshot, %s: sessions open",
              zMode) ){
    sqlite3_close(dbReader);
    sqlite3_close(dbWriter);
    return;
  }
  sqlite3_extended_result_codes(dbReader, bExtended);
  sqlite3_busy_timeout(dbReader, 100);
  tap_ok(tap_exec_error(dbReader, "BEGIN; SELECT count(*) FROM"
                                  " communications_data")==0,
         "snapshot, %s: reader reads inside BEGIN", zMode);
  tap_ok(tap_exec_error(dbWriter, "INSERT INTO communications_data(id)"
                                  " VALUES('snap')")==0,
         "snapshot, %s: other customer commits", zMode);
  rc = sqlite3_exec(dbReader, "INSERT INTO communications_data(id)"
                              " VALUES('late')", 0, 0, 0);
  tap_ok(rc==(bExtended ? SQLITE_BUSY_SNAPSHOT : SQLITE_BUSY),
         "snapshot, %s: write fails with code %d", zMode, rc);
  tap_ok(sqlite3_extended_errcode(dbReader)==SQLITE_BUSY_SNAPSHOT,
         "snapshot, %s: extended code is SQLITE_BUSY_SNAPSHOT, got %d",
         zMode, sqlite3_extended_errcode(dbReader));
  tap_ok(tap_exec_error(dbReader, "ROLLBACK")==0,
         "snapshot, %s: reader rolls back", zMode);
  tap_ok(tap_exec_error(dbWriter, "DELETE FROM communications_data")==0,
         "snapshot, %s: other customer's row deleted", zMode);
  sqlite3_close(dbReader);
  sqlite3_close(dbWriter);
}

int main(void){
  sqlite3 *dbAdmin = 0;
  tap_fresh_root("busy");
  tap_open(&dbAdmin);
  testSetup(dbAdmin);
  testTwoWriters(dbAdmin);
  testBusySnapshot(0);
  testBusySnapshot(1);
  sqlite3_close(dbAdmin);
  tap_done();
  return 0;
}
