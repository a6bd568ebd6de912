/*
** Benchmark: the tenant VFS without encryption against the default VFS.
**
** Two files of the same shape are opened, one as "file:<path>?vfs=tenant"
** and one with the default VFS, each on its own connection. The tenant VFS
** keeps an absolute path as it is, so this measures only its forwarding
** layer: every read, write, lock and sync passes through one more call.
**
**   write-heavy, rollback journal   transactions of 10 inserts, the default
**                                   journal mode and synchronous=FULL
**   write-heavy, WAL                the same in WAL mode, synchronous=NORMAL
**   read-heavy, point lookups       random lookups on 50,000 rows with a
**                                   64 KiB page cache, so that most pages
**                                   come through xRead
**   read-heavy, full scan           a scan of the whole table, same cache
*/
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VFS_ROWS 50000        /* rows in the read-heavy table */

typedef struct VfsRun VfsRun;
struct VfsRun {
  sqlite3 *db;
  sqlite3_stmt *pStmt;
  unsigned int iSeed;
  int iNext;                  /* next key a write inserts */
};

static unsigned int nextRandom(unsigned int *pSeed){
  *pSeed = *pSeed*1103515245u + 12345u;
  return (*pSeed>>8) & 0xffffff;
}

/* Run nIter transactions of 10 inserts each. */
static void writeRun(void *pArg, int nIter){
  VfsRun *p = (VfsRun*)pArg;
  static const char zPad[] = "0123456789abcdefghijklmnopqrstuvwxyz"
                             "0123456789abcdefghijklmnopqrstuvwxyz"
                             "0123456789abcdefghijklmnopqrstuvwxyz";
  int i, j;
  for(i=0; i<nIter; i++){
    benchExec(p->db, "BEGIN");
    for(j=0; j<10; j++){
      sqlite3_bind_int(p->pStmt, 1, p->iNext++);
      sqlite3_bind_text(p->pStmt, 2, zPad, -1, SQLITE_STATIC);
      benchStepAll(p->pStmt);
    }
    benchExec(p->db, "COMMIT");
  }
}

static void pointRun(void *pArg, int nIter){
  VfsRun *p = (VfsRun*)pArg;
  int i;
  for(i=0; i<nIter; i++){
    sqlite3_bind_int(p->pStmt, 1, (int)(nextRandom(&p->iSeed) % VFS_ROWS));
    benchStepAll(p->pStmt);
  }
}

static void scanRun(void *pArg, int nIter){
  VfsRun *p = (VfsRun*)pArg;
  int i;
  for(i=0; i<nIter; i++) benchStepAll(p->pStmt);
}

/* Open zPath through the tenant VFS when bTenant, else the default one. */
static sqlite3 *openFile(const char *zPath, int bTenant, const char *zSetup){
  sqlite3 *db = 0;
  char *zUri = sqlite3_mprintf("file:%s%s", zPath,
                               bTenant ? "?vfs=tenant" : "");
  int rc = sqlite3_open_v2(zUri, &db, SQLITE_OPEN_READWRITE|
                           SQLITE_OPEN_CREATE|SQLITE_OPEN_URI, 0);
  if( rc!=SQLITE_OK ) benchFatal("cannot open %s: %s", zUri,
                                 db ? sqlite3_errmsg(db) : "out of memory");
  sqlite3_free(zUri);
  benchExec(db, zSetup);
  return db;
}

/* Build the read-heavy table in zPath. */
static void fillFile(const char *zPath){
  sqlite3 *db = openFile(zPath, 0, "CREATE TABLE t(k INTEGER PRIMARY KEY,"
                         " v TEXT, w TEXT); CREATE INDEX t_w ON t(w);");
  benchExec(db, "WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM c"
                " WHERE i<49999) INSERT INTO t SELECT i, hex(randomblob(60)),"
                " hex(randomblob(8)) FROM c");
  sqlite3_close(db);
}

static void compareWrites(const char *zRoot, const char *zCase,
                          const char *zMode){
  const char *azName[2] = { "default VFS", "tenant VFS" };
  VfsRun aRun[2];
  BenchVariant aVar[2];
  int i;

  if( !benchSelected("vfs", zCase) ) return;
  for(i=0; i<2; i++){
    char *zPath = sqlite3_mprintf("%s/write-%d-%s.db", zRoot, i,
                                  zMode[0]=='w' ? "wal" : "delete");
    char *zSetup = sqlite3_mprintf("PRAGMA journal_mode=%s;%s"
        "CREATE TABLE IF NOT EXISTS t(k INTEGER PRIMARY KEY, v TEXT);"
        "CREATE INDEX IF NOT EXISTS t_v ON t(v)", zMode,
        zMode[0]=='w' ? "PRAGMA synchronous=NORMAL;" : "");
    aRun[i].db = openFile(zPath, i==1, zSetup);
    aRun[i].pStmt = benchPrepare(aRun[i].db,
                                 "INSERT INTO t(k, v) VALUES(?1, ?2)");
    aRun[i].iNext = 0;
    aVar[i].zName = azName[i];
    aVar[i].xRun = writeRun;
    aVar[i].pArg = &aRun[i];
    aVar[i].xAfter = 0;
    sqlite3_free(zPath);
    sqlite3_free(zSetup);
  }
  fprintf(stderr, "# %s vfs: %s\n", benchHost(), zCase);
  benchCompare("vfs", zCase, aVar, 2, benchRounds(),
               (int)(100*benchScale())+1, 1.03);
  for(i=0; i<2; i++){
    sqlite3_finalize(aRun[i].pStmt);
    sqlite3_close(aRun[i].db);
  }
}

static void compareReads(const char *zPath, const char *zCase,
                         const char *zSql, void (*xRun)(void*, int),
                         int nIter){
  const char *azName[2] = { "default VFS", "tenant VFS" };
  VfsRun aRun[2];
  BenchVariant aVar[2];
  int i;

  if( !benchSelected("vfs", zCase) ) return;
  for(i=0; i<2; i++){
    aRun[i].db = openFile(zPath, i==1, "PRAGMA cache_size=-64");
    aRun[i].pStmt = benchPrepare(aRun[i].db, zSql);
    aRun[i].iSeed = 99;
    aVar[i].zName = azName[i];
    aVar[i].xRun = xRun;
    aVar[i].pArg = &aRun[i];
    aVar[i].xAfter = 0;
  }
  fprintf(stderr, "# %s vfs: %s\n", benchHost(), zCase);
  benchCompare("vfs", zCase, aVar, 2, benchRounds(), nIter, 1.03);
  for(i=0; i<2; i++){
    sqlite3_finalize(aRun[i].pStmt);
    sqlite3_close(aRun[i].db);
  }
}

int main(void){
  sqlite3 *pAdmin = benchOpenAdmin();   /* registers the tenant VFS */
  const char *zRoot = benchFreshRoot("vfs");
  char *zRead = sqlite3_mprintf("%s/read.db", zRoot);
  int nScale = (int)(benchScale()*1000);

  compareWrites(zRoot, "write-heavy, rollback journal", "delete");
  compareWrites(zRoot, "write-heavy, WAL", "wal");
  fillFile(zRead);
  compareReads(zRead, "read-heavy, point lookups",
               "SELECT v FROM t WHERE k=?1", pointRun, nScale*20);
  compareReads(zRead, "read-heavy, full scan",
               "SELECT count(*), max(v) FROM t", scanRun,
               nScale/100 > 0 ? nScale/100 : 1);
  sqlite3_free(zRead);
  sqlite3_close(pAdmin);
  return 0;
}
