/*
** Tests of API call metering: statements counted per session, flushed to
** the catalog every N statements, after T seconds and at close; the
** extension's own statements not counted; TENANT_METER=off, and the check
** of an inactive customer that it keeps, also after the customer's id is
** provisioned again; what a crash loses.
**
** The flush interval is TENANT_METER_FLUSH_STATEMENTS=5 here, read when a
** session binds. A case that must crash runs this program again with the
** worker argument "crash".
*/
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static sqlite3 *openSession(const char *zCustomer){
  char zTail[256];
  sqlite3 *db;
  snprintf(zTail, sizeof(zTail), "%s?vfs=tenant", zCustomer);
  db = tap_open_uri(zTail, 0, 0);
  return db;
}

/* API calls of zCustomer this month in the catalog, as text. */
static const char *callsOf(sqlite3 *dbAdmin, const char *zCustomer){
  char zSql[256];
  snprintf(zSql, sizeof(zSql), "SELECT api_calls_month FROM "
           "tenant_usage_report WHERE customer='%s'", zCustomer);
  return tap_query_text(dbAdmin, zSql);
}

/* Run n statements in a session. */
static void runStatements(sqlite3 *db, int n){
  int i;
  for(i=0; i<n; i++) sqlite3_exec(db, "SELECT 1", 0, 0, 0);
}

/* Worker "crash C": 7 statements, then a crash without closing. */
static int workerMain(char **argv){
  sqlite3 *dbLoad = 0;
  sqlite3 *db;
  tap_open(&dbLoad);
  db = openSession(argv[2]);
  if( db==0 ) return 2;
  runStatements(db, 7);
  abort();
}

/* 1. The fleet. */
static void testSetup(sqlite3 *dbAdmin){
  static const char *const azSetup[] = {
    "SELECT tenant_policy_set('sapphire','encrypted',0)",
    "SELECT tenant_policy_set('opal','encrypted',0)",
    "SELECT tenant_policy_set('onyx','encrypted',0)",
    "SELECT tenant_provision('S','sapphire','us-west1')",
    "SELECT tenant_provision('X','onyx','us-west1','S')",
    "SELECT tenant_provision('Y','onyx','us-west1','S')",
    "SELECT tenant_provision('Z','onyx','us-west1','S')",
    "SELECT tenant_add_agent('X','a1')",
    "SELECT tenant_add_agent('X','a2')",
    "SELECT tenant_add_agent('X','a3')",
    0
  };
  int i;
  for(i=0; azSetup[i]; i++){
    const char *zErr = tap_exec_error(dbAdmin, azSetup[i]);
    if( !tap_ok(zErr==0, "setup: %s", azSetup[i]) ) tap_diag("%s", zErr);
  }
}

/* 2. Flushes every 5 statements and at close; internal statements of the
** isolation tables are not counted. */
static void testCount(sqlite3 *dbAdmin){
  sqlite3 *db = openSession("X");
  tap_is_str(callsOf(dbAdmin, "X"), "0", "count: nothing before statements");
  runStatements(db, 4);
  tap_is_str(callsOf(dbAdmin, "X"), "0", "count: 4 statements still pending");
  runStatements(db, 1);
  tap_is_str(callsOf(dbAdmin, "X"), "5", "count: flushed at the 5th");

  /* Each write through an isolation table runs inner statements. */
  tap_ok(tap_exec_error(db, "INSERT INTO basic_communications(id, data)"
         " VALUES('m1', 'x')")==0, "count: insert through isolation table");
  tap_ok(tap_exec_error(db, "SELECT * FROM basic_communications")==0,
         "count: select through isolation table");
  runStatements(db, 3);
  tap_is_str(callsOf(dbAdmin, "X"), "10",
             "count: one call per statement, inner statements not counted");
  runStatements(db, 2);
  sqlite3_close(db);
  tap_is_str(callsOf(dbAdmin, "X"), "12", "count: close flushes the rest");
  tap_is_str(tap_query_text(dbAdmin, "SELECT agents FROM tenant_usage_report"
             " WHERE customer='X'"), "3", "count: agents of X");
  tap_is_str(tap_query_text(dbAdmin, "SELECT count(*) FROM tenant_usage_report"
             " WHERE api_calls_month>0"), "1", "count: only X has calls");
}

/* 2b. A session that replaces the trace, as the shells' ".trace off" does,
** is still counted: the next statement prepared installs it again. A
** Sapphire session has no isolation table to do it. */
static void testTraceReplaced(sqlite3 *dbAdmin){
  sqlite3 *db = openSession("S");
  runStatements(db, 1);
  sqlite3_trace_v2(db, 0, 0, 0);
  runStatements(db, 4);
  sqlite3_close(db);
  tap_is_str(callsOf(dbAdmin, "S"), "5",
             "trace: statements after the trace was removed are counted");
}

