/*
** Tests of an agent that is removed and added again while a session bound
** as that agent stays open. Each addition of an agent has its own
** generation (the catalog table agent_generations), so the old session
** stays retired. A read it prepared before returns no row. A write it
** prepared before, a new read and a new write fail. New sessions of the
** agent added again work. Each case runs with the change made in this
** process and in another one, with metering on and off, and for a catalog
** made before agent_generations existed. A Sapphire session's statements
** prepared before its agent is removed fail at their next run, while
** another agent's session on the same files keeps working.
**
** A case that needs another process runs this program again with a worker
** argument ("run", "agent").
** The fleet: Sapphire S, and Onyx O under it.
*/
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Failures that the "agent" worker reports in its exit status. */
#define AGENT_OPEN   0x01          /* the session did not bind */
#define AGENT_NAME   0x02          /* tenant_agent() names another agent */
#define AGENT_WRITE  0x04          /* its write failed */
#define AGENT_READ   0x08          /* its read missed the row it wrote */

/* The error of a session whose agent zAgent of O was removed. */
static const char *removedError(const char *zAgent){
  static char zError[300];
  snprintf(zError, sizeof(zError), "tenant: agent \"%s\" of customer \"O\""
      " was removed from the catalog since this session bound (adding it"
      " again does not restore this session): close this session and open a"
      " new one", zAgent);
  return zError;
}

/* Run this program again as worker zMode with one argument, and return
** its exit status, or 255 when it did not exit. */
static int workerRun(const char *zMode, const char *zArg){
  int status = 0;
  pid_t pid = fork();
  if( pid==0 ){
    execl("/proc/self/exe", "t_agent", zMode, zArg, (char*)0);
    _exit(127);
  }
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

/* Worker "run SQL": runs SQL on an unbound connection and exits with 0
** when it succeeds, else 1. */
static int runMain(const char *zSql){
  sqlite3 *db = 0;
  const char *zErr;
  tap_open(&db);
  zErr = tap_exec_error(db, zSql);
  if( zErr ) fprintf(stderr, "# %s: %s\n", zSql, zErr);
  sqlite3_close(db);
  return zErr ? 1 : 0;
}

/* Worker "agent AGENT": a new session of O as AGENT writes the row
** "AGENT-other" and reads it back. Exits with the AGENT_* failures. */
static int agentMain(const char *zAgent){
  sqlite3 *dbLoad = 0;
  sqlite3 *db;
  char zTail[100];
  char zSql[300];
  const char *zGot;
  int mFail = 0;

  tap_open(&dbLoad);
  snprintf(zTail, sizeof(zTail), "O?vfs=tenant&agent=%s", zAgent);
  db = tap_open_uri(zTail, 0, 0);
  if( db==0 ) return AGENT_OPEN;
  zGot = tap_query_text(db, "SELECT tenant_agent()");
  if( zGot==0 || strcmp(zGot, zAgent)!=0 ) mFail |= AGENT_NAME;
  snprintf(zSql, sizeof(zSql), "INSERT INTO basic_communications(id, data)"
           " VALUES('%s-other', 'x')", zAgent);
  zGot = tap_exec_error(db, zSql);
  if( zGot ){
    fprintf(stderr, "# %s: %s\n", zSql, zGot);
    mFail |= AGENT_WRITE;
  }
  snprintf(zSql, sizeof(zSql), "SELECT count(*) FROM basic_communications"
           " WHERE id='%s-other'", zAgent);
  zGot = tap_query_text(db, zSql);
  if( zGot==0 || strcmp(zGot, "1")!=0 ) mFail |= AGENT_READ;
  sqlite3_close(db);
  sqlite3_close(dbLoad);
  return mFail;
}

/* The case that testReadded() runs, and the name of its check zCheck. */
static char zCase[100];
static const char *caseCheck(const char *zCheck){
  static char zName[200];
  snprintf(zName, sizeof(zName), "readded, %s: %s", zCase, zCheck);
  return zName;
}

/* Open a session of O as zAgent, with TENANT_METER=off when bMeterOff. */
static sqlite3 *agentOpen(const char *zAgent, int bMeterOff){
  char zTail[100];
  sqlite3 *db;
  snprintf(zTail, sizeof(zTail), "O?vfs=tenant&agent=%s", zAgent);
  if( bMeterOff ) setenv("TENANT_METER", "off", 1);
  db = tap_open_uri(zTail, 0, 0);
  unsetenv("TENANT_METER");
  return db;
}

/* Step pStmt to its end and return the number of rows it returned. */
static int stepAll(sqlite3_stmt *pStmt, int *pRc){
  int nRow = 0;
  int rc;
  while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ) nRow++;
  sqlite3_reset(pStmt);
  *pRc = rc;
  return nRow;
}

