/*
** Cost of metering and storage limits: the same writes through an Onyx
** session with them on and with them off (TENANT_METER=off, read when the
** session binds), in one process, rounds alternating between the two.
**
** Workloads, each timed without the session's open and close:
**   batch       10,000 inserts of 200-byte rows in one transaction
**   autocommit  200 inserts, each its own transaction
**   update      2,000 updates of one row's data in one transaction
**   select      5,000 point SELECTs (metering counts each as one call)
**   floor       no extension: 200 transactions of plain SQLite, each an
**               insert into a table with the columns of the Onyx table;
**               "on" also updates one row of a second table in each, as
**               storage accounting does at every commit
** The table is emptied between rounds, outside the timing. The Onyx limit
** stays at its default of 10 GB, so every write is checked against it.
**
** Output: per workload, the median, min and max time of each mode, the
** ratio of the medians, the ratio of the minimums, and the median of the
** ratios of the two runs of each round (paired).
**
** Usage: bench_meter [rounds [workload [on|off]]]: 11 rounds of every
** workload in both modes by default. Built with -DBENCH_CALLGRIND, the
** program switches callgrind's collection on for the timed part only, so
**   valgrind --tool=callgrind --collect-atstart=no bench_meter 1 batch on
** counts the instructions of one timed run. Needs TENANT_EXT; uses
** bench/tmp/meter-<host> as root.
*/
#include <sqlite3.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef BENCH_CALLGRIND
# include <valgrind/callgrind.h>
# define BENCH_COLLECT() CALLGRIND_TOGGLE_COLLECT
#else
# define BENCH_COLLECT()
#endif

#ifdef BENCH_HOST_SQLCIPHER
# define HOST_NAME "sqlcipher"
#else
# define HOST_NAME "sqlite"
#endif

#define N_WORKLOAD 5
#define MAX_ROUNDS 101

static const char *const azWorkload[N_WORKLOAD] = {
  "batch", "autocommit", "update", "select", "floor"
};
#define WORKLOAD_FLOOR 4

static char zFloorPath[4200];      /* database of the floor workload */

static double nowSeconds(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec/1e9;
}

