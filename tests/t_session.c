/*
** Sessions: binding by URI and by tenant_bind(), what a bound connection
** may and may not do, and the tenant VFS's names for files, journals and
** WAL.
**
** The fleet: Sapphire S1 and S2 in us-west1, Opal O1 under S1, Onyx X1 and
** X2 under S1. The stock host runs it unencrypted (it has no codec); the
** SQLCipher host runs it encrypted.
*/
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *zRoot;


static int fileExists(const char *zPath){
  struct stat st;
  return stat(zPath, &st)==0;
}

/* The size of the file at zPath in bytes, or -1 when it is missing. */
static long long fileSize(const char *zPath){
  struct stat st;
  return stat(zPath, &st)==0 ? (long long)st.st_size : -1;
}

/* 1. Provision the fleet through the admin functions. */
static void testProvision(sqlite3 *dbAdmin){
  static const char *const azSetup[] = {
    "SELECT tenant_provision('S1','sapphire','us-west1')",
    "SELECT tenant_provision('S2','sapphire','us-west1')",
    "SELECT tenant_provision('O1','opal','us-west1','S1')",
    "SELECT tenant_provision('X1','onyx','us-west1','S1')",
    "SELECT tenant_provision('X2','onyx','us-west1','S1')",
    "SELECT tenant_add_agent('X1','alice')",
    0
  };
  int i;
  if( !tap_host_is_sqlcipher() ){
    tap_ok(tap_exec_error(dbAdmin,
        "SELECT tenant_policy_set('sapphire','encrypted',0);"
        "SELECT tenant_policy_set('opal','encrypted',0);"
        "SELECT tenant_policy_set('onyx','encrypted',0);")==0,
        "setup: tiers marked unencrypted in the stock host");
  }
  for(i=0; azSetup[i]; i++){
    const char *zErr = tap_exec_error(dbAdmin, azSetup[i]);
    if( !tap_ok(zErr==0, "setup: %s", azSetup[i]) ) tap_diag("%s", zErr);
  }
}

/* 2. Binding by URI and by function, and bad bindings. */
static void testBinding(sqlite3 *dbAdmin){
  char zErr[512];
  sqlite3 *db;

  db = tap_open_uri("X1?vfs=tenant", zErr, sizeof(zErr));
  tap_ok(db!=0, "bind: URI session opens");
  tap_is_str(tap_query_text(db, "SELECT tenant_whoami()"), "X1",
             "bind: URI session is bound to X1");
  tap_is_str(tap_query_text(db, "SELECT tenant_agent()"), 0,
             "bind: no agent without agent=");
  sqlite3_close(db);

  db = tap_open_uri("X1?vfs=tenant&agent=alice", zErr, sizeof(zErr));
  tap_is_str(tap_query_text(db, "SELECT tenant_agent()"), "alice",
             "bind: agent= binds the agent");
  sqlite3_close(db);

  db = tap_open_uri("X1?vfs=tenant&agent=mallory", zErr, sizeof(zErr));
  tap_ok(db==0, "bind: unknown agent fails the open");
  tap_ok(strstr(zErr, "agent \"mallory\" not found for customer \"X1\"")!=0,
         "bind: unknown agent error names it: %s", zErr);

  db = tap_open_uri("nobody?vfs=tenant", zErr, sizeof(zErr));
  tap_ok(db==0, "bind: unknown customer fails the open");
  tap_ok(strstr(zErr, "customer \"nobody\" not found")!=0,
         "bind: unknown customer error names it: %s", zErr);

  db = tap_open_uri("..?vfs=tenant", zErr, sizeof(zErr));
  tap_ok(db==0, "bind: customer id '..' fails the open");

  /* tenant_bind() on an ordinary connection. */
  tap_open(&db);
  tap_is_str(tap_query_text(db, "SELECT tenant_bind('O1')"), "O1",
             "bind: tenant_bind() returns the customer");
  tap_is_str(tap_query_text(db, "SELECT tenant_whoami()"), "O1",
             "bind: tenant_bind() binds the connection");
  tap_is_str(tap_exec_error(db, "SELECT tenant_bind('S1')"),
             "not authorized to use function: tenant_bind",
             "bind: a bound connection cannot bind again");
  tap_is_str(tap_query_text(db, "SELECT tenant_whoami()"), "O1",
             "bind: binding unchanged after the refused call");
  sqlite3_close(db);

  /* A main database that contains tables is not handed to a customer. */
  {
    char *zPath = sqlite3_mprintf("%s/host.db", getenv("TENANT_ROOT"));
    char *zExpected = sqlite3_mprintf("tenant: cannot bind customer \"O1\": the"
        " connection's main database \"%s\" is not empty, and a bound"
        " customer could read and write it; drop its tables, or bind a new"
        " connection opened on an empty or in-memory database", zPath);
    db = tap_open_uri(zPath, 0, 0);
    tap_is_str(tap_exec_error(db, "CREATE TABLE host_secrets(x);"
                                  "INSERT INTO host_secrets VALUES('s')"), 0,
               "bind: host file with a table made");
    tap_is_str(tap_exec_error(db, "SELECT tenant_bind('O1')"), zExpected,
               "bind: main with tables refused");
    tap_is_str(tap_query_text(db, "SELECT quote(tenant_whoami())"), "NULL",
               "bind: refused main leaves the connection unbound");
    tap_is_str(tap_exec_error(db, "DROP TABLE host_secrets"), 0,
               "bind: host table dropped");
    tap_is_str(tap_query_text(db, "SELECT tenant_bind('O1')"), "O1",
               "bind: empty main file binds");
    sqlite3_close(db);
    sqlite3_free(zExpected);
    sqlite3_free(zPath);
  }

  tap_open(&db);
  tap_ok(tap_exec_error(db, "SELECT tenant_bind('nobody')")!=0,
         "bind: tenant_bind() of an unknown customer fails");
  tap_is_str(tap_query_text(db, "SELECT tenant_whoami()"), 0,
             "bind: failed tenant_bind() leaves the connection unbound");
  tap_is_str(tap_query_text(db, "SELECT count(*) FROM pragma_database_list"),
             tap_host_is_sqlcipher() ? 0 : "1",
             "bind: failed tenant_bind() leaves nothing attached");
  tap_ok(tap_exec_error(db, "SELECT tenant_bind(NULL)")!=0,
         "bind: tenant_bind(NULL) fails");
  sqlite3_close(db);
  (void)dbAdmin;
}

