/*
** Benchmark: memory per open session.
**
** A fleet of 1,000 customers (50 Sapphire, 300 Opal, 650 Onyx) is
** provisioned with 10 rows each. Then each measurement runs in a fresh
** child process of this program, so that memory freed by one measurement
** does not hide the growth of the next:
**
**   1. per tier, 20 sessions of different customers are opened and one
**      point lookup runs in each. The growth of sqlite3_memory_used() and
**      of the resident set (RSS, /proc/self/statm) is divided by 20. The
**      baseline opens the same files with sqlite3_open_v2() and ATTACH and
**      runs the same lookup.
**   2. every customer's session is opened, 1,000 at once in one process,
**      and the same growth is reported for the whole set.
**
** sqlite3_memory_used() counts only SQLite's own allocations, including
** SQLCipher's and the extension's; RSS also counts the C library's and
** OpenSSL's, and pages the allocator keeps after a free.
*/
#include "bench.h"
#include "fleet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MEMORY_PER_TIER 20


/* One point lookup of the customer's own rows, to fill the page cache as
** a first query does. */
static void touch(sqlite3 *db, const FleetCustomer *p){
  char *zSql = sqlite3_mprintf("SELECT data FROM %s WHERE customer_id=%Q"
                               " AND id='r000005'",
                               strcmp(p->zTier, "onyx")==0
                               ? "basic_communications" : "communications_data",
                               p->zId);
  if( benchQueryInt(db, zSql)!=0 ) benchFatal("%s: unexpected value", zSql);
  sqlite3_free(zSql);
}

static void measureTier(const Fleet *pFleet, const char *zTier, int bSession){
  sqlite3 *aDb[MEMORY_PER_TIER];
  sqlite3_int64 nMem0, nRss0;
  int i, n = 0;

  nMem0 = sqlite3_memory_used();
  nRss0 = benchRss();
  for(i=0; i<pFleet->nCustomer && n<MEMORY_PER_TIER; i++){
    const FleetCustomer *p = &pFleet->aCustomer[i];
    if( strcmp(p->zTier, zTier)!=0 ) continue;
    aDb[n] = bSession ? benchOpenSession(p->zId) : fleetOpenPlain(pFleet, p);
    touch(aDb[n], p);
    n++;
  }
  printf("V %.3f %.3f\n", (sqlite3_memory_used()-nMem0)/1024.0/n,
         (benchRss()-nRss0)/1024.0/n);
  for(i=0; i<n; i++) sqlite3_close(aDb[i]);
}

static void measureAll(const Fleet *pFleet, int bSession){
  sqlite3 **aDb;
  sqlite3_int64 nMem0, nRss0;
  int i;

  aDb = calloc(pFleet->nCustomer, sizeof(sqlite3*));
  if( aDb==0 ) benchFatal("out of memory");
  nMem0 = sqlite3_memory_used();
  nRss0 = benchRss();
  for(i=0; i<pFleet->nCustomer; i++){
    const FleetCustomer *p = &pFleet->aCustomer[i];
    aDb[i] = bSession ? benchOpenSession(p->zId) : fleetOpenPlain(pFleet, p);
    touch(aDb[i], p);
  }
  printf("V %.3f %.3f\n", (sqlite3_memory_used()-nMem0)/1024.0/i,
         (benchRss()-nRss0)/1024.0/i);
  for(i=0; i<pFleet->nCustomer; i++) sqlite3_close(aDb[i]);
  free(aDb);
}

/* Child: b_memory measure <root> <tier|all> <session|baseline>. */
static int childMeasure(char **argv){
  sqlite3 *pAdmin;
  Fleet fleet;

  benchRaiseFileLimit();
  benchUseRoot(argv[2]);
  pAdmin = benchOpenAdmin();
  fleetLoad(argv[2], &fleet);
  if( strcmp(argv[3], "all")==0 ){
    measureAll(&fleet, strcmp(argv[4], "session")==0);
  }else{
    measureTier(&fleet, argv[3], strcmp(argv[4], "session")==0);
  }
  fleetFree(&fleet);
  sqlite3_close(pAdmin);
  return 0;
}

