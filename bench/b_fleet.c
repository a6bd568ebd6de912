/*
** Benchmark: one customer's latency in a big fleet against a small one,
** provisioning time per customer, the catalog's size, and agents.
**
** The extension uses one root folder per process, so each fleet lives in
** its own child process of this program:
**
**   b_fleet                              the driver
**   b_fleet provision <root> S O X ROWS  provision a fleet and fill rows
**   b_fleet measure <root>               time one customer of each tier
**
** The driver provisions the small fleet (100 customers) and the big one
** (1,000, or 10,000 with BENCH_FULL=1: 100 Sapphire, 2,500 Opal and 7,400
** Onyx), then runs measuring children alternately, small then big, and
** takes the ratio big/small within each round. Every customer gets 100
** rows in its first partition, so a big fleet's shared tables are bigger.
**
** Agents: 20 million agents would not fit the time of a benchmark run. The
** big fleet registers a scaled number (20,000, or 200,000 with
** BENCH_FULL=1) with tenant_add_agent(), spread over the customers in
** proportion to the tier's price (skewed toward the larger tiers), and the
** time and catalog size per agent are extrapolated to 20 million: that is
** an estimate, and it assumes the per-agent cost stays flat.
*/
#include "bench.h"
#include "fleet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FLEET_ROWS 100            /* rows of each customer */
#define FLEET_AGENTS_TARGET 20000000.0

/* Values one measuring child prints: "V <name> <value>". */
#define FLEET_MAX_VALUES 16

typedef struct FleetValue FleetValue;
struct FleetValue {
  char zName[64];
  double r;
};

static unsigned int nextRandom(unsigned int *pSeed){
  *pSeed = *pSeed*1103515245u + 12345u;
  return (*pSeed>>8) & 0xffffff;
}

static sqlite3_int64 fileSize(const char *zPath){
  struct stat st;
  return stat(zPath, &st)==0 ? (sqlite3_int64)st.st_size : 0;
}

/* Size of the catalog: the database file and its WAL. */
static sqlite3_int64 catalogSize(const char *zRoot){
  char zPath[4200];
  sqlite3_int64 n;
  snprintf(zPath, sizeof(zPath), "%s/catalog.db", zRoot);
  n = fileSize(zPath);
  snprintf(zPath, sizeof(zPath), "%s/catalog.db-wal", zRoot);
  return n + fileSize(zPath);
}

/* ---- child: provision -------------------------------------------------- */

static void registerAgents(sqlite3 *pAdmin, const Fleet *pFleet, int nAgent){
  static const int aiWeight[3] = { 20, 4, 1 };   /* price 1000:200:50 */
  sqlite3_stmt *pStmt = benchPrepare(pAdmin,
                                     "SELECT tenant_add_agent(?1, ?2)");
  sqlite3_int64 nBefore;
  double nWeight = 0.0, t0, rUs;
  int i, iAgent = 0;

  for(i=0; i<pFleet->nCustomer; i++){
    nWeight += aiWeight[fleetTierIndex(pFleet->aCustomer[i].zTier)];
  }
  benchExec(pAdmin, "SELECT tenant_root()");
  nBefore = catalogSize(pFleet->zRoot);
  t0 = benchNowNs();
  for(i=0; i<pFleet->nCustomer && iAgent<nAgent; i++){
    const FleetCustomer *p = &pFleet->aCustomer[i];
    int n = (int)(nAgent*aiWeight[fleetTierIndex(p->zTier)]/nWeight + 0.5);
    int k;
    if( n<1 ) n = 1;
    for(k=0; k<n && iAgent<nAgent; k++, iAgent++){
      char zAgent[32];
      snprintf(zAgent, sizeof(zAgent), "agent%06d", k);
      sqlite3_bind_text(pStmt, 1, p->zId, -1, SQLITE_STATIC);
      sqlite3_bind_text(pStmt, 2, zAgent, -1, SQLITE_TRANSIENT);
      if( sqlite3_step(pStmt)!=SQLITE_ROW ){
        benchFatal("tenant_add_agent: %s", sqlite3_errmsg(pAdmin));
      }
      sqlite3_reset(pStmt);
    }
  }
  rUs = (benchNowNs()-t0)/1000.0;
  sqlite3_finalize(pStmt);
  benchMetric("fleet", "agents registered", "agents", iAgent,
              "scaled down from 20,000,000");
  benchMetric("fleet", "agent registration", "us/agent", rUs/iAgent, "");
  benchMetric("fleet", "catalog growth per agent", "bytes/agent",
              (double)(catalogSize(pFleet->zRoot)-nBefore)/iAgent,
              "catalog.db and its WAL");
  benchMetric("fleet", "registering 20,000,000 agents (estimate)", "hours",
              rUs/iAgent*FLEET_AGENTS_TARGET/3.6e9,
              "extrapolated linearly from the scaled run");
  benchMetric("fleet", "catalog size at 20,000,000 agents (estimate)", "GB",
              ((double)catalogSize(pFleet->zRoot)
               + (double)(catalogSize(pFleet->zRoot)-nBefore)/iAgent
                 *(FLEET_AGENTS_TARGET-iAgent))/1e9,
              "extrapolated linearly from the scaled run");
}

