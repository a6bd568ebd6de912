/*
** Benchmark of the tenant VFS's page codec against plain files and against
** SQLCipher's own codec, on one workload: inserts in one transaction, point
** reads by rowid, and full scans, with a page cache far smaller than the
** database so that reads go through the codec.
**
** Built twice from this file (see bench/CODEC.md for the commands):
**   - against the stock SQLite: runs "plain" (default VFS, no codec) and
**     "vfs" (tenant VFS, codec=vfs), then runs the SQLCipher build given
**     as its first argument and prints the ratios of all three;
**   - with -DBENCH_SQLCIPHER against SQLCipher: runs "sqlcipher" (default
**     VFS, raw key, SQLCipher 3 defaults) and prints one line per step.
** Every mode uses pages of 1024 bytes. Each step is timed in ROUNDS rounds
** on a fresh file; the median, minimum and maximum are reported.
*/
#include <sqlite3.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ROWS 20000
#define READS 20000
#define SCANS 10
#define ROUNDS 5
#define CACHE_PAGES 100
#define STEPS 3

static const char *azStep[STEPS] = { "insert", "point-read", "scan" };

/* The raw key of every benchmark file (a fixed test value). */
#define RAW_KEY "x'2b7e151628aed2a6abf7158809cf4f3c2b7e151628aed2a6abf7158809cf4f3c'"

static double nowSeconds(void){
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec/1e9;
}

static void check(int rc, sqlite3 *db, const char *zWhat){
  if( rc!=SQLITE_OK && rc!=SQLITE_DONE && rc!=SQLITE_ROW ){
    fprintf(stderr, "bench_codec: %s failed: %s\n", zWhat,
            db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    exit(1);
  }
}

static void removeFiles(const char *zPath){
  char z[700];
  unlink(zPath);
  snprintf(z, sizeof(z), "%s-journal", zPath);
  unlink(z);
  snprintf(z, sizeof(z), "%s-wal", zPath);
  unlink(z);
}

/* Open the benchmark file in mode zMode, empty and ready for the table. */
static sqlite3 *openMode(const char *zMode, const char *zPath){
  sqlite3 *db = 0;
  char zUri[700];
  int rc;

  removeFiles(zPath);
  if( strcmp(zMode, "vfs")==0 ){
    int nReserve = 48;
    snprintf(zUri, sizeof(zUri), "file:%s?vfs=tenant&codec=vfs", zPath);
    rc = sqlite3_open_v2(zUri, &db, SQLITE_OPEN_READWRITE|SQLITE_OPEN_CREATE
                         |SQLITE_OPEN_URI, 0);
    check(rc, db, "open through the tenant VFS");
    check(sqlite3_exec(db, "PRAGMA page_size=1024", 0, 0, 0), db, "page_size");
#ifdef SQLITE_FCNTL_RESERVE_BYTES
    check(sqlite3_file_control(db, "main", SQLITE_FCNTL_RESERVE_BYTES,
                               &nReserve), db, "reserve bytes");
#else
    (void)nReserve;
#endif
  }else{
    rc = sqlite3_open(zPath, &db);
    check(rc, db, "open");
    if( strcmp(zMode, "sqlcipher")==0 ){
      check(sqlite3_exec(db, "PRAGMA key=\"" RAW_KEY "\"", 0, 0, 0), db,
            "PRAGMA key");
    }
    check(sqlite3_exec(db, "PRAGMA page_size=1024", 0, 0, 0), db, "page_size");
  }
  check(sqlite3_exec(db, "PRAGMA cache_size=" "100", 0, 0, 0), db, "cache");
  return db;
}

/* Run the three steps once on a fresh file; write seconds into aTime. */
static void runRound(const char *zMode, const char *zPath, double *aTime){
  sqlite3 *db = openMode(zMode, zPath);
  sqlite3_stmt *pStmt = 0;
  double t0;
  int i;

  t0 = nowSeconds();
  check(sqlite3_exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
      "BEGIN;"
      "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<"
      "20000) INSERT INTO t(v) SELECT printf('%0100d', i) FROM c;"
      "COMMIT;", 0, 0, 0), db, "insert");
  aTime[0] = nowSeconds() - t0;

  check(sqlite3_prepare_v2(db, "SELECT v FROM t WHERE id=?", -1, &pStmt, 0),
        db, "prepare");
  srand(7);
  t0 = nowSeconds();
  for(i=0; i<READS; i++){
    sqlite3_bind_int(pStmt, 1, 1 + rand()%ROWS);
    check(sqlite3_step(pStmt), db, "point read");
    sqlite3_reset(pStmt);
  }
  aTime[1] = nowSeconds() - t0;
  sqlite3_finalize(pStmt);

  t0 = nowSeconds();
  for(i=0; i<SCANS; i++){
    check(sqlite3_exec(db, "SELECT sum(length(v)) FROM t", 0, 0, 0), db,
          "scan");
  }
  aTime[2] = nowSeconds() - t0;
  sqlite3_close(db);
  removeFiles(zPath);
}

