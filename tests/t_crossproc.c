/*
** Writes that run while another process writes the same file or
** decommissions the customer.
**
** Each step runs in its own child process, which loads the extension and
** opens the catalog itself, as a second program on the same root would.
** The fleet: Sapphire S1, and Opal P1, P2 and P3 under it.
*/
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Run zSql in a new process on an unbound connection. Returns 0 on
** success. */
static int adminRun(const char *zSql){
  pid_t pid = fork();
  int status = 0;
  if( pid==0 ){
    sqlite3 *db = 0;
    const char *zErr;
    tap_open(&db);
    zErr = tap_exec_error(db, zSql);
    if( zErr ) fprintf(stderr, "# %s: %s\n", zSql, zErr);
    sqlite3_close(db);
    _exit(zErr ? 1 : 0);
  }
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

/* Compare the first value of zSql, run in a new process on an unbound
** connection, with zExpected. Returns 0 when they are equal. */
static int adminIs(const char *zSql, const char *zExpected){
  pid_t pid = fork();
  if( pid==0 ){
    sqlite3 *db = 0;
    const char *z;
    tap_open(&db);
    z = tap_query_text(db, zSql);
    if( z==0 || strcmp(z, zExpected)!=0 ){
      fprintf(stderr, "# %s: %s\n", zSql, z ? z : "(error)");
      _exit(1);
    }
    _exit(0);
  }
  {
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
  }
}

/* Run zFirst as zCustomer, sleep nMs, then run zThen. The child exits
** with 0 when zThen ends as expected: successfully when zError is NULL,
** else failing with SQLITE_AUTH and the message zError. It exits with 1
** when zThen ends otherwise, 2 when the session does not open and 3 when
** zFirst fails. */
static void sessionMain(const char *zCustomer, const char *zFirst, int nMs,
                        const char *zThen, const char *zError){
  sqlite3 *dbLoad = 0;
  sqlite3 *db;
  char zTail[64];
  const char *zErr;
  int bExpected;
  tap_open(&dbLoad);
  snprintf(zTail, sizeof(zTail), "%s?vfs=tenant", zCustomer);
  db = tap_open_uri(zTail, 0, 0);
  if( db==0 ) _exit(2);
  if( zFirst && tap_exec_error(db, zFirst) ) _exit(3);
  usleep(nMs*1000);
  zErr = tap_exec_error(db, zThen);
  if( zError==0 ){
    bExpected = zErr==0;
  }else{
    bExpected = zErr && strcmp(zErr, zError)==0
             && sqlite3_errcode(db)==SQLITE_AUTH;
  }
  if( !bExpected ){
    fprintf(stderr, "# %s: %s (error code %d)\n", zThen,
            zErr ? zErr : "succeeded", sqlite3_errcode(db));
  }
  sqlite3_close(db);
  sqlite3_close(dbLoad);
  _exit(bExpected ? 0 : 1);
}

/* Count the rows that a new session of zCustomer finds in
** communications_data. The child exits with the count (at most 100), or
** 255 on error. */
static void countMain(const char *zCustomer){
  sqlite3 *dbLoad = 0;
  sqlite3 *db;
  char zTail[64];
  const char *zCount;
  tap_open(&dbLoad);
  snprintf(zTail, sizeof(zTail), "%s?vfs=tenant", zCustomer);
  db = tap_open_uri(zTail, 0, 0);
  if( db==0 ) _exit(255);
  zCount = tap_query_text(db, "SELECT min(count(*), 100) FROM "
                              "communications_data");
  _exit(zCount ? atoi(zCount) : 255);
}

/* Wait for child pid and return its exit status, or 255 when it did not
** exit. */
static int waitExit(pid_t pid){
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

/*
** 1. A new session whose first write is inside BEGIN waits for another
** process's write transaction, as an autocommit write does.
*/
static void testFirstWriteInTransaction(void){
  pid_t pHolder, pWriter;
  pHolder = fork();
  if( pHolder==0 ){
    sessionMain("P2", "BEGIN; INSERT INTO communications_data(id, data)"
                " VALUES('held', 'x')", 1500, "COMMIT", 0);
  }
  usleep(500*1000);
  pWriter = fork();
  if( pWriter==0 ){
    sessionMain("P1", 0, 0, "BEGIN; INSERT INTO communications_data(id,"
                " data) VALUES('first', 'x'); COMMIT", 0);
  }
  tap_is_int(waitExit(pWriter), 0, "begin: first write waits for lock");
  tap_is_int(waitExit(pHolder), 0, "begin: holder commits");
}

/*
** 2. A session that is open while another process decommissions its
** customer cannot write rows that the customer, provisioned again, then
** finds. The write comes soon after the session's last write and fails
** with the error of an inactive customer. The second run binds the
** session with TENANT_METER=off, which turns storage accounting off but
** not this check, so the write fails with the same error. That session's
** rows are not counted, but the decommission deletes them, so the new P3's
** stored usage must still equal its recomputed usage in both runs.
*/
static void testDecommissionElsewhere(int bMeterOff){
  static const char zInactive[] = "tenant: customer \"P3\" is no longer"
      " active in the catalog (decommissioned, or being provisioned again):"
      " close this session and open a new one";
  const char *zWhat = bMeterOff ? "metering off" : "metering on";
  pid_t pSession;
  pid_t pCount;
  int rc;

  rc = adminRun("SELECT tenant_provision('P3','opal','us-west1','S1')");
  tap_is_int(rc, 0, "decommission elsewhere: P3 provisioned");
  if( bMeterOff ) setenv("TENANT_METER", "off", 1);
  pSession = fork();
  if( pSession==0 ){
    sessionMain("P3", "INSERT INTO communications_data(id, data)"
                " VALUES('before', 'x')", 700, "INSERT INTO"
                " communications_data(id, data) VALUES('ghost', 'x')",
                zInactive);
  }
  usleep(300*1000);
  rc = adminRun("SELECT tenant_decommission('P3')");
  if( bMeterOff ) unsetenv("TENANT_METER");
  tap_is_int(rc, 0, "decommission elsewhere: P3 decommissioned");
  rc = waitExit(pSession)==0;
  if( !tap_ok(rc, "decommission elsewhere, %s: write fails", zWhat) ){
    tap_diag("the insert did not fail with the error of an inactive "
             "customer");
  }
  rc = adminRun("SELECT tenant_provision('P3','opal','us-west1','S1')");
  tap_is_int(rc, 0, "decommission elsewhere: P3 provisioned again");
  pCount = fork();
  if( pCount==0 ) countMain("P3");
  rc = waitExit(pCount)==0;
  if( !tap_ok(rc, "decommission elsewhere, %s: no old rows", zWhat) ){
    tap_diag("the new P3 finds rows written after the decommission");
  }
  rc = adminIs("SELECT difference FROM tenant_storage_check('P3')", "0");
  adminRun("SELECT tenant_decommission('P3')");
  if( !tap_ok(rc==0, "decommission elsewhere, %s: usage exact", zWhat) ){
    tap_diag("tenant_storage_check('P3') reports a difference");
  }
}

int main(void){
  tap_fresh_root("crossproc");
  tap_is_int(adminRun("SELECT tenant_provision('S1','sapphire','us-west1');"
                      "SELECT tenant_provision('P1','opal','us-west1','S1');"
                      "SELECT tenant_provision('P2','opal','us-west1','S1')"),
             0, "setup: fleet provisioned");
  testFirstWriteInTransaction();
  testDecommissionElsewhere(0);
  testDecommissionElsewhere(1);
  tap_done();
  return 0;
}