/* 3. What a bound session may not do. Each is denied by the authorizer
** or meets a placeholder, and the session stays usable afterwards. */
static void testDenied(void){
  static const struct { const char *zSql; const char *zError; } aCase[] = {
    { "ATTACH 'x.db' AS x",                          "not authorized" },
    { "DETACH main",                                 "not authorized" },
    { "PRAGMA database_list",                        "not authorized" },
    { "PRAGMA journal_mode=OFF",                     "not authorized" },
    { "PRAGMA writable_schema=ON",                   "not authorized" },
    { "SELECT load_extension('x')",                  "not authorized to use function: load_extension" },
    { "SELECT tenant_bind('X2')",                    "not authorized to use function: tenant_bind" },
    { "SELECT tenant_provision('Z','sapphire','us-west1')", "not authorized to use function: tenant_provision" },
    { "SELECT tenant_add_agent('X1','eve')",         "not authorized to use function: tenant_add_agent" },
    { "SELECT tenant_attach_key(0)",                 "not authorized to use function: tenant_attach_key" },
    { "CREATE TABLE main.t(a)",                      "not authorized" },
    { "CREATE TABLE basic_communications2(a)",       "not authorized" },
    { "CREATE TEMP TRIGGER tr AFTER INSERT ON scratch "
      "BEGIN SELECT 1; END",                         "not authorized" },
    { "DROP TABLE basic_communications",             "not authorized" },
    { "ALTER TABLE basic_communications RENAME TO b", "not authorized" },
    { "ANALYZE",                                     "not authorized" },
    { "CREATE VIRTUAL TABLE temp.v USING tenant_row(basic_communications)",
                                                     "not authorized" },
    /* Partitions 1-3 of the parent's owner file: not reached by Onyx. */
    { "SELECT count(*) FROM communications_data",
                                "no such table: communications_data" },
    { "SELECT * FROM communications_data",
                                "no such table: communications_data" },
    { "DELETE FROM communications_data",
                                "no such table: communications_data" },
    { 0, 0 }
  };
  sqlite3 *db = tap_open_uri("X1?vfs=tenant", 0, 0);
  int i;

  tap_ok(tap_exec_error(db, "CREATE TEMP TABLE scratch(a)")==0,
         "deny: a temp table is allowed");
  for(i=0; aCase[i].zSql; i++){
    tap_is_str(tap_exec_error(db, aCase[i].zSql), aCase[i].zError,
               aCase[i].zSql);
  }
  if( !tap_host_is_sqlcipher() ){
    /* A customer cannot write lines into the host's error log. */
    tap_is_str(tap_exec_error(db, "SELECT sqlite_log(23, 'tenant: forged')"),
               "not authorized to use function: sqlite_log",
               "deny: sqlite_log() refused");
  }
  if( !tap_host_is_sqlcipher() ){
    /* Eponymous virtual tables of the 3.40 host. */
    tap_is_str(tap_exec_error(db, "SELECT * FROM pragma_database_list"),
               "access to main.pragma_database_list.seq is prohibited",
               "deny: pragma_database_list");
    tap_is_str(tap_exec_error(db, "SELECT count(*) FROM pragma_database_list"),
               "not authorized", "deny: count of pragma_database_list");
    tap_is_str(tap_exec_error(db, "SELECT * FROM dbstat"),
               "access to main.dbstat.name is prohibited", "deny: dbstat");
  }else{
    tap_skip(3, "pragma functions and dbstat are absent in SQLite 3.15.2");
  }
  tap_is_str(tap_query_text(db, "SELECT tenant_whoami()"), "X1",
             "deny: session still bound after the denials");
  tap_is_str(tap_exec_error(db, "INSERT INTO basic_communications(id,data) "
                                 "VALUES('m1','{}')"), 0,
             "deny: session still writes its own table");
  tap_is_str(tap_exec_error(db, "DELETE FROM basic_communications"), 0,
             "deny: session still deletes its own rows");
  sqlite3_close(db);
}

