/*
** Tests of storage accounting and storage limits in shared placements.
**
** Onyx customers A and B share the regional database of Sapphire S in
** eu-west1; the Onyx limit is shrunk to 2,000 bytes. Each row the tests
** write has id "rNN" and 500 bytes of data, so by the documented estimate
** it takes 24 + 12 (one index) + 2*3 (id) + 2*1 (customer_id) + 1
** (sapphire_parent_id, stamped) + 500 (data) + 19 (created_at) = 564
** bytes: three rows fit, a fourth does not.
**
** The tiers are unencrypted in both hosts, so the raw file opens without a
** key. Cases that need a second process run this program again with a
** worker argument (see workerMain).
*/
#include "tap.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ROW_BYTES 564
#define LIMIT_BYTES 2000

static char zOwnerFile[4096];
static char zRootDir[4096];
static char zLastLimitLog[1024];  /* last "storage limit" line of sqlite3_log */

/* SQLITE_CONFIG_LOG callback: keep the last storage limit message. */
static void logCallback(void *pArg, int iCode, const char *zMsg){
  (void)pArg;
  if( iCode==SQLITE_FULL && strstr(zMsg, "storage limit reached") ){
    snprintf(zLastLimitLog, sizeof(zLastLimitLog), "%s", zMsg);
  }
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

/* Open a session on customer zCustomer; bails out on failure. */
static sqlite3 *openSession(const char *zCustomer){
  char zTail[256];
  sqlite3 *db;
  snprintf(zTail, sizeof(zTail), "%s?vfs=tenant", zCustomer);
  db = tap_open_uri(zTail, 0, 0);
  if( db ) sqlite3_busy_timeout(db, 10000);
  return db;
}

/* Insert row "r<n>" with 500 bytes of data; returns the error or NULL. */
static const char *insertRow(sqlite3 *db, int n){
  char zSql[256];
  snprintf(zSql, sizeof(zSql), "INSERT INTO basic_communications(id, data)"
           " VALUES('r%02d', printf('%%.500c', 'x'))", n % 100);
  return tap_exec_error(db, zSql);
}

/* tenant_storage_check() of one customer: "stored|recomputed|difference". */
static const char *storageOf(sqlite3 *dbAdmin, const char *zCustomer){
  char zSql[256];
  snprintf(zSql, sizeof(zSql), "SELECT stored_bytes||'|'||recomputed_bytes"
           "||'|'||difference FROM tenant_storage_check('%s')", zCustomer);
  return tap_query_text(dbAdmin, zSql);
}

/* Stored bytes of a customer as an integer, -1 on error. */
static long long storedOf(sqlite3 *dbAdmin, const char *zCustomer){
  char zSql[256];
  const char *z;
  snprintf(zSql, sizeof(zSql), "SELECT stored_bytes FROM "
           "tenant_storage_check('%s')", zCustomer);
  z = tap_query_text(dbAdmin, zSql);
  return z ? atoll(z) : -1;
}

/* ---- workers: run as "t_quota <worker> <customer> ..." ---------------- */

/*
** Workers, each a session on customer C:
**   writer C N EXPECT SIZE  inserts N rows of SIZE bytes of data, one
**                           transaction each. Exits 0 when every insert
**                           succeeded (EXPECT "ok") or every one failed
**                           with SQLITE_FULL ("full").
**   loop C                  inserts rows in transactions of 10 until killed.
**   hold C FD               opens a transaction, inserts rows, writes one
**                           byte to FD and waits to be killed.
*/
static int workerMain(int argc, char **argv){
  sqlite3 *dbLoad = 0;
  sqlite3 *db;
  int i;

  tap_open(&dbLoad);
  db = openSession(argv[2]);
  if( db==0 ) return 2;

  if( strcmp(argv[1], "writer")==0 && argc>=6 ){
    int n = atoi(argv[3]);
    int bFull = strcmp(argv[4], "full")==0;
    int nData = atoi(argv[5]);
    for(i=0; i<n; i++){
      char zSql[256];
      int rc;
      snprintf(zSql, sizeof(zSql), "INSERT INTO basic_communications(id,"
               " data) VALUES('w%d-%d', printf('%%.%dc', 'x'))",
               (int)getpid(), i, nData);
      rc = sqlite3_exec(db, zSql, 0, 0, 0);
      if( bFull ? rc!=SQLITE_FULL : rc!=SQLITE_OK ) return 1;
    }
    sqlite3_close(db);
    return 0;
  }
  if( strcmp(argv[1], "loop")==0 ){
    for(i=0; ; i++){
      char zSql[256];
      int j;
      sqlite3_exec(db, "BEGIN", 0, 0, 0);
      for(j=0; j<10; j++){
        snprintf(zSql, sizeof(zSql), "INSERT INTO basic_communications(id,"
                 " data) VALUES('k%d-%d', 'looping')", i, j);
        sqlite3_exec(db, zSql, 0, 0, 0);
      }
      sqlite3_exec(db, "DELETE FROM basic_communications WHERE id LIKE 'k%-3'",
                   0, 0, 0);
      sqlite3_exec(db, "COMMIT", 0, 0, 0);
    }
  }
  if( strcmp(argv[1], "hold")==0 && argc>=4 ){
    int fd = atoi(argv[3]);
    sqlite3_exec(db, "BEGIN", 0, 0, 0);
    for(i=0; i<50; i++){
      char zSql[256];
      snprintf(zSql, sizeof(zSql), "INSERT INTO basic_communications(id,"
               " data) VALUES('h%d', 'held')", i);
      sqlite3_exec(db, zSql, 0, 0, 0);
    }
    if( write(fd, "x", 1)!=1 ) return 1;
    for(;;) sleep(1);
  }
  return 3;
}

/* Start this program as a worker; returns its pid. */
static pid_t startWorker(const char *zSelf, const char *z1, const char *z2,
                         const char *z3, const char *z4, const char *z5){
  pid_t pid = fork();
  if( pid==0 ){
    execl(zSelf, zSelf, z1, z2, z3, z4, z5, (char*)0);
    _exit(127);
  }
  return pid;
}

static int waitWorker(pid_t pid){
  int status = 0;
  if( waitpid(pid, &status, 0)!=pid ) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- cases ------------------------------------------------------------ */

/* 1. The fleet, with a limit of 2,000 bytes for Onyx. */
static void testSetup(sqlite3 *dbAdmin, const char *zRoot){
  static const char *const azSetup[] = {
    "SELECT tenant_policy_set('sapphire','encrypted',0)",
    "SELECT tenant_policy_set('opal','encrypted',0)",
    "SELECT tenant_policy_set('onyx','encrypted',0)",
    "SELECT tenant_policy_set('sapphire','journal_mode','delete')",
    "SELECT tenant_provision('S','sapphire','eu-west1')",
    "SELECT tenant_provision('A','onyx','eu-west1','S')",
    "SELECT tenant_provision('B','onyx','eu-west1','S')",
    "SELECT tenant_policy_set('onyx','storage_limit_bytes',2000)",
    0
  };
  int i;
  for(i=0; azSetup[i]; i++){
    const char *zErr = tap_exec_error(dbAdmin, azSetup[i]);
    if( !tap_ok(zErr==0, "setup: %s", azSetup[i]) ) tap_diag("%s", zErr);
  }
  snprintf(zOwnerFile, sizeof(zOwnerFile), "%s/shared-onyx-eu-west1/"
           "d1-onyx-shared-eu-west1/owner.db", zRoot);
}

/*
** 2b. An update takes the size of the row it replaces from the cursor
** that found the row when it can. The total must stay equal to a
** recomputation for every kind of value, every way an UPDATE reaches its
** rows, and while another statement keeps a cursor on an older copy of
** the row.
*/
static void testUpdatedRows(sqlite3 *dbAdmin){
  static const char *const azStep[] = {
    "INSERT INTO kinds(k, i, r, n, t, b, u) VALUES"
      "('a', 1, 1.5, 10, 'text', x'00ff', NULL),"
      "('b', -7, 0.1, '2.50', 'more text', x'', 3),"
      "('c', NULL, NULL, NULL, NULL, NULL, 'c')",
    "UPDATE kinds SET t='longer text than before' WHERE k='a'",
    "UPDATE kinds SET i=-9223372036854775808, r=1e300 WHERE k='a'",
    "UPDATE kinds SET i='12', r='7', n='3.0', u=x'0102' WHERE k='b'",
    "UPDATE kinds SET i=9223372036854775807, r=-0.0, n=1e20 WHERE k='c'",
    "UPDATE kinds SET i='abc', r='x1', n=NULL, t=NULL WHERE k='a'",
    "UPDATE kinds SET t=t||'+' WHERE k>='a'",
    "UPDATE kinds SET b=randomblob(40) WHERE EXISTS(SELECT 1 FROM kinds o "
      "WHERE o.k='b') AND k IN ('a','b')",
    "UPDATE kinds SET t=(SELECT t FROM kinds o WHERE o.k='b')||'!' "
      "WHERE k='c'",
    "UPDATE OR REPLACE kinds SET k='b', t='replaces b' WHERE k='c'",
    "DELETE FROM kinds WHERE k='a'",
    "INSERT INTO kinds(k, i, t) VALUES('a', 5, 'again')",
    0
  };
  sqlite3 *db = openSession("A");
  sqlite3_stmt *pHeld = 0;
  int i;

  tap_ok(tap_exec_error(dbAdmin, "SELECT tenant_policy_set('onyx',"
      "'storage_limit_bytes',1000000)")==0, "updates: limit raised");
  tap_ok(tap_exec_error(dbAdmin, "SELECT tenant_add_table("
      "'basic_communications', 'CREATE TABLE kinds(k TEXT PRIMARY KEY, "
      "i INTEGER, r REAL, n NUMERIC, t TEXT, b BLOB, u)')")==0,
      "updates: table of every affinity added");
  sqlite3_close(db);
  db = openSession("A");

  for(i=0; azStep[i]; i++){
    const char *zErr = tap_exec_error(db, azStep[i]);
    if( !tap_ok(zErr==0, "%s", checkName("updates: %s", azStep[i])) ){
      tap_diag("%s", zErr);
    }
    tap_is_str(tap_query_text(dbAdmin, "SELECT difference FROM "
               "tenant_storage_check('A')"), "0",
               checkName("updates: exact after %s", azStep[i]));
  }

  /* A cursor left on row 'a' by a statement not yet reset, while the row
  ** changes size twice under it. */
  sqlite3_prepare_v2(db, "SELECT * FROM kinds WHERE k='a'", -1, &pHeld, 0);
  tap_is_int(sqlite3_step(pHeld), SQLITE_ROW, "updates: a cursor holds 'a'");
  tap_ok(tap_exec_error(db, "UPDATE kinds SET t=printf('%.300c','y') "
                        "WHERE k='a'")==0, "updates: 'a' grows");
  tap_ok(tap_exec_error(db, "UPDATE kinds SET u=1 WHERE k>='a'")==0,
         "updates: every row, found in two passes");
  sqlite3_finalize(pHeld);
  tap_is_str(tap_query_text(dbAdmin, "SELECT difference FROM "
             "tenant_storage_check('A')"), "0",
             "updates: exact with a cursor held on an older row");

  tap_ok(tap_exec_error(db, "DELETE FROM kinds")==0, "updates: rows removed");
  sqlite3_close(db);
  tap_ok(tap_exec_error(dbAdmin, "SELECT tenant_policy_set('onyx',"
      "'storage_limit_bytes',2000)")==0, "updates: limit restored");
}

/*
** 2c. A savepoint rolled back over the first write of a transaction takes
** that write's change out of the total, and a NULL that UPDATE OR REPLACE
** turns into a column's DEFAULT is counted as the default. Either miss
** lets a customer lower its stored total and write past its limit.
** Starts and ends with row r01 alone, and leaves the total repaired.
*/
static void testSavepointFirstWrite(sqlite3 *dbAdmin){
  static const char *const azStep[] = {
    "SAVEPOINT s1; DELETE FROM basic_communications; ROLLBACK TO s1;"
      " RELEASE s1",
    "SAVEPOINT s1; UPDATE basic_communications SET data='short'"
      " WHERE id='r01'; ROLLBACK TO s1; RELEASE s1",
    "SAVEPOINT s1; INSERT INTO basic_communications(id, data)"
      " VALUES('s1', 'abc'); ROLLBACK TO s1; RELEASE s1",
    "BEGIN; SAVEPOINT s1; UPDATE basic_communications SET data='short'"
      " WHERE id='r01'; ROLLBACK TO s1; COMMIT",
    "UPDATE OR REPLACE basic_communications SET created_at=NULL"
      " WHERE id='r01'",
    0
  };
  sqlite3 *db = openSession("A");
  const char *zErr;
  int i;
  int n;

  for(i=0; azStep[i]; i++){
    zErr = tap_exec_error(db, azStep[i]);
    if( !tap_ok(zErr==0, "%s", checkName("first write: %s", azStep[i])) ){
      tap_diag("%s", zErr);
    }
    tap_is_str(tap_query_text(dbAdmin, "SELECT difference FROM "
               "tenant_storage_check('A')"), "0",
               checkName("first write: exact after %s", azStep[i]));
    tap_query_text(dbAdmin, "SELECT tenant_storage_repair('A')");
  }

  /* After three rolled back deletes, only two more rows of ROW_BYTES
  ** still fit beside r01 under the 2,000-byte limit. */
  for(i=0; i<3; i++){
    tap_exec_error(db, "SAVEPOINT s1; DELETE FROM basic_communications;"
                   " ROLLBACK TO s1; RELEASE s1");
  }
  for(n=0; n<5 && insertRow(db, 80+n)==0; n++){}
  tap_is_int(n, 2, "first write: rolled back deletes make no room");
  tap_ok(tap_exec_error(db, "DELETE FROM basic_communications"
                        " WHERE id<>'r01'")==0, "first write: rows removed");
  tap_query_text(dbAdmin, "SELECT tenant_storage_repair('A')");
  sqlite3_close(db);
}

/*
** INSERT OR IGNORE of several rows that reaches the limit part way, inside
** a transaction: the statement is undone whole, or the rows it keeps are
** counted. Either way the stored total matches the rows.
*/
static void testIgnoreInsertAtLimit(sqlite3 *dbAdmin){
  sqlite3 *db = openSession("A");
  const char *zErr;

  tap_ok(tap_exec_error(db, "BEGIN")==0, "ignore at limit: BEGIN");
  zErr = tap_exec_error(db, "INSERT OR IGNORE INTO basic_communications"
                        "(id, data) VALUES('i1', printf('%.500c', 'x')),"
                        " ('i2', printf('%.3000c', 'x'))");
  tap_ok(zErr!=0 && strstr(zErr, "storage limit reached")!=0,
         "ignore at limit: the second row is over the limit");
  tap_exec_error(db, "COMMIT");
  tap_is_str(tap_query_text(dbAdmin, "SELECT difference FROM "
             "tenant_storage_check('A')"), "0",
             "ignore at limit: stored total matches the rows");
  tap_exec_error(db, "DELETE FROM basic_communications WHERE id='i1'");
  tap_query_text(dbAdmin, "SELECT tenant_storage_repair('A')");
  sqlite3_close(db);
}

/* 2. Rows are counted as they are written, and match a recomputation. */
static void testAccounting(sqlite3 *dbAdmin){
  sqlite3 *db = openSession("A");
  sqlite3 *dbRaw = 0;
  char zExpect[64];

  tap_ok(insertRow(db, 1)==0, "accounting: first row inserted");
  snprintf(zExpect, sizeof(zExpect), "%d|%d|0", ROW_BYTES, ROW_BYTES);
  tap_is_str(storageOf(dbAdmin, "A"), zExpect,
             "accounting: one row counted by the documented estimate");

  tap_ok(tap_exec_error(db, "BEGIN; "
      "INSERT INTO basic_communications(id, data) VALUES('t1', 'abc');"
      "INSERT INTO basic_communications(id, data) VALUES('t2', 'abcdef');"
      "ROLLBACK")==0, "accounting: transaction rolled back");
  snprintf(zExpect, sizeof(zExpect), "%d|%d|0", ROW_BYTES, ROW_BYTES);
  tap_is_str(storageOf(dbAdmin, "A"), zExpect,
             "accounting: rolled back rows not counted");

  tap_ok(tap_exec_error(db, "BEGIN;"
      "INSERT INTO basic_communications(id, data) VALUES('t1', 'abc');"
      "SAVEPOINT s1;"
      "INSERT INTO basic_communications(id, data) VALUES('t2', 'abcdef');"
      "ROLLBACK TO s1;"
      "RELEASE s1;"
      "UPDATE basic_communications SET data='abcd' WHERE id='t1';"
      "COMMIT")==0, "accounting: savepoint rolled back, update committed");
  tap_is_str(tap_query_text(dbAdmin, "SELECT difference FROM "
             "tenant_storage_check('A')"), "0",
             "accounting: savepoint and update keep the total exact");
  /* 36 fixed, id and customer_id in the key, parent "S", data, created_at */
  tap_is_int(storedOf(dbAdmin, "A"), ROW_BYTES + (36+4+2+1+4+19),
             "accounting: t1 counted with its updated data");

  tap_ok(tap_exec_error(db, "DELETE FROM basic_communications"
                        " WHERE id='t1'")==0, "accounting: delete");
  tap_is_int(storedOf(dbAdmin, "A"), ROW_BYTES,
             "accounting: deleted row no longer counted");
  tap_ok(tap_exec_error(db, "INSERT OR IGNORE INTO basic_communications"
      "(id, data) VALUES('r01', 'duplicate')")==0,
      "accounting: INSERT OR IGNORE of an existing key");
  tap_is_int(storedOf(dbAdmin, "A"), ROW_BYTES,
             "accounting: ignored insert not counted");

  /* The stored total lives in the file, beside the rows. */
  sqlite3_open_v2(zOwnerFile, &dbRaw, SQLITE_OPEN_READONLY, 0);
  snprintf(zExpect, sizeof(zExpect), "%d", ROW_BYTES);
  tap_is_str(tap_query_text(dbRaw, "SELECT bytes FROM tenant_usage"
             " WHERE customer_id='A'"), zExpect,
             "accounting: tenant_usage in the shared file holds the total");
  sqlite3_close(dbRaw);
  sqlite3_close(db);
}

/* 3. Sessions never see tenant_usage and cannot lift the limit. */
static void testHidden(void){
  sqlite3 *db = openSession("A");
  tap_is_str(tap_exec_error(db, "SELECT * FROM tenant_usage"),
             "no such table: tenant_usage",
             "hidden: tenant_usage is not reachable");
  tap_is_str(tap_exec_error(db, "SELECT count(*) FROM tenant_usage"),
             "no such table: tenant_usage",
             "hidden: count(*) of tenant_usage is not reachable");
  tap_is_str(tap_exec_error(db, "PRAGMA max_page_count=1000000"),
             "not authorized", "hidden: max_page_count pragma denied");
  tap_is_str(tap_exec_error(db, "SELECT * FROM tenant_storage_check"),
             "tenant: tenant_storage_check is administrative and not "
             "available on a connection bound to a customer: query it from "
             "an unbound connection",
             "hidden: tenant_storage_check refused in a session");
  tap_is_str(tap_exec_error(db, "SELECT tenant_policy_set('onyx',"
             "'storage_limit_bytes',NULL)"),
             "not authorized to use function: tenant_policy_set",
             "hidden: tenant_policy_set denied in a session");
  sqlite3_close(db);
}

/* 4. The write past the limit fails; the customer can read and delete;
** another customer of the same file keeps writing. */
static void testLimit(sqlite3 *dbAdmin, const char *zMode){
  sqlite3 *db = openSession("A");
  sqlite3 *dbB = openSession("B");
  char zExpect[512];
  char zName[64];

  snprintf(zName, sizeof(zName), "limit (%s)", zMode);
  tap_ok(insertRow(db, 2)==0, "%s: second row fits", zName);
  tap_ok(insertRow(db, 3)==0, "%s: third row fits", zName);
  snprintf(zExpect, sizeof(zExpect), "tenant: storage limit reached for "
           "customer \"A\": the write needs %d more bytes, %d of the %d bytes"
           " that tier \"onyx\" allows are used; delete rows or move the "
           "customer to a larger tier", ROW_BYTES, 3*ROW_BYTES, LIMIT_BYTES);
  tap_is_str(insertRow(db, 4), zExpect, checkName("%s: fourth row refused", zName));
  tap_is_int(sqlite3_errcode(db), SQLITE_FULL, "limit: error code is "
             "SQLITE_FULL");

  /* In a transaction, the failure rolls the transaction back whole. */
  tap_is_str(tap_exec_error(db, "BEGIN;"
      "DELETE FROM basic_communications WHERE id='r03';"
      "INSERT INTO basic_communications(id, data)"
      "  VALUES('r05', printf('%.500c','y'));"
      "INSERT INTO basic_communications(id, data)"
      "  VALUES('r06', printf('%.500c','y'));"), zExpect,
      checkName("%s: transaction refused at the row past the limit", zName));
  tap_ok(sqlite3_get_autocommit(db), "%s: transaction rolled back", zName);
  tap_is_str(tap_query_text(db, "SELECT group_concat(id) FROM "
             "(SELECT id FROM basic_communications ORDER BY id)"),
             "r01,r02,r03", checkName("%s: rows as before the transaction", zName));
  snprintf(zExpect, sizeof(zExpect), "%d|%d|0", 3*ROW_BYTES, 3*ROW_BYTES);
  tap_is_str(storageOf(dbAdmin, "A"), zExpect,
             checkName("%s: stored total as before the transaction", zName));

  tap_ok(insertRow(dbB, 1)==0, "%s: B writes in the same file", zName);
  tap_ok(tap_exec_error(db, "UPDATE basic_communications SET data='short'"
             " WHERE id='r02'")==0, "%s: A shrinks a row", zName);
  tap_ok(tap_exec_error(db, "UPDATE basic_communications SET "
             "data=printf('%.900c','z') WHERE id='r02'")!=0,
             "%s: A cannot grow a row past the limit", zName);
  tap_ok(tap_exec_error(db, "DELETE FROM basic_communications")==0,
         "%s: A deletes its rows", zName);
  tap_is_str(storageOf(dbAdmin, "A"), "0|0|0",
             checkName("%s: nothing counted after the delete", zName));
  tap_ok(insertRow(db, 1)==0, "%s: A writes again", zName);
  tap_ok(tap_exec_error(dbB, "DELETE FROM basic_communications")==0,
         "%s: B cleans up", zName);
  sqlite3_close(dbB);
  sqlite3_close(db);
}

/* 5. Over the limit: A reads, a second process of B writes while a
** process of A is refused, on one shared file. */
static void testTwoProcesses(sqlite3 *dbAdmin, const char *zSelf){
  sqlite3 *db;
  pid_t pA, pB;
  int i;

  /* 5,000 bytes: A fills 8 rows (4,504 bytes) and has no room for a row
  ** of 600 bytes of data; B has room for 50 rows of 10 bytes. */
  tap_ok(tap_exec_error(dbAdmin, "SELECT tenant_policy_set('onyx',"
         "'storage_limit_bytes',5000)")==0, "two processes: limit 5,000");
  db = openSession("A");
  for(i=2; i<=8; i++) insertRow(db, i);
  tap_is_str(tap_query_text(db, "SELECT count(*) FROM basic_communications"),
             "8", "two processes: A is near its limit and reads its rows");
  sqlite3_close(db);

  pA = startWorker(zSelf, "writer", "A", "50", "full", "600");
  pB = startWorker(zSelf, "writer", "B", "50", "ok", "10");
  tap_is_int(waitWorker(pA), 0, "two processes: every write of A refused");
  tap_is_int(waitWorker(pB), 0, "two processes: every write of B succeeded");
  tap_is_str(tap_query_text(dbAdmin, "SELECT group_concat(difference) FROM "
             "tenant_storage_check WHERE placement='shared'"), "0,0",
             "two processes: stored totals match the rows");
}

/* 6. SIGKILL never makes tenant_usage drift. */
static void testKill(sqlite3 *dbAdmin, const char *zSelf){
  struct timespec ts = { 0, 300*1000*1000 };
  int aPipe[2];
  char zFd[16];
  char c = 0;
  pid_t pid;

  tap_ok(tap_exec_error(dbAdmin, "SELECT tenant_policy_set('onyx',"
         "'storage_limit_bytes',NULL)")==0, "kill: limit lifted");

  /* Killed in the middle of an open transaction. */
  if( pipe(aPipe)!=0 ) return;
  snprintf(zFd, sizeof(zFd), "%d", aPipe[1]);
  pid = startWorker(zSelf, "hold", "B", zFd, 0, 0);
  close(aPipe[1]);
  tap_ok(read(aPipe[0], &c, 1)==1, "kill: worker inside its transaction");
  kill(pid, SIGKILL);
  waitWorker(pid);
  close(aPipe[0]);
  tap_is_str(tap_query_text(dbAdmin, "SELECT difference FROM "
             "tenant_storage_check('B')"), "0",
             "kill: stored total exact after a kill in a transaction");

  /* Killed at a random point of a stream of commits. */
  pid = startWorker(zSelf, "loop", "B", 0, 0, 0);
  nanosleep(&ts, 0);
  kill(pid, SIGKILL);
  waitWorker(pid);
  tap_ok(storedOf(dbAdmin, "B")>0, "kill: the loop committed rows");
  tap_is_str(tap_query_text(dbAdmin, "SELECT difference FROM "
             "tenant_storage_check('B')"), "0",
             "kill: stored total exact after a kill between commits");
}

/* Insert rows of 2,000 bytes into S's dedicated file until one fails;
** returns the number inserted and leaves the error in db. */
static int fillDedicated(sqlite3 *db, int *pRc){
  int i;
  for(i=0; i<200; i++){
    char zSql[256];
    snprintf(zSql, sizeof(zSql), "INSERT INTO communications_data(id,"
             " customer_id, data) VALUES('d%d', 'S', printf('%%.2000c','d'))",
             i);
    *pRc = sqlite3_exec(db, zSql, 0, 0, 0);
    if( *pRc!=SQLITE_OK ) break;
  }
  return i;
}

/* 7. A dedicated placement is limited by the size of its databases, in the
** VFS, in rollback and WAL mode; the customer can still delete. */
static void testDedicated(sqlite3 *dbAdmin, const char *zMode){
  char zSql[256];
  char zName[64];
  long long nBase = storedOf(dbAdmin, "S");
  sqlite3 *db;
  int n, rc = SQLITE_OK;

  snprintf(zName, sizeof(zName), "dedicated (%s)", zMode);
  snprintf(zSql, sizeof(zSql), "SELECT tenant_policy_set('sapphire',"
           "'storage_limit_bytes',%lld)", nBase + 40960);
  tap_ok(nBase>0 && tap_exec_error(dbAdmin, zSql)==0,
         "%s: limit 40 KB above the files' %lld bytes", zName, nBase);
  zLastLimitLog[0] = 0;
  db = openSession("S");
  n = fillDedicated(db, &rc);
  tap_ok(n>0 && n<40, "%s: %d rows of 2 KB fit", zName, n);
  tap_is_int(rc, SQLITE_FULL, checkName("%s: next write is SQLITE_FULL",
             zName));
  tap_is_str(sqlite3_errmsg(db), "database or disk is full",
             checkName("%s: error text of the full database", zName));
  tap_ok(strncmp(zLastLimitLog, "tenant: storage limit reached for customer"
         " \"S\": its databases would grow to ", 72)==0,
         "%s: log names the customer: %s", zName, zLastLimitLog);
  tap_ok(strstr(zLastLimitLog, "-byte limit; usage is ")!=0,
         "%s: log names the limit and the usage", zName);
  tap_ok(tap_exec_error(db, "SELECT count(*) FROM communications_data")==0,
         "%s: S reads", zName);
  tap_ok(tap_exec_error(db, "DELETE FROM communications_data")==0,
         "%s: S deletes", zName);
  tap_ok(tap_exec_error(db, "INSERT INTO communications_data(id, customer_id,"
         " data) VALUES('after', 'S', 'small')")==0,
         "%s: S writes into the freed pages", zName);
  sqlite3_close(db);
  tap_ok(tap_exec_error(dbAdmin, "SELECT tenant_policy_set('sapphire',"
         "'storage_limit_bytes',NULL)")==0, "%s: limit lifted", zName);
}

/*
** 7b. A dedicated limit set through another connection to the catalog, as
** another process would set it, applies from the next binding, although
** the limit of the same folder was read at a binding just before.
*/
static void testDedicatedOtherWriter(sqlite3 *dbAdmin){
  char zPath[4200];
  char zSql[256];
  long long nBase = storedOf(dbAdmin, "S");
  sqlite3 *dbCatalog = 0;
  sqlite3 *db;
  int n, rc = SQLITE_OK;

  db = openSession("S");
  tap_ok(tap_exec_error(db, "SELECT count(*) FROM communications_data")==0,
         "other writer: S binds with no limit");
  sqlite3_close(db);

  snprintf(zPath, sizeof(zPath), "%s/catalog.db", zRootDir);
  sqlite3_open_v2(zPath, &dbCatalog, SQLITE_OPEN_READWRITE, 0);
  sqlite3_busy_timeout(dbCatalog, 5000);
  snprintf(zSql, sizeof(zSql), "UPDATE policy SET storage_limit_bytes=%lld"
           " WHERE tier='sapphire'", nBase + 40960);
  tap_is_str(tap_exec_error(dbCatalog, zSql), 0,
             "other writer: limit set in the catalog directly");

  db = openSession("S");
  n = fillDedicated(db, &rc);
  tap_ok(n>0 && n<200, "other writer: writes stop after %d rows", n);
  tap_is_int(rc, SQLITE_FULL, "other writer: next write is SQLITE_FULL");
  tap_ok(tap_exec_error(db, "DELETE FROM communications_data")==0,
         "other writer: S deletes");
  sqlite3_close(db);
  tap_is_str(tap_exec_error(dbCatalog, "UPDATE policy SET "
             "storage_limit_bytes=NULL WHERE tier='sapphire'"), 0,
             "other writer: limit lifted");
  sqlite3_close(dbCatalog);
}

/*
** 8. A shared file without tenant_usage, as files provisioned before the
** table existed are, gets it when a session that writes the file binds,
** and the session still cannot reach it.
*/
static void testUsageTableCreated(void){
  sqlite3 *dbRaw = 0;
  sqlite3 *db;

  sqlite3_open_v2(zOwnerFile, &dbRaw, SQLITE_OPEN_READWRITE, 0);
  tap_is_str(tap_exec_error(dbRaw, "DROP TABLE tenant_usage"), 0,
             "usage table: dropped from the shared file");
  db = openSession("A");
  tap_ok(db!=0, "usage table: a session binds without it");
  tap_is_str(tap_query_text(dbRaw, "SELECT count(*) FROM sqlite_master "
             "WHERE name='tenant_usage'"), "1",
             "usage table: binding created it again");
  tap_is_str(tap_exec_error(db, "SELECT count(*) FROM tenant_usage"),
             "no such table: tenant_usage",
             "usage table: the session cannot reach it");
  tap_is_str(insertRow(db, 900), 0, "usage table: the session writes a row");
  tap_is_str(tap_query_text(dbRaw, "SELECT count(*) FROM tenant_usage "
             "WHERE customer_id='A' AND bytes>0"), "1",
             "usage table: the write was counted");
  sqlite3_close(db);
  sqlite3_close(dbRaw);
}

int main(int argc, char **argv){
  sqlite3 *dbAdmin = 0;
  sqlite3 *dbRaw = 0;
  const char *zRoot;

  if( argc>2 ) return workerMain(argc, argv);

  sqlite3_config(SQLITE_CONFIG_LOG, logCallback, (void*)0);
  zRoot = tap_fresh_root("quota");
  snprintf(zRootDir, sizeof(zRootDir), "%s", zRoot);
  tap_open(&dbAdmin);
  testSetup(dbAdmin, zRoot);
  testAccounting(dbAdmin);
  testUpdatedRows(dbAdmin);
  testSavepointFirstWrite(dbAdmin);
  testIgnoreInsertAtLimit(dbAdmin);
  testHidden();
  testLimit(dbAdmin, "rollback journal");

  /* The same in WAL mode, which the file keeps once set. */
  sqlite3_open_v2(zOwnerFile, &dbRaw, SQLITE_OPEN_READWRITE, 0);
  tap_is_str(tap_query_text(dbRaw, "PRAGMA journal_mode=WAL"), "wal",
             "setup: shared file switched to WAL");
  sqlite3_close(dbRaw);
  testLimit(dbAdmin, "WAL");

  testTwoProcesses(dbAdmin, "/proc/self/exe");
  testKill(dbAdmin, "/proc/self/exe");
  testDedicated(dbAdmin, "rollback journal");
  {
    char zPath[4200];
    snprintf(zPath, sizeof(zPath), "%s/customer-S-sapphire/"
             "d1-sapphire-S-eu-west1/owner.db", zRootDir);
    sqlite3_open_v2(zPath, &dbRaw, SQLITE_OPEN_READWRITE, 0);
    tap_is_str(tap_query_text(dbRaw, "PRAGMA journal_mode=WAL"), "wal",
               "setup: dedicated owner file switched to WAL");
    sqlite3_close(dbRaw);
  }
  testDedicated(dbAdmin, "WAL");
  testDedicatedOtherWriter(dbAdmin);
  testUsageTableCreated();
  sqlite3_close(dbAdmin);
  tap_done();
  return 0;
}
