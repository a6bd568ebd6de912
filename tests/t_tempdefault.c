/*
** Temp tables of a session whose definitions call functions. SQLite does
** not ask the authorizer about a function in a column's DEFAULT, which runs
** as a row is written. A session must not reach a denied function that way,
** whatever the spelling, and its clean temp tables must stay usable.
**
** The fleet: Sapphire S1 in us-west1, and Opal P1 and P2 under it.
*/
#include "tap.h"

#include <stdio.h>
#include <string.h>

/* 1. The fleet. */
static void testSetup(sqlite3 *dbAdmin){
  const char *zErr = tap_exec_error(dbAdmin,
      "SELECT tenant_provision('S1','sapphire','us-west1');"
      "SELECT tenant_provision('P1','opal','us-west1','S1');"
      "SELECT tenant_provision('P2','opal','us-west1','S1')");
  if( !tap_ok(zErr==0, "setup: fleet provisioned") ) tap_diag("%s", zErr);
}

/*
** 2. SQLite does not ask the authorizer about a function in a temp table's
** DEFAULT, which runs when a row is written. A temp table whose definition
** calls a denied function leaves the session's temp tables read-only, so
** neither the administrative functions nor load_extension() run. A CHECK
** is checked as the table is created.
*/
static void testTempTableFunctions(sqlite3 *dbAdmin){
  static const char *const azCreate[] = {
    "CREATE TEMP TABLE d1(a DEFAULT (tenant_decommission('P2')), b)",
    "CREATE TEMP TABLE d2(a DEFAULT (tenant_policy_set('opal',"
    "'storage_limit_bytes',7)), b)",
    "CREATE TEMP TABLE d3(a DEFAULT (tenant_add_agent('P2','mallory')), b)",
    "CREATE TEMP TABLE d4(a DEFAULT (load_extension('/nonexistent.so')), b)",
  };
  sqlite3 *db = 0;
  int i;

  /* Bound by tenant_bind() on a connection that enabled extensions. */
  tap_open(&db);
  tap_is_str(tap_query_text(db, "SELECT tenant_bind('P1')"), "P1",
             "temp functions: P1 bound");
  for(i=0; i<(int)(sizeof(azCreate)/sizeof(azCreate[0])); i++){
    char zSql[64];
    snprintf(zSql, sizeof(zSql), "INSERT INTO d%d(b) VALUES(1)", i+1);
    tap_is_str(tap_exec_error(db, azCreate[i]), 0,
               "temp functions: table created");
    tap_is_str(tap_exec_error(db, zSql), "not authorized",
               "temp functions: insert refused");
  }
  tap_is_str(tap_exec_error(db, "CREATE TEMP TABLE c1(a, b CHECK ("
             "tenant_remove_agent('P2','x') IS NOT NULL))"),
             "not authorized to use function: tenant_remove_agent",
             "temp functions: CHECK refused as the table is created");
  sqlite3_close(db);
  tap_is_str(tap_query_text(dbAdmin, "SELECT count(*) FROM"
             " tenant_usage_report WHERE customer='P2'"), "1",
             "temp functions: P2 still provisioned");
  tap_ok(tap_query_text(dbAdmin, "SELECT limit_bytes FROM"
         " tenant_usage_report WHERE customer='P2' AND limit_bytes=7")==0,
         "temp functions: opal limit unchanged");
}

/* Calls of the host function writefile() registered by hostWriteFile(). */
static int nHostWriteFile = 0;

static void hostWriteFile(sqlite3_context *pCtx, int nArg,
                          sqlite3_value **apArg){
  (void)nArg; (void)apArg;
  nHostWriteFile++;
  sqlite3_result_int(pCtx, 1);
}

/* A session of P1 on which the host registered writefile(), as the
** shells do. */
static sqlite3 *openWithWriteFile(void){
  sqlite3 *db = tap_open_uri("P1?vfs=tenant", 0, 0);
  if( db ){
    sqlite3_create_function(db, "writefile", -1, SQLITE_UTF8, 0,
                            hostWriteFile, 0, 0);
  }
  return db;
}