/* 4. Rows: each Onyx customer reads its own, the parent reads all of its
** file, a temp view over an isolation table stays isolated. */
static void testRows(void){
  sqlite3 *dbX1 = tap_open_uri("X1?vfs=tenant", 0, 0);
  sqlite3 *dbX2 = tap_open_uri("X2?vfs=tenant", 0, 0);
  sqlite3 *dbS1 = tap_open_uri("S1?vfs=tenant", 0, 0);

  tap_ok(tap_exec_error(dbX1, "INSERT INTO basic_communications(id,data) "
         "VALUES('a','x1-a'),('b','x1-b')")==0, "rows: X1 inserts");
  tap_ok(tap_exec_error(dbX2, "INSERT INTO basic_communications(id,data) "
         "VALUES('a','x2-a')")==0, "rows: X2 inserts the same id");
  tap_is_str(tap_query_text(dbX1, "SELECT group_concat(data) FROM "
         "(SELECT data FROM basic_communications ORDER BY id)"),
         "x1-a,x1-b", "rows: X1 sees only its rows");
  tap_is_str(tap_query_text(dbX2, "SELECT group_concat(data) FROM "
         "basic_communications"), "x2-a", "rows: X2 sees only its row");
  tap_is_str(tap_query_text(dbX2, "SELECT count(*) FROM "
         "basic_communications"), "1", "rows: X2 counts only its row");
  tap_is_str(tap_query_text(dbX1, "SELECT group_concat(sapphire_parent_id) "
         "FROM basic_communications"), "S1,S1",
         "rows: inserts stamped with the parent");
  tap_is_str(tap_exec_error(dbX1, "INSERT INTO basic_communications(id,"
         "sapphire_parent_id,data) VALUES('p','S2','x')"),
         "tenant: sapphire_parent_id \"S2\" is not the parent of customer "
         "\"X1\": leave it out or set it to \"S1\"",
         "rows: another parent rejected");
  tap_is_str(tap_exec_error(dbX1, "UPDATE basic_communications SET "
         "sapphire_parent_id='S2'"),
         "tenant: sapphire_parent_id \"S2\" is not the parent of customer "
         "\"X1\": leave it out or set it to \"S1\"",
         "rows: parent cannot be changed");

  if( !tap_host_is_sqlcipher() ){
    /* A table-valued function counted without reading a column. */
    tap_is_str(tap_query_text(dbX1, "SELECT count(*) FROM json_each('[1,2,3]')"),
               "3", "rows: count(*) over json_each() in a session");
    /* Binding lists modules with PRAGMA module_list, which leaves out the
    ** pragma_module_list table: a read of it must still be denied. */
    tap_ok(tap_exec_error(dbX1, "SELECT count(*) FROM pragma_module_list")!=0,
           "rows: count(*) over pragma_module_list denied");
  }else{
    tap_skip(1, "SQLCipher 3.4.1 is built without JSON1");
    tap_skip(1, "SQLite 3.15.2 lists no modules and has no pragma tables");
  }
  tap_ok(tap_exec_error(dbX1, "CREATE TEMP VIEW v AS SELECT data FROM "
         "basic_communications")==0, "rows: X1 creates a temp view");
  tap_is_str(tap_query_text(dbX1, "SELECT count(*) FROM v"), "2",
             "rows: the temp view sees only X1's rows");

  /* The parent keeps its children's rows of partitions 4-12. */
  tap_ok(tap_exec_error(dbS1, "INSERT INTO workflow_automations"
         "(id,customer_id,data) VALUES('w','X1','for-x1'),('w','X2','for-x2'),"
         "('w','S1','own')")==0, "rows: S1 writes rows for its children");
  tap_is_str(tap_query_text(dbS1, "SELECT count(*) FROM workflow_automations"),
             "3", "rows: S1 sees every row of its own file");
  tap_is_str(tap_query_text(dbX1, "SELECT group_concat(data) FROM "
         "workflow_automations"), "for-x1",
         "rows: X1 reads only its row of the parent's partition");
  tap_is_str(tap_exec_error(dbX1, "INSERT INTO workflow_automations(id,data) "
         "VALUES('z','no')"),
         "tenant: partition \"workflow_automations\" is read-only for "
         "customer \"X1\": it lives in the database of its parent \"S1\", "
         "which writes it", "rows: parent's partition is read-only to X1");
  tap_is_str(tap_query_text(dbS1, "SELECT count(*) FROM workflow_automations"),
             "3", "rows: refused write changed nothing");

  /* The same insert works in a dedicated file: customer_id defaults to
  ** the owner there, as an isolation table stamps it. */
  tap_ok(tap_exec_error(dbS1, "INSERT INTO recommendation_engine(id,data) "
         "VALUES('r','own')")==0, "rows: S1 inserts without customer_id");
  tap_is_str(tap_query_text(dbS1, "SELECT customer_id FROM "
         "recommendation_engine WHERE id='r'"), "S1",
         "rows: dedicated file stamps the owner by default");

  /* A Sapphire session writes both of its files in one transaction. */
  tap_ok(tap_exec_error(dbS1, "BEGIN; INSERT INTO communications_data(id,"
         "customer_id,data) VALUES('c','S1','own'); INSERT INTO "
         "internal_analytics(id,customer_id,data) VALUES('i','S1','own'); "
         "COMMIT")==0, "rows: S1 commits across owner and private files");
  tap_is_str(tap_query_text(dbS1, "SELECT (SELECT count(*) FROM "
         "communications_data)+(SELECT count(*) FROM internal_analytics)"),
         "2", "rows: both files hold the committed rows");

  sqlite3_close(dbX1);
  sqlite3_close(dbX2);
  sqlite3_close(dbS1);
}

/* 5. File names: placement files, journals and WAL at the physical paths,
** nothing created under the logical names. */
static void testFiles(void){
  char zPath[1024], zWal[1100];
  sqlite3 *db = 0;
  const char *zErr;
  int rc;

  snprintf(zPath, sizeof(zPath), "%s/shared-onyx-us-west1/"
           "d1-onyx-shared-us-west1-%s/owner.db", zRoot, "1");
  if( !fileExists(zPath) ){
    snprintf(zPath, sizeof(zPath), "%s/shared-onyx-us-west1/"
             "d1-onyx-shared-us-west1-2/owner.db", zRoot);
  }
  tap_ok(fileExists(zPath), "files: regional Onyx file exists");
  tap_ok(!fileExists("X1") && !fileExists("X1/basic_communications"),
         "files: no file under a logical name");

  /* WAL through the VFS on a physical path, as an operator would. */
  snprintf(zWal, sizeof(zWal), "file:%s?vfs=tenant", zPath);
  rc = sqlite3_open_v2(zWal, &db, SQLITE_OPEN_READWRITE|SQLITE_OPEN_URI, 0);
  tap_ok(rc==SQLITE_OK, "files: physical path opens through the VFS");
  if( tap_host_is_sqlcipher() ){
    tap_skip(4, "the encrypted file needs its key: covered by the sessions");
    sqlite3_close(db);
    return;
  }
  zErr = tap_exec_error(db, "PRAGMA journal_mode=WAL; CREATE TABLE w(a);"
                            "INSERT INTO w VALUES(1)");
  tap_ok(zErr==0, "files: WAL write through the VFS");
  snprintf(zWal, sizeof(zWal), "%s-wal", zPath);
  tap_ok(fileExists(zWal), "files: WAL file at the physical path");
  tap_is_str(tap_query_text(db, "SELECT count(*) FROM w"), "1",
             "files: WAL read back");
  sqlite3_close(db);
  tap_ok(!fileExists(zWal), "files: WAL removed on last close");
}

/* 6. The extension's own statements, typed by the session with the secret
** schema name, are denied. Only the 3.40 host can tell a C program that
** name (sqlite3_db_name, 3.39); SQL has no way to learn it. */
static void testInternalTyped(void){
#ifndef TEST_HOST_SQLCIPHER
  static const char *const azTyped[] = {
    "SELECT rowid, * FROM \"%s\".\"basic_communications\" WHERE customer_id=?1",
    "SELECT count(*) FROM \"%s\".basic_communications",
    "SELECT count(*) FROM \"%s\".communications_data",
    "SELECT name FROM \"%s\".sqlite_master",
    "INSERT INTO \"%s\".basic_communications(id,customer_id) VALUES('z','X2')",
    "DELETE FROM \"%s\".basic_communications",
    0
  };
  sqlite3 *db = tap_open_uri("X1?vfs=tenant", 0, 0);
  int i, iDb;
  for(iDb=2; sqlite3_db_name(db, iDb); iDb++){
    const char *zSchema = sqlite3_db_name(db, iDb);
    for(i=0; azTyped[i]; i++){
      char zSql[512];
      const char *zErr;
      snprintf(zSql, sizeof(zSql), azTyped[i], zSchema);
      zErr = tap_exec_error(db, zSql);
      /* "no such table" where the file does not hold the table. */
      tap_ok(zErr && (strcmp(zErr, "not authorized")==0
                      || strstr(zErr, "is prohibited")!=0
                      || strncmp(zErr, "no such table: ", 15)==0),
             "typed: schema %d: %.40s... denied (%s)", iDb, azTyped[i],
             zErr ? zErr : "allowed");
    }
  }
  tap_is_int(iDb, 5, "typed: X1 attaches three files");
  sqlite3_close(db);
#else
  tap_skip(1, "SQLite 3.15.2 has no sqlite3_db_name()");
#endif
}