static int childProvision(int argc, char **argv){
  sqlite3 *pAdmin;
  const char *zRoot = argv[2];
  int nS = atoi(argv[3]), nO = atoi(argv[4]), nX = atoi(argv[5]);
  int nAgent = atoi(argv[6]);
  char zLabel[64];
  Fleet fleet;
  int bEnc, i;
  (void)argc;

  benchUseRoot(zRoot);
  pAdmin = benchOpenAdmin();
  bEnc = benchSetEncryption(pAdmin);
  fleetProvision(pAdmin, zRoot, bEnc, nS, nO, nX, &fleet);
  fleetSave(&fleet);
  snprintf(zLabel, sizeof(zLabel), "%d customers", fleet.nCustomer);
  for(i=0; i<3; i++){
    static const char *const azTier[3] = { "Sapphire", "Opal", "Onyx" };
    char zMetric[128];
    snprintf(zMetric, sizeof(zMetric), "provisioning a %s customer, fleet"
             " of %d", azTier[i], fleet.nCustomer);
    benchMetric("fleet", zMetric, "ms/customer",
                fleet.aProvisionUs[i]/1000.0/fleet.anTier[i], "");
  }
  snprintf(zLabel, sizeof(zLabel), "catalog size, fleet of %d",
           fleet.nCustomer);
  benchMetric("fleet", zLabel, "KiB", catalogSize(zRoot)/1024.0,
              "catalog.db and its WAL, before agents");
  fleetFillRows(&fleet, FLEET_ROWS);
  if( nAgent>0 ) registerAgents(pAdmin, &fleet, nAgent);
  fleetFree(&fleet);
  sqlite3_close(pAdmin);
  return 0;
}

/* ---- child: measure ---------------------------------------------------- */

static double timeQuery(sqlite3 *db, const char *zSql, int bKey, int nIter){
  sqlite3_stmt *pStmt = benchPrepare(db, zSql);
  unsigned int iSeed = 5;
  double t0 = 0.0;
  int i, nRow = 0;

  for(i=0; i<nIter+20; i++){
    if( i==20 ) t0 = benchNowNs();
    if( bKey ){
      char zId[16];
      unsigned int iLo = nextRandom(&iSeed) % (FLEET_ROWS-10);
      snprintf(zId, sizeof(zId), "r%06u", iLo);
      sqlite3_bind_text(pStmt, 1, zId, -1, SQLITE_TRANSIENT);
      snprintf(zId, sizeof(zId), "r%06u", iLo+10);
      sqlite3_bind_text(pStmt, 2, zId, -1, SQLITE_TRANSIENT);
    }
    nRow += benchStepAll(pStmt);
  }
  sqlite3_finalize(pStmt);
  if( nRow==0 ) benchFatal("%s returned no rows", zSql);
  return (benchNowNs()-t0)/1000.0/nIter;
}