static int compareDouble(const void *a, const void *b){
  double x = *(const double*)a, y = *(const double*)b;
  return x<y ? -1 : x>y;
}

/* Run ROUNDS rounds of mode zMode; print "mode step median min max" in
** milliseconds and store the medians in aMedian. */
static void runMode(const char *zMode, const char *zDir, double *aMedian){
  double aTime[ROUNDS][STEPS];
  double aSorted[ROUNDS];
  char zPath[600];
  int r, s;

  snprintf(zPath, sizeof(zPath), "%s/bench/owner.db", zDir);
  for(r=0; r<ROUNDS; r++) runRound(zMode, zPath, aTime[r]);
  for(s=0; s<STEPS; s++){
    for(r=0; r<ROUNDS; r++) aSorted[r] = aTime[r][s];
    qsort(aSorted, ROUNDS, sizeof(double), compareDouble);
    aMedian[s] = aSorted[ROUNDS/2];
    printf("%s %s %.1f %.1f %.1f\n", zMode, azStep[s], aSorted[ROUNDS/2]*1e3,
           aSorted[0]*1e3, aSorted[ROUNDS-1]*1e3);
  }
}

int main(int argc, char **argv){
  char zDir[512];
  char zSub[600];
  double aPlain[STEPS], aVfs[STEPS], aCipher[STEPS];

  snprintf(zDir, sizeof(zDir), "%s", getenv("BENCH_DIR") ? getenv("BENCH_DIR")
                                                         : "bench/tmp");
  mkdir(zDir, 0700);
  snprintf(zSub, sizeof(zSub), "%s/bench", zDir);
  mkdir(zSub, 0700);

#ifdef BENCH_SQLCIPHER
  (void)argc; (void)argv;
  runMode("sqlcipher", zDir, aCipher);
  (void)aPlain; (void)aVfs;
#else
  {
    sqlite3 *db = 0;
    char *zErr = 0;
    const char *zExt = getenv("TENANT_EXT");
    FILE *pIn;
    char zLine[256];
    int s;

    if( zExt==0 || argc<2 ){
      fprintf(stderr, "usage: TENANT_EXT=build/tenant bench_codec "
              "<sqlcipher build of bench_codec>\n");
      return 1;
    }
    /* The VFS derives the file's key from a master key: use a fixed
    ** benchmark one unless the caller set one. */
    setenv("TENANT_MASTER_KEY", "bench-master-key-0123456789abcdef0123", 0);
    /* Loading the extension registers the tenant VFS for the process. */
    sqlite3_open(":memory:", &db);
    sqlite3_enable_load_extension(db, 1);
    if( sqlite3_load_extension(db, zExt, 0, &zErr)!=SQLITE_OK ){
      fprintf(stderr, "bench_codec: cannot load %s: %s\n", zExt, zErr);
      return 1;
    }
    printf("mode step median_ms min_ms max_ms\n");
    runMode("plain", zDir, aPlain);
    runMode("vfs", zDir, aVfs);
    fflush(stdout);

    snprintf(zLine, sizeof(zLine), "%s", argv[1]);
    pIn = popen(zLine, "r");
    for(s=0; pIn && s<STEPS && fgets(zLine, sizeof(zLine), pIn); s++){
      char zMode[32], zStep[32];
      double x, lo, hi;
      fputs(zLine, stdout);
      if( sscanf(zLine, "%31s %31s %lf %lf %lf", zMode, zStep, &x, &lo,
                 &hi)==5 ){
        aCipher[s] = x/1e3;
      }
    }
    if( pIn ) pclose(pIn);
    if( s<STEPS ){
      fprintf(stderr, "bench_codec: the SQLCipher build printed no results\n");
      return 1;
    }
    printf("\nstep vfs/plain vfs/sqlcipher\n");
    for(s=0; s<STEPS; s++){
      printf("%s %.2f %.2f\n", azStep[s], aVfs[s]/aPlain[s],
             aVfs[s]/aCipher[s]);
    }
    sqlite3_close(db);
  }
#endif
  return 0;
}