/* 7. An application table added while a session is open: the session
** cannot reach its raw rows, and a new session reaches it isolated. */
static void testLateTable(sqlite3 *dbAdmin){
  sqlite3 *dbOld = tap_open_uri("X1?vfs=tenant", 0, 0);
  sqlite3 *dbOther = tap_open_uri("X2?vfs=tenant", 0, 0);
  sqlite3 *dbNew;

  tap_is_str(tap_exec_error(dbAdmin, "SELECT tenant_add_table("
      "'basic_communications', 'CREATE TABLE late_notes(n INTEGER PRIMARY "
      "KEY, t TEXT)')"), 0, "late: application table added");
  dbNew = tap_open_uri("X2?vfs=tenant", 0, 0);
  tap_is_str(tap_exec_error(dbNew, "INSERT INTO late_notes(n,t) "
      "VALUES(1,'x2')"), 0, "late: new session writes the new table");
  sqlite3_close(dbNew);

  tap_is_str(tap_exec_error(dbOld, "SELECT count(*) FROM late_notes"),
             "not authorized", "late: old session cannot count raw rows");
  tap_is_str(tap_exec_error(dbOld, "SELECT 1 FROM late_notes"),
             "not authorized", "late: old session cannot list raw rows");
  /* SQLite 3.15.2 reports no read for either statement above, and SQLite
  ** 3.40 would name the secret schema in a column's denial: in both hosts
  ** the session is refused everything until it reconnects. */
  tap_is_str(tap_exec_error(dbOld, "SELECT 1"), "not authorized",
             "late: stale session refused");
  tap_is_str(tap_exec_error(dbOld, "SELECT t FROM late_notes"),
             "not authorized", "late: column read refused, no schema named");
  sqlite3_close(dbOld);
  sqlite3_close(dbOther);

  dbNew = tap_open_uri("X1?vfs=tenant", 0, 0);
  tap_is_str(tap_query_text(dbNew, "SELECT count(*) FROM late_notes"), "0",
             "late: reconnected session sees none of X2's rows");
  sqlite3_close(dbNew);
}

/* 8. sqlite_stat1 of a shared file (after an operator's ANALYZE) reads as
** NULLs: a denial's message would name the secret schema. */
static void testStat1(void){
  char zUri[1200];
  sqlite3 *db = 0;
  const char *zErr;

  if( tap_host_is_sqlcipher() ){
    tap_skip(3, "the placement file is encrypted in this host");
    return;
  }
  snprintf(zUri, sizeof(zUri), "file:%s/shared-onyx-us-west1/"
           "d1-onyx-shared-us-west1-1/owner.db?vfs=tenant", zRoot);
  if( sqlite3_open_v2(zUri, &db, SQLITE_OPEN_READWRITE|SQLITE_OPEN_URI, 0)
      ==SQLITE_OK ){
    sqlite3_exec(db, "ANALYZE", 0, 0, 0);
  }
  sqlite3_close(db);
  snprintf(zUri, sizeof(zUri), "file:%s/shared-onyx-us-west1/"
           "d1-onyx-shared-us-west1-2/owner.db?vfs=tenant", zRoot);
  if( sqlite3_open_v2(zUri, &db, SQLITE_OPEN_READWRITE|SQLITE_OPEN_URI, 0)
      ==SQLITE_OK ){
    sqlite3_exec(db, "ANALYZE", 0, 0, 0);
  }
  sqlite3_close(db);

  db = tap_open_uri("X1?vfs=tenant", 0, 0);
  zErr = tap_exec_error(db, "SELECT tbl, stat FROM sqlite_stat1");
  tap_is_str(zErr, 0, "stat1: reading it raises no error");
  tap_is_str(tap_query_text(db, "SELECT max(tbl) FROM sqlite_stat1"), 0,
             "stat1: its columns read as NULL");
  tap_is_str(tap_exec_error(db, "SELECT count(*) FROM sqlite_stat1"),
             "not authorized", "stat1: counting it is denied");
  sqlite3_close(db);
}

/* 9. A column added to a real table (an operator's ALTER) reaches the next
** session: the per-process cache of table shapes follows the schema. */
static void testShapeChange(void){
  char zUri[1200];
  sqlite3 *db = 0;

  if( tap_host_is_sqlcipher() ){
    tap_skip(2, "the placement file is encrypted in this host");
    return;
  }
  db = tap_open_uri("X1?vfs=tenant", 0, 0);
  tap_ok(tap_query_text(db, "SELECT count(*) FROM basic_communications")!=0,
         "shape: a session caches the table's columns");
  sqlite3_close(db);

  snprintf(zUri, sizeof(zUri), "%s/shared-onyx-us-west1/"
           "d1-onyx-shared-us-west1-1/owner.db?vfs=tenant", zRoot);
  db = tap_open_uri(zUri, 0, 0);
  tap_exec_error(db, "ALTER TABLE basic_communications ADD COLUMN extra TEXT");
  sqlite3_close(db);
  snprintf(zUri, sizeof(zUri), "%s/shared-onyx-us-west1/"
           "d1-onyx-shared-us-west1-2/owner.db?vfs=tenant", zRoot);
  db = tap_open_uri(zUri, 0, 0);
  tap_exec_error(db, "ALTER TABLE basic_communications ADD COLUMN extra TEXT");
  sqlite3_close(db);

  db = tap_open_uri("X1?vfs=tenant", 0, 0);
  tap_is_str(tap_exec_error(db, "SELECT extra FROM basic_communications"), 0,
             "shape: the next session has the new column");
  sqlite3_close(db);
}