static int childMeasure(int argc, char **argv){
  static const char *const azTier[3] = { "sapphire", "opal", "onyx" };
  const char *zRoot = argv[2];
  sqlite3 *pAdmin;
  Fleet fleet;
  int iTier;
  (void)argc;

  benchUseRoot(zRoot);
  pAdmin = benchOpenAdmin();
  fleetLoad(zRoot, &fleet);
  for(iTier=0; iTier<3; iTier++){
    const char *zTable = iTier==2 ? "basic_communications"
                                  : "communications_data";
    const FleetCustomer *p = 0;
    char zSql[256];
    double aOpen[50];
    sqlite3 *db;
    int i, n = 0;

    /* The middle customer of the tier. */
    for(i=0; i<fleet.nCustomer && p==0; i++){
      if( strcmp(fleet.aCustomer[i].zTier, azTier[iTier])!=0 ) continue;
      if( n++ == fleet.anTier[iTier]/2 ) p = &fleet.aCustomer[i];
    }
    if( p==0 ) benchFatal("the fleet has no %s customer", azTier[iTier]);

    for(i=0; i<50; i++){
      double t0 = benchNowNs();
      db = benchOpenSession(p->zId);
      aOpen[i] = (benchNowNs()-t0)/1000.0;
      sqlite3_close(db);
    }
    printf("V %s-open %.3f\n", azTier[iTier],
           benchPercentile(aOpen, 50, 50));

    db = benchOpenSession(p->zId);
    /* Partition 1 of a Sapphire database contains only the Sapphire's own
    ** rows, but the query names customer_id for every tier alike. */
    snprintf(zSql, sizeof(zSql), "SELECT data FROM %s WHERE customer_id='%s'"
             " AND id=?1", zTable, p->zId);
    printf("V %s-point %.3f\n", azTier[iTier], timeQuery(db, zSql, 1, 2000));
    snprintf(zSql, sizeof(zSql), "SELECT id, data FROM %s WHERE"
             " customer_id='%s' AND id>=?1 AND id<?2 ORDER BY id", zTable,
             p->zId);
    printf("V %s-range %.3f\n", azTier[iTier], timeQuery(db, zSql, 1, 500));
    snprintf(zSql, sizeof(zSql), "SELECT count(*) FROM %s WHERE"
             " customer_id='%s'", zTable, p->zId);
    printf("V %s-count %.3f\n", azTier[iTier], timeQuery(db, zSql, 0, 200));
    sqlite3_close(db);
  }
  fleetFree(&fleet);
  sqlite3_close(pAdmin);
  return 0;
}

/* ---- driver ------------------------------------------------------------ */

/* Run this program with zArgs and pass its output through; collect the V
** lines into aValue. Returns the number of values. */
static int runChild(const char *zArgs, FleetValue *aValue){
  char zCmd[8192];
  char zLine[1024];
  FILE *pIn;
  int n = 0;

  snprintf(zCmd, sizeof(zCmd), "/proc/%d/exe %s", (int)getpid(), zArgs);
  pIn = popen(zCmd, "r");
  if( pIn==0 ) benchFatal("cannot run %s", zCmd);
  while( fgets(zLine, sizeof(zLine), pIn) ){
    if( zLine[0]=='V' && n<FLEET_MAX_VALUES ){
      if( sscanf(zLine, "V %63s %lf", aValue[n].zName, &aValue[n].r)==2 ) n++;
    }else{
      fputs(zLine, stdout);
      fflush(stdout);
    }
  }
  if( pclose(pIn)!=0 ) benchFatal("%s failed", zCmd);
  return n;
}

