/*
** Benchmark: the cost of row isolation and of a dedicated placement.
**
** Part 1, isolation. An Onyx customer A shares the regional database with
** nine other Onyx customers, each with the same number of rows. Each query
** runs three ways, on three connections to the same physical file:
**
**   session       A's session, through the tenant_row virtual tables
**   hand filter   the real table, "customer_id='A'" written into the query
**                 (the baseline), on a connection that opens the file
**                 directly
**   temp view     a temporary view "SELECT * FROM t WHERE customer_id='A'"
**                 on another direct connection (a second baseline)
**
** Part 2, dedicated placement. A Sapphire session reaches its own tables
** directly, with no virtual table: the same SQL text runs in the session
** and on a plain connection to the owner file.
**
** Statements are prepared once and stepped many times, as an application
** with a statement cache does. Inserts run 10,000 rows (scaled by
** BENCH_SCALE) in one transaction, with the default synchronous setting,
** and are deleted again, untimed, by the connection that wrote them.
*/
#include "bench.h"
#include "fleet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Kinds of statement parameters a query run binds on each iteration. */
#define RUN_PLAIN  0     /* no parameters */
#define RUN_POINT  1     /* ?1: one id of the customer */
#define RUN_RANGE  2     /* ?1, ?2: a range of 100 ids */

/* One prepared query, stepped nIter times per round. */
typedef struct QueryRun QueryRun;
struct QueryRun {
  sqlite3_stmt *pStmt;
  int eKind;             /* RUN_* */
  int nKey;              /* rows of the customer: ids r000000..r<nKey-1> */
  unsigned int iSeed;    /* pseudo-random sequence of ids */
  sqlite3_int64 nRows;   /* rows produced by the last run */
};

/* Inserts of new rows in one transaction. */
typedef struct InsertRun InsertRun;
struct InsertRun {
  sqlite3 *db;
  sqlite3_stmt *pInsert; /* ?1 id, ?2 data (and the customer in the SQL) */
  const char *zCleanup;  /* deletes the rows the run inserted */
};

static unsigned int nextRandom(unsigned int *pSeed){
  *pSeed = *pSeed*1103515245u + 12345u;
  return (*pSeed>>8) & 0xffffff;
}