/* 9b. A shared table without customer_id cannot be isolated: binding
** fails on it, as the connection opens and through tenant_bind(), and
** leaves no isolation table behind. */
static void testShapeInvalid(void){
  static const char zExpected[] =
    "table \"basic_communications\" has no customer_id column, so its rows"
    " cannot be isolated: add the column";
  char zUri[1200], zErr[512];
  sqlite3 *db = 0;
  sqlite3 *dbFile = 0;
  const char *zGot;

  if( tap_host_is_sqlcipher() ){
    tap_skip(5, "the placement file is encrypted in this host");
    return;
  }
  snprintf(zUri, sizeof(zUri), "%s/shared-onyx-us-west1/"
           "d1-onyx-shared-us-west1-1/owner.db?vfs=tenant", zRoot);
  dbFile = tap_open_uri(zUri, 0, 0);
  tap_is_str(tap_exec_error(dbFile, "ALTER TABLE basic_communications "
             "RENAME COLUMN customer_id TO owner_id"), 0,
             "no customer_id: column renamed in the file");

  db = tap_open_uri("X1?vfs=tenant", zErr, sizeof(zErr));
  tap_ok(db==0, "no customer_id: opening a session fails");
  tap_ok(strstr(zErr, zExpected)!=0, "no customer_id: open error names it");
  sqlite3_close(db);

  tap_open(&db);
  zGot = tap_exec_error(db, "SELECT tenant_bind('X1')");
  tap_ok(zGot && strstr(zGot, zExpected), "no customer_id: bind error names it");
  tap_is_str(tap_query_text(db, "SELECT count(*) FROM sqlite_temp_master"),
             "0", "no customer_id: no temp table left after bind");
  sqlite3_close(db);

  tap_exec_error(dbFile, "ALTER TABLE basic_communications "
                 "RENAME COLUMN owner_id TO customer_id");
  sqlite3_close(dbFile);
}

/* 10. A binding as the connection opens writes its isolation tables and
** placeholders into the temp schema at once; tenant_bind() creates them
** one statement each. Both must leave the same temp schema and hide the
** same raw tables. */
static void testTempSchema(void){
  static const char zSchema[] =
    "SELECT group_concat(type||'|'||name||'|'||tbl_name||'|'||rootpage||'|'"
    "||sql, char(10)) FROM (SELECT * FROM sqlite_temp_master ORDER BY rowid)";
  static const char *const azCustomer[] = { "X1", "O1", "S1" };
  int i;

  for(i=0; i<3; i++){
    char zTail[64], zBind[64];
    sqlite3 *dbUri, *dbFn = 0;
    const char *zUri;
    const char *zFn;

    snprintf(zTail, sizeof(zTail), "%s?vfs=tenant", azCustomer[i]);
    dbUri = tap_open_uri(zTail, 0, 0);
    tap_open(&dbFn);
    snprintf(zBind, sizeof(zBind), "SELECT tenant_bind('%s')", azCustomer[i]);
    tap_is_str(tap_exec_error(dbFn, zBind), 0, zBind);

    zUri = tap_query_text(dbUri, zSchema);
    zUri = zUri ? strdup(zUri) : 0;
    zFn = tap_query_text(dbFn, zSchema);
    tap_is_str(zUri, zFn, "temp schema: URI and tenant_bind() agree");
    tap_ok(i==2 ? zUri==0 : zUri!=0 && strstr(zUri, "tenant_row") != 0,
           "temp schema: %s has isolation tables only when shared",
           azCustomer[i]);
    free((void*)zUri);

    zUri = tap_query_text(dbUri, "SELECT count(*) FROM workflow_automations");
    zUri = zUri ? strdup(zUri) : 0;
    tap_ok(zUri!=0, "temp schema: first use of an isolation table works");
    tap_is_str(zUri, tap_query_text(dbFn, "SELECT count(*) FROM "
               "workflow_automations"),
               "temp schema: first use of an isolation table agrees");
    free((void*)zUri);
    if( i==0 ){
      tap_is_str(tap_exec_error(dbUri, "SELECT count(*) FROM "
                 "communications_data"), "no such table: communications_data",
                 "temp schema: a placeholder hides a raw table at once");
      tap_is_str(tap_exec_error(dbUri, "SELECT count(*) FROM tenant_usage"),
                 "no such table: tenant_usage",
                 "temp schema: the usage table is hidden");
    }
    sqlite3_close(dbUri);
    sqlite3_close(dbFn);
  }
}

/* 11. A table added to a shared file after an earlier session of this
** process listed the file is hidden from the next session too. A binding
** that writes its expected placeholders before it attaches the files (the
** SQLCipher host) checks them against the files. */
static void testAddedHidden(sqlite3 *dbAdmin){
  sqlite3 *db;

  db = tap_open_uri("X1?vfs=tenant", 0, 0);
  tap_is_str(tap_exec_error(db, "SELECT count(*) FROM communications_data"),
             "no such table: communications_data",
             "added: S1's own partition is hidden from X1");
  sqlite3_close(db);

  tap_is_str(tap_exec_error(dbAdmin, "SELECT tenant_add_table("
      "'communications_data', 'CREATE TABLE s1_notes(n INTEGER PRIMARY KEY, "
      "t TEXT)')"), 0, "added: table added to S1's own partition");
  db = tap_open_uri("S1?vfs=tenant", 0, 0);
  tap_is_str(tap_exec_error(db, "INSERT INTO s1_notes(n,t) VALUES(1,'s1')"),
             0, "added: S1 writes the new table");
  sqlite3_close(db);

  db = tap_open_uri("X1?vfs=tenant", 0, 0);
  tap_ok(db!=0, "added: X1 binds after the table was added");
  tap_is_str(tap_exec_error(db, "SELECT count(*) FROM s1_notes"),
             "no such table: s1_notes",
             "added: X1 cannot count the new table's rows");
  tap_is_str(tap_exec_error(db, "SELECT * FROM s1_notes"),
             "no such table: s1_notes",
             "added: X1 cannot read the new table");
  tap_is_str(tap_query_text(db, "SELECT count(*) FROM sqlite_temp_master "
             "WHERE name='s1_notes' AND sql LIKE '%tenant_hidden%'"), "1",
             "added: X1 has a placeholder for the new table");
  sqlite3_close(db);
}

