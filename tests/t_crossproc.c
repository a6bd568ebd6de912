/*
** Writes that run while another process writes the same file, reads and
** writes of a session whose customer another process decommissions or
** provisions again, and a catalog made before customer generations
** existed.
**
** Each step runs in its own child process, which loads the extension and
** opens the catalog itself, as a second program on the same root would.
** The fleet: Sapphire S1, and Opal P1 to P4 under it.
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

/* Compare the first value of zSql, run on the root's catalog.db opened
** directly, with zExpected. Returns 0 when they are equal. */
static int catalogIs(const char *zSql, const char *zExpected){
  char zCatalog[4200];
  sqlite3 *db = 0;
  const char *z;
  int rc;
  snprintf(zCatalog, sizeof(zCatalog), "%s/catalog.db", getenv("TENANT_ROOT"));
  if( sqlite3_open_v2(zCatalog, &db, SQLITE_OPEN_READWRITE, 0)!=SQLITE_OK ){
    sqlite3_close(db);
    return 1;
  }
  z = tap_query_text(db, zSql);
  rc = z==0 || strcmp(z, zExpected)!=0;
  if( rc ) tap_diag("%s: %s", zSql, z ? z : "(error)");
  sqlite3_close(db);
  return rc;
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
      " active in the catalog (decommissioned, or provisioned again since"
      " this session bound): close this session and open a new one";
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

/* The failures that sessionAcrossMain() reports in its exit status. */
#define ACROSS_OPEN      0x01   /* the session did not open or write */
#define ACROSS_OLD_ROWS  0x02   /* the old read, run again, found rows */
#define ACROSS_OLD_ERROR 0x04   /* ... or ended without the expected error */
#define ACROSS_OLD_WRITE 0x08   /* the write prepared before did not fail
                                ** as expected */
#define ACROSS_READ      0x10   /* a new read did not fail as expected */
#define ACROSS_WRITE     0x20   /* a new write did not fail as expected */
#define ACROSS_OLD_AFTER 0x40   /* the old read, stepped after those, did
                                ** not fail as expected */

/* True when the last statement on db failed with SQLITE_AUTH and zError;
** prints what happened instead. */
static int failedWith(sqlite3 *db, int rc, const char *zWhat,
                      const char *zError){
  if( rc==SQLITE_AUTH && strcmp(sqlite3_errmsg(db), zError)==0 ) return 1;
  fprintf(stderr, "# %s: error code %d, %s\n", zWhat, rc,
          rc==SQLITE_OK || rc==SQLITE_DONE ? "succeeded" : sqlite3_errmsg(db));
  return 0;
}

/*
** A session of zCustomer that stays open across the decommission and the
** new provisioning of its customer by other processes. It writes a row,
** prepares a read and a write, runs the read, writes one byte to fdReady
** and waits for one byte on fdGo. Then it steps the old read again, steps
** the old write, runs a new read and a new write, and steps the old read
** once more. Every one of them must fail with SQLITE_AUTH and zError. The
** exit status is the set of ACROSS_* failures, 0 when there is none.
*/
static void sessionAcrossMain(const char *zCustomer, int fdReady, int fdGo,
                              const char *zError){
  sqlite3 *dbLoad = 0;
  sqlite3_stmt *pRead = 0;
  sqlite3_stmt *pWrite = 0;
  sqlite3 *db;
  char zTail[64];
  char c = 0;
  int mFail = 0;
  int nRow = 0;
  int rc;

  tap_open(&dbLoad);
  snprintf(zTail, sizeof(zTail), "%s?vfs=tenant", zCustomer);
  db = tap_open_uri(zTail, 0, 0);
  if( db==0
   || tap_exec_error(db, "INSERT INTO communications_data(id, data)"
                         " VALUES('before', 'x')")
   || sqlite3_prepare_v2(db, "SELECT id FROM communications_data", -1,
                         &pRead, 0)!=SQLITE_OK
   || sqlite3_prepare_v2(db, "INSERT INTO communications_data(id, data)"
                         " VALUES('ghost', 'x')", -1, &pWrite, 0)!=SQLITE_OK ){
    _exit(ACROSS_OPEN);
  }
  while( sqlite3_step(pRead)==SQLITE_ROW ){}
  sqlite3_reset(pRead);
  if( write(fdReady, "r", 1)!=1 || read(fdGo, &c, 1)!=1 ) _exit(ACROSS_OPEN);

  while( (rc = sqlite3_step(pRead))==SQLITE_ROW ){
    fprintf(stderr, "# the old read returned row %s\n",
            (const char*)sqlite3_column_text(pRead, 0));
    nRow++;
  }
  if( nRow>0 ) mFail |= ACROSS_OLD_ROWS;
  if( !failedWith(db, rc, "old read", zError) ) mFail |= ACROSS_OLD_ERROR;
  sqlite3_reset(pRead);

  rc = sqlite3_step(pWrite);
  if( !failedWith(db, rc, "old write", zError) ) mFail |= ACROSS_OLD_WRITE;
  sqlite3_finalize(pWrite);
  rc = sqlite3_exec(db, "SELECT count(*) FROM communications_data", 0, 0, 0);
  if( !failedWith(db, rc, "new read", zError) ) mFail |= ACROSS_READ;
  rc = sqlite3_exec(db, "INSERT INTO communications_data(id, data)"
                    " VALUES('ghost2', 'x')", 0, 0, 0);
  if( !failedWith(db, rc, "new write", zError) ) mFail |= ACROSS_WRITE;

  nRow = 0;
  while( (rc = sqlite3_step(pRead))==SQLITE_ROW ) nRow++;
  if( nRow>0 || !failedWith(db, rc, "old read after", zError) ){
    mFail |= ACROSS_OLD_AFTER;
  }
  sqlite3_finalize(pRead);
  sqlite3_close(db);
  sqlite3_close(dbLoad);
  _exit(mFail);
}

/*
** 3. A session that stays open while other processes decommission its
** customer and provision the same id again, and a session of the new
** customer writes a row, belongs to the old customer. A read it prepared
** before, run again first, reads no row and fails with the error of an
** inactive customer, because the change counter that the other processes
** advanced has moved. From then on a write it prepared before, a new read,
** a new write and the read again fail the same way. The new customer
** finds only its own row. The second run binds the old session with
** TENANT_METER=off.
*/
static void testProvisionedAgainElsewhere(int bMeterOff){
  static const char zInactive[] = "tenant: customer \"P4\" is no longer"
      " active in the catalog (decommissioned, or provisioned again since"
      " this session bound): close this session and open a new one";
  const char *zWhat = bMeterOff ? "metering off" : "metering on";
  int aReady[2], aGo[2];
  pid_t pSession, pNew, pCount;
  int mFail;
  char c = 0;
  int rc;

  rc = adminRun("SELECT tenant_provision('P4','opal','us-west1','S1')");
  tap_ok(rc==0, "again elsewhere, %s: P4 provisioned", zWhat);
  if( pipe(aReady)!=0 || pipe(aGo)!=0 ){
    tap_ok(0, "again elsewhere, %s: pipes", zWhat);
    return;
  }
  if( bMeterOff ) setenv("TENANT_METER", "off", 1);
  pSession = fork();
  if( pSession==0 ) sessionAcrossMain("P4", aReady[1], aGo[0], zInactive);
  unsetenv("TENANT_METER");
  close(aReady[1]);
  close(aGo[0]);
  rc = read(aReady[0], &c, 1)==1;
  tap_ok(rc, "again elsewhere, %s: old session open", zWhat);

  rc = adminRun("SELECT tenant_decommission('P4')");
  tap_ok(rc==0, "again elsewhere, %s: P4 decommissioned", zWhat);
  rc = adminRun("SELECT tenant_provision('P4','opal','us-west1','S1')");
  tap_ok(rc==0, "again elsewhere, %s: P4 provisioned again", zWhat);
  pNew = fork();
  if( pNew==0 ){
    sessionMain("P4", 0, 0, "INSERT INTO communications_data(id, data)"
                " VALUES('fresh', 'x')", 0);
  }
  tap_ok(waitExit(pNew)==0, "again elsewhere, %s: new P4 writes", zWhat);

  rc = write(aGo[1], "g", 1)==1;
  close(aGo[1]);
  close(aReady[0]);
  mFail = rc ? waitExit(pSession) : 255;
  tap_ok((mFail & ACROSS_OPEN)==0, "again elsewhere, %s: old session runs",
         zWhat);
  tap_ok((mFail & ACROSS_OLD_ROWS)==0, "again elsewhere, %s: first step of"
         " the old read reads no row", zWhat);
  tap_ok((mFail & ACROSS_OLD_ERROR)==0, "again elsewhere, %s: first step of"
         " the old read fails as inactive", zWhat);
  tap_ok((mFail & ACROSS_OLD_WRITE)==0, "again elsewhere, %s: old write"
         " fails as inactive", zWhat);
  tap_ok((mFail & ACROSS_READ)==0, "again elsewhere, %s: then a new read"
         " fails as inactive", zWhat);
  tap_ok((mFail & ACROSS_WRITE)==0, "again elsewhere, %s: then a new write"
         " fails as inactive", zWhat);
  tap_ok((mFail & ACROSS_OLD_AFTER)==0, "again elsewhere, %s: then the old"
         " read fails as inactive", zWhat);

  pCount = fork();
  if( pCount==0 ) countMain("P4");
  rc = waitExit(pCount);
  if( !tap_ok(rc==1, "again elsewhere, %s: new P4 finds one row", zWhat) ){
    tap_diag("the new P4 finds %d rows, expected its own 1", rc);
  }
  rc = adminRun("SELECT tenant_decommission('P4')");
  tap_ok(rc==0, "again elsewhere, %s: new P4 decommissioned", zWhat);
}

/*
** 4. A catalog made before customer_generations existed: a process that
** opens it adds the table, empty, so every customer has generation 0.
** Its customers still bind and write, and provisioning an id again still
** rejects the writes of the old customer's sessions.
*/
static void testCatalogWithoutGenerations(void){
  static const char zInactive[] = "tenant: customer \"P2\" is no longer"
      " active in the catalog (decommissioned, or provisioned again since"
      " this session bound): close this session and open a new one";
  char zCatalog[4200];
  sqlite3 *db = 0;
  const char *zErr;
  int aReady[2], aGo[2];
  pid_t pid;
  char c = 0;
  int mFail;
  int rc;

  snprintf(zCatalog, sizeof(zCatalog), "%s/catalog.db", getenv("TENANT_ROOT"));
  rc = sqlite3_open_v2(zCatalog, &db, SQLITE_OPEN_READWRITE, 0);
  zErr = rc==SQLITE_OK ? tap_exec_error(db, "DROP TABLE customer_generations")
                       : sqlite3_errmsg(db);
  if( !tap_ok(zErr==0, "old catalog: customer_generations dropped") ){
    tap_diag("%s", zErr);
  }
  sqlite3_close(db);

  pid = fork();
  if( pid==0 ){
    sessionMain("P2", 0, 0, "INSERT INTO communications_data(id, data)"
                " VALUES('old-layout', 'x')", 0);
  }
  tap_is_int(waitExit(pid), 0, "old catalog: P2 binds and writes");
  tap_is_int(catalogIs("SELECT count(*) FROM customer_generations", "0"), 0,
             "old catalog: opening it adds the table, empty");

  if( pipe(aReady)!=0 || pipe(aGo)!=0 ){
    tap_ok(0, "old catalog: pipes");
    return;
  }
  pid = fork();
  if( pid==0 ) sessionAcrossMain("P2", aReady[1], aGo[0], zInactive);
  close(aReady[1]);
  close(aGo[0]);
  tap_ok(read(aReady[0], &c, 1)==1, "old catalog: old session open");
  tap_is_int(adminRun("SELECT tenant_decommission('P2');"
                      "SELECT tenant_provision('P2','opal','us-west1','S1')"),
             0, "old catalog: P2 provisioned again");
  rc = write(aGo[1], "g", 1)==1;
  close(aGo[1]);
  close(aReady[0]);
  mFail = rc ? waitExit(pid) : 255;
  tap_ok((mFail & ACROSS_OPEN)==0, "old catalog: old session runs");
  tap_ok((mFail & ACROSS_OLD_ERROR)==0, "old catalog: old read fails as"
         " inactive");
  tap_ok((mFail & ACROSS_OLD_WRITE)==0, "old catalog: old write fails as"
         " inactive");
  tap_ok((mFail & ACROSS_WRITE)==0, "old catalog: new write fails as"
         " inactive");
  tap_is_int(catalogIs("SELECT generation FROM customer_generations"
                     " WHERE id='P2'", "1"), 0,
             "old catalog: P2 provisioned again has generation 1");
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
  testProvisionedAgainElsewhere(0);
  testProvisionedAgainElsewhere(1);
  testCatalogWithoutGenerations();
  tap_done();
  return 0;
}