/*
** 1. A session of O bound as zAgent writes a row and prepares a read and a
** write. Then zAgent is removed and added again: on dbAdmin when
** bElsewhere is false, else in another process. The old read returns no
** row and fails, and so do the old write, a new write and a new read,
** with the error that names the agent. A new session of zAgent, in this
** process and in another one, writes and reads. Only the rows of the old
** session before the change and those of the new sessions are stored.
*/
static void testReadded(sqlite3 *dbAdmin, const char *zAgent,
                        int bElsewhere, int bMeterOff){
  const char *zError = removedError(zAgent);
  char zSql[300];
  char zExpected[200];
  sqlite3_stmt *pRead = 0;
  sqlite3_stmt *pWrite = 0;
  sqlite3 *db;
  sqlite3 *dbNew;
  int nRow;
  int rc;

  snprintf(zCase, sizeof(zCase), "%s, metering %s",
           bElsewhere ? "other process" : "this process",
           bMeterOff ? "off" : "on");
  snprintf(zSql, sizeof(zSql), "SELECT tenant_add_agent('O','%s')", zAgent);
  tap_is_str(tap_exec_error(dbAdmin, zSql), 0, caseCheck("agent added"));
  db = agentOpen(zAgent, bMeterOff);
  if( !tap_ok(db!=0, "%s", caseCheck("old session binds")) ) return;

  snprintf(zSql, sizeof(zSql), "INSERT INTO basic_communications(id, data)"
           " VALUES('%s-old', 'x')", zAgent);
  tap_is_str(tap_exec_error(db, zSql), 0, caseCheck("old session writes"));
  snprintf(zSql, sizeof(zSql), "SELECT id FROM basic_communications"
           " WHERE id LIKE '%s-%%'", zAgent);
  rc = sqlite3_prepare_v2(db, zSql, -1, &pRead, 0);
  tap_is_int(rc, SQLITE_OK, caseCheck("read prepared"));
  snprintf(zSql, sizeof(zSql), "INSERT INTO basic_communications(id, data)"
           " VALUES('%s-ghost', 'x')", zAgent);
  rc = sqlite3_prepare_v2(db, zSql, -1, &pWrite, 0);
  tap_is_int(rc, SQLITE_OK, caseCheck("write prepared"));
  nRow = stepAll(pRead, &rc);
  tap_is_int(nRow, 1, caseCheck("read finds the row"));

  snprintf(zSql, sizeof(zSql), "SELECT tenant_remove_agent('O','%s');"
           "SELECT tenant_add_agent('O','%s')", zAgent, zAgent);
  if( bElsewhere ){
    tap_is_int(workerRun("run", zSql), 0, caseCheck("agent removed and"
               " added again"));
  }else{
    tap_is_str(tap_exec_error(dbAdmin, zSql), 0, caseCheck("agent"
               " removed and added again"));
  }

  nRow = stepAll(pRead, &rc);
  tap_is_int(nRow, 0, caseCheck("old read returns no row"));
  tap_is_int(rc, SQLITE_AUTH, caseCheck("old read fails"));
  tap_is_str(sqlite3_errmsg(db), zError, caseCheck("old read names the"
             " agent"));
  rc = sqlite3_step(pWrite);
  tap_is_int(rc, SQLITE_AUTH, caseCheck("old write fails"));
  tap_is_str(sqlite3_errmsg(db), zError, caseCheck("old write names the"
             " agent"));
  sqlite3_finalize(pWrite);
  snprintf(zSql, sizeof(zSql), "INSERT INTO basic_communications(id, data)"
           " VALUES('%s-ghost2', 'x')", zAgent);
  tap_is_str(tap_exec_error(db, zSql), zError, caseCheck("new write"
             " fails"));
  tap_is_str(tap_exec_error(db, "SELECT count(*) FROM basic_communications"),
             zError, caseCheck("new read fails"));
  nRow = stepAll(pRead, &rc);
  tap_is_int(nRow, 0, caseCheck("old read again returns no row"));
  tap_is_int(rc, SQLITE_AUTH, caseCheck("old read again fails"));
  sqlite3_finalize(pRead);
  sqlite3_close(db);

  dbNew = agentOpen(zAgent, bMeterOff);
  if( !tap_ok(dbNew!=0, "%s", caseCheck("new session binds")) ) return;
  tap_is_str(tap_query_text(dbNew, "SELECT tenant_agent()"), zAgent,
             caseCheck("new session names the agent"));
  snprintf(zSql, sizeof(zSql), "INSERT INTO basic_communications(id, data)"
           " VALUES('%s-new', 'x')", zAgent);
  tap_is_str(tap_exec_error(dbNew, zSql), 0, caseCheck("new session"
             " writes"));
  tap_is_int(workerRun("agent", zAgent), 0, caseCheck("new session elsewhere"
             " works"));
  snprintf(zSql, sizeof(zSql), "SELECT group_concat(id, ' ') FROM (SELECT id"
           " FROM basic_communications WHERE id LIKE '%s-%%' ORDER BY id)",
           zAgent);
  snprintf(zExpected, sizeof(zExpected), "%s-new %s-old %s-other", zAgent,
           zAgent, zAgent);
  tap_is_str(tap_query_text(dbNew, zSql), zExpected, caseCheck("no row"
             " of the old session after the change"));
  sqlite3_close(dbNew);
}

