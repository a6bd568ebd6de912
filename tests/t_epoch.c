/*
** Tests of the change counter of a root, <root>/catalog.db-epoch: the
** file and its mode, which administrative functions advance it, a read
** prepared before its agent was removed, and a process that cannot map
** the counter: its scans still find a customer provisioned again, and its
** administrative functions refuse to change the catalog.
**
** A case that needs a process which has not opened the catalog yet runs
** this program again with a worker argument ("unmapped", "run").
** The fleet: Sapphire S, and Onyx O and U under it.
*/
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *zRoot;          /* absolute root of this run */

/* Failures that the "unmapped" worker reports in its exit status. */
#define UNMAPPED_OPEN  0x01        /* the session did not open or read */
#define UNMAPPED_ROWS  0x02        /* the old read returned rows */
#define UNMAPPED_ERROR 0x04        /* ... or ended without the error */
#define UNMAPPED_LOG   0x08        /* the fallback was not logged once */

static const char zInactiveO[] = "tenant: customer \"O\" is no longer active"
    " in the catalog (decommissioned, or provisioned again since this"
    " session bound): close this session and open a new one";

/* Path of zName in the root, in one of two static buffers. */
static const char *rootPath(const char *zName){
  static char azPath[2][4200];
  static int iNext = 0;
  char *z = azPath[iNext];
  iNext = (iNext+1) % 2;
  snprintf(z, sizeof(azPath[0]), "%s/%s", zRoot, zName);
  return z;
}

/* The counter as the file stores it, or -1 when it cannot be read. */
static long long epochValue(void){
  uint64_t iValue = 0;
  int fd = open(rootPath("catalog.db-epoch"), O_RDONLY);
  ssize_t n = fd>=0 ? pread(fd, &iValue, sizeof(iValue), 0) : -1;
  if( fd>=0 ) close(fd);
  return n==(ssize_t)sizeof(iValue) ? (long long)iValue : -1;
}

/* By how much running zSql on db advances the counter, or -1000 when
** zSql fails and bFails is false, or the other way round. */
static long long epochStep(sqlite3 *db, const char *zSql, int bFails){
  long long iBefore = epochValue();
  const char *zErr = tap_exec_error(db, zSql);
  if( (zErr!=0)!=bFails ){
    tap_diag("%s: %s", zSql, zErr ? zErr : "succeeded");
    return -1000;
  }
  return epochValue() - iBefore;
}

/* Run this program again as worker zMode with up to three more arguments,
** and return its exit status, or 255 when it did not exit. */
static pid_t workerStart(const char *zMode, const char *zArg1,
                         const char *zArg2, const char *zArg3){
  pid_t pid = fork();
  if( pid==0 ){
    execl("/proc/self/exe", "t_epoch", zMode, zArg1, zArg2, zArg3,
          (char*)0);
    _exit(127);
  }
  return pid;
}

