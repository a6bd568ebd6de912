/*
** Hostile sessions: what a connection bound to one customer must not reach
** through host features that the authorizer's action codes do not name,
** and how a session opens when its placement is busy, missing or named
** directly.
**
** The fleet: Sapphire S1 and S2 in us-west1, Onyx X1 and X2 under S1 and
** Onyx X3 under S2, spread over the Onyx databases of the region. The stock
** host runs it unencrypted (it has no codec); the SQLCipher host runs it
** encrypted, where sqlcipher_export() exists.
*/
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *zRoot;


static int fileExists(const char *zPath){
  struct stat st;
  return stat(zPath, &st)==0;
}

/*
** Build the argument of sqlcipher_export() that makes its first internal
** query, "SELECT 'CREATE TABLE <arg>.' || substr(sql,14) FROM ...", return
** zSql as a statement to run. Each quote of that statement is written
** four times in zSql, because it passes through two string literals.
*/
static void exportArgument(const char *zSql, char *zOut, int nOut){
  snprintf(zOut, nOut, "SELECT sqlcipher_export('x'' WHERE 0 UNION ALL "
           "SELECT ''%s'' --')", zSql);
}

/* 1. Provision the fleet and give each customer one row. */
static void testProvision(sqlite3 *dbAdmin){
  static const char *const azSetup[] = {
    "SELECT tenant_provision('S1','sapphire','us-west1')",
    "SELECT tenant_provision('S2','sapphire','us-west1')",
    "SELECT tenant_provision('X1','onyx','us-west1','S1')",
    "SELECT tenant_provision('X2','onyx','us-west1','S1')",
    "SELECT tenant_provision('X3','onyx','us-west1','S2')",
    0
  };
  static const char *const azRows[] = {
    "S1?vfs=tenant",
    "INSERT INTO communications_data(id, data) VALUES('s1-row', 'S1 only')",
    "X2?vfs=tenant",
    "INSERT INTO basic_communications(id, data) VALUES('x2-row', 'X2 only')",
    "X3?vfs=tenant",
    "INSERT INTO basic_communications(id, data) VALUES('x3-row', 'X3 only')",
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
  for(i=0; azRows[i]; i+=2){
    char zErr[512];
    sqlite3 *db = tap_open_uri(azRows[i], zErr, sizeof(zErr));
    const char *zExecErr = db ? tap_exec_error(db, azRows[i+1]) : zErr;
    if( !tap_ok(zExecErr==0, "setup: row of %s", azRows[i]) ){
      tap_diag("%s", zExecErr);
    }
    sqlite3_close(db);
  }
}

/*
** 2. sqlcipher_export() runs SQL built from its argument with the schema
** made writable. A session must not reach it, and must not be able to
** edit sqlite_temp_master in any other way, because a temp trigger on a
** real shared table runs inside the isolation table's own statements.
*/
static void testExportInjection(void){
  char zSql[1024];
  char zErr[512];
  const char *zRes;
  sqlite3 *db;

  db = tap_open_uri("X1?vfs=tenant", zErr, sizeof(zErr));
  if( !tap_ok(db!=0, "export: X1 session opens") ){
    tap_diag("%s", zErr);
    return;
  }
  tap_ok(tap_exec_error(db, "CREATE TEMP TABLE loot(a, b, c, d, e)")==0,
         "export: a temp table can be made");

  if( tap_host_is_sqlcipher() ){
    tap_is_str(tap_exec_error(db, "SELECT sqlcipher_export('temp')"),
               "not authorized to use function: sqlcipher_export",
               "export: sqlcipher_export() is denied");
  }else{
    tap_skip(1, "the stock host has no sqlcipher_export()");
  }

  /* The steps of the attack; each must fail or change nothing. */
  exportArgument("DELETE FROM sqlite_temp_master "
                 "WHERE name=''''communications_data''''", zSql, sizeof(zSql));
  tap_exec_error(db, zSql);
  exportArgument("INSERT INTO sqlite_temp_master(rowid, type, name, "
      "tbl_name, rootpage, sql) VALUES(-1, ''''trigger'''', ''''t'''', "
      "''''basic_communications'''', 0, ''''CREATE TRIGGER t AFTER INSERT "
      "ON basic_communications BEGIN INSERT INTO loot SELECT * FROM "
      "communications_data; UPDATE communications_data SET data=''''''''"
      "changed by X1''''''''; END'''')",
      zSql, sizeof(zSql));
  tap_exec_error(db, zSql);
  tap_exec_error(db, "BEGIN; CREATE TEMP TABLE reload(a); ROLLBACK");
  tap_exec_error(db, "INSERT INTO basic_communications(id, data) "
                     "VALUES('x1-row', 'X1')");

  tap_is_str(tap_query_text(db, "SELECT count(*) FROM loot"), "0",
             "export: no row of S1 copied into the session");
  tap_is_str(tap_query_text(db, "SELECT count(*) FROM sqlite_temp_master "
                                "WHERE name='communications_data'"), "1",
             "export: placeholder of communications_data still in place");
  tap_is_str(tap_query_text(db, "SELECT count(*) FROM sqlite_temp_master "
                                "WHERE type='trigger'"), "0",
             "export: no temp trigger in the session");
  sqlite3_close(db);

  db = tap_open_uri("S1?vfs=tenant", zErr, sizeof(zErr));
  zRes = db ? tap_query_text(db, "SELECT data FROM communications_data "
                                 "WHERE id='s1-row'") : 0;
  tap_is_str(zRes, "S1 only", "export: row of S1 unchanged");
  sqlite3_close(db);
}

/* 3. Writes to the schema tables are denied even where the schema is open
** to the session. */
static void testSchemaTables(void){
  char zErr[512];
  sqlite3 *db = tap_open_uri("X1?vfs=tenant", zErr, sizeof(zErr));
  if( !tap_ok(db!=0, "schema: X1 session opens") ) return;
  tap_ok(tap_exec_error(db, "DELETE FROM sqlite_temp_master")!=0,
         "schema: DELETE FROM sqlite_temp_master fails");
  tap_is_str(tap_query_text(db, "SELECT count(*) FROM sqlite_temp_master "
                                "WHERE name='communications_data'"), "1",
             "schema: placeholder still in place");
  sqlite3_close(db);
}

/*
** 4. A session opens while another process commits to the same shared
** file: binding waits for the lock instead of failing at once with
** "database is locked".
*/
static void testBusyOpen(void){
  char zErr[512];
  sqlite3 *db;
  int aPipe[2];
  pid_t pid;
  char c;
  int status = 0;

  if( pipe(aPipe)!=0 ){
    tap_skip(2, "pipe() failed");
    return;
  }
  pid = fork();
  if( pid==0 ){
    /* Child: hold the write lock of the shared file for 300 ms. (BEGIN
    ** EXCLUSIVE fails in SQLite 3.15.2 here: the parent's files are
    ** attached read-only.) */
    sqlite3 *dbLock = tap_open_uri("X2?vfs=tenant", 0, 0);
    int rc = dbLock ? sqlite3_exec(dbLock, "BEGIN; INSERT INTO "
        "basic_communications(id, data) VALUES('lock', 'x')", 0, 0, 0) : 1;
    if( write(aPipe[1], "x", 1)!=1 ) rc = 1;
    usleep(300000);
    if( dbLock ) sqlite3_exec(dbLock, "COMMIT", 0, 0, 0);
    sqlite3_close(dbLock);
    _exit(rc==SQLITE_OK ? 0 : 1);
  }
  close(aPipe[1]);
  if( read(aPipe[0], &c, 1)!=1 ) c = 0;
  close(aPipe[0]);

  db = tap_open_uri("X1?vfs=tenant", zErr, sizeof(zErr));
  if( !tap_ok(db!=0, "busy: session opens while another holds the lock") ){
    tap_diag("%s", zErr);
  }
  sqlite3_close(db);
  waitpid(pid, &status, 0);
  tap_ok(WIFEXITED(status) && WEXITSTATUS(status)==0,
         "busy: the other process held and released the lock");
}

/* 5. A missing placement file fails the binding and is not re-created. */
static void testMissingFile(void){
  char zPath[1024];
  char zSaved[1100];
  char zErr[512];
  sqlite3 *db;

  snprintf(zPath, sizeof(zPath), "%s/customer-S2-sapphire/"
           "d1-sapphire-S2-us-west1/owner.db", zRoot);
  snprintf(zSaved, sizeof(zSaved), "%s.saved", zPath);
  if( !tap_ok(rename(zPath, zSaved)==0, "missing: owner.db of S2 moved") ){
    return;
  }
  db = tap_open_uri("S2?vfs=tenant", zErr, sizeof(zErr));
  tap_ok(db==0, "missing: session of S2 fails to open");
  tap_ok(!fileExists(zPath), "missing: owner.db of S2 not re-created");
  tap_ok(strstr(zErr, "owner.db")!=0 || strstr(zErr, "not found")!=0,
         "missing: error names the missing file: %s", zErr);
  sqlite3_close(db);
  unlink(zPath);
  rename(zSaved, zPath);
}

/* 6. A logical file name is not a session: the main database must not be
** a raw placement file outside any binding. */
static void testLogicalMain(void){
  char zErr[512];
  sqlite3 *db = tap_open_uri("X2/basic_communications?vfs=tenant",
                            zErr, sizeof(zErr));
  tap_ok(db==0, "logical: file:X2/basic_communications?vfs=tenant "
                "is rejected as a main database");
  if( db ){
    tap_diag("raw rows readable: %s",
             tap_query_text(db, "SELECT count(*) FROM basic_communications"));
  }
  sqlite3_close(db);
}

/* 7. Error messages carry the "tenant: " prefix once. */
static void testErrorPrefix(void){
  char zErr[512];
  sqlite3 *db;
  char *zSaved = getenv("TENANT_MASTER_KEY");
  char zKey[256];

  if( !tap_host_is_sqlcipher() ){
    tap_skip(2, "unencrypted tiers need no master key");
    return;
  }
  snprintf(zKey, sizeof(zKey), "%s", zSaved ? zSaved : "");
  setenv("TENANT_MASTER_KEY", "short", 1);
  db = tap_open_uri("X1?vfs=tenant", zErr, sizeof(zErr));
  tap_ok(db==0, "prefix: a short master key fails the open");
  tap_ok(strstr(zErr, "tenant: tenant:")==0,
         "prefix: no doubled prefix: %s", zErr);
  sqlite3_close(db);
  setenv("TENANT_MASTER_KEY", zKey, 1);
}

int main(void){
  sqlite3 *dbAdmin;
  zRoot = tap_fresh_root("hostile");
  tap_open(&dbAdmin);
  testProvision(dbAdmin);
  testExportInjection();
  testSchemaTables();
  testBusyOpen();
  testMissingFile();
  testLogicalMain();
  testErrorPrefix();
  sqlite3_close(dbAdmin);
  tap_done();
  return 0;
}