/* 3. A flush after TENANT_METER_FLUSH_SECONDS, at the next statement. */
static void testSeconds(sqlite3 *dbAdmin){
  sqlite3 *db;
  setenv("TENANT_METER_FLUSH_SECONDS", "1", 1);
  db = openSession("Y");
  unsetenv("TENANT_METER_FLUSH_SECONDS");
  runStatements(db, 1);
  tap_is_str(callsOf(dbAdmin, "Y"), "0", "seconds: first call pending");
  sleep(2);
  runStatements(db, 1);
  tap_is_str(callsOf(dbAdmin, "Y"), "2", "seconds: flushed after 1 second");
  sqlite3_close(db);
}

/* 4. TENANT_METER=off counts nothing and accounts no storage. */
static void testOff(sqlite3 *dbAdmin){
  sqlite3 *db;
  setenv("TENANT_METER", "off", 1);
  db = openSession("Z");
  unsetenv("TENANT_METER");
  runStatements(db, 6);
  tap_ok(tap_exec_error(db, "INSERT INTO basic_communications(id, data)"
         " VALUES('o1', 'off')")==0, "off: insert");
  sqlite3_close(db);
  tap_is_str(callsOf(dbAdmin, "Z"), "0", "off: no calls counted");
  tap_is_str(tap_query_text(dbAdmin, "SELECT stored_bytes||'|'||difference"
             " FROM tenant_storage_check('Z')"), "0|-65",
             "off: storage not accounted, and the check shows it");
}

/*
** 4b. TENANT_METER=off keeps the check that the customer is still active:
** a session open while this process decommissions its customer cannot
** write, and fails with the same error code and message as a metered one.
*/
static void testOffDecommissioned(sqlite3 *dbAdmin){
  static const char zInactive[] = "tenant: customer \"W\" is no longer"
      " active in the catalog (decommissioned, or provisioned again since"
      " this session bound): close this session and open a new one";
  int bOff;

  for(bOff=0; bOff<2; bOff++){
    const char *zMode = bOff ? "metering off" : "metering on";
    char zName[96];
    sqlite3 *db;
    const char *zErr;
    int rc;

    zErr = tap_exec_error(dbAdmin, "SELECT tenant_provision('W','onyx',"
                          "'us-west1','S')");
    if( !tap_ok(zErr==0, "decommission, %s: W provisioned", zMode) ){
      tap_diag("%s", zErr);
    }
    if( bOff ) setenv("TENANT_METER", "off", 1);
    db = openSession("W");
    unsetenv("TENANT_METER");
    if( !tap_ok(db!=0, "decommission, %s: session of W opens", zMode) ){
      continue;
    }
    tap_ok(tap_exec_error(db, "INSERT INTO basic_communications(id, data)"
           " VALUES('w1', 'before')")==0,
           "decommission, %s: insert before", zMode);
    zErr = tap_exec_error(dbAdmin, "SELECT tenant_decommission('W')");
    if( !tap_ok(zErr==0, "decommission, %s: W decommissioned", zMode) ){
      tap_diag("%s", zErr);
    }

    rc = sqlite3_exec(db, "INSERT INTO basic_communications(id, data)"
                      " VALUES('w2', 'after')", 0, 0, 0);
    snprintf(zName, sizeof(zName), "decommission, %s: insert fails with"
             " SQLITE_AUTH", zMode);
    tap_is_int(rc, SQLITE_AUTH, zName);
    snprintf(zName, sizeof(zName), "decommission, %s: error names the"
             " inactive customer", zMode);
    tap_is_str(sqlite3_errmsg(db), zInactive, zName);
    sqlite3_close(db);
  }
}

/* Step pStmt to its end and return the ids it read, comma-separated, in a
** static buffer; *pRc is the result of the last step. */
static const char *stepIds(sqlite3_stmt *pStmt, int *pRc){
  static char zIds[256];
  int rc;
  zIds[0] = 0;
  while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
    const char *zId = (const char*)sqlite3_column_text(pStmt, 0);
    size_t n = strlen(zIds);
    snprintf(zIds+n, sizeof(zIds)-n, "%s%s", n ? "," : "", zId ? zId : "");
  }
  *pRc = rc;
  sqlite3_reset(pStmt);
  return zIds;
}

/* Check that the last statement on db failed with SQLITE_AUTH (rc) and
** the error zInactive; zWhat names the statement in the two checks. */
static void isInactive(sqlite3 *db, int rc, const char *zInactive,
                       const char *zWhat){
  char zName[128];
  snprintf(zName, sizeof(zName), "%s fails with SQLITE_AUTH", zWhat);
  tap_is_int(rc, SQLITE_AUTH, zName);
  snprintf(zName, sizeof(zName), "%s names the inactive customer", zWhat);
  tap_is_str(sqlite3_errmsg(db), zInactive, zName);
}