static void queryRun(void *pArg, int nIter){
  QueryRun *p = (QueryRun*)pArg;
  char zLo[16], zHi[16];
  int i;

  p->nRows = 0;
  for(i=0; i<nIter; i++){
    if( p->eKind==RUN_POINT ){
      snprintf(zLo, sizeof(zLo), "r%06u", nextRandom(&p->iSeed) % p->nKey);
      sqlite3_bind_text(p->pStmt, 1, zLo, -1, SQLITE_TRANSIENT);
    }else if( p->eKind==RUN_RANGE ){
      unsigned int iLo = nextRandom(&p->iSeed) % (p->nKey-100);
      snprintf(zLo, sizeof(zLo), "r%06u", iLo);
      snprintf(zHi, sizeof(zHi), "r%06u", iLo+100);
      sqlite3_bind_text(p->pStmt, 1, zLo, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(p->pStmt, 2, zHi, -1, SQLITE_TRANSIENT);
    }
    p->nRows += benchStepAll(p->pStmt);
  }
}

static void insertRun(void *pArg, int nIter){
  InsertRun *p = (InsertRun*)pArg;
  int i;

  benchExec(p->db, "BEGIN");
  for(i=0; i<nIter; i++){
    char zId[16], zData[64];
    snprintf(zId, sizeof(zId), "w%07d", i);
    snprintf(zData, sizeof(zData), "{\"n\":%d,\"text\":\"inserted\"}", i);
    sqlite3_bind_text(p->pInsert, 1, zId, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(p->pInsert, 2, zData, -1, SQLITE_TRANSIENT);
    benchStepAll(p->pInsert);
  }
  benchExec(p->db, "COMMIT");
}

static void insertCleanup(void *pArg){
  InsertRun *p = (InsertRun*)pArg;
  benchExec(p->db, p->zCleanup);
}

/* One query case: the SQL of each variant and how to bind it. */
typedef struct QueryCase QueryCase;
struct QueryCase {
  const char *zName;
  int eKind;
  int nIter;             /* operations per round before BENCH_SCALE */
  double rTarget;        /* highest acceptable ratio to the baseline */
  const char *azSql[3];  /* session, hand filter, temp view (may be 0) */
};

/*
** Run aCase[] over the connections of aDb[] (baseline first in the
** report). Checks in the warm-up that every variant returns the same rows.
*/
static void runCases(const char *zSection, const QueryCase *aCase, int nCase,
                     sqlite3 **aDb, const char *const *azVariant,
                     int nVariant, int nKey){
  int iCase, i;
  for(iCase=0; iCase<nCase; iCase++){
    const QueryCase *pCase = &aCase[iCase];
    QueryRun aRun[3];
    sqlite3_uint64 aSum[3];
    BenchVariant aVar[3];
    int nVar = 0;
    int nIter = (int)(pCase->nIter*benchScale());
    if( nIter<1 ) nIter = 1;
    if( !benchSelected(zSection, pCase->zName) ) continue;

    /* The baseline (index 1 in azSql) runs first in aVar. */
    for(i=0; i<nVariant; i++){
      static const int aiOrder[3] = { 1, 0, 2 };
      int iSql = aiOrder[i];
      if( pCase->azSql[iSql]==0 ) continue;
      memset(&aRun[nVar], 0, sizeof(aRun[nVar]));
      aRun[nVar].pStmt = benchPrepare(aDb[iSql], pCase->azSql[iSql]);
      aRun[nVar].eKind = pCase->eKind;
      aRun[nVar].nKey = nKey;
      aRun[nVar].iSeed = 42;
      aVar[nVar].zName = azVariant[iSql];
      aVar[nVar].xRun = queryRun;
      aVar[nVar].pArg = &aRun[nVar];
      aVar[nVar].xAfter = 0;
      nVar++;
    }

    /* Same rows and values from every variant, on the same pseudo-random
    ** keys. */
    for(i=0; i<nVar; i++){
      aRun[i].iSeed = 7;
      benchValueSum = 0;
      queryRun(&aRun[i], 3);
      aSum[i] = benchValueSum;
      if( aRun[i].nRows!=aRun[0].nRows || aSum[i]!=aSum[0] ){
        benchFatal("%s, %s: %s returned %lld rows (values %llx), %s %lld"
                   " (values %llx)", zSection, pCase->zName, aVar[i].zName,
                   aRun[i].nRows, (unsigned long long)aSum[i],
                   aVar[0].zName, aRun[0].nRows,
                   (unsigned long long)aSum[0]);
      }
      aRun[i].iSeed = 42;
    }
    fprintf(stderr, "# %s %s: %s (%lld rows per 3 runs)\n", benchHost(),
            zSection, pCase->zName, aRun[0].nRows);

    benchCompare(zSection, pCase->zName, aVar, nVar, benchRounds(), nIter,
                 pCase->rTarget);
    for(i=0; i<nVar; i++) sqlite3_finalize(aRun[i].pStmt);
  }
}

/* Compare 10,000 inserts in one transaction through each connection. */
static void runInserts(const char *zSection, sqlite3 **aDb,
                       const char *const *azVariant, const char *const *azSql,
                       const char *const *azCleanup, int nVariant,
                       double rTarget){
  static const int aiOrder[3] = { 1, 0, 2 };
  InsertRun aRun[3];
  BenchVariant aVar[3];
  int nIter = (int)(10000*benchScale());
  int i;

  if( nIter<100 ) nIter = 100;
  if( !benchSelected(zSection, "10,000 inserts in one transaction") ) return;
  for(i=0; i<nVariant; i++){
    int iSql = aiOrder[i];
    aRun[i].db = aDb[iSql];
    aRun[i].pInsert = benchPrepare(aDb[iSql], azSql[iSql]);
    aRun[i].zCleanup = azCleanup[iSql];
    aVar[i].zName = azVariant[iSql];
    aVar[i].xRun = insertRun;
    aVar[i].pArg = &aRun[i];
    aVar[i].xAfter = insertCleanup;
  }
  fprintf(stderr, "# %s %s: %d inserts in one transaction\n", benchHost(),
          zSection, nIter);
  benchCompare(zSection, "10,000 inserts in one transaction", aVar, nVariant,
               benchRounds(), nIter, rTarget);
  for(i=0; i<nVariant; i++) sqlite3_finalize(aRun[i].pInsert);
}

/* ---- part 1: isolation ------------------------------------------------- */

static const QueryCase aIsolationCase[] = {
  { "point lookup", RUN_POINT, 20000, 1.10, {
    "SELECT data FROM basic_communications WHERE id=?1",
    "SELECT data FROM basic_communications WHERE customer_id='A' AND id=?1",
    "SELECT data FROM v_basic WHERE id=?1" } },
  { "range of 100 rows", RUN_RANGE, 1000, 1.30, {
    "SELECT id, data FROM basic_communications WHERE id>=?1 AND id<?2"
    " ORDER BY id",
    "SELECT id, data FROM basic_communications WHERE customer_id='A'"
    " AND id>=?1 AND id<?2 ORDER BY id",
    "SELECT id, data FROM v_basic WHERE id>=?1 AND id<?2 ORDER BY id" } },
  { "full scan ordered by id", RUN_PLAIN, 40, 1.30, {
    "SELECT id, data, created_at FROM basic_communications ORDER BY id",
    "SELECT id, data, created_at FROM basic_communications"
    " WHERE customer_id='A' ORDER BY id",
    "SELECT id, data, created_at FROM v_basic ORDER BY id" } },
  { "COUNT(*)", RUN_PLAIN, 100, 1.50, {
    "SELECT count(*) FROM basic_communications",
    "SELECT count(*) FROM basic_communications WHERE customer_id='A'",
    "SELECT count(*) FROM v_basic" } },
  { "join of two partitions, 100 rows", RUN_RANGE, 500, 1.30, {
    "SELECT c.id, o.data FROM basic_communications c"
    " JOIN limited_opportunities o ON o.id=c.id"
    " WHERE c.id>=?1 AND c.id<?2",
    "SELECT c.id, o.data FROM basic_communications c"
    " JOIN limited_opportunities o ON o.customer_id='A' AND o.id=c.id"
    " WHERE c.customer_id='A' AND c.id>=?1 AND c.id<?2",
    "SELECT c.id, o.data FROM v_basic c JOIN v_limited o ON o.id=c.id"
    " WHERE c.id>=?1 AND c.id<?2" } },
};

static void benchIsolation(sqlite3 *pAdmin, const char *zRoot, int bEnc,
                           int nKey){
  static const char *const azVariant[3] = {
    "session", "hand filter", "temp view"
  };
  static const char *const azInsert[3] = {
    "INSERT INTO basic_communications(id, data) VALUES(?1, ?2)",
    "INSERT INTO basic_communications(id, customer_id, data)"
    " VALUES(?1, 'A', ?2)",
    "INSERT INTO v_basic(id, data) VALUES(?1, ?2)",
  };
  static const char *const azCleanup[3] = {
    "DELETE FROM basic_communications WHERE id>='w'",
    "DELETE FROM basic_communications WHERE customer_id='A' AND id>='w'",
    "DELETE FROM v_basic WHERE id>='w'",
  };
  char zDb[128], zKeyId[160];
  char *zPath;
  sqlite3 *aDb[3];
  Fleet fleet;
  int i;

  /* A and nine neighbours with nKey rows each in two partitions. */
  memset(&fleet, 0, sizeof(fleet));
  snprintf(fleet.zRoot, sizeof(fleet.zRoot), "%s", zRoot);
  fleet.bEncrypted = bEnc;
  fleet.aCustomer = calloc(10, sizeof(FleetCustomer));
  benchExec(pAdmin, "SELECT tenant_provision('S','sapphire','eu-west1')");
  for(i=0; i<10; i++){
    FleetCustomer *p = &fleet.aCustomer[i];
    sqlite3_stmt *pStmt;
    char *zSql;
    snprintf(p->zId, sizeof(p->zId), i==0 ? "A" : "N%d", i);
    snprintf(p->zTier, sizeof(p->zTier), "onyx");
    p->zRegion = "eu-west1";
    snprintf(p->zParent, sizeof(p->zParent), "S");
    zSql = sqlite3_mprintf("SELECT tenant_provision('%q','onyx','eu-west1',"
                           "'S')", p->zId);
    pStmt = benchPrepare(pAdmin, zSql);
    if( sqlite3_step(pStmt)!=SQLITE_ROW ){
      benchFatal("%s: %s", zSql, sqlite3_errmsg(pAdmin));
    }
    snprintf(p->zDatabase, sizeof(p->zDatabase), "%s",
             (const char*)sqlite3_column_text(pStmt, 0));
    sqlite3_finalize(pStmt);
    sqlite3_free(zSql);
    fleet.nCustomer++;
  }
  snprintf(zDb, sizeof(zDb), "%s", fleet.aCustomer[0].zDatabase);
  fleetFillRows(&fleet, nKey);
  fleetFree(&fleet);

  snprintf(zKeyId, sizeof(zKeyId), "%s/owner", zDb);
  zPath = sqlite3_mprintf("%s/shared-onyx-eu-west1/%s/owner.db", zRoot, zDb);
  aDb[1] = benchOpenRaw(zPath, zKeyId, bEnc);
  /* limited_opportunities gets the same ids as basic_communications. */
  benchExec(aDb[1], "INSERT INTO limited_opportunities(id, customer_id,"
            " sapphire_parent_id, data) SELECT id, customer_id,"
            " sapphire_parent_id, data FROM basic_communications");
  aDb[2] = benchOpenRaw(zPath, zKeyId, bEnc);
  benchExec(aDb[2],
    "CREATE TEMP VIEW v_basic AS SELECT * FROM basic_communications"
    " WHERE customer_id='A';"
    "CREATE TEMP VIEW v_limited AS SELECT * FROM limited_opportunities"
    " WHERE customer_id='A';"
    "CREATE TEMP TRIGGER v_basic_insert INSTEAD OF INSERT ON v_basic BEGIN"
    " INSERT INTO basic_communications(id, customer_id, data)"
    " VALUES(NEW.id, 'A', NEW.data); END;"
    "CREATE TEMP TRIGGER v_basic_delete INSTEAD OF DELETE ON v_basic BEGIN"
    " DELETE FROM basic_communications WHERE customer_id='A' AND id=OLD.id;"
    " END;");
  sqlite3_free(zPath);
  aDb[0] = benchOpenSession("A");

  runCases("isolation", aIsolationCase,
           (int)(sizeof(aIsolationCase)/sizeof(aIsolationCase[0])),
           aDb, azVariant, 3, nKey);
  runInserts("isolation", aDb, azVariant, azInsert, azCleanup, 3, 1.10);

  for(i=0; i<3; i++) sqlite3_close(aDb[i]);
}

/* ---- part 2: dedicated placement --------------------------------------- */

static const QueryCase aDedicatedCase[] = {
  { "point lookup", RUN_POINT, 20000, 1.02, {
    "SELECT data FROM communications_data WHERE customer_id='S' AND id=?1",
    "SELECT data FROM communications_data WHERE customer_id='S' AND id=?1",
    0 } },
  { "range of 100 rows", RUN_RANGE, 1000, 1.02, {
    "SELECT id, data FROM communications_data WHERE customer_id='S'"
    " AND id>=?1 AND id<?2 ORDER BY id",
    "SELECT id, data FROM communications_data WHERE customer_id='S'"
    " AND id>=?1 AND id<?2 ORDER BY id", 0 } },
  { "full scan ordered by id", RUN_PLAIN, 40, 1.02, {
    "SELECT id, data, created_at FROM communications_data"
    " WHERE customer_id='S' ORDER BY id",
    "SELECT id, data, created_at FROM communications_data"
    " WHERE customer_id='S' ORDER BY id", 0 } },
  { "COUNT(*)", RUN_PLAIN, 100, 1.02, {
    "SELECT count(*) FROM communications_data WHERE customer_id='S'",
    "SELECT count(*) FROM communications_data WHERE customer_id='S'", 0 } },
  { "join of two partitions, 100 rows", RUN_RANGE, 500, 1.02, {
    "SELECT c.id, o.data FROM communications_data c"
    " JOIN bidsuite_opportunities o ON o.customer_id='S' AND o.id=c.id"
    " WHERE c.customer_id='S' AND c.id>=?1 AND c.id<?2",
    "SELECT c.id, o.data FROM communications_data c"
    " JOIN bidsuite_opportunities o ON o.customer_id='S' AND o.id=c.id"
    " WHERE c.customer_id='S' AND c.id>=?1 AND c.id<?2", 0 } },
};

static void benchDedicated(sqlite3 *pAdmin, const char *zRoot, int bEnc,
                           int nKey){
  static const char *const azVariant[3] = { "session", "plain SQLite", 0 };
  static const char *const azInsert[3] = {
    "INSERT INTO communications_data(id, customer_id, data)"
    " VALUES(?1, 'S', ?2)",
    "INSERT INTO communications_data(id, customer_id, data)"
    " VALUES(?1, 'S', ?2)", 0
  };
  static const char *const azCleanup[3] = {
    "DELETE FROM communications_data WHERE customer_id='S' AND id>='w'",
    "DELETE FROM communications_data WHERE customer_id='S' AND id>='w'", 0
  };
  sqlite3 *aDb[3] = { 0, 0, 0 };
  char *zPath;
  Fleet fleet;
  FleetCustomer *p;
  (void)pAdmin;

  memset(&fleet, 0, sizeof(fleet));
  snprintf(fleet.zRoot, sizeof(fleet.zRoot), "%s", zRoot);
  fleet.bEncrypted = bEnc;
  fleet.aCustomer = calloc(1, sizeof(FleetCustomer));
  p = &fleet.aCustomer[0];
  snprintf(p->zId, sizeof(p->zId), "S");
  snprintf(p->zTier, sizeof(p->zTier), "sapphire");
  p->zRegion = "eu-west1";
  snprintf(p->zDatabase, sizeof(p->zDatabase), "d1-sapphire-S-eu-west1");
  fleet.nCustomer = 1;
  fleetFillRows(&fleet, nKey);
  fleetFree(&fleet);

  zPath = sqlite3_mprintf("%s/customer-S-sapphire/d1-sapphire-S-eu-west1/"
                          "owner.db", zRoot);
  aDb[1] = benchOpenRaw(zPath, "d1-sapphire-S-eu-west1/owner", bEnc);
  benchExec(aDb[1], "INSERT INTO bidsuite_opportunities(id, customer_id,"
            " sapphire_parent_id, data) SELECT id, customer_id,"
            " sapphire_parent_id, data FROM communications_data");
  sqlite3_free(zPath);
  aDb[0] = benchOpenSession("S");

  runCases("dedicated", aDedicatedCase,
           (int)(sizeof(aDedicatedCase)/sizeof(aDedicatedCase[0])),
           aDb, azVariant, 2, nKey);
  runInserts("dedicated", aDb, azVariant, azInsert, azCleanup, 2, 1.02);

  sqlite3_close(aDb[0]);
  sqlite3_close(aDb[1]);
}

int main(void){
  sqlite3 *pAdmin = benchOpenAdmin();
  const char *zRoot = benchFreshRoot("isolation");
  int nKey = (int)((benchFull() ? 10000 : 2000)*benchScale());
  int bEnc;

  if( nKey<200 ) nKey = 200;
  bEnc = benchSetEncryption(pAdmin);
  benchMetric("isolation", "rows per customer", "rows", nKey,
              "10 Onyx customers share the table");
  benchIsolation(pAdmin, zRoot, bEnc, nKey);
  benchDedicated(pAdmin, zRoot, bEnc, nKey);
  sqlite3_close(pAdmin);
  return 0;
}