/*
** 3. A host function that the authorizer denies, named in a temp table's
** DEFAULT in any spelling SQLite accepts, is never called: inserts and
** updates of the session's temp tables are refused, while reads, deletes
** and the isolation tables keep working.
*/
static void testTempDefaultHostFunction(void){
  static const char *const azCreate[] = {
    "CREATE TEMP TABLE t(a DEFAULT (writefile('f', 'x')), b)",
    "CREATE TEMP TABLE t(a DEFAULT (\"writefile\" ('f', 'x')), b)",
    "CREATE TEMP TABLE t(a DEFAULT ([WriteFile]/* c */('f', 'x')), b)",
    "CREATE TEMP TABLE t(a DEFAULT (`WRITEFILE`\n--c\n('f', 'x')), b)",
    "/* lead */ create temporary table t(b, a NOT NULL ON CONFLICT REPLACE "
    "DEFAULT (1 + writefile('f', 'x')))",
  };
  int i;

  for(i=0; i<(int)(sizeof(azCreate)/sizeof(azCreate[0])); i++){
    sqlite3 *db = openWithWriteFile();
    if( !tap_ok(db!=0, "host default %d: session of P1 opens", i) ) return;
    nHostWriteFile = 0;
    tap_is_str(tap_exec_error(db, azCreate[i]), 0,
               "host default: table created");
    tap_is_str(tap_exec_error(db, "INSERT INTO t(b) VALUES(1)"),
               "not authorized", "host default: insert refused");
    tap_is_str(tap_exec_error(db, "UPDATE OR REPLACE t SET a=NULL"),
               "not authorized", "host default: update refused");
    tap_is_int(nHostWriteFile, 0, "host default: writefile() not called");
    tap_is_str(tap_exec_error(db, "DELETE FROM t"), 0,
               "host default: delete allowed");
    tap_is_str(tap_query_text(db, "SELECT count(*) FROM t"), "0",
               "host default: read allowed");
    tap_is_str(tap_exec_error(db, "INSERT INTO communications_data(id, data)"
               " VALUES('hd', 'x')"), 0,
               "host default: isolation table still written");
    tap_is_str(tap_exec_error(db, "DELETE FROM communications_data"
               " WHERE id='hd'"), 0, "host default: isolation row deleted");
    sqlite3_close(db);
  }
}

/*
** 4. Temp tables whose definitions call no denied function stay writable,
** also when the name of one appears in a string or as a column name.
*/
static void testTempDefaultAllowed(void){
  sqlite3 *db = openWithWriteFile();
  if( !tap_ok(db!=0, "allowed default: session of P1 opens") ) return;
  nHostWriteFile = 0;
  tap_is_str(tap_exec_error(db, "CREATE TEMP TABLE ok(a DEFAULT "
             "(upper('writefile(')), writefile, b)"), 0,
             "allowed default: table created");
  tap_is_str(tap_exec_error(db, "INSERT INTO ok(b) VALUES(1)"), 0,
             "allowed default: insert");
  tap_is_str(tap_query_text(db, "SELECT a FROM ok"), "WRITEFILE(",
             "allowed default: DEFAULT evaluated");
  tap_is_str(tap_exec_error(db, "UPDATE ok SET b=2"), 0,
             "allowed default: update");
  tap_is_str(tap_exec_error(db, "CREATE TEMP TABLE c AS SELECT 1 AS x"), 0,
             "allowed default: CREATE TABLE AS");
  tap_is_str(tap_exec_error(db, "INSERT INTO c VALUES(2)"), 0,
             "allowed default: insert into CREATE TABLE AS");
  tap_is_int(nHostWriteFile, 0, "allowed default: writefile() not called");
  sqlite3_close(db);
}

/*
** 5. A CREATE that runs while the host program has removed the session's
** trace callback is checked as the session's next statement finishes.
** Until then its table is read-only. A clean CREATE of the same name, which
** does nothing because the table exists, does not make it writable.
*/
static void testTempDefaultTraceRemoved(void){
  sqlite3 *db = openWithWriteFile();
  sqlite3_stmt *pStmt = 0;
  if( !tap_ok(db!=0, "unchecked create: session of P1 opens") ) return;
  nHostWriteFile = 0;
  tap_is_int(sqlite3_prepare_v2(db, "CREATE TEMP TABLE lg(a DEFAULT "
             "(writefile('f', 'x')), b)", -1, &pStmt, 0), SQLITE_OK,
             "unchecked create: CREATE prepared");
  sqlite3_trace_v2(db, 0, 0, 0);
  tap_is_int(sqlite3_step(pStmt), SQLITE_DONE,
             "unchecked create: CREATE runs without the trace");
  sqlite3_finalize(pStmt);
  tap_is_str(tap_exec_error(db, "INSERT INTO lg(b) VALUES(1)"),
             "not authorized", "unchecked create: insert refused");
  tap_is_str(tap_exec_error(db, "CREATE TEMP TABLE IF NOT EXISTS lg(z)"), 0,
             "unchecked create: clean CREATE of the same name");
  tap_is_str(tap_exec_error(db, "INSERT INTO lg(b) VALUES(2)"),
             "not authorized", "unchecked create: insert still refused");
  tap_is_str(tap_exec_error(db, "CREATE TEMP TABLE later(a)"), 0,
             "unchecked create: later table created");
  tap_is_str(tap_exec_error(db, "INSERT INTO later VALUES(1)"),
             "not authorized", "unchecked create: later table read-only");
  tap_is_int(nHostWriteFile, 0, "unchecked create: writefile() not called");
  sqlite3_close(db);
}