static void check(int rc, sqlite3 *db, const char *zWhat){
  if( rc!=SQLITE_OK && rc!=SQLITE_DONE && rc!=SQLITE_ROW ){
    fprintf(stderr, "bench_meter: %s failed: %s\n", zWhat,
            db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    exit(1);
  }
}

static void execOrDie(sqlite3 *db, const char *zSql){
  check(sqlite3_exec(db, zSql, 0, 0, 0), db, zSql);
}

static sqlite3 *openSession(int bMeter){
  sqlite3 *db = 0;
  if( bMeter ) unsetenv("TENANT_METER");
  else setenv("TENANT_METER", "off", 1);
  check(sqlite3_open_v2("file:bench-x?vfs=tenant", &db,
        SQLITE_OPEN_READWRITE|SQLITE_OPEN_CREATE|SQLITE_OPEN_URI, 0),
        db, "open session");
  unsetenv("TENANT_METER");
  return db;
}

/*
** The floor workload: what one more row written to another table costs a
** single-row transaction in plain SQLite, in a WAL database of the same
** settings as a placement file. Returns seconds.
*/
static double runFloor(int bExtra){
  sqlite3 *db = 0;
  sqlite3_stmt *pInsert = 0;
  sqlite3_stmt *pUsage = 0;
  double t0, t1;
  int i;

  check(sqlite3_open(zFloorPath, &db), db, "open floor database");
  execOrDie(db, "PRAGMA journal_mode=WAL;"
      "CREATE TABLE IF NOT EXISTS rows_(customer_id TEXT NOT NULL, id TEXT"
      " NOT NULL, data TEXT, PRIMARY KEY(customer_id, id));"
      "CREATE TABLE IF NOT EXISTS usage_(customer_id TEXT PRIMARY KEY,"
      " bytes INTEGER);"
      "INSERT OR IGNORE INTO usage_ VALUES('bench-x', 0)");
  check(sqlite3_prepare_v2(db, "INSERT INTO rows_ VALUES('bench-x', ?1,"
        " printf('%.200c','d'))", -1, &pInsert, 0), db, "prepare insert");
  check(sqlite3_prepare_v2(db, "UPDATE usage_ SET bytes=bytes+250 WHERE"
        " customer_id='bench-x'", -1, &pUsage, 0), db, "prepare update");

  BENCH_COLLECT();
  t0 = nowSeconds();
  for(i=0; i<200; i++){
    char zId[32];
    snprintf(zId, sizeof(zId), "b%06d", i);
    execOrDie(db, "BEGIN");
    sqlite3_bind_text(pInsert, 1, zId, -1, SQLITE_TRANSIENT);
    check(sqlite3_step(pInsert), db, "insert");
    sqlite3_reset(pInsert);
    if( bExtra ){
      check(sqlite3_step(pUsage), db, "update");
      sqlite3_reset(pUsage);
    }
    execOrDie(db, "COMMIT");
  }
  t1 = nowSeconds();
  BENCH_COLLECT();

  sqlite3_finalize(pInsert);
  sqlite3_finalize(pUsage);
  execOrDie(db, "DELETE FROM rows_");
  sqlite3_close(db);
  return t1 - t0;
}

/* Run workload w once on a fresh session; returns seconds. */
static double runWorkload(int w, int bMeter){
  sqlite3 *db;
  sqlite3_stmt *pStmt = 0;
  double t0, t1;
  int nStep;
  int i;

  if( w==WORKLOAD_FLOOR ) return runFloor(bMeter);
  db = openSession(bMeter);

  /* The update and select workloads work on rows written first. */
  if( w>=2 ){
    execOrDie(db, "BEGIN");
    for(i=0; i<100; i++){
      char zSql[160];
      snprintf(zSql, sizeof(zSql), "INSERT INTO basic_communications(id, "
               "data) VALUES('p%03d', printf('%%.200c','p'))", i);
      execOrDie(db, zSql);
    }
    execOrDie(db, "COMMIT");
  }
  switch( w ){
    case 0:
    case 1:
      check(sqlite3_prepare_v2(db, "INSERT INTO basic_communications(id, "
            "data) VALUES(?1, printf('%.200c','d'))", -1, &pStmt, 0), db,
            "prepare insert");
      break;
    case 2:
      check(sqlite3_prepare_v2(db, "UPDATE basic_communications SET "
            "data=printf('%.*c', 150+?1%100, 'u') WHERE id='p007'", -1,
            &pStmt, 0), db, "prepare update");
      break;
    default:
      check(sqlite3_prepare_v2(db, "SELECT data FROM basic_communications"
            " WHERE id=printf('p%03d', ?1%100)", -1, &pStmt, 0), db,
            "prepare select");
      break;
  }

  switch( w ){
    case 0:  nStep = 10000; break;
    case 1:  nStep = 200;   break;
    case 2:  nStep = 2000;  break;
    default: nStep = 5000;  break;
  }

  BENCH_COLLECT();
  t0 = nowSeconds();
  if( w==0 || w==2 ) execOrDie(db, "BEGIN");
  for(i=0; i<nStep; i++){
    if( w<=1 ){
      char zId[32];
      snprintf(zId, sizeof(zId), "b%06d", i);
      sqlite3_bind_text(pStmt, 1, zId, -1, SQLITE_TRANSIENT);
    }else{
      sqlite3_bind_int(pStmt, 1, i);
    }
    while( sqlite3_step(pStmt)==SQLITE_ROW ){}
    check(sqlite3_reset(pStmt), db, "step");
  }
  if( w==0 || w==2 ) execOrDie(db, "COMMIT");
  t1 = nowSeconds();
  BENCH_COLLECT();

  sqlite3_finalize(pStmt);
  execOrDie(db, "DELETE FROM basic_communications");
  sqlite3_close(db);
  return t1 - t0;
}

static int compareDouble(const void *a, const void *b){
  double x = *(const double*)a, y = *(const double*)b;
  return x<y ? -1 : x>y;
}

int main(int argc, char **argv){
  static double aTime[N_WORKLOAD][2][MAX_ROUNDS];
  const char *zExt = getenv("TENANT_EXT");
  char zRoot[4096];
  char zCmd[4200];
  sqlite3 *dbAdmin = 0;
  char *zErr = 0;
  int nRound = argc>1 ? atoi(argv[1]) : 11;
  const char *zOnly = argc>2 ? argv[2] : 0;
  const char *zMode = argc>3 ? argv[3] : 0;
  int w, r, m;

  if( zExt==0 ){
    fprintf(stderr, "bench_meter: set TENANT_EXT to the extension\n");
    return 1;
  }
  if( nRound<1 || nRound>MAX_ROUNDS ) nRound = 11;
  if( getcwd(zRoot, sizeof(zRoot)-64)==0 ) return 1;
  strcat(zRoot, "/bench/tmp/meter-" HOST_NAME);
  snprintf(zCmd, sizeof(zCmd), "rm -rf '%s' && mkdir -p '%s'", zRoot, zRoot);
  if( system(zCmd)!=0 ) return 1;
  snprintf(zFloorPath, sizeof(zFloorPath), "%s/floor.db", zRoot);
  setenv("TENANT_ROOT", zRoot, 1);
  setenv("TENANT_MASTER_KEY", "bench-master-key-0123456789abcdefghijklm", 1);

  sqlite3_open_v2(":memory:", &dbAdmin, SQLITE_OPEN_READWRITE
                  |SQLITE_OPEN_CREATE|SQLITE_OPEN_URI, 0);
  sqlite3_enable_load_extension(dbAdmin, 1);
  if( sqlite3_load_extension(dbAdmin, zExt, "sqlite3_tenant_init", &zErr) ){
    fprintf(stderr, "bench_meter: cannot load %s: %s\n", zExt, zErr);
    return 1;
  }
  execOrDie(dbAdmin, "SELECT tenant_policy_set('sapphire','encrypted',0);"
      "SELECT tenant_policy_set('opal','encrypted',0);"
      "SELECT tenant_policy_set('onyx','encrypted',0);"
      "SELECT tenant_provision('bench-s','sapphire','eu-west1');"
      "SELECT tenant_provision('bench-x','onyx','eu-west1','bench-s');");

  /* Alternate the modes, and which comes first, so that drift of the
  ** machine over the run hits both alike. */
  for(r=0; r<nRound; r++){
    for(w=0; w<N_WORKLOAD; w++){
      if( zOnly && strcmp(zOnly, azWorkload[w])!=0 ) continue;
      for(m=0; m<2; m++){
        int bMeter = (m + r) % 2;
        if( zMode && strcmp(zMode, bMeter ? "on" : "off")!=0 ) continue;
        aTime[w][bMeter][r] = runWorkload(w, bMeter);
      }
    }
  }

  if( zMode ){
    /* One mode gives no ratio: its cost is what callgrind counted. */
    printf("host %s: metering %s only, no ratio\n", HOST_NAME, zMode);
    sqlite3_close(dbAdmin);
    return 0;
  }
  printf("host %s (SQLite %s), %d rounds\n", HOST_NAME, sqlite3_libversion(),
         nRound);
  printf("%-11s %12s %12s %12s %12s %12s %12s %7s %7s %7s\n", "workload",
         "off median", "off min", "off max", "on median", "on min", "on max",
         "median", "min", "paired");
  for(w=0; w<N_WORKLOAD; w++){
    double aMed[2];
    double aRatio[MAX_ROUNDS];
    if( zOnly && strcmp(zOnly, azWorkload[w])!=0 ) continue;

    /* The two runs of one round ran next to each other, so the median of
    ** their ratios is the least affected by drift over the whole run. */
    for(r=0; r<nRound; r++) aRatio[r] = aTime[w][1][r]/aTime[w][0][r];
    qsort(aRatio, nRound, sizeof(double), compareDouble);
    for(m=0; m<2; m++){
      qsort(aTime[w][m], nRound, sizeof(double), compareDouble);
      aMed[m] = aTime[w][m][nRound/2];
    }
    printf("%-11s %10.2fms %10.2fms %10.2fms %10.2fms %10.2fms %10.2fms"
           " %6.3fx %6.3fx %6.3fx\n", azWorkload[w],
           aMed[0]*1e3, aTime[w][0][0]*1e3, aTime[w][0][nRound-1]*1e3,
           aMed[1]*1e3, aTime[w][1][0]*1e3, aTime[w][1][nRound-1]*1e3,
           aMed[1]/aMed[0], aTime[w][1][0]/aTime[w][0][0], aRatio[nRound/2]);
  }
  sqlite3_close(dbAdmin);
  return 0;
}