/*
** 4c. Sessions left open while this process decommissions their customer
** and provisions the same id again stay bound to the old customer, with
** metering on and off. A session of the new customer bound in the same
** process gets the new provisioning, not the cached plan of the old one,
** and writes a row. Then in one old session a read prepared before, run
** again before the session prepares or writes anything, reads no row and
** fails with the error of an inactive customer, through the check of the
** change counter. From then on an INSERT prepared before, a new read, a
** new write and the read again all fail the same way. In the other old
** session a new read is the first to find it. The new customer finds only
** its own row.
*/
static void testProvisionedAgain(sqlite3 *dbAdmin){
  static const char zInactive[] = "tenant: customer \"R\" is no longer"
      " active in the catalog (decommissioned, or provisioned again since"
      " this session bound): close this session and open a new one";
  int bOff;

  for(bOff=0; bOff<2; bOff++){
    const char *zMode = bOff ? "metering off" : "metering on";
    sqlite3_stmt *pRead = 0;
    sqlite3_stmt *pWrite = 0;
    sqlite3 *dbOld;
    sqlite3 *dbOther;
    sqlite3 *dbNew;
    char zWhat[96];
    const char *zErr;
    const char *zIds;
    int rc;

    zErr = tap_exec_error(dbAdmin, "SELECT tenant_provision('R','onyx',"
                          "'us-west1','S')");
    if( !tap_ok(zErr==0, "again, %s: R provisioned", zMode) ){
      tap_diag("%s", zErr);
    }
    if( bOff ) setenv("TENANT_METER", "off", 1);
    dbOld = openSession("R");
    dbOther = openSession("R");
    unsetenv("TENANT_METER");
    if( !tap_ok(dbOld!=0 && dbOther!=0, "again, %s: old sessions of R open",
                zMode) ){
      sqlite3_close(dbOld);
      sqlite3_close(dbOther);
      continue;
    }
    tap_ok(tap_exec_error(dbOld, "INSERT INTO basic_communications(id, data)"
           " VALUES('old1', 'before')")==0,
           "again, %s: old session inserts before", zMode);
    rc = sqlite3_prepare_v2(dbOld, "SELECT id FROM basic_communications"
                            " ORDER BY id", -1, &pRead, 0);
    tap_ok(rc==SQLITE_OK, "again, %s: old session prepares a read", zMode);
    rc = sqlite3_prepare_v2(dbOld, "INSERT INTO basic_communications(id,"
                            " data) VALUES('old2', 'after')", -1, &pWrite, 0);
    tap_ok(rc==SQLITE_OK, "again, %s: old session prepares a write", zMode);
    zIds = stepIds(pRead, &rc);
    snprintf(zWhat, sizeof(zWhat), "again, %s: old session reads its row",
             zMode);
    tap_is_str(zIds, "old1", zWhat);

    zErr = tap_exec_error(dbAdmin, "SELECT tenant_decommission('R')");
    if( !tap_ok(zErr==0, "again, %s: R decommissioned", zMode) ){
      tap_diag("%s", zErr);
    }
    zErr = tap_exec_error(dbAdmin, "SELECT tenant_provision('R','onyx',"
                          "'us-west1','S')");
    if( !tap_ok(zErr==0, "again, %s: R provisioned again", zMode) ){
      tap_diag("%s", zErr);
    }
    if( bOff ) setenv("TENANT_METER", "off", 1);
    dbNew = openSession("R");
    unsetenv("TENANT_METER");
    tap_ok(dbNew!=0, "again, %s: new session of R opens", zMode);
    zErr = dbNew ? tap_exec_error(dbNew, "INSERT INTO basic_communications"
                                  "(id, data) VALUES('new1', 'x')") : "";
    if( !tap_ok(zErr==0, "again, %s: new session inserts", zMode) ){
      tap_diag("%s", zErr);
    }

    /* The read prepared before, stepped again before the session prepares
    ** or writes anything: only the scan's check of the change counter
    ** runs. */
    zIds = stepIds(pRead, &rc);
    snprintf(zWhat, sizeof(zWhat), "again, %s: first step of the old read"
             " reads no row", zMode);
    tap_is_str(zIds, "", zWhat);
    snprintf(zWhat, sizeof(zWhat), "again, %s: first step of the old read",
             zMode);
    isInactive(dbOld, rc, zInactive, zWhat);

    /* The write prepared before runs the check of the write path. */
    rc = sqlite3_step(pWrite);
    snprintf(zWhat, sizeof(zWhat), "again, %s: old prepared write", zMode);
    isInactive(dbOld, rc, zInactive, zWhat);
    sqlite3_finalize(pWrite);

    rc = sqlite3_exec(dbOld, "SELECT count(*) FROM basic_communications",
                      0, 0, 0);
    snprintf(zWhat, sizeof(zWhat), "again, %s: then a new read", zMode);
    isInactive(dbOld, rc, zInactive, zWhat);
    rc = sqlite3_exec(dbOld, "INSERT INTO basic_communications(id, data)"
                      " VALUES('old3', 'after')", 0, 0, 0);
    snprintf(zWhat, sizeof(zWhat), "again, %s: then a new write", zMode);
    isInactive(dbOld, rc, zInactive, zWhat);
    zIds = stepIds(pRead, &rc);
    snprintf(zWhat, sizeof(zWhat), "again, %s: then the old read reads no"
             " row", zMode);
    tap_is_str(zIds, "", zWhat);
    snprintf(zWhat, sizeof(zWhat), "again, %s: then the old read", zMode);
    isInactive(dbOld, rc, zInactive, zWhat);
    sqlite3_finalize(pRead);

    /* In the other old session the authorizer finds it, as the read is
    ** prepared. */
    rc = sqlite3_exec(dbOther, "SELECT count(*) FROM basic_communications",
                      0, 0, 0);
    snprintf(zWhat, sizeof(zWhat), "again, %s: first new read", zMode);
    isInactive(dbOther, rc, zInactive, zWhat);

    snprintf(zWhat, sizeof(zWhat), "again, %s: new R finds only its own"
             " row", zMode);
    tap_is_str(dbNew ? tap_query_text(dbNew, "SELECT group_concat(id) FROM"
               " basic_communications") : 0, "new1", zWhat);
    sqlite3_close(dbOld);
    sqlite3_close(dbOther);
    sqlite3_close(dbNew);
    zErr = tap_exec_error(dbAdmin, "SELECT tenant_decommission('R')");
    if( !tap_ok(zErr==0, "again, %s: new R decommissioned", zMode) ){
      tap_diag("%s", zErr);
    }
  }
}