/*
** 6. Empty statements before a CREATE, which SQLite skips, do not hide
** its DEFAULT, and a clean CREATE IF NOT EXISTS of the same name does not
** make the table writable.
*/
static void testTempDefaultEmptyStatement(void){
  static const char *const azCreate[] = {
    ";CREATE TEMP TABLE t(a DEFAULT (writefile('f', 'x')), b)",
    " ; /* c */ ;\n-- c\n CREATE TEMP TABLE t(a DEFAULT (writefile('f', 'x')), b)",
  };
  int i;

  for(i=0; i<(int)(sizeof(azCreate)/sizeof(azCreate[0])); i++){
    sqlite3 *db = openWithWriteFile();
    if( !tap_ok(db!=0, "empty statement %d: session of P1 opens", i) ){
      return;
    }
    nHostWriteFile = 0;
    tap_is_str(tap_exec_error(db, azCreate[i]), 0,
               "empty statement: table created");
    tap_is_str(tap_exec_error(db, "INSERT INTO t(b) VALUES(1)"),
               "not authorized", "empty statement: insert refused");
    tap_is_str(tap_exec_error(db, "CREATE TEMP TABLE IF NOT EXISTS t(z)"), 0,
               "empty statement: clean CREATE of the same name");
    tap_is_str(tap_exec_error(db, "INSERT INTO t(b) VALUES(2)"),
               "not authorized", "empty statement: insert still refused");
    tap_is_int(nHostWriteFile, 0, "empty statement: writefile() not called");
    sqlite3_close(db);
  }
}

/*
** 7. A vertical tab after a space is white space to SQLite's tokenizer,
** before the "(" of a call and before CREATE.
*/
static void testTempDefaultVerticalTab(void){
  static const char *const azCreate[] = {
    "CREATE TEMP TABLE t(a DEFAULT (writefile \v('f', 'x')), b)",
    " \vCREATE TEMP TABLE t(a DEFAULT (writefile('f', 'x')), b)",
  };
  int i;

  for(i=0; i<(int)(sizeof(azCreate)/sizeof(azCreate[0])); i++){
    sqlite3 *db = openWithWriteFile();
    if( !tap_ok(db!=0, "vertical tab %d: session of P1 opens", i) ) return;
    nHostWriteFile = 0;
    tap_is_str(tap_exec_error(db, azCreate[i]), 0,
               "vertical tab: table created");
    tap_is_str(tap_exec_error(db, "INSERT INTO t(b) VALUES(1)"),
               "not authorized", "vertical tab: insert refused");
    tap_is_int(nHostWriteFile, 0, "vertical tab: writefile() not called");
    sqlite3_close(db);
  }
}

/*
** 8. A rollback that brings back a table whose CREATE ran unchecked,
** after a clean table of the same name was created and checked in the
** rolled-back transaction, leaves it read-only.
*/
static void testTempDefaultRollback(void){
  sqlite3 *db = openWithWriteFile();
  sqlite3_stmt *pStmt = 0;
  if( !tap_ok(db!=0, "rollback: session of P1 opens") ) return;
  nHostWriteFile = 0;
  tap_is_int(sqlite3_prepare_v2(db, "CREATE TEMP TABLE t(a DEFAULT "
             "(writefile('f', 'x')), b)", -1, &pStmt, 0), SQLITE_OK,
             "rollback: CREATE prepared");
  sqlite3_trace_v2(db, 0, 0, 0);
  tap_is_int(sqlite3_step(pStmt), SQLITE_DONE,
             "rollback: CREATE runs without the trace");
  sqlite3_finalize(pStmt);
  tap_is_str(tap_exec_error(db, "BEGIN; DROP TABLE t;"
             " CREATE TEMP TABLE t(a, b); ROLLBACK"), 0,
             "rollback: clean table of the same name rolled back");
  tap_is_str(tap_exec_error(db, "INSERT INTO t(b) VALUES(1)"),
             "not authorized", "rollback: insert refused");
  tap_is_str(tap_exec_error(db, "SAVEPOINT s; DROP TABLE t;"
             " CREATE TEMP TABLE t(a, b); ROLLBACK TO s; RELEASE s"), 0,
             "rollback: same inside a savepoint");
  tap_is_str(tap_exec_error(db, "INSERT INTO t(b) VALUES(1)"),
             "not authorized", "rollback: insert still refused");
  tap_is_int(nHostWriteFile, 0, "rollback: writefile() not called");
  sqlite3_close(db);
}

