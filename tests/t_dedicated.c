/*
** Tests of the storage limit of a dedicated (Sapphire) placement across
** its two database files, in WAL and rollback-journal mode.
**
** The limit covers owner.db (partitions 1-6) and private.db (partitions
** 7-12) together, each at its size as of its last commit. In WAL mode that
** is the size recorded in the last commit frame of the file's WAL, which
** the file itself reaches only at the next checkpoint.
**
** Sapphire W keeps the default WAL mode, and Sapphire R is provisioned
** with rollback journals. Both stay encrypted, so the checks run through
** SQLCipher's codec in the sqlcipher host and through the VFS codec in the
** stock one. The case that needs a second process runs this program again
** with a worker argument (see workerMain).
*/
#include "tap.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Rows have 1,000 bytes of data. An INSERT of ROWS_PER_INSERT of them
** grows a file by about 70,000 bytes. */
#define ROWS_PER_INSERT 60

static char zRootDir[4096];

/* Path of file zName ("owner.db", "private.db-wal", ...) of Sapphire
** zCustomer, in a static buffer that the next call reuses. */
static const char *placementFile(const char *zCustomer, const char *zName){
  static char zPath[4600];
  snprintf(zPath, sizeof(zPath), "%s/customer-%s-sapphire/d1-sapphire-%s-"
           "eu-west1/%s", zRootDir, zCustomer, zCustomer, zName);
  return zPath;
}

/* Bytes of a file, 0 when it does not exist. */
static long long fileBytes(const char *zPath){
  struct stat st;
  return stat(zPath, &st)==0 ? (long long)st.st_size : 0;
}

/* Bytes of the two database files of zCustomer, without WAL files. */
static long long databaseBytes(const char *zCustomer){
  return fileBytes(placementFile(zCustomer, "owner.db"))
       + fileBytes(placementFile(zCustomer, "private.db"));
}

/* Bytes of the two database files of zCustomer and their WAL files. */
static long long placementBytes(const char *zCustomer){
  return databaseBytes(zCustomer)
       + fileBytes(placementFile(zCustomer, "owner.db-wal"))
       + fileBytes(placementFile(zCustomer, "private.db-wal"));
}

/* A check name built from a format with one %s, in one of two static
** buffers. */
static const char *checkName(const char *zFormat, const char *zArg){
  static char azName[2][256];
  static int iNext = 0;
  char *z = azName[iNext];
  iNext = 1 - iNext;
  snprintf(z, 256, zFormat, zArg);
  return z;
}

static sqlite3 *openSession(const char *zCustomer){
  char zTail[256];
  snprintf(zTail, sizeof(zTail), "%s?vfs=tenant", zCustomer);
  return tap_open_uri(zTail, 0, 0);
}

/* Insert ROWS_PER_INSERT rows of 1,000 bytes into zTable in one
** statement. Returns the result code. */
static int insertRows(sqlite3 *db, const char *zTable, const char *zPrefix){
  char zSql[512];
  snprintf(zSql, sizeof(zSql), "INSERT INTO %s(id, data) WITH RECURSIVE "
           "c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<%d) "
           "SELECT '%s' || i, hex(randomblob(500)) FROM c",
           zTable, ROWS_PER_INSERT, zPrefix);
  return sqlite3_exec(db, zSql, 0, 0, 0);
}

/* Set the Sapphire limit to iLimit bytes, or lift it when iLimit<0. */
static int setLimit(sqlite3 *dbAdmin, long long iLimit){
  char zSql[128];
  if( iLimit<0 ){
    snprintf(zSql, sizeof(zSql), "SELECT tenant_policy_set('sapphire',"
             "'storage_limit_bytes',NULL)");
  }else{
    snprintf(zSql, sizeof(zSql), "SELECT tenant_policy_set('sapphire',"
             "'storage_limit_bytes',%lld)", iLimit);
  }
  return tap_exec_error(dbAdmin, zSql)==0;
}

/* ---- worker: run as "t_dedicated commit-and-die <customer> <rows>" ---- */