/*
** 2. A Sapphire's own tables are plain tables, so the old session of an
** agent removed and added again is denied every statement it prepares
** afterwards. A new session of the agent works.
*/
static void testReaddedSapphire(sqlite3 *dbAdmin){
  sqlite3 *db;
  sqlite3 *dbNew;

  tap_is_str(tap_exec_error(dbAdmin, "SELECT tenant_add_agent('S','sa')"),
             0, "sapphire: agent added");
  db = tap_open_uri("S?vfs=tenant&agent=sa", 0, 0);
  if( !tap_ok(db!=0, "sapphire: old session binds") ) return;
  tap_is_str(tap_exec_error(db, "INSERT INTO communications_data(id, data)"
             " VALUES('sa-old', 'x')"), 0, "sapphire: old session writes");
  tap_is_str(tap_exec_error(dbAdmin, "SELECT tenant_remove_agent('S','sa');"
             "SELECT tenant_add_agent('S','sa')"), 0,
             "sapphire: agent removed and added again");
  tap_ok(tap_exec_error(db, "INSERT INTO communications_data(id, data)"
         " VALUES('sa-ghost', 'x')")!=0, "sapphire: new write fails");
  tap_ok(tap_exec_error(db, "SELECT count(*) FROM communications_data")!=0,
         "sapphire: new read fails");
  sqlite3_close(db);

  dbNew = tap_open_uri("S?vfs=tenant&agent=sa", 0, 0);
  if( !tap_ok(dbNew!=0, "sapphire: new session binds") ) return;
  tap_is_str(tap_exec_error(dbNew, "INSERT INTO communications_data(id,"
             " data) VALUES('sa-new', 'x')"), 0, "sapphire: new session"
             " writes");
  tap_is_str(tap_query_text(dbNew, "SELECT group_concat(id, ' ') FROM"
             " (SELECT id FROM communications_data WHERE id LIKE 'sa-%'"
             " ORDER BY id)"), "sa-new sa-old",
             "sapphire: the old session's write after the change is absent");
  sqlite3_close(dbNew);
}

/* Prepare zSql on db, or report why it failed and return NULL. */
static sqlite3_stmt *prepareOrDiag(sqlite3 *db, const char *zSql){
  sqlite3_stmt *pStmt = 0;
  if( sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0)!=SQLITE_OK ){
    tap_diag("cannot prepare %s: %s", zSql, sqlite3_errmsg(db));
  }
  return pStmt;
}