static int workerWait(pid_t pid){
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

/* SQLITE_CONFIG_LOG callback of the workers: count the messages that
** report a counter that cannot be mapped. */
static int nUnmappedLog = 0;
static void logCallback(void *pArg, int iCode, const char *zMsg){
  (void)pArg;
  (void)iCode;
  if( strstr(zMsg, "cannot map the change counter") ) nUnmappedLog++;
}

/*
** Worker "unmapped FDREADY FDGO": a session of O in a process that cannot
** map the counter. It writes a row, prepares a read and runs it three
** times, writes one byte to FDREADY and waits for one byte on FDGO. Then
** it runs the read again, which must return no row and fail with the
** error of an inactive customer. Exits with the UNMAPPED_* failures.
*/
static int unmappedMain(int fdReady, int fdGo){
  sqlite3 *dbLoad = 0;
  sqlite3_stmt *pRead = 0;
  sqlite3 *db;
  int mFail = 0;
  char c = 0;
  int rc;
  int i;

  sqlite3_config(SQLITE_CONFIG_LOG, logCallback, (void*)0);
  tap_open(&dbLoad);
  db = tap_open_uri("O?vfs=tenant", 0, 0);
  if( db==0
   || tap_exec_error(db, "INSERT INTO basic_communications(id, data)"
                         " VALUES('o-old', 'x')")
   || sqlite3_prepare_v2(db, "SELECT id FROM basic_communications", -1,
                         &pRead, 0)!=SQLITE_OK ){
    return UNMAPPED_OPEN;
  }
  for(i=0; i<3; i++){
    while( (rc = sqlite3_step(pRead))==SQLITE_ROW ){}
    sqlite3_reset(pRead);
    if( rc!=SQLITE_DONE ) return UNMAPPED_OPEN;
  }
  if( write(fdReady, "r", 1)!=1 || read(fdGo, &c, 1)!=1 ){
    return UNMAPPED_OPEN;
  }

  while( (rc = sqlite3_step(pRead))==SQLITE_ROW ){
    fprintf(stderr, "# the old read returned row %s\n",
            (const char*)sqlite3_column_text(pRead, 0));
    mFail |= UNMAPPED_ROWS;
  }
  if( rc!=SQLITE_AUTH || strcmp(sqlite3_errmsg(db), zInactiveO)!=0 ){
    fprintf(stderr, "# the old read ended with %d: %s\n", rc,
            sqlite3_errmsg(db));
    mFail |= UNMAPPED_ERROR;
  }
  if( nUnmappedLog!=1 ){
    fprintf(stderr, "# %d messages about the unmapped counter\n",
            nUnmappedLog);
    mFail |= UNMAPPED_LOG;
  }
  sqlite3_finalize(pRead);
  sqlite3_close(db);
  sqlite3_close(dbLoad);
  return mFail;
}

/* Worker "run SQL [ERROR]": runs SQL on an unbound connection and exits
** with 0 when it succeeds, or with ERROR fails with that message, else 1. */
static int runMain(const char *zSql, const char *zError){
  sqlite3 *db = 0;
  const char *zErr;
  int bExpected;
  tap_open(&db);
  zErr = tap_exec_error(db, zSql);
  if( zError==0 ){
    bExpected = zErr==0;
  }else{
    bExpected = zErr!=0 && strcmp(zErr, zError)==0;
  }
  if( !bExpected ){
    fprintf(stderr, "# %s: %s\n", zSql, zErr ? zErr : "succeeded");
  }
  sqlite3_close(db);
  return bExpected ? 0 : 1;
}

/* 1. The file: created with the catalog, 8 bytes, in the catalog's mode. */
static void testFile(sqlite3 *dbAdmin){
  struct stat stEpoch, stCatalog;
  int bEpoch = stat(rootPath("catalog.db-epoch"), &stEpoch)==0;
  int bCatalog = stat(rootPath("catalog.db"), &stCatalog)==0;

  tap_ok(bEpoch && S_ISREG(stEpoch.st_mode), "file: catalog.db-epoch"
         " created with the catalog");
  tap_is_int(bEpoch ? (long long)stEpoch.st_size : -1, 8, "file: 8 bytes");
  tap_is_int(bEpoch ? (long long)(stEpoch.st_mode & 0777) : -1,
             bCatalog ? (long long)(stCatalog.st_mode & 0666) : -2,
             "file: the catalog's mode");
  tap_ok(epochValue()>0, "file: the fleet's provisioning advanced it");
  (void)dbAdmin;
}

/* 2. Which functions advance it: each change that retires sessions, by
** 2, also when it fails after taking the catalog's write lock. */
static void testAdvances(sqlite3 *dbAdmin){
  tap_is_int(epochStep(dbAdmin, "SELECT tenant_provision('T','onyx',"
             "'us-west1','S')", 0), 2, "advances: tenant_provision");
  tap_is_int(epochStep(dbAdmin, "SELECT tenant_add_agent('T','al')", 0), 0,
             "advances: not tenant_add_agent");
  tap_is_int(epochStep(dbAdmin, "SELECT tenant_remove_agent('T','al')", 0), 2,
             "advances: tenant_remove_agent");
  tap_is_int(epochStep(dbAdmin, "SELECT tenant_remove_agent('T','al')", 1), 2,
             "advances: tenant_remove_agent of an unknown agent");
  tap_is_int(epochStep(dbAdmin, "SELECT tenant_decommission('T')", 0), 2,
             "advances: tenant_decommission");
  tap_is_int(epochStep(dbAdmin, "SELECT tenant_provision('T','onyx',"
             "'us-west1','S')", 0), 2, "advances: tenant_provision again");
  tap_is_int(epochStep(dbAdmin, "SELECT tenant_policy_set('onyx',"
             "'price_usd',50)", 0), 0, "advances: not tenant_policy_set");
}

/* 3. A read prepared as an agent, run again after the agent was removed,
** returns no row and fails with the error that names the agent. */
static void testAgentRead(sqlite3 *dbAdmin){
  static const char zRemoved[] = "tenant: agent \"ann\" of customer \"U\" was"
      " removed from the catalog since this session bound (adding it again"
      " does not restore this session): close this session and open a new"
      " one";
  sqlite3_stmt *pRead = 0;
  sqlite3 *db;
  int nRow = 0;
  int rc;

  tap_is_str(tap_exec_error(dbAdmin, "SELECT tenant_add_agent('U','ann')"),
             0, "agent read: ann added");
  db = tap_open_uri("U?vfs=tenant&agent=ann", 0, 0);
  if( !tap_ok(db!=0, "agent read: U binds as ann") ) return;
  tap_is_str(tap_exec_error(db, "INSERT INTO basic_communications(id, data)"
             " VALUES('by-ann', 'x')"), 0, "agent read: ann writes");
  rc = sqlite3_prepare_v2(db, "SELECT id FROM basic_communications", -1,
                          &pRead, 0);
  tap_is_int(rc, SQLITE_OK, "agent read: read prepared");
  while( sqlite3_step(pRead)==SQLITE_ROW ) nRow++;
  sqlite3_reset(pRead);
  tap_is_int(nRow, 1, "agent read: read finds the row");

  tap_is_str(tap_exec_error(dbAdmin, "SELECT tenant_remove_agent('U',"
             "'ann')"), 0, "agent read: ann removed");
  nRow = 0;
  while( (rc = sqlite3_step(pRead))==SQLITE_ROW ) nRow++;
  tap_is_int(nRow, 0, "agent read: read again returns no row");
  tap_is_int(rc, SQLITE_AUTH, "agent read: read again fails");
  tap_is_str(sqlite3_errmsg(db), zRemoved,
             "agent read: the error names the agent");
  sqlite3_finalize(pRead);
  sqlite3_close(db);
}

/*
** 4. While catalog.db-epoch is a folder, a new process cannot map the
** counter. A session in it still finds, at a scan of a read prepared
** before, that its customer was decommissioned and provisioned again, and
** it logs the fallback once. An administrative function in such a process
** is refused and changes nothing.
*/
static void testUnmapped(sqlite3 *dbAdmin){
  char zError[4600];
  char zFdReady[16], zFdGo[16];
  int aReady[2], aGo[2];
  sqlite3 *dbNew;
  pid_t pid;
  char c = 0;
  int mFail;
  int bMoved;

  bMoved = rename(rootPath("catalog.db-epoch"),
                  rootPath("catalog.db-epoch.saved"))==0
        && mkdir(rootPath("catalog.db-epoch"), 0700)==0;
  if( !tap_ok(bMoved, "unmapped: counter replaced by a folder") ){
    tap_diag("%s", strerror(errno));
    return;
  }
  if( pipe(aReady)!=0 || pipe(aGo)!=0 ){
    tap_ok(0, "unmapped: pipes");
    return;
  }
  snprintf(zFdReady, sizeof(zFdReady), "%d", aReady[1]);
  snprintf(zFdGo, sizeof(zFdGo), "%d", aGo[0]);
  pid = workerStart("unmapped", zFdReady, zFdGo, 0);
  close(aReady[1]);
  close(aGo[0]);
  tap_ok(read(aReady[0], &c, 1)==1, "unmapped: session of O reads");

  snprintf(zError, sizeof(zError), "tenant: cannot advance the change"
      " counter \"%s\" (cannot open it: Is a directory): sessions of other"
      " processes would not see this change, so it was not made; make that"
      " path a file that this process can read and write",
      rootPath("catalog.db-epoch"));
  tap_is_int(workerWait(workerStart("run",
             "SELECT tenant_decommission('O')", zError, 0)), 0,
             "unmapped: tenant_decommission refused");
  tap_is_str(tap_query_text(dbAdmin, "SELECT count(*) FROM"
             " tenant_usage_report WHERE customer='O'"), "1",
             "unmapped: O still listed");

  bMoved = rmdir(rootPath("catalog.db-epoch"))==0
        && rename(rootPath("catalog.db-epoch.saved"),
                  rootPath("catalog.db-epoch"))==0;
  tap_ok(bMoved, "unmapped: counter file back");
  tap_is_str(tap_exec_error(dbAdmin, "SELECT tenant_decommission('O');"
             " SELECT tenant_provision('O','onyx','us-west1','S')"), 0,
             "unmapped: O decommissioned and provisioned again");
  dbNew = tap_open_uri("O?vfs=tenant", 0, 0);
  tap_is_str(dbNew ? tap_exec_error(dbNew, "INSERT INTO"
             " basic_communications(id, data) VALUES('o-new', 'x')")
             : "no session", 0, "unmapped: new O writes a row");
  sqlite3_close(dbNew);

  tap_ok(write(aGo[1], "g", 1)==1, "unmapped: session of O resumes");
  close(aGo[1]);
  close(aReady[0]);
  mFail = workerWait(pid);
  tap_ok((mFail & UNMAPPED_OPEN)==0, "unmapped: old session runs");
  tap_ok((mFail & UNMAPPED_ROWS)==0, "unmapped: old read reads no row");
  tap_ok((mFail & UNMAPPED_ERROR)==0, "unmapped: old read fails as"
         " inactive");
  tap_ok((mFail & UNMAPPED_LOG)==0, "unmapped: fallback logged once");
}

/* 5. A process that finds no counter file creates it with the catalog's
** mode, whatever its umask. */
static void testCreatedMode(void){
  struct stat st;
  mode_t old;
  int rc;

  tap_ok(unlink(rootPath("catalog.db-epoch"))==0
         && chmod(rootPath("catalog.db"), 0660)==0,
         "created: counter removed, catalog mode 0660");
  old = umask(022);
  rc = workerWait(workerStart("run", "SELECT tenant_root()", 0, 0));
  umask(old);
  tap_is_int(rc, 0, "created: a new process opens the catalog");
  rc = stat(rootPath("catalog.db-epoch"), &st);
  tap_is_int(rc==0 ? (long long)(st.st_mode & 0777) : -1, 0660,
             "created: mode 0660, as the catalog's");
}

int main(int argc, char **argv){
  sqlite3 *dbAdmin = 0;
  const char *zErr;

  if( argc>3 && strcmp(argv[1], "unmapped")==0 ){
    return unmappedMain(atoi(argv[2]), atoi(argv[3]));
  }
  if( argc>2 && strcmp(argv[1], "run")==0 ){
    return runMain(argv[2], argc>3 ? argv[3] : 0);
  }

  zRoot = tap_fresh_root("epoch");
  tap_open(&dbAdmin);
  zErr = tap_exec_error(dbAdmin,
      "SELECT tenant_provision('S','sapphire','us-west1');"
      "SELECT tenant_provision('O','onyx','us-west1','S');"
      "SELECT tenant_provision('U','onyx','us-west1','S')");
  if( !tap_ok(zErr==0, "setup: fleet provisioned") ) tap_diag("%s", zErr);

  testFile(dbAdmin);
  testAdvances(dbAdmin);
  testAgentRead(dbAdmin);
  testUnmapped(dbAdmin);
  testCreatedMode();
  sqlite3_close(dbAdmin);
  tap_done();
  return 0;
}
