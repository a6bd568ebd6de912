/*
** Tests of the change counter of a root, <root>/catalog.db-epoch: the
** file and its mode, which administrative functions advance it, a read
** prepared before its agent was removed, and a process that cannot map
** the counter: its scans still find a customer provisioned again, and its
** administrative functions refuse to change the catalog. Then the file id
** that the catalog records. A deleted, replaced or truncated file rejects
** the root in new processes. A read prepared in an old process therefore
** cannot return the rows of a customer provisioned again through a new
** counter.
** TENANT_EPOCH_RESET creates a new counter once, but not while another
** process uses the root, and a catalog that records no file id, or a
** counter file without one, still opens.
**
** A case that needs a process which has not opened the catalog yet runs
** this program again with a worker argument ("unmapped", "run",
** "session", "oldread", "holder").
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

/* Outcomes that the "oldread" worker reports in its exit status. */
#define OLDREAD_OPEN     0x01      /* the session did not open or read */
#define OLDREAD_SECRET   0x02      /* the old read returned row 'secret' */
#define OLDREAD_INACTIVE 0x04      /* it ended with the inactive error */
#define OLDREAD_ERROR    0x08      /* it ended with another error */

/* Writes the new customer O's row 'secret' after O is provisioned again. */
static const char zReprovision[] =
    "SELECT tenant_decommission('O');"
    "SELECT tenant_provision('O','onyx','us-west1','S');"
    "SELECT tenant_bind('O');"
    "INSERT INTO basic_communications(id, data) VALUES('secret', 'x')";

/* Failures that the "holder" worker reports in its exit status. */
#define HOLDER_OPEN    0x01        /* the session did not open or read */
#define HOLDER_CATALOG 0x02        /* the read of catalog.db failed */
#define HOLDER_PIPE    0x04        /* the pipe to the parent failed */

/* The byte of catalog.db that the reset lock covers (EPOCH_LOCK_BYTE). */
#define RESET_LOCK_BYTE 0x50000000

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

/* The file id that the counter file stores, as hex, "none" when it has
** none, or "missing" when the file cannot be read. */
static const char *fileId(void){
  static char zId[17];
  unsigned char a[8];
  int fd = open(rootPath("catalog.db-epoch"), O_RDONLY);
  ssize_t n = fd>=0 ? pread(fd, a, sizeof(a), 8) : -1;
  int bZero = 1;
  int i;
  if( fd>=0 ) close(fd);
  if( fd<0 ) return "missing";
  for(i=0; i<8 && n==8; i++){
    if( a[i] ) bZero = 0;
    snprintf(zId+2*i, 3, "%02x", a[i]);
  }
  return n!=8 || bZero ? "none" : zId;
}

/* The first column of the first row of zSql on catalog.db, read through a
** connection of its own, or "none" when there is no row. */
static const char *catalogText(const char *zSql){
  static char zText[100];
  sqlite3 *db = 0;
  sqlite3_stmt *pStmt = 0;
  snprintf(zText, sizeof(zText), "none");
  if( sqlite3_open_v2(rootPath("catalog.db"), &db, SQLITE_OPEN_READONLY, 0)
      ==SQLITE_OK
   && sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0)==SQLITE_OK
   && sqlite3_step(pStmt)==SQLITE_ROW ){
    snprintf(zText, sizeof(zText), "%s",
             (const char*)sqlite3_column_text(pStmt, 0));
  }
  sqlite3_finalize(pStmt);
  sqlite3_close(db);
  return zText;
}

/* The file id that the catalog records, or "none". */
static const char *recordedId(void){
  return catalogText("SELECT file_id FROM change_counter");
}

/* Replace the counter file with a new one that contains the n bytes a. */
static int counterReplace(const void *a, size_t n){
  int fd = open(rootPath("catalog.db-epoch.new"), O_WRONLY|O_CREAT|O_TRUNC,
                0600);
  int bOk = fd>=0 && write(fd, a, n)==(ssize_t)n;
  if( fd>=0 ) close(fd);
  return bOk && rename(rootPath("catalog.db-epoch.new"),
                       rootPath("catalog.db-epoch"))==0;
}