/* Commit <rows> rows to private.db, then die by SIGKILL, so that the rows
** stay in the WAL that no checkpoint has copied. */
static int workerMain(int argc, char **argv){
  sqlite3 *dbLoad = 0;
  sqlite3 *db;
  char zSql[512];

  if( argc<4 || strcmp(argv[1], "commit-and-die")!=0 ) return 3;
  tap_open(&dbLoad);
  db = openSession(argv[2]);
  if( db==0 ) return 2;
  snprintf(zSql, sizeof(zSql), "INSERT INTO internal_analytics(id, data) "
           "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c "
           "WHERE i<%d) SELECT 'k' || i, hex(randomblob(500)) FROM c",
           atoi(argv[3]));
  if( sqlite3_exec(db, zSql, 0, 0, 0)!=SQLITE_OK ) return 1;
  kill(getpid(), SIGKILL);
  return 1;
}

/* ---- cases ------------------------------------------------------------ */

/* 1. Sapphire W in WAL mode, R with rollback journals. */
static void testSetup(sqlite3 *dbAdmin){
  static const char *const azSetup[] = {
    "SELECT tenant_provision('W','sapphire','eu-west1')",
    "SELECT tenant_policy_set('sapphire','journal_mode','delete')",
    "SELECT tenant_provision('R','sapphire','eu-west1')",
    "SELECT tenant_policy_set('sapphire','journal_mode','wal')",
    0
  };
  int i;
  for(i=0; azSetup[i]; i++){
    const char *zErr = tap_exec_error(dbAdmin, azSetup[i]);
    if( !tap_ok(zErr==0, "setup: %s", azSetup[i]) ) tap_diag("%s", zErr);
  }
}

/*
** 2. Rows committed to private.db count against the limit when owner.db
** grows, whether they are still in private.db's WAL or already in the
** file. The limit leaves room for one insert, not two. When the session
** closes, each WAL is checkpointed into its file, and the two files hold
** no more than the limit.
*/
static void testTwoFiles(sqlite3 *dbAdmin, const char *zCustomer,
                         const char *zMode){
  long long iLimit = databaseBytes(zCustomer) + 100000;
  sqlite3 *db;

  tap_ok(setLimit(dbAdmin, iLimit), "two files (%s): limit %lld bytes",
         zMode, iLimit);
  db = openSession(zCustomer);
  tap_is_int(insertRows(db, "internal_analytics", "p"), SQLITE_OK,
             checkName("two files (%s): private.db insert fits", zMode));
  tap_is_int(insertRows(db, "communications_data", "o"), SQLITE_FULL,
             checkName("two files (%s): owner.db insert refused", zMode));
  tap_is_str(tap_query_text(db, "SELECT (SELECT count(*) FROM "
             "internal_analytics) || ',' || (SELECT count(*) FROM "
             "communications_data)"), "60,0",
             checkName("two files (%s): rows of the first insert only",
             zMode));
  sqlite3_close(db);

  tap_is_int(fileBytes(placementFile(zCustomer, "private.db-wal")), 0,
             checkName("two files (%s): no WAL left after close", zMode));
  tap_ok(placementBytes(zCustomer)<=iLimit,
         "two files (%s): the files hold %lld bytes, within the limit",
         zMode, placementBytes(zCustomer));
  tap_ok(setLimit(dbAdmin, -1), "two files (%s): limit lifted", zMode);
}