/* The case that testPreparedSapphire() runs, and the name of its check
** zCheck. */
static char zPreparedCase[100];
static const char *preparedCheck(const char *zCheck){
  static char zName[200];
  snprintf(zName, sizeof(zName), "%s: %s", zPreparedCase, zCheck);
  return zName;
}

/*
** 4. A Sapphire session bound as agent zAgent prepares a write and a read,
** and runs both. A second session, bound as agent "keep", prepares a read.
** Then zAgent is removed: on dbAdmin when bElsewhere is false, else in
** another process. Each later run of the old write and read fails without
** writing or returning a row: the first one to run is interrupted, and
** the other, and every run after those, fails with SQLITE_AUTH. The
** session of "keep" and a new session of the customer work.
*/
static void testPreparedSapphire(sqlite3 *dbAdmin, const char *zAgent,
                                 int bElsewhere){
  char zSql[300];
  sqlite3_stmt *pWrite;
  sqlite3_stmt *pRead;
  sqlite3_stmt *pKeep;
  sqlite3 *db;
  sqlite3 *dbKeep;
  sqlite3 *dbNew;
  int nRow;
  int rc;

  snprintf(zPreparedCase, sizeof(zPreparedCase), "prepared sapphire, %s",
           bElsewhere ? "other process" : "this process");
  snprintf(zSql, sizeof(zSql), "SELECT tenant_add_agent('S','%s')", zAgent);
  tap_is_str(tap_exec_error(dbAdmin, zSql), 0, preparedCheck("agent added"));
  snprintf(zSql, sizeof(zSql), "S?vfs=tenant&agent=%s", zAgent);
  db = tap_open_uri(zSql, 0, 0);
  dbKeep = tap_open_uri("S?vfs=tenant&agent=keep", 0, 0);
  if( !tap_ok(db!=0 && dbKeep!=0, "%s", preparedCheck("both sessions bind")) ){
    sqlite3_close(db);
    sqlite3_close(dbKeep);
    return;
  }

  snprintf(zSql, sizeof(zSql), "INSERT INTO communications_data(id, data)"
           " VALUES('%s-' || hex(randomblob(4)), 'x')", zAgent);
  pWrite = prepareOrDiag(db, zSql);
  snprintf(zSql, sizeof(zSql), "SELECT id FROM communications_data"
           " WHERE id LIKE '%s-%%'", zAgent);
  pRead = prepareOrDiag(db, zSql);
  pKeep = prepareOrDiag(dbKeep, zSql);
  tap_ok(pWrite && pRead && pKeep, "%s", preparedCheck("statements prepared"));
  stepAll(pWrite, &rc);
  tap_is_int(rc, SQLITE_DONE, preparedCheck("write before the removal"));
  nRow = stepAll(pRead, &rc);
  tap_is_int(nRow, 1, preparedCheck("read before the removal finds the row"));
  nRow = stepAll(pKeep, &rc);
  tap_is_int(nRow, 1, preparedCheck("other agent's read before the removal"));

  snprintf(zSql, sizeof(zSql), "SELECT tenant_remove_agent('S','%s')",
           zAgent);
  if( bElsewhere ){
    tap_is_int(workerRun("run", zSql), 0, preparedCheck("agent removed"));
  }else{
    tap_is_str(tap_exec_error(dbAdmin, zSql), 0, preparedCheck("agent"
               " removed"));
  }

  stepAll(pWrite, &rc);
  tap_is_int(rc, SQLITE_INTERRUPT, preparedCheck("old write is interrupted"));
  tap_is_str(sqlite3_errmsg(db), "interrupted", preparedCheck("old write"
             " error"));
  nRow = stepAll(pRead, &rc);
  tap_is_int(nRow, 0, preparedCheck("old read returns no row"));
  tap_is_int(rc, SQLITE_AUTH, preparedCheck("old read fails"));
  tap_is_str(sqlite3_errmsg(db), "not authorized", preparedCheck("old read"
             " error"));
  stepAll(pWrite, &rc);
  tap_is_int(rc, SQLITE_AUTH, preparedCheck("old write again fails"));
  nRow = stepAll(pRead, &rc);
  tap_is_int(nRow, 0, preparedCheck("old read again returns no row"));
  tap_is_int(rc, SQLITE_AUTH, preparedCheck("old read again fails"));
  tap_ok(tap_exec_error(db, "SELECT count(*) FROM communications_data")!=0,
         "%s", preparedCheck("new read fails"));

  nRow = stepAll(pKeep, &rc);
  tap_is_int(rc, SQLITE_DONE, preparedCheck("other agent's read runs"));
  tap_is_int(nRow, 1, preparedCheck("other agent's read finds the row"));
  tap_is_str(tap_exec_error(dbKeep, "INSERT INTO communications_data(id,"
             " data) VALUES('keep-' || hex(randomblob(4)), 'x')"), 0,
             preparedCheck("other agent writes"));
  sqlite3_finalize(pWrite);
  sqlite3_finalize(pRead);
  sqlite3_finalize(pKeep);
  sqlite3_close(db);
  sqlite3_close(dbKeep);

  dbNew = tap_open_uri("S?vfs=tenant&agent=keep", 0, 0);
  if( !tap_ok(dbNew!=0, "%s", preparedCheck("new session binds")) ) return;
  snprintf(zSql, sizeof(zSql), "SELECT count(*) FROM communications_data"
           " WHERE id LIKE '%s-%%'", zAgent);
  tap_is_str(tap_query_text(dbNew, zSql), "1", preparedCheck("only the"
             " write before the removal is stored"));
  sqlite3_close(dbNew);
}