/* 12. A binding applies every catalog change made since the last binding
** of the same customer, both through the extension's own catalog
** connection (an agent removed) and through another connection (a
** customer's state). */
static void testCatalogChange(sqlite3 *dbAdmin){
  char zPath[1200];
  char zErr[512];
  sqlite3 *db;
  sqlite3 *dbCatalog = 0;

  db = tap_open_uri("X1?vfs=tenant&agent=alice", zErr, sizeof(zErr));
  tap_ok(db!=0, "change: X1 binds as alice");
  sqlite3_close(db);
  tap_is_str(tap_exec_error(dbAdmin, "SELECT tenant_remove_agent('X1',"
             "'alice')"), 0, "change: alice removed");
  db = tap_open_uri("X1?vfs=tenant&agent=alice", zErr, sizeof(zErr));
  tap_ok(db==0, "change: X1 cannot bind as a removed agent");
  tap_ok(strstr(zErr, "agent \"alice\" not found")!=0,
         "change: the error names the removed agent");
  tap_is_str(tap_exec_error(dbAdmin, "SELECT tenant_add_agent('X1',"
             "'alice')"), 0, "change: alice added again");

  /* A session open as an agent loses its access when the agent is
  ** removed, for statements prepared before and after the removal. */
  {
    const char *zRemoved = "tenant: agent \"alice\" of customer \"X1\" was"
        " removed from the catalog since this session bound (adding it again"
        " does not restore this session): close this session and open a new"
        " one";
    sqlite3_stmt *pInsert = 0;
    int rc;

    db = tap_open_uri("X1?vfs=tenant&agent=alice", zErr, sizeof(zErr));
    tap_ok(db!=0, "removed agent: X1 binds as alice");
    sqlite3_prepare_v2(db, "INSERT INTO basic_communications(id, data)"
                           " VALUES('by-alice', 'x')", -1, &pInsert, 0);
    tap_is_str(tap_exec_error(dbAdmin, "SELECT tenant_remove_agent('X1',"
               "'alice')"), 0, "removed agent: alice removed");
    rc = sqlite3_step(pInsert);
    tap_is_int(rc, SQLITE_AUTH, "removed agent: prepared insert fails");
    tap_is_str(sqlite3_errmsg(db), zRemoved,
               "removed agent: prepared insert names the agent");
    sqlite3_finalize(pInsert);
    tap_ok(tap_exec_error(db, "SELECT count(*) FROM basic_communications")
           !=0, "removed agent: new read fails");
    tap_is_str(tap_query_text(dbAdmin, "SELECT tenant_add_agent('X1',"
               "'alice')"), "alice", "removed agent: alice added again");
    tap_ok(tap_exec_error(db, "INSERT INTO basic_communications(id, data)"
                              " VALUES('by-alice', 'x')")!=0,
           "removed agent: session stays refused after alice returns");
    sqlite3_close(db);
  }

  /* The same for a Sapphire, whose own tables are not isolation tables:
  ** statements prepared after the removal are denied. */
  tap_is_str(tap_query_text(dbAdmin, "SELECT tenant_add_agent('S1','al')"),
             "al", "removed agent: S1 adds al");
  db = tap_open_uri("S1?vfs=tenant&agent=al", zErr, sizeof(zErr));
  tap_ok(db!=0, "removed agent: S1 binds as al");
  tap_is_str(tap_exec_error(db, "INSERT INTO communications_data(id, data)"
                                " VALUES('by-al', 'x')"), 0,
             "removed agent: al writes S1's table");
  tap_is_str(tap_exec_error(dbAdmin, "SELECT tenant_remove_agent('S1','al')"),
             0, "removed agent: al removed");
  tap_ok(tap_exec_error(db, "SELECT count(*) FROM communications_data")!=0,
         "removed agent: al cannot read S1's table");
  tap_ok(tap_exec_error(db, "DELETE FROM communications_data")!=0,
         "removed agent: al cannot delete from S1's table");
  sqlite3_close(db);
  db = tap_open_uri("S1?vfs=tenant", zErr, sizeof(zErr));
  tap_is_str(db ? tap_query_text(db, "SELECT count(*) FROM"
                                     " communications_data WHERE id='by-al'")
                : 0, "1", "removed agent: S1's row kept");
  tap_is_str(db ? tap_exec_error(db, "DELETE FROM communications_data"
                                     " WHERE id='by-al'") : "no session", 0,
             "removed agent: S1 deletes the row");
  sqlite3_close(db);

  db = tap_open_uri("X2?vfs=tenant", zErr, sizeof(zErr));
  tap_ok(db!=0, "change: X2 binds");
  sqlite3_close(db);
  snprintf(zPath, sizeof(zPath), "%s/catalog.db", zRoot);
  sqlite3_open_v2(zPath, &dbCatalog, SQLITE_OPEN_READWRITE, 0);
  tap_is_str(tap_exec_error(dbCatalog, "UPDATE customers SET "
             "state='provisioning' WHERE id='X2'"), 0,
             "change: another connection marks X2 provisioning");
  db = tap_open_uri("X2?vfs=tenant", zErr, sizeof(zErr));
  tap_ok(db==0, "change: X2 cannot bind while provisioning");
  tap_ok(strstr(zErr, "still being provisioned")!=0,
         "change: the error says X2 is being provisioned");
  tap_is_str(tap_exec_error(dbCatalog, "UPDATE customers SET "
             "state='active' WHERE id='X2'"), 0,
             "change: another connection makes X2 active");
  sqlite3_close(dbCatalog);
  db = tap_open_uri("X2?vfs=tenant", zErr, sizeof(zErr));
  tap_ok(db!=0, "change: X2 binds again once active");
  sqlite3_close(db);
}

/* A check name built from a format, in one of two static buffers. */
static const char *checkName(const char *zFormat, const char *zArg){
  static char azName[2][256];
  static int iNext = 0;
  char *z = azName[iNext];
  iNext = 1 - iNext;
  snprintf(z, 256, zFormat, zArg);
  return z;
}