/*
** 3. A writer dies after its commit, so its rows stay in private.db's WAL,
** and the limit is then set below the usage. The customer is over its
** limit: owner.db cannot grow, but rows of both files can be read and
** deleted, and the WAL is checkpointed when the session closes.
*/
static void testOverLimitAfterKill(sqlite3 *dbAdmin, const char *zSelf){
  long long iLimit;
  sqlite3 *db;
  pid_t pid;
  int status = 0;

  pid = fork();
  if( pid==0 ){
    execl(zSelf, zSelf, "commit-and-die", "W", "150", (char*)0);
    _exit(127);
  }
  waitpid(pid, &status, 0);
  tap_ok(WIFSIGNALED(status) && WTERMSIG(status)==SIGKILL,
         "over limit: the writer died after its commit");
  tap_ok(fileBytes(placementFile("W", "private.db-wal"))>150000,
         "over limit: its rows are in private.db's WAL");

  /* The limit leaves room for an insert beside what the two files hold
  ** on disk, but is below what they hold as of their last commits. */
  iLimit = databaseBytes("W") + 100000;
  tap_ok(setLimit(dbAdmin, iLimit), "over limit: limit %lld bytes", iLimit);

  db = openSession("W");
  tap_is_str(tap_query_text(db, "SELECT count(*) FROM internal_analytics"
             " WHERE id LIKE 'k%'"), "150",
             "over limit: the customer reads its rows");
  tap_is_int(insertRows(db, "communications_data", "q"), SQLITE_FULL,
             "over limit: owner.db insert refused");
  tap_is_str(tap_exec_error(db, "DELETE FROM internal_analytics"
             " WHERE rowid%2=0"), 0, "over limit: half of the rows deleted");
  tap_is_str(tap_exec_error(db, "DELETE FROM internal_analytics"), 0,
             "over limit: the other half deleted");
  tap_is_str(tap_query_text(db, "SELECT count(*) FROM internal_analytics"),
             "0", "over limit: no row left");
  tap_is_str(tap_exec_error(db, "INSERT INTO communications_data(id, data)"
             " VALUES('small', 'fits in a free page')"), 0,
             "over limit: a small row fits in the files as they are");
  sqlite3_close(db);

  tap_is_int(fileBytes(placementFile("W", "private.db-wal")), 0,
             "over limit: private.db checkpointed at close");
  tap_ok(setLimit(dbAdmin, -1), "over limit: limit lifted");
}

/*
** 4. SQLite checkpoints the WAL after 1,000 frames by default, and the
** next commit starts it again from its first frame, over the old ones.
** The sizes read from the WAL follow it: private.db grows up to the limit
** and no further, and owner.db cannot grow past it then.
*/
static void testWalReset(sqlite3 *dbAdmin){
  long long iLimit = placementBytes("W") + 1400000;
  sqlite3 *db;
  int n, rc = SQLITE_OK;

  tap_ok(setLimit(dbAdmin, iLimit), "WAL reset: limit %lld bytes", iLimit);
  db = openSession("W");
  for(n=0; n<40; n++){
    char zPrefix[16];
    snprintf(zPrefix, sizeof(zPrefix), "z%d-", n);
    rc = insertRows(db, "internal_analytics", zPrefix);
    if( rc!=SQLITE_OK ) break;
  }
  tap_is_int(rc, SQLITE_FULL, "WAL reset: private.db grows to the limit");
  /* One insert adds about 70 pages of 1,024 bytes to the WAL. */
  tap_ok(n>=15, "WAL reset: %d inserts fit, more than 1,000 frames", n);
  tap_is_int(insertRows(db, "communications_data", "r"), SQLITE_FULL,
             "WAL reset: owner.db insert refused");
  sqlite3_close(db);

  tap_ok(placementBytes("W")<=iLimit,
         "WAL reset: the files hold %lld bytes, within the limit",
         placementBytes("W"));
  tap_ok(setLimit(dbAdmin, -1), "WAL reset: limit lifted");
}

int main(int argc, char **argv){
  sqlite3 *dbAdmin = 0;

  if( argc>2 ) return workerMain(argc, argv);

  snprintf(zRootDir, sizeof(zRootDir), "%s", tap_fresh_root("dedicated"));
  tap_open(&dbAdmin);
  testSetup(dbAdmin);
  testTwoFiles(dbAdmin, "W", "WAL");
  testTwoFiles(dbAdmin, "R", "rollback");
  testOverLimitAfterKill(dbAdmin, "/proc/self/exe");
  testWalReset(dbAdmin);
  sqlite3_close(dbAdmin);
  tap_done();
  return 0;
}