/*
** 5. A Sapphire session of agent zAgent opens a write transaction and
** writes a row. Then zAgent is removed in another process, and the session
** ends its transaction with zEnd. A COMMIT becomes a rollback and a
** ROLLBACK runs. Either way the row is not stored, and the session releases
** the file, so agent "keep" writes at once.
*/
static void testTransactionAfterRemoval(sqlite3 *dbAdmin, const char *zAgent,
                                        const char *zEnd){
  char zSql[300];
  char zName[200];
  sqlite3 *db;
  sqlite3 *dbKeep;
  const char *zErr;

  snprintf(zSql, sizeof(zSql), "SELECT tenant_add_agent('S','%s')", zAgent);
  snprintf(zName, sizeof(zName), "transaction, %s: agent added", zEnd);
  tap_is_str(tap_exec_error(dbAdmin, zSql), 0, zName);
  snprintf(zSql, sizeof(zSql), "S?vfs=tenant&agent=%s", zAgent);
  db = tap_open_uri(zSql, 0, 0);
  dbKeep = tap_open_uri("S?vfs=tenant&agent=keep", 0, 0);
  if( !tap_ok(db!=0 && dbKeep!=0, "transaction, %s: both sessions bind",
              zEnd) ){
    sqlite3_close(db);
    sqlite3_close(dbKeep);
    return;
  }
  sqlite3_busy_timeout(dbKeep, 200);
  snprintf(zSql, sizeof(zSql), "BEGIN; INSERT INTO communications_data(id,"
           " data) VALUES('%s-open', 'x')", zAgent);
  snprintf(zName, sizeof(zName), "transaction, %s: row written", zEnd);
  tap_is_str(tap_exec_error(db, zSql), 0, zName);

  snprintf(zSql, sizeof(zSql), "SELECT tenant_remove_agent('S','%s')",
           zAgent);
  snprintf(zName, sizeof(zName), "transaction, %s: agent removed", zEnd);
  tap_is_int(workerRun("run", zSql), 0, zName);

  zErr = tap_exec_error(db, zEnd);
  if( sqlite3_stricmp(zEnd, "ROLLBACK")==0 ){
    snprintf(zName, sizeof(zName), "transaction, %s: runs", zEnd);
    tap_is_str(zErr, 0, zName);
  }else{
    snprintf(zName, sizeof(zName), "transaction, %s: fails", zEnd);
    tap_ok(zErr!=0, "%s", zName);
  }
  snprintf(zName, sizeof(zName), "transaction, %s: transaction ended", zEnd);
  tap_ok(sqlite3_get_autocommit(db), "%s", zName);
  snprintf(zName, sizeof(zName), "transaction, %s: other agent writes",
           zEnd);
  tap_is_str(tap_exec_error(dbKeep, "INSERT INTO communications_data(id,"
             " data) VALUES('keep-' || hex(randomblob(4)), 'x')"), 0, zName);
  snprintf(zSql, sizeof(zSql), "SELECT count(*) FROM communications_data"
           " WHERE id='%s-open'", zAgent);
  snprintf(zName, sizeof(zName), "transaction, %s: row not stored", zEnd);
  tap_is_str(tap_query_text(dbKeep, zSql), "0", zName);
  sqlite3_close(db);
  sqlite3_close(dbKeep);
}

