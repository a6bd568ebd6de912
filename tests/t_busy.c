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

int main(void){
  sqlite3 *dbAdmin = 0;
  tap_fresh_root("busy");
  tap_open(&dbAdmin);
  testSetup(dbAdmin);
  testTwoWriters(dbAdmin);
  sqlite3_close(dbAdmin);
  tap_done();
  return 0;
}