/*
** A temp table of the application's own that has the name of a hidden
** shared table would stand in front of its placeholder, and once dropped
** leave the name to the raw shared table. So tenant_bind() refuses to bind
** beside it and leaves the connection unbound. After the application drops
** it, binding hides the name: its rows are not counted, and no error
** message names the secret schema.
*/
static void testPlaceholderClash(void){
  static const char *const azTable[] = {
    "communications_data", "tenant_usage", 0
  };
  int i;

  for(i=0; azTable[i]; i++){
    sqlite3 *db = 0;
    char zSql[256];
    char zWant[512];
    const char *zErr;

    tap_open(&db);
    tap_is_str(tap_exec_error(db, "PRAGMA temp_store=MEMORY"), 0,
               checkName("clash: temp_store set for %s", azTable[i]));
    snprintf(zSql, sizeof(zSql), "CREATE TEMP TABLE \"%s\"(x)", azTable[i]);
    tap_is_str(tap_exec_error(db, zSql), 0,
               checkName("clash: own temp table %s", azTable[i]));
    snprintf(zWant, sizeof(zWant), "tenant: the connection has a temp table"
             " \"%s\", the name of a table of customer \"X1\": drop it"
             " before binding, or bind a new connection", azTable[i]);
    tap_is_str(tap_exec_error(db, "SELECT tenant_bind('X1')"), zWant,
               checkName("clash: binding beside %s refused", azTable[i]));
    tap_is_str(tap_query_text(db, "SELECT quote(tenant_whoami())"), "NULL",
               checkName("clash: unbound after %s", azTable[i]));
    snprintf(zSql, sizeof(zSql), "DROP TABLE temp.\"%s\"", azTable[i]);
    tap_is_str(tap_exec_error(db, zSql), 0,
               checkName("clash: own temp table %s dropped", azTable[i]));
    tap_is_str(tap_exec_error(db, "SELECT tenant_bind('X1')"), 0,
               checkName("clash: X1 bound once %s is gone", azTable[i]));

    snprintf(zSql, sizeof(zSql), "SELECT count(*) FROM \"%s\"", azTable[i]);
    zErr = tap_exec_error(db, zSql);
    tap_ok(zErr!=0, "%s", checkName("clash: rows of raw %s not counted",
                                    azTable[i]));
    snprintf(zSql, sizeof(zSql), "SELECT rowid FROM \"%s\"", azTable[i]);
    zErr = tap_exec_error(db, zSql);
    tap_ok(zErr!=0 && strstr(zErr, "prohibited")==0,
           "%s", checkName("clash: error for raw %s names no schema",
                           azTable[i]));
    if( zErr ) tap_diag("%s", zErr);
    sqlite3_close(db);
  }
}

/*
** Binding moves temporary data to memory, which drops temp objects unless
** temp_store is MEMORY already: tenant_bind() refuses rather than drop the
** application's view, and binds once temp_store is MEMORY.
*/
static void testTempObjectsKept(void){
  sqlite3 *db = 0;

  tap_open(&db);
  tap_is_str(tap_exec_error(db, "CREATE TEMP VIEW v AS SELECT 7 AS n"), 0,
             "temp objects: view created");
  tap_is_str(tap_exec_error(db, "SELECT tenant_bind('X1')"),
             "tenant: the connection has 1 temp object, which binding would"
             " drop when it moves temporary data to memory: run PRAGMA"
             " temp_store=MEMORY before creating them, or bind first",
             "temp objects: binding refused");
  tap_is_str(tap_query_text(db, "SELECT n FROM v"), "7",
             "temp objects: view kept");
  tap_is_str(tap_query_text(db, "SELECT quote(tenant_whoami())"), "NULL",
             "temp objects: connection unbound");
  sqlite3_close(db);

  tap_open(&db);
  tap_is_str(tap_exec_error(db, "PRAGMA temp_store=MEMORY;"
             " CREATE TEMP VIEW v AS SELECT 7 AS n"), 0,
             "temp objects: view created in memory");
  tap_is_str(tap_exec_error(db, "SELECT tenant_bind('X1')"), 0,
             "temp objects: binding beside it");
  tap_is_str(tap_query_text(db, "SELECT n FROM v"), "7",
             "temp objects: view kept by binding");
  sqlite3_close(db);
}

/*
** tenant_bind() on a connection opened without SQLITE_OPEN_URI. The
** SQLCipher host's library then does not process URI file names, so the
** binding fails. Its message names the flag to use and shows no internal
** file name or binding token. The stock host processes URI file
** names by default.
*/
static void testWithoutUri(void){
  sqlite3 *db = 0;
  char *zErr = 0;
  int rc;

  sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE|SQLITE_OPEN_CREATE,
                  0);
  sqlite3_enable_load_extension(db, 1);
  rc = sqlite3_load_extension(db, getenv("TENANT_EXT"), 0, &zErr);
  tap_is_int(rc, SQLITE_OK, "no uri: extension loaded");
  sqlite3_free(zErr);
  zErr = 0;
  rc = sqlite3_exec(db, "SELECT tenant_bind('X1')", 0, 0, &zErr);
  if( tap_host_is_sqlcipher() ){
    tap_ok(rc!=SQLITE_OK, "no uri: binding fails in the SQLCipher host");
  }
  if( rc!=SQLITE_OK ){
    tap_ok(zErr && strstr(zErr, "SQLITE_OPEN_URI")!=0,
           "no uri: the error says to open with SQLITE_OPEN_URI");
    tap_ok(zErr && strstr(zErr, "bind=")==0 && strstr(zErr, "@")==0,
           "no uri: the error shows no internal file name");
    if( zErr ) tap_diag("%s", zErr);
  }else{
    tap_is_str(tap_query_text(db, "SELECT tenant_whoami()"), "X1",
               "no uri: bound in a host that processes URIs");
  }
  sqlite3_free(zErr);
  sqlite3_close(db);
}