/* The connection and statement that removeDuringFunc() runs. */
static sqlite3 *dbRemover = 0;
static char zRemoveSql[200];

/* SQL function remove_now(): removes an agent through dbRemover while the
** statement that calls it runs, and returns 'x'. */
static void removeDuringFunc(sqlite3_context *pCtx, int nArg,
                             sqlite3_value **apArg){
  (void)nArg; (void)apArg;
  sqlite3_exec(dbRemover, zRemoveSql, 0, 0, 0);
  sqlite3_result_text(pCtx, "x", -1, SQLITE_STATIC);
}

/*
** 6. An autocommit INSERT of a Sapphire session whose agent is removed
** while the INSERT runs, after its start was checked: its commit becomes
** a rollback, the row is not stored, and the session's next statement
** fails.
*/
static void testRemovalDuringStatement(sqlite3 *dbAdmin){
  sqlite3 *db;
  sqlite3 *dbKeep;
  const char *zErr;

  tap_is_str(tap_exec_error(dbAdmin, "SELECT tenant_add_agent('S','during')"),
             0, "during statement: agent added");
  db = tap_open_uri("S?vfs=tenant&agent=during", 0, 0);
  dbKeep = tap_open_uri("S?vfs=tenant&agent=keep", 0, 0);
  if( !tap_ok(db!=0 && dbKeep!=0, "during statement: both sessions bind") ){
    sqlite3_close(db);
    sqlite3_close(dbKeep);
    return;
  }
  dbRemover = dbAdmin;
  snprintf(zRemoveSql, sizeof(zRemoveSql),
           "SELECT tenant_remove_agent('S','during')");
  sqlite3_create_function(db, "remove_now", 0, SQLITE_UTF8, 0,
                          removeDuringFunc, 0, 0);
  zErr = tap_exec_error(db, "INSERT INTO communications_data(id, data)"
                        " VALUES('during-row', remove_now())");
  tap_ok(zErr!=0, "during statement: the INSERT fails");
  tap_ok(sqlite3_get_autocommit(db), "during statement: no transaction open");
  tap_is_str(tap_query_text(dbKeep, "SELECT count(*) FROM communications_data"
             " WHERE id='during-row'"), "0", "during statement: row not stored");
  tap_ok(tap_exec_error(db, "SELECT count(*) FROM communications_data")!=0,
         "during statement: next statement fails");
  tap_is_str(tap_exec_error(dbKeep, "INSERT INTO communications_data(id,"
             " data) VALUES('keep-' || hex(randomblob(4)), 'x')"), 0,
             "during statement: other agent writes");
  sqlite3_close(db);
  sqlite3_close(dbKeep);
}

/* Run zSql on the root's catalog.db, opened directly without the
** extension. Returns its first value, or its error when bExec, else NULL. */
static const char *catalogRun(const char *zRoot, const char *zSql,
                              int bExec){
  char zCatalog[4200];
  sqlite3 *db = 0;
  const char *z = 0;
  snprintf(zCatalog, sizeof(zCatalog), "%s/catalog.db", zRoot);
  if( sqlite3_open_v2(zCatalog, &db, SQLITE_OPEN_READWRITE, 0)!=SQLITE_OK ){
    tap_diag("cannot open %s: %s", zCatalog, sqlite3_errmsg(db));
    z = bExec ? "cannot open the catalog" : 0;
  }else{
    z = bExec ? tap_exec_error(db, zSql) : tap_query_text(db, zSql);
  }
  sqlite3_close(db);
  return z;
}

static const char *catalogQuery(const char *zRoot, const char *zSql){
  return catalogRun(zRoot, zSql, 0);
}