/*
** 4d. Whether a session is metered is decided when it binds: a metered
** session whose first write runs while TENANT_METER=off is set still
** accounts the row.
*/
static void testDecidedAtBinding(sqlite3 *dbAdmin){
  sqlite3 *db;
  const char *zErr;

  zErr = tap_exec_error(dbAdmin, "SELECT tenant_provision('V','onyx',"
                        "'us-west1','S')");
  if( !tap_ok(zErr==0, "binding decides: V provisioned") ){
    tap_diag("%s", zErr);
  }
  db = openSession("V");
  setenv("TENANT_METER", "off", 1);
  tap_ok(tap_exec_error(db, "INSERT INTO basic_communications(id, data)"
         " VALUES('v1', 'metered')")==0, "binding decides: insert");
  unsetenv("TENANT_METER");
  sqlite3_close(db);
  tap_is_str(tap_query_text(dbAdmin, "SELECT difference FROM "
             "tenant_storage_check('V')"), "0",
             "binding decides: the row is accounted");
}

/* 5. A crash loses only the calls not yet flushed: 2 of 7. */
static void testCrash(sqlite3 *dbAdmin){
  pid_t pid = fork();
  int status = 0;
  if( pid==0 ){
    execl("/proc/self/exe", "t_meter", "crash", "Y", (char*)0);
    _exit(127);
  }
  waitpid(pid, &status, 0);
  tap_ok(WIFSIGNALED(status), "crash: worker died without closing");
  tap_is_str(callsOf(dbAdmin, "Y"), "7", "crash: 5 of its 7 calls kept");
}

/* 6. Bound sessions reach no metering data. */
static void testDenied(void){
  sqlite3 *db = openSession("X");
  tap_is_str(tap_exec_error(db, "SELECT * FROM tenant_usage_report"),
             "tenant: tenant_usage_report is administrative and not "
             "available on a connection bound to a customer: query it from "
             "an unbound connection", "denied: tenant_usage_report");
  tap_is_str(tap_exec_error(db, "SELECT * FROM usage_monthly"),
             "no such table: usage_monthly", "denied: usage_monthly");
  sqlite3_close(db);
}

int main(int argc, char **argv){
  sqlite3 *dbAdmin = 0;

  if( argc>2 && strcmp(argv[1], "crash")==0 ) return workerMain(argv);
  setenv("TENANT_METER_FLUSH_STATEMENTS", "5", 1);
  tap_fresh_root("meter");
  tap_open(&dbAdmin);
  testSetup(dbAdmin);
  testCount(dbAdmin);
  testTraceReplaced(dbAdmin);
  testSeconds(dbAdmin);
  testOff(dbAdmin);
  testOffDecommissioned(dbAdmin);
  testProvisionedAgain(dbAdmin);
  testDecidedAtBinding(dbAdmin);
  testCrash(dbAdmin);
  testDenied();
  sqlite3_close(dbAdmin);
  tap_done();
  return 0;
}