/* 13. Table names with a double quote: a binding as the connection opens
** writes the temp schema itself, with each quote doubled, and must leave
** the same temp schema as tenant_bind(), whose CREATE VIRTUAL TABLE
** statements SQLite stores. */
static void testQuotedNames(sqlite3 *dbAdmin){
  static const char zSchema[] =
    "SELECT group_concat(name||'|'||sql, char(10)) FROM "
    "(SELECT * FROM sqlite_temp_master ORDER BY rowid)";
  sqlite3 *dbUri, *dbFn = 0;
  const char *zGot;
  char *zUriSchema;

  tap_is_str(tap_exec_error(dbAdmin, "SELECT tenant_add_table("
      "'basic_communications', 'CREATE TABLE \"q\"\"name\"(n INTEGER "
      "PRIMARY KEY, t TEXT)')"), 0, "quoted: table added to a reached "
      "partition");
  tap_is_str(tap_exec_error(dbAdmin, "SELECT tenant_add_table("
      "'communications_data', 'CREATE TABLE \"p\"\"hidden\"(n INTEGER "
      "PRIMARY KEY)')"), 0, "quoted: table added to a hidden partition");

  dbUri = tap_open_uri("X1?vfs=tenant", 0, 0);
  tap_ok(dbUri!=0, "quoted: X1 opens");
  tap_is_str(tap_exec_error(dbUri, "INSERT INTO \"q\"\"name\"(n, t) "
             "VALUES(1, 'x1')"), 0, "quoted: X1 writes the reached table");
  tap_is_str(tap_query_text(dbUri, "SELECT t FROM \"q\"\"name\""), "x1",
             "quoted: X1 reads the reached table");
  tap_is_str(tap_exec_error(dbUri, "SELECT count(*) FROM \"p\"\"hidden\""),
             "no such table: p\"hidden", "quoted: the hidden table is hidden");

  tap_open(&dbFn);
  tap_is_str(tap_exec_error(dbFn, "SELECT tenant_bind('X1')"), 0,
             "quoted: tenant_bind() binds X1");
  zGot = tap_query_text(dbUri, zSchema);
  zUriSchema = zGot ? strdup(zGot) : 0;
  tap_ok(zUriSchema && strstr(zUriSchema, "\"q\"\"name\" USING tenant_row"),
         "quoted: the open writes the quotes doubled");
  tap_is_str(zUriSchema, tap_query_text(dbFn, zSchema),
             "quoted: URI and tenant_bind() agree");
  free(zUriSchema);
  sqlite3_close(dbUri);
  sqlite3_close(dbFn);
}

/*
** 14. A placement file of no bytes, or a missing one, fails the binding
** with an error that names it, and the binding writes nothing into it.
*/
static void testEmptyFile(sqlite3 *dbAdmin){
  char zPath[1100];
  char zErr[1024];
  char zExpected[1400];
  sqlite3 *db;
  FILE *pFile;

  tap_is_str(tap_query_text(dbAdmin, "SELECT tenant_provision('Z9',"
             "'sapphire','us-west1')"), "d1-sapphire-Z9-us-west1",
             "empty file: Z9 provisioned");
  snprintf(zPath, sizeof(zPath), "%s/customer-Z9-sapphire/"
           "d1-sapphire-Z9-us-west1/owner.db", zRoot);
  pFile = fopen(zPath, "wb");
  tap_ok(pFile!=0, "empty file: owner.db of Z9 truncated");
  if( pFile ) fclose(pFile);

  db = tap_open_uri("Z9?vfs=tenant", zErr, sizeof(zErr));
  tap_ok(db==0, "empty file: binding fails");
  sqlite3_close(db);
  snprintf(zExpected, sizeof(zExpected), "placement file %s of customer"
           " \"Z9\" is empty: restore it from a backup; binding creates no"
           " file", zPath);
  tap_ok(strstr(zErr, zExpected)!=0, "empty file: error names the file: %s",
         zErr);
  tap_is_int(fileSize(zPath), 0, "empty file: nothing written into it");

  remove(zPath);
  db = tap_open_uri("Z9?vfs=tenant", zErr, sizeof(zErr));
  tap_ok(db==0, "missing file: binding fails");
  sqlite3_close(db);
  tap_ok(strstr(zErr, "is missing: restore it from a backup")!=0,
         "missing file: error says so: %s", zErr);
  tap_ok(!fileExists(zPath), "missing file: not created");
}

/* SQL that prepareTemp(), an automatic extension registered before the
** tenant extension, runs on each new connection before it binds. */
static const char *zTempPrep = 0;

static int prepareTemp(sqlite3 *db, char **pzErr, const void *pApi){
  (void)pzErr;
  (void)pApi;
  if( zTempPrep ) sqlite3_exec(db, zTempPrep, 0, 0, 0);
  return SQLITE_OK;
}

/*
** 15. A binding at open that finds a temp schema cookie an application
** set to any value, the lowest and highest included, binds with its
** isolation tables in place.
*/
static void testTempCookie(void){
  static const char *const azPrep[] = {
    "PRAGMA temp_store=MEMORY; PRAGMA temp.schema_version=-1",
    "PRAGMA temp_store=MEMORY; PRAGMA temp.schema_version=2147483647",
    "PRAGMA temp_store=MEMORY; PRAGMA temp.schema_version=-2147483648",
  };
  sqlite3 *db = 0;
  int i;

  /* Automatic extensions run in the order of registration: register the
  ** preparation, then the tenant extension again by loading it. */
  sqlite3_reset_auto_extension();
  sqlite3_auto_extension((void(*)(void))prepareTemp);
  tap_open(&db);
  sqlite3_close(db);
  for(i=0; i<(int)(sizeof(azPrep)/sizeof(azPrep[0])); i++){
    char zErr[512];
    zTempPrep = azPrep[i];
    db = tap_open_uri("X1?vfs=tenant", zErr, sizeof(zErr));
    zTempPrep = 0;
    if( !tap_ok(db!=0, "cookie: binds after %s", azPrep[i]) ){
      tap_diag("%s", zErr);
      continue;
    }
    tap_ok(tap_exec_error(db, "SELECT count(*) FROM basic_communications")
           ==0, "cookie: isolation table reads after %s", azPrep[i]);
    tap_is_str(tap_exec_error(db, "SELECT count(*) FROM communications_data"),
               "no such table: communications_data",
               "cookie: parent's table hidden");
    sqlite3_close(db);
  }

  /* Leave the tenant extension registered alone, as before. */
  sqlite3_reset_auto_extension();
  tap_open(&db);
  sqlite3_close(db);
}

int main(void){
  sqlite3 *dbAdmin;
  zRoot = tap_fresh_root("session");
  tap_open(&dbAdmin);
  testProvision(dbAdmin);
  testBinding(dbAdmin);
  testDenied();
  testRows();
  testInternalTyped();
  testLateTable(dbAdmin);
  testStat1();
  testShapeChange();
  testShapeInvalid();
  testTempSchema();
  testPlaceholderClash();
  testTempObjectsKept();
  testWithoutUri();
  testFiles();
  testAddedHidden(dbAdmin);
  testCatalogChange(dbAdmin);
  testQuotedNames(dbAdmin);
  testTempCookie();
  testEmptyFile(dbAdmin);
  sqlite3_close(dbAdmin);
  tap_done();
  return 0;
}