/* Run zSql on catalog.db through a connection of its own. */
static const char *catalogExec(const char *zSql){
  static char zErr[200];
  sqlite3 *db = 0;
  char *zMsg = 0;
  zErr[0] = 0;
  if( sqlite3_open_v2(rootPath("catalog.db"), &db, SQLITE_OPEN_READWRITE, 0)
      !=SQLITE_OK
   || sqlite3_busy_timeout(db, 5000)!=SQLITE_OK
   || sqlite3_exec(db, zSql, 0, 0, &zMsg)!=SQLITE_OK ){
    snprintf(zErr, sizeof(zErr), "%s", zMsg ? zMsg : sqlite3_errmsg(db));
  }
  sqlite3_free(zMsg);
  sqlite3_close(db);
  return zErr[0] ? zErr : 0;
}

/* The error of a root whose counter file is missing, or has file id
** zFound, while the catalog records zRecorded. */
static const char *rejectError(const char *zRecorded, const char *zFound){
  static char zError[1200];
  static const char zFix[] = "Stop every process that uses this root, then"
      " open the root once with TENANT_EPOCH_RESET=%s set, which creates a"
      " new counter";
  int n;
  if( zFound==0 ){
    n = snprintf(zError, sizeof(zError), "tenant: change counter \"%s\" is"
        " missing, but the catalog records one with file id %s. Processes"
        " that still map the deleted file would not see the changes counted"
        " in a new one, so this process does not create it. ",
        rootPath("catalog.db-epoch"), zRecorded);
  }else{
    n = snprintf(zError, sizeof(zError), "tenant: change counter \"%s\" has"
        " file id %s, but the catalog records file id %s. The file was"
        " replaced or truncated, and processes that map the old file would"
        " not see the changes counted in this one. ",
        rootPath("catalog.db-epoch"), zFound, zRecorded);
  }
  snprintf(zError+n, sizeof(zError)-n, zFix, zRecorded);
  return zError;
}

/* The error of a process started with TENANT_EPOCH_RESET=zReset, a value
** other than the recorded file id zRecorded, on a missing counter file. */
static const char *ignoredResetError(const char *zRecorded,
                                     const char *zReset){
  static char zError[1400];
  const char *zBase = rejectError(zRecorded, 0);
  const char *zFix = strstr(zBase, "Stop every process");
  snprintf(zError, sizeof(zError), "%.*sTENANT_EPOCH_RESET=%s does not"
           " match the recorded file id %s and was ignored. %s",
           (int)(zFix - zBase), zBase, zReset, zRecorded, zFix);
  return zError;
}

/* The error of a reset of a root whose catalog records zRecorded, while
** another process uses the root. */
static const char *inUseError(const char *zRecorded){
  static char zError[1200];
  snprintf(zError, sizeof(zError), "tenant: cannot reset the change counter"
      " \"%s\": other processes still use this root, and those that map the"
      " old counter would not see the changes counted in a new one. Stop"
      " every process that uses this root (\"lsof %s\" lists them), then"
      " open the root again with TENANT_EPOCH_RESET=%s set",
      rootPath("catalog.db-epoch"), rootPath("catalog.db"), zRecorded);
  return zError;
}

/* The pid of a process that holds a POSIX lock on SQLite's lock bytes of
** catalog.db (0x40000000 to 0x400001FF), 0 when none does, or -1 when
** the lock cannot be tested. */
static long long sqliteLockOwner(void){
  struct flock lock;
  int fd = open(rootPath("catalog.db"), O_RDWR);
  int rc;
  memset(&lock, 0, sizeof(lock));
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  lock.l_start = 0x40000000;
  lock.l_len = 0x200;
  rc = fd>=0 ? fcntl(fd, F_GETLK, &lock) : -1;
  if( fd>=0 ) close(fd);
  if( rc!=0 ) return -1;
  return lock.l_type==F_UNLCK ? 0 : (long long)lock.l_pid;
}