/*
** 9. A table named like a denied function, or one that references such a
** table, calls no function: the session's other temp tables stay
** writable.
*/
static void testTempDefaultDeniedName(void){
  static const char *const azCreate[] = {
    "CREATE TEMP TABLE tenant_notes(id, v)",
    "CREATE TEMP TABLE \"edit\" (id, v)",
    "CREATE TEMP TABLE IF NOT EXISTS writefile\n(id, v)",
    "CREATE TEMP TABLE child(id, p REFERENCES sqlcipher_keys(id))",
  };
  int i;

  for(i=0; i<(int)(sizeof(azCreate)/sizeof(azCreate[0])); i++){
    sqlite3 *db = tap_open_uri("P1?vfs=tenant", 0, 0);
    if( !tap_ok(db!=0, "denied name %d: session of P1 opens", i) ) return;
    tap_is_str(tap_exec_error(db, azCreate[i]), 0,
               "denied name: table created");
    tap_is_str(tap_exec_error(db, "CREATE TEMP TABLE other(id)"), 0,
               "denied name: second table created");
    tap_is_str(tap_exec_error(db, "INSERT INTO other VALUES(1)"), 0,
               "denied name: second table written");
    sqlite3_close(db);
  }
}

/*
** 10. Binding as the connection opens turns extension loading off, and so
** does the session's first prepare, after a host that turned it on again,
** as the shells do after they open a connection.
*/
static void testLoadingOffAfterOpen(void){
  sqlite3 *db = tap_open_uri("P1?vfs=tenant", 0, 0);
  char *zErr = 0;
  int rc;
  if( !tap_ok(db!=0, "loading: session of P1 opens") ) return;
  sqlite3_enable_load_extension(db, 1);
  tap_is_str(tap_query_text(db, "SELECT 'prepared'"), "prepared",
             "loading: first statement runs");
  rc = sqlite3_load_extension(db, "/nonexistent/extension.so", 0, &zErr);
  tap_is_int(rc, SQLITE_ERROR, "loading: load fails");
  tap_is_str(zErr, "not authorized", "loading: loading is off");
  sqlite3_free(zErr);
  sqlite3_close(db);
}

/*
** 11. "CREATE TABLE temp.t" makes a temp table, checked like the others,
** while a table in any other schema stays denied.
*/
static void testTempSchemaPrefix(void){
  sqlite3 *db = openWithWriteFile();
  if( !tap_ok(db!=0, "temp prefix: session of P1 opens") ) return;
  nHostWriteFile = 0;
  tap_is_str(tap_exec_error(db, "CREATE TABLE temp.t(a DEFAULT (upper('x')),"
             " b)"), 0, "temp prefix: table created");
  tap_is_str(tap_exec_error(db, "INSERT INTO t(b) VALUES(1)"), 0,
             "temp prefix: clean table written");
  tap_is_str(tap_query_text(db, "SELECT a FROM temp.t"), "X",
             "temp prefix: DEFAULT evaluated");
  tap_is_str(tap_exec_error(db, "CREATE TABLE main.m(a)"), "not authorized",
             "temp prefix: main table denied");
  tap_is_str(tap_exec_error(db, "CREATE TABLE temp.e(a DEFAULT "
             "(writefile('f', 'x')), b)"), 0, "temp prefix: second table");
  tap_is_str(tap_exec_error(db, "INSERT INTO e(b) VALUES(1)"),
             "not authorized", "temp prefix: insert refused");
  tap_is_int(nHostWriteFile, 0, "temp prefix: writefile() not called");
  sqlite3_close(db);
}

int main(void){
  sqlite3 *dbAdmin;
  tap_fresh_root("tempdefault");
  tap_open(&dbAdmin);
  testSetup(dbAdmin);
  testTempTableFunctions(dbAdmin);
  testTempDefaultHostFunction();
  testTempDefaultAllowed();
  testTempDefaultTraceRemoved();
  testTempDefaultEmptyStatement();
  testTempDefaultVerticalTab();
  testTempDefaultRollback();
  testTempDefaultDeniedName();
  testLoadingOffAfterOpen();
  testTempSchemaPrefix();
  sqlite3_close(dbAdmin);
  tap_done();
  return 0;
}