/* Run this program again with zArgs, passing its output through, and
** read its "V <sqlite3_memory_used KiB> <RSS KiB>" line. */
static void runChild(const char *zArgs, double *pMem, double *pRss){
  char zCmd[8192];
  char zLine[1024];
  FILE *pIn;
  int bFound = 0;

  snprintf(zCmd, sizeof(zCmd), "/proc/%d/exe %s", (int)getpid(), zArgs);
  fflush(stdout);
  pIn = popen(zCmd, "r");
  if( pIn==0 ) benchFatal("cannot run %s", zCmd);
  while( fgets(zLine, sizeof(zLine), pIn) ){
    if( zLine[0]=='V' ){
      bFound = sscanf(zLine, "V %lf %lf", pMem, pRss)==2;
    }else{
      fputs(zLine, stdout);
    }
  }
  if( pclose(pIn)!=0 || !bFound ) benchFatal("%s failed", zCmd);
  fflush(stdout);
}

/* Measure one tier (or "all") both ways, nRound times, and report the
** ratios session/baseline of both measures. */
static void compareMemory(const char *zRoot, const char *zTier,
                          const char *zCase, int nRound){
  static const char *const azUnit[2] = {
    "KiB/conn (memory_used)", "KiB/conn (RSS)"
  };
  double aBase[2][BENCH_MAX_ROUNDS], aSess[2][BENCH_MAX_ROUNDS];
  double aRatio[BENCH_MAX_ROUNDS];
  char zArgs[4400];
  int iRound, k;

  for(iRound=0; iRound<nRound; iRound++){
    snprintf(zArgs, sizeof(zArgs), "measure '%s' %s baseline", zRoot, zTier);
    runChild(zArgs, &aBase[0][iRound], &aBase[1][iRound]);
    snprintf(zArgs, sizeof(zArgs), "measure '%s' %s session", zRoot, zTier);
    runChild(zArgs, &aSess[0][iRound], &aSess[1][iRound]);
  }
  for(k=0; k<2; k++){
    BenchStat base, sess, ratio;
    char zName[128];
    for(iRound=0; iRound<nRound; iRound++){
      aRatio[iRound] = aSess[k][iRound]/aBase[k][iRound];
    }
    ratio = benchStat(aRatio, nRound);
    base = benchStat(aBase[k], nRound);
    sess = benchStat(aSess[k], nRound);
    snprintf(zName, sizeof(zName), "%s, %s", zCase,
             k==0 ? "sqlite3_memory_used" : "RSS");
    benchReportRatio("memory", zName, "session", "open_v2 + ATTACH",
                     azUnit[k], base.rMedian, sess.rMedian, ratio, 0.0,
                     nRound);
    if( strcmp(zTier, "all")==0 ){
      snprintf(zName, sizeof(zName), "1,000 sessions at once, %s",
               k==0 ? "sqlite3_memory_used" : "RSS");
      benchMetric("memory", zName, "MiB", sess.rMedian*1000/1024.0,
                  "50 Sapphire, 300 Opal, 650 Onyx sessions");
    }
  }
}

int main(int argc, char **argv){
  static const char *const azTier[3] = { "sapphire", "opal", "onyx" };
  sqlite3 *pAdmin;
  char zRoot[4096], zCase[64];
  Fleet fleet;
  int nRound = benchRounds() < 5 ? benchRounds() : 5;
  int bEnc, i;

  if( argc>=5 && strcmp(argv[1], "measure")==0 ) return childMeasure(argv);

  pAdmin = benchOpenAdmin();
  snprintf(zRoot, sizeof(zRoot), "%s", benchFreshRoot("memory"));
  bEnc = benchSetEncryption(pAdmin);
  fprintf(stderr, "# %s memory: provisioning 1,000 customers\n", benchHost());
  fleetProvision(pAdmin, zRoot, bEnc, 50, 300, 650, &fleet);
  fleetFillRows(&fleet, 10);
  fleetSave(&fleet);
  fleetFree(&fleet);
  sqlite3_close(pAdmin);

  for(i=0; i<3; i++){
    snprintf(zCase, sizeof(zCase), "%s, 20 connections", azTier[i]);
    compareMemory(zRoot, azTier[i], zCase, nRound);
  }
  fprintf(stderr, "# %s memory: 1,000 connections at once\n", benchHost());
  compareMemory(zRoot, "all", "1,000 connections at once", 3);
  return 0;
}
