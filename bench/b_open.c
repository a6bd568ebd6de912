/*
** Benchmark: opening a session, per tier.
**
** The session opens "file:<customer>?vfs=tenant", which loads the plan from
** the catalog, derives each file's key, attaches the files and creates the
** isolation virtual tables. The baseline opens the same physical files with
** sqlite3_open_v2() and ATTACH (keyed with the same raw keys in the
** SQLCipher host) and reads each schema, which a session also does before
** it returns:
**
**   Sapphire   owner.db, then its private.db
**   Opal       the Opal database's owner.db, then the parent's private.db
**   Onyx       the regional owner.db, then the parent's owner.db and
**              private.db
**
** Opens alternate between the two ways one by one; closing is not timed.
** Each round takes the p50 and p99 of its opens; the ratio of each is taken
** within the round.
*/
#include "bench.h"
#include "fleet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPEN_MAX_PER_ROUND 2000


static void benchOpenTier(const Fleet *pFleet, const char *zTier, int nOpen){
  static double aSession[BENCH_MAX_ROUNDS][OPEN_MAX_PER_ROUND];
  static double aBase[BENCH_MAX_ROUNDS][OPEN_MAX_PER_ROUND];
  double aRatio50[BENCH_MAX_ROUNDS], aRatio99[BENCH_MAX_ROUNDS];
  double aP50s[BENCH_MAX_ROUNDS], aP99s[BENCH_MAX_ROUNDS];
  double aP50b[BENCH_MAX_ROUNDS], aP99b[BENCH_MAX_ROUNDS];
  const FleetCustomer *p = fleetFirst(pFleet, zTier);
  int nRound = benchRounds();
  char zCase[64];
  BenchStat s50, s99, b50, b99, r50, r99;
  int iRound, i;

  if( p==0 ) benchFatal("the fleet has no %s customer", zTier);
  snprintf(zCase, sizeof(zCase), "open %s", zTier);
  if( !benchSelected("open", zCase) ) return;
  fprintf(stderr, "# %s open: %s, %d opens per round\n", benchHost(), zTier,
          nOpen);

  /* Warm-up: the catalog, the OS file cache and OpenSSL's tables. */
  for(i=0; i<20; i++){
    sqlite3_close(benchOpenSession(p->zId));
    sqlite3_close(fleetOpenPlain(pFleet, p));
  }

  for(iRound=0; iRound<nRound; iRound++){
    for(i=0; i<nOpen; i++){
      sqlite3 *db;
      double t0;
      int bSessionFirst = (i+iRound)%2;
      int k;
      for(k=0; k<2; k++){
        int bSession = (k==0)==bSessionFirst;
        t0 = benchNowNs();
        db = bSession ? benchOpenSession(p->zId) : fleetOpenPlain(pFleet, p);
        if( bSession ){
          aSession[iRound][i] = (benchNowNs()-t0)/1000.0;
        }else{
          aBase[iRound][i] = (benchNowNs()-t0)/1000.0;
        }
        sqlite3_close(db);
      }
    }
    aP50s[iRound] = benchPercentile(aSession[iRound], nOpen, 50);
    aP99s[iRound] = benchPercentile(aSession[iRound], nOpen, 99);
    aP50b[iRound] = benchPercentile(aBase[iRound], nOpen, 50);
    aP99b[iRound] = benchPercentile(aBase[iRound], nOpen, 99);
    aRatio50[iRound] = aP50s[iRound]/aP50b[iRound];
    aRatio99[iRound] = aP99s[iRound]/aP99b[iRound];
  }
  r50 = benchStat(aRatio50, nRound);
  r99 = benchStat(aRatio99, nRound);
  s50 = benchStat(aP50s, nRound);
  s99 = benchStat(aP99s, nRound);
  b50 = benchStat(aP50b, nRound);
  b99 = benchStat(aP99b, nRound);
  snprintf(zCase, sizeof(zCase), "open %s, p50", zTier);
  benchReportRatio("open", zCase, "session", "open_v2 + ATTACH", "us",
                   b50.rMedian, s50.rMedian, r50, 1.30, nRound);
  snprintf(zCase, sizeof(zCase), "open %s, p99", zTier);
  benchReportRatio("open", zCase, "session", "open_v2 + ATTACH", "us",
                   b99.rMedian, s99.rMedian, r99, 1.30, nRound);
}

int main(void){
  sqlite3 *pAdmin = benchOpenAdmin();
  const char *zRoot = benchFreshRoot("open");
  int nOpen = (int)((benchFull() ? 1000 : 300)*benchScale());
  Fleet fleet;
  int bEnc;

  if( nOpen<20 ) nOpen = 20;
  if( nOpen>OPEN_MAX_PER_ROUND ) nOpen = OPEN_MAX_PER_ROUND;
  bEnc = benchSetEncryption(pAdmin);
  fleetProvision(pAdmin, zRoot, bEnc, 10, 30, 60, &fleet);
  fleetFillRows(&fleet, 10);

  benchOpenTier(&fleet, "sapphire", nOpen);
  benchOpenTier(&fleet, "opal", nOpen);
  benchOpenTier(&fleet, "onyx", nOpen);

  fleetFree(&fleet);
  sqlite3_close(pAdmin);
  return 0;
}