int main(int argc, char **argv){
  sqlite3 *dbAdmin = 0;
  sqlite3 *db;
  const char *zRoot;
  int rc;

  if( argc>2 && strcmp(argv[1], "run")==0 ) return runMain(argv[2]);
  if( argc>2 && strcmp(argv[1], "agent")==0 ) return agentMain(argv[2]);

  /* The fleet is provisioned by another process, so that this one first
  ** opens the catalog after agent_generations is dropped below. */
  zRoot = tap_fresh_root("agent");
  rc = workerRun("run", "SELECT tenant_provision('S','sapphire','us-west1');"
                 "SELECT tenant_provision('O','onyx','us-west1','S');"
                 "SELECT tenant_add_agent('O','old')");
  tap_is_int(rc, 0, "setup: fleet provisioned, agent old added");
  tap_is_str(catalogQuery(zRoot, "SELECT generation FROM agent_generations"
             " WHERE customer='O' AND id='old'"), "1",
             "setup: agent old has generation 1");

  /* 3. A catalog made before agent_generations existed: its agents have
  ** generation 0. Opening it adds the table, empty. A session bound then
  ** is retired when its agent is removed and added again elsewhere, and
  ** the agent added again gets a new generation. */
  tap_is_str(catalogRun(zRoot, "DROP TABLE agent_generations", 1), 0,
             "old catalog: agent_generations dropped");
  tap_open(&dbAdmin);
  db = agentOpen("old", 0);
  if( tap_ok(db!=0, "old catalog: O binds as agent old") ){
    sqlite3_stmt *pRead = 0;
    int nRow;
    tap_is_str(catalogQuery(zRoot, "SELECT count(*) FROM agent_generations"),
               "0", "old catalog: opening it adds the table, empty");
    tap_is_str(tap_exec_error(db, "INSERT INTO basic_communications(id,"
               " data) VALUES('old-old', 'x')"), 0,
               "old catalog: old session writes");
    sqlite3_prepare_v2(db, "SELECT id FROM basic_communications", -1,
                       &pRead, 0);
    nRow = stepAll(pRead, &rc);
    tap_is_int(nRow, 1, "old catalog: read finds the row");
    tap_is_int(workerRun("run", "SELECT tenant_remove_agent('O','old');"
               "SELECT tenant_add_agent('O','old')"), 0,
               "old catalog: agent removed and added again elsewhere");
    nRow = stepAll(pRead, &rc);
    tap_is_int(nRow, 0, "old catalog: old read returns no row");
    tap_is_int(rc, SQLITE_AUTH, "old catalog: old read fails");
    tap_is_str(sqlite3_errmsg(db), removedError("old"),
               "old catalog: old read names the agent");
    tap_is_str(tap_exec_error(db, "INSERT INTO basic_communications(id,"
               " data) VALUES('old-ghost', 'x')"), removedError("old"),
               "old catalog: new write fails");
    sqlite3_finalize(pRead);
    sqlite3_close(db);
  }
  tap_is_str(catalogQuery(zRoot, "SELECT generation FROM agent_generations"
             " WHERE customer='O' AND id='old'"), "1",
             "old catalog: the agent added again has generation 1");
  tap_is_int(workerRun("agent", "old"), 0, "old catalog: new session works");

  testReadded(dbAdmin, "here-on", 0, 0);
  testReadded(dbAdmin, "here-off", 0, 1);
  testReadded(dbAdmin, "there-on", 1, 0);
  testReadded(dbAdmin, "there-off", 1, 1);
  testReaddedSapphire(dbAdmin);
  tap_is_str(tap_exec_error(dbAdmin, "SELECT tenant_add_agent('S','keep')"),
             0, "prepared sapphire: agent keep added");
  testPreparedSapphire(dbAdmin, "pa-here", 0);
  testPreparedSapphire(dbAdmin, "pa-there", 1);
  testTransactionAfterRemoval(dbAdmin, "tx-commit", "COMMIT");
  testTransactionAfterRemoval(dbAdmin, "tx-end", "END");
  testTransactionAfterRemoval(dbAdmin, "tx-rollback", "ROLLBACK");
  testRemovalDuringStatement(dbAdmin);
  tap_is_str(catalogQuery(zRoot, "SELECT group_concat(generation, ' ') FROM"
             " (SELECT generation FROM agent_generations"
             " WHERE customer='O' AND id LIKE 'here-%' ORDER BY generation)"),
             "3 5", "generations: each addition gets the next number");
  sqlite3_close(dbAdmin);
  tap_done();
  return 0;
}