int main(int argc, char **argv){
  static const char *const azCase[] = {
    "open", "point", "range", "count"
  };
  static const char *const azCaseName[] = {
    "session open, p50", "point lookup", "range of 10 rows", "COUNT(*)"
  };
  static const char *const azTier[3] = { "sapphire", "opal", "onyx" };
  FleetValue aSmall[BENCH_MAX_ROUNDS][FLEET_MAX_VALUES];
  FleetValue aBig[BENCH_MAX_ROUNDS][FLEET_MAX_VALUES];
  char zSmall[4096], zBig[4096], zArgs[8400];
  int nS, nO, nX, nAgent, nRound = benchRounds(), nValue = 0;
  int iRound, i, iTier;

  if( argc>=7 && strcmp(argv[1], "provision")==0 ){
    return childProvision(argc, argv);
  }
  if( argc>=3 && strcmp(argv[1], "measure")==0 ){
    return childMeasure(argc, argv);
  }

  if( benchFull() ){
    nS = 100; nO = 2500; nX = 7400; nAgent = 200000;
  }else{
    nS = 50; nO = 300; nX = 650; nAgent = 20000;
  }
  snprintf(zSmall, sizeof(zSmall), "%s", benchFreshRoot("fleet-small"));
  snprintf(zBig, sizeof(zBig), "%s", benchFreshRoot("fleet-big"));

  /* Small fleet: the big one's mix cut to 100 customers. */
  fprintf(stderr, "# %s fleet: provisioning 100 customers\n", benchHost());
  snprintf(zArgs, sizeof(zArgs), "provision '%s' %d %d %d 0", zSmall,
           nS*100/(nS+nO+nX) < 3 ? 3 : nS*100/(nS+nO+nX),
           nO*100/(nS+nO+nX), 100 - nO*100/(nS+nO+nX)
           - (nS*100/(nS+nO+nX) < 3 ? 3 : nS*100/(nS+nO+nX)));
  runChild(zArgs, aSmall[0]);
  fprintf(stderr, "# %s fleet: provisioning %d customers and %d agents\n",
          benchHost(), nS+nO+nX, nAgent);
  snprintf(zArgs, sizeof(zArgs), "provision '%s' %d %d %d %d", zBig, nS, nO,
           nX, nAgent);
  runChild(zArgs, aBig[0]);

  for(iRound=0; iRound<nRound; iRound++){
    fprintf(stderr, "# %s fleet: round %d\n", benchHost(), iRound+1);
    snprintf(zArgs, sizeof(zArgs), "measure '%s'", zSmall);
    nValue = runChild(zArgs, aSmall[iRound]);
    snprintf(zArgs, sizeof(zArgs), "measure '%s'", zBig);
    if( runChild(zArgs, aBig[iRound])!=nValue ){
      benchFatal("the measuring children returned different values");
    }
  }

  for(iTier=0; iTier<3; iTier++){
    for(i=0; i<4; i++){
      double aRatio[BENCH_MAX_ROUNDS], aS[BENCH_MAX_ROUNDS];
      double aB[BENCH_MAX_ROUNDS];
      char zName[64], zCase[96], zBaseline[64], zVariant[64];
      BenchStat r, s, b;
      int k;

      snprintf(zName, sizeof(zName), "%s-%s", azTier[iTier], azCase[i]);
      for(k=0; k<nValue && strcmp(aSmall[0][k].zName, zName)!=0; k++){}
      if( k==nValue ) continue;
      for(iRound=0; iRound<nRound; iRound++){
        aS[iRound] = aSmall[iRound][k].r;
        aB[iRound] = aBig[iRound][k].r;
        aRatio[iRound] = aB[iRound]/aS[iRound];
      }
      r = benchStat(aRatio, nRound);
      s = benchStat(aS, nRound);
      b = benchStat(aB, nRound);
      snprintf(zCase, sizeof(zCase), "%s, %s", azTier[iTier], azCaseName[i]);
      snprintf(zBaseline, sizeof(zBaseline), "100 customers");
      snprintf(zVariant, sizeof(zVariant), "%d customers", nS+nO+nX);
      benchReportRatio("fleet", zCase, zVariant, zBaseline, "us", s.rMedian,
                       b.rMedian, r, 1.50, nRound);
      benchPoint("fleet", zCase, 100, s.rMedian);
      benchPoint("fleet", zCase, nS+nO+nX, b.rMedian);
    }
  }
  return 0;
}