/* 1 when a process holds the reset lock, 0 when none does, or -1 when
** the lock cannot be tested. */
static int resetLockHeld(void){
  struct flock lock;
  int fd = open(rootPath("catalog.db"), O_RDWR);
  int rc;
  memset(&lock, 0, sizeof(lock));
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  lock.l_start = RESET_LOCK_BYTE;
  lock.l_len = 1;
  rc = fd>=0 ? fcntl(fd, F_OFD_GETLK, &lock) : -1;
  if( fd>=0 ) close(fd);
  if( rc!=0 ) return -1;
  return lock.l_type!=F_UNLCK;
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

/* Worker "session ERROR": opens a session of O and exits with 0 when the
** open fails with a message that contains ERROR, else 1. */
static int sessionMain(const char *zError){
  char zErr[1200];
  sqlite3 *dbLoad = 0;
  sqlite3 *db;
  tap_open(&dbLoad);
  db = tap_open_uri("O?vfs=tenant", zErr, sizeof(zErr));
  sqlite3_close(db);
  sqlite3_close(dbLoad);
  if( db==0 && strstr(zErr, zError)!=0 ) return 0;
  fprintf(stderr, "# session of O: %s\n", db ? "opened" : zErr);
  return 1;
}

/*
** Worker "oldread ROW FDREADY FDGO": a session of O writes row ROW,
** prepares a read and runs it, writes one byte to FDREADY and waits for
** one byte on FDGO. Then it runs the read again and exits with the
** OLDREAD_* outcomes of that run.
*/
static int oldreadMain(const char *zRow, int fdReady, int fdGo){
  sqlite3 *dbLoad = 0;
  sqlite3_stmt *pRead = 0;
  char *zInsert;
  sqlite3 *db;
  int mOutcome = 0;
  char c = 0;
  int rc;

  tap_open(&dbLoad);
  db = tap_open_uri("O?vfs=tenant", 0, 0);
  zInsert = sqlite3_mprintf("INSERT INTO basic_communications(id, data)"
                            " VALUES(%Q, 'x')", zRow);
  if( db==0 || zInsert==0 || tap_exec_error(db, zInsert)
   || sqlite3_prepare_v2(db, "SELECT id FROM basic_communications", -1,
                         &pRead, 0)!=SQLITE_OK ){
    return OLDREAD_OPEN;
  }
  sqlite3_free(zInsert);
  while( (rc = sqlite3_step(pRead))==SQLITE_ROW ){}
  sqlite3_reset(pRead);
  if( rc!=SQLITE_DONE ) return OLDREAD_OPEN;
  if( write(fdReady, "r", 1)!=1 || read(fdGo, &c, 1)!=1 ){
    return OLDREAD_OPEN;
  }

  while( (rc = sqlite3_step(pRead))==SQLITE_ROW ){
    if( strcmp((const char*)sqlite3_column_text(pRead, 0), "secret")==0 ){
      mOutcome |= OLDREAD_SECRET;
    }
  }
  if( rc==SQLITE_AUTH && strcmp(sqlite3_errmsg(db), zInactiveO)==0 ){
    mOutcome |= OLDREAD_INACTIVE;
  }else if( rc!=SQLITE_DONE ){
    fprintf(stderr, "# the old read ended with %d: %s\n", rc,
            sqlite3_errmsg(db));
    mOutcome |= OLDREAD_ERROR;
  }
  sqlite3_finalize(pRead);
  sqlite3_close(db);
  sqlite3_close(dbLoad);
  return mOutcome;
}

/*
** Worker "holder FDREADY FDGO": a session of O, which maps the counter,
** reads and closes. Then a connection of its own holds a read transaction
** on catalog.db, so SQLite holds its POSIX locks there. The worker writes
** one byte to FDREADY and waits for one byte on FDGO. It ends the
** transaction, closes the connection, opens and closes one more
** descriptor of catalog.db, and writes and waits once more before it
** exits with the HOLDER_* failures.
*/
static int holderMain(int fdReady, int fdGo){
  sqlite3 *dbLoad = 0;
  sqlite3 *dbCatalog = 0;
  sqlite3 *db;
  char c = 0;
  int fd;

  zRoot = getenv("TENANT_ROOT");
  tap_open(&dbLoad);
  db = tap_open_uri("O?vfs=tenant", 0, 0);
  if( db==0 || tap_exec_error(db, "SELECT count(*) FROM"
                              " basic_communications") ){
    return HOLDER_OPEN;
  }
  sqlite3_close(db);
  sqlite3_close(dbLoad);

  if( sqlite3_open_v2(rootPath("catalog.db"), &dbCatalog,
                      SQLITE_OPEN_READWRITE, 0)!=SQLITE_OK
   || tap_exec_error(dbCatalog, "BEGIN; SELECT count(*) FROM"
                     " change_counter") ){
    return HOLDER_CATALOG;
  }
  if( write(fdReady, "r", 1)!=1 || read(fdGo, &c, 1)!=1 ) return HOLDER_PIPE;

  if( tap_exec_error(dbCatalog, "COMMIT") ) return HOLDER_CATALOG;
  sqlite3_close(dbCatalog);
  fd = open(rootPath("catalog.db"), O_RDONLY);
  if( fd<0 ) return HOLDER_CATALOG;
  close(fd);
  if( write(fdReady, "r", 1)!=1 || read(fdGo, &c, 1)!=1 ) return HOLDER_PIPE;
  return 0;
}

/* A worker ("oldread" or "holder") and the pipes that pace it. */
typedef struct PacedWorker PacedWorker;
struct PacedWorker {
  pid_t pid;
  int fdReady;                     /* the worker writes a byte when ready */
  int fdGo;                        /* the parent writes a byte to resume */
};

/* Start worker zMode ("oldread" with row zArg, or "holder" with NULL),
** and wait for its first byte. Returns 0 when it did not get that far. */
static int pacedStart(PacedWorker *p, const char *zMode, const char *zArg){
  char zFdReady[16], zFdGo[16];
  int aReady[2], aGo[2];
  char c = 0;
  if( pipe(aReady)!=0 || pipe(aGo)!=0 ) return 0;
  snprintf(zFdReady, sizeof(zFdReady), "%d", aReady[1]);
  snprintf(zFdGo, sizeof(zFdGo), "%d", aGo[0]);
  if( zArg ){
    p->pid = workerStart(zMode, zArg, zFdReady, zFdGo);
  }else{
    p->pid = workerStart(zMode, zFdReady, zFdGo, 0);
  }
  close(aReady[1]);
  close(aGo[0]);
  p->fdReady = aReady[0];
  p->fdGo = aGo[1];
  return read(p->fdReady, &c, 1)==1;
}

/* Start an "oldread" worker that writes row zRow, and wait until its read
** has run once. Returns 0 when it did not get that far. */
static int oldreadStart(PacedWorker *p, const char *zRow){
  return pacedStart(p, "oldread", zRow);
}

/* Let a paced worker go on, and wait for its next byte. Returns 0 when it
** wrote none. */
static int pacedStep(PacedWorker *p){
  char c = 0;
  return write(p->fdGo, "g", 1)==1 && read(p->fdReady, &c, 1)==1;
}

/* Resume the worker and return its OLDREAD_* outcomes. */
static int oldreadFinish(PacedWorker *p){
  if( write(p->fdGo, "g", 1)!=1 ) tap_diag("cannot resume the old read");
  close(p->fdGo);
  close(p->fdReady);
  return workerWait(p->pid);
}

/* Run worker "run zSql zError" with TENANT_EPOCH_RESET set to zReset, or
** unset when zReset is NULL, and return its exit status. */
static int runWithReset(const char *zReset, const char *zSql,
                        const char *zError){
  pid_t pid;
  if( zReset ){
    setenv("TENANT_EPOCH_RESET", zReset, 1);
  }else{
    unsetenv("TENANT_EPOCH_RESET");
  }
  pid = workerStart("run", zSql, zError, 0);
  unsetenv("TENANT_EPOCH_RESET");
  return workerWait(pid);
}

/* 1. The file: created with the catalog, 16 bytes, in the catalog's mode,
** with the file id that the catalog records. */
static void testFile(sqlite3 *dbAdmin){
  struct stat stEpoch, stCatalog;
  int bEpoch = stat(rootPath("catalog.db-epoch"), &stEpoch)==0;
  int bCatalog = stat(rootPath("catalog.db"), &stCatalog)==0;

  tap_ok(bEpoch && S_ISREG(stEpoch.st_mode), "file: catalog.db-epoch"
         " created with the catalog");
  tap_is_int(bEpoch ? (long long)stEpoch.st_size : -1, 16,
             "file: 16 bytes");
  tap_is_int(bEpoch ? (long long)(stEpoch.st_mode & 0777) : -1,
             bCatalog ? (long long)(stCatalog.st_mode & 0666) : -2,
             "file: the catalog's mode");
  tap_ok(epochValue()>0, "file: the fleet's provisioning advanced it");
  tap_ok(strcmp(fileId(), "none")!=0 && strcmp(fileId(), "missing")!=0,
         "file: has a file id");
  tap_is_str(recordedId(), fileId(), "file: the catalog records its id");
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

/*
** 5. The file deleted while an old session of O in another process maps
** it. A new process that would decommission O and provision it again is
** rejected before it changes the catalog, and so is a new session, so the
** old read never returns a row of a new customer O.
*/
static void testDeleted(void){
  char zId[40];
  char zGeneration[40];
  PacedWorker old;
  int mOutcome;

  snprintf(zId, sizeof(zId), "%s", recordedId());
  snprintf(zGeneration, sizeof(zGeneration), "%s", catalogText("SELECT"
           " generation FROM customer_generations WHERE id='O'"));
  if( !tap_ok(oldreadStart(&old, "o-deleted"), "deleted: old session of O"
              " reads") ){
    oldreadFinish(&old);
    return;
  }
  tap_ok(unlink(rootPath("catalog.db-epoch"))==0, "deleted: counter file"
         " deleted");

  tap_is_int(runWithReset(0, zReprovision, rejectError(zId, 0)), 0,
             "deleted: new process rejected");
  tap_is_int(runWithReset(zId, zReprovision, inUseError(zId)), 0,
             "deleted: reset rejected while old session runs");
  setenv("TENANT_EPOCH_RESET_UNCHECKED", "1", 1);
  tap_is_int(runWithReset(zId, zReprovision, inUseError(zId)), 0,
             "deleted: reset rejected also when unchecked");
  unsetenv("TENANT_EPOCH_RESET_UNCHECKED");
  tap_is_str(recordedId(), zId, "deleted: record unchanged");
  tap_is_int(workerWait(workerStart("session", "catalog.db-epoch\" is"
             " missing", 0, 0)), 0, "deleted: new session rejected");
  tap_is_str(fileId(), "missing", "deleted: no new file created");
  tap_is_str(catalogText("SELECT generation FROM customer_generations"
             " WHERE id='O'"), zGeneration, "deleted: O not provisioned"
             " again");

  mOutcome = oldreadFinish(&old);
  tap_ok((mOutcome & OLDREAD_OPEN)==0, "deleted: old session runs");
  tap_ok((mOutcome & OLDREAD_SECRET)==0, "deleted: old read returns no"
         " row of a new O");
  tap_ok((mOutcome & (OLDREAD_INACTIVE|OLDREAD_ERROR))==0, "deleted: old"
         " read still succeeds");
}

/*
** 6. Recovery. TENANT_EPOCH_RESET set to another value leaves the root
** rejected. Set to the recorded file id, it creates a new counter once:
** after the new file is deleted too, the same value is rejected. The new
** counter retires an old session of another process, as the first did.
*/
static void testReset(void){
  char zOld[40], zNew[40];
  PacedWorker old;
  int mOutcome;

  snprintf(zOld, sizeof(zOld), "%s", recordedId());
  tap_is_int(runWithReset("0123456789abcdef", "SELECT tenant_root()",
             ignoredResetError(zOld, "0123456789abcdef")), 0,
             "reset: another value rejected and named");
  tap_is_int(runWithReset(zOld, "SELECT tenant_root()", 0), 0,
             "reset: the recorded file id accepted");
  snprintf(zNew, sizeof(zNew), "%s", fileId());
  tap_ok(strcmp(zNew, "missing")!=0 && strcmp(zNew, "none")!=0,
         "reset: new file has a file id");
  tap_ok(strcmp(zNew, zOld)!=0, "reset: new file id differs");
  tap_is_str(recordedId(), zNew, "reset: the catalog records the new id");
  tap_is_int(epochValue(), 0, "reset: new counter starts at 0");
  tap_is_int(runWithReset(0, "SELECT tenant_root()", 0), 0,
             "reset: next process opens without it");

  tap_ok(unlink(rootPath("catalog.db-epoch"))==0, "reset: new file"
         " deleted");
  tap_is_int(runWithReset(zOld, "SELECT tenant_root()",
             ignoredResetError(zNew, zOld)), 0,
             "reset: same value rejected again");
  tap_is_int(runWithReset(zNew, "SELECT tenant_root()", 0), 0,
             "reset: the new file id accepted");

  if( !tap_ok(oldreadStart(&old, "o-reset"), "reset: old session of O"
              " reads") ){
    oldreadFinish(&old);
    return;
  }
  tap_is_int(runWithReset(0, zReprovision, 0), 0, "reset: new process"
             " provisions O again");
  mOutcome = oldreadFinish(&old);
  tap_ok((mOutcome & OLDREAD_SECRET)==0, "reset: old read returns no row"
         " of the new O");
  tap_ok((mOutcome & OLDREAD_INACTIVE)!=0, "reset: old read fails as"
         " inactive");
}

/*
** 7. The reset lock. A process that opened the root and then closed every
** descriptor of catalog.db that SQLite opened, and one more, still holds
** the lock, so a reset is rejected until it exits. The lock leaves
** SQLite's own POSIX locks in that process in place. After the reset,
** sessions and administrative functions in several processes work
** together.
*/
static void testInUse(void){
  char zId[40];
  char zNew[40];
  PacedWorker holder;
  PacedWorker old;
  int mOutcome;

  snprintf(zId, sizeof(zId), "%s", recordedId());
  tap_is_int(resetLockHeld(), 0, "in use: no process holds the lock");

  if( !tap_ok(pacedStart(&holder, "holder", 0), "in use: holder opens the"
              " root") ){
    tap_diag("holder exited with %d", oldreadFinish(&holder));
    return;
  }
  tap_is_int(sqliteLockOwner(), holder.pid, "in use: SQLite's lock held"
             " beside the reset lock");
  tap_is_int(resetLockHeld(), 1, "in use: holder holds the reset lock");
  unlink(rootPath("catalog.db-epoch.saved"));
  tap_ok(link(rootPath("catalog.db-epoch"),
              rootPath("catalog.db-epoch.saved"))==0
         && unlink(rootPath("catalog.db-epoch"))==0,
         "in use: counter file deleted");
  tap_is_int(runWithReset(zId, "SELECT tenant_root()", inUseError(zId)), 0,
             "in use: reset rejected");

  tap_ok(pacedStep(&holder), "in use: holder closed its descriptors");
  tap_is_int(sqliteLockOwner(), 0, "in use: SQLite's lock released");
  tap_is_int(resetLockHeld(), 1, "in use: reset lock still held");
  tap_is_int(runWithReset(zId, "SELECT tenant_root()", inUseError(zId)), 0,
             "in use: reset still rejected");
  tap_is_str(fileId(), "missing", "in use: no new file created");
  tap_is_str(recordedId(), zId, "in use: record unchanged");

  tap_is_int(oldreadFinish(&holder), 0, "in use: holder ran");
  tap_is_int(resetLockHeld(), 0, "in use: lock gone with the holder");
  tap_is_int(runWithReset(zId, "SELECT tenant_root()", 0), 0,
             "in use: reset accepted after the holder exited");
  snprintf(zNew, sizeof(zNew), "%s", fileId());
  tap_ok(strcmp(zNew, zId)!=0 && strcmp(zNew, "missing")!=0,
         "in use: new file id");
  tap_is_str(recordedId(), zNew, "in use: new id recorded");
  unlink(rootPath("catalog.db-epoch.saved"));

  if( !tap_ok(oldreadStart(&old, "o-in-use"), "in use: session of O"
              " reads") ){
    oldreadFinish(&old);
    return;
  }
  tap_is_int(resetLockHeld(), 1, "in use: session holds the reset lock");
  tap_is_int(runWithReset(0, "SELECT tenant_provision('V','onyx',"
             "'us-west1','S'); SELECT tenant_add_agent('V','vic');"
             "SELECT tenant_bind('V','vic');"
             "INSERT INTO basic_communications(id, data) VALUES('v1', 'x')",
             0), 0, "in use: another process provisions V and writes");
  tap_is_int(runWithReset(0, "SELECT tenant_bind('O');"
             "INSERT INTO basic_communications(id, data) VALUES('o2', 'x')",
             0), 0, "in use: another session of O writes");
  tap_is_int(runWithReset(0, "SELECT tenant_decommission('V')", 0), 0,
             "in use: another process decommissions V");
  /* Row 'secret' belongs to this O, which case 6 provisioned. */
  mOutcome = oldreadFinish(&old);
  tap_is_int(mOutcome & (OLDREAD_OPEN|OLDREAD_INACTIVE|OLDREAD_ERROR), 0,
             "in use: old session of O still reads");
}

/* 8. A file with another file id, or truncated to 0 or 8 bytes, rejects
** new processes. The original file, put back, opens again, and a reset
** replaces a file with another id. */
static void testReplaced(void){
  static const unsigned char aOther[16] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0x81, 2, 3, 4, 5, 6, 7, 8
  };
  char zId[40];
  int bSaved;

  snprintf(zId, sizeof(zId), "%s", recordedId());
  unlink(rootPath("catalog.db-epoch.saved"));
  bSaved = link(rootPath("catalog.db-epoch"),
                rootPath("catalog.db-epoch.saved"))==0;
  if( !tap_ok(bSaved, "replaced: counter file saved") ) return;

  tap_ok(counterReplace(aOther, 16), "replaced: file with another id");
  tap_is_int(runWithReset(0, "SELECT tenant_root()",
             rejectError(zId, "8102030405060708")), 0,
             "replaced: another file id rejected");
  tap_ok(counterReplace(aOther, 0), "replaced: file of 0 bytes");
  tap_is_int(runWithReset(0, "SELECT tenant_root()",
             rejectError(zId, "none")), 0, "replaced: 0 bytes rejected");
  tap_ok(counterReplace(aOther, 8), "replaced: file of 8 bytes");
  tap_is_int(runWithReset(0, "SELECT tenant_root()",
             rejectError(zId, "none")), 0, "replaced: 8 bytes rejected");

  tap_ok(rename(rootPath("catalog.db-epoch.saved"),
                rootPath("catalog.db-epoch"))==0,
         "replaced: original file put back");
  tap_is_int(runWithReset(0, "SELECT tenant_root()", 0), 0,
             "replaced: original file opens");

  tap_ok(counterReplace(aOther, 16), "replaced: another id again");
  tap_is_int(runWithReset(zId, "SELECT tenant_root()", 0), 0,
             "replaced: reset accepted");
  tap_ok(strcmp(fileId(), "8102030405060708")!=0
         && strcmp(fileId(), "none")!=0 && strcmp(fileId(), "missing")!=0,
         "replaced: reset wrote a new file id");
  tap_is_str(recordedId(), fileId(), "replaced: the catalog records it");
}

/* 9. A catalog that records no file id, as one made before the counter
** existed: a new process creates the counter with the catalog's mode,
** whatever its umask, and records its file id. */
static void testOldCatalog(void){
  struct stat st;
  mode_t old;
  int rc;

  tap_ok(unlink(rootPath("catalog.db-epoch"))==0
         && chmod(rootPath("catalog.db"), 0660)==0,
         "old catalog: counter removed, catalog mode 0660");
  tap_is_str(catalogExec("DELETE FROM change_counter"), 0,
             "old catalog: record removed");
  old = umask(022);
  rc = workerWait(workerStart("run", "SELECT tenant_root()", 0, 0));
  umask(old);
  tap_is_int(rc, 0, "old catalog: a new process opens it");
  rc = stat(rootPath("catalog.db-epoch"), &st);
  tap_is_int(rc==0 ? (long long)(st.st_mode & 0777) : -1, 0660,
             "old catalog: mode 0660, as the catalog's");
  tap_ok(strcmp(fileId(), "none")!=0 && strcmp(fileId(), "missing")!=0,
         "old catalog: new file has a file id");
  tap_is_str(recordedId(), fileId(), "old catalog: its id recorded");
}

/* 10. A counter file made before file ids existed: 8 bytes, and no record.
** A new process keeps its value, adds a file id and records it. */
static void testOldFile(void){
  sqlite3_uint64 iValue = 41;
  struct stat st;

  tap_ok(counterReplace(&iValue, sizeof(iValue)), "old file: 8 bytes,"
         " value 41");
  tap_is_str(catalogExec("DELETE FROM change_counter"), 0,
             "old file: record removed");
  tap_is_int(runWithReset(0, "SELECT tenant_root()", 0), 0,
             "old file: a new process opens the root");
  tap_is_int(stat(rootPath("catalog.db-epoch"), &st)==0 ? st.st_size : -1,
             16, "old file: extended to 16 bytes");
  tap_is_int(epochValue(), 41, "old file: value kept");
  tap_ok(strcmp(fileId(), "none")!=0, "old file: has a file id");
  tap_is_str(recordedId(), fileId(), "old file: its id recorded");
}

/* 11. Four processes that open a new root at once agree on one file. */
static void testConcurrentOpen(void){
  pid_t aPid[4];
  int nOk = 0;
  int i;

  zRoot = tap_fresh_root("epoch-concurrent");
  for(i=0; i<4; i++){
    aPid[i] = workerStart("run", "SELECT tenant_root()", 0, 0);
  }
  for(i=0; i<4; i++){
    if( workerWait(aPid[i])==0 ) nOk++;
  }
  tap_is_int(nOk, 4, "concurrent: every process opens the new root");
  tap_ok(strcmp(fileId(), "none")!=0 && strcmp(fileId(), "missing")!=0,
         "concurrent: file has a file id");
  tap_is_str(recordedId(), fileId(), "concurrent: the catalog records it");
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
  if( argc>2 && strcmp(argv[1], "session")==0 ){
    return sessionMain(argv[2]);
  }
  if( argc>4 && strcmp(argv[1], "oldread")==0 ){
    return oldreadMain(argv[2], atoi(argv[3]), atoi(argv[4]));
  }
  if( argc>3 && strcmp(argv[1], "holder")==0 ){
    return holderMain(atoi(argv[2]), atoi(argv[3]));
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
  sqlite3_close(dbAdmin);

  /* This process maps the counter of this root, and holds its reset lock,
  ** until it exits. So the cases from here on use another root, which
  ** only new processes open. */
  zRoot = tap_fresh_root("epoch-reset");
  tap_is_int(runWithReset(0,
      "SELECT tenant_provision('S','sapphire','us-west1');"
      "SELECT tenant_provision('O','onyx','us-west1','S')", 0), 0,
      "setup: second fleet provisioned");
  testDeleted();
  testReset();
  testInUse();
  testReplaced();
  testOldCatalog();
  testOldFile();
  testConcurrentOpen();
  tap_done();
  return 0;
}
