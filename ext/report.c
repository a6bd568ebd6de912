/*
** The rows of the fleet reports: the storage check, the upgrade
** candidates, the usage report and the cost report. Each is computed at
** once into memory from the catalog and the placement files, and
** reportvtab.c serves them as table-valued functions. Thresholds and
** prices come from the catalog tables policy and policy_usage, so
** tenant_policy_set() changes them. API calls are those flushed to the
** catalog: calls that open sessions have counted but not flushed yet are
** missing (meter.c).
*/
#include "tenant_int.h"
#include "report.h"
SQLITE_EXTENSION_INIT3

#include <string.h>

/* ---- rows in memory --------------------------------------------------- */

void reportRowsClear(ReportRows *p){
  int i;
  for(i=0; i<p->nRow*p->nCol; i++) sqlite3_free(p->aCell[i].z);
  sqlite3_free(p->aCell);
  p->aCell = 0;
  p->nRow = p->nAlloc = p->iNext = 0;
  p->rc = SQLITE_OK;
}

/* Start a new row; the next nCol reportAdd*() calls fill it. */
static void reportRow(ReportRows *p){
  if( p->rc ) return;
  if( p->nRow>=p->nAlloc ){
    int nNew = p->nAlloc ? p->nAlloc*2 : 64;
    ReportCell *aNew = sqlite3_realloc64(p->aCell,
                           sizeof(ReportCell)*(sqlite3_uint64)nNew*p->nCol);
    if( aNew==0 ){
      p->rc = SQLITE_NOMEM;
      return;
    }
    p->aCell = aNew;
    p->nAlloc = nNew;
  }
  memset(&p->aCell[p->nRow*p->nCol], 0, sizeof(ReportCell)*p->nCol);
  p->nRow++;
  p->iNext = 0;
}

static ReportCell *reportNextCell(ReportRows *p){
  if( p->rc || p->iNext>=p->nCol ) return 0;
  return &p->aCell[(p->nRow-1)*p->nCol + p->iNext++];
}

static void reportAddNull(ReportRows *p){
  ReportCell *c = reportNextCell(p);
  if( c ) c->eType = SQLITE_NULL;
}

static void reportAddInt(ReportRows *p, sqlite3_int64 i){
  ReportCell *c = reportNextCell(p);
  if( c ){
    c->eType = SQLITE_INTEGER;
    c->i = i;
  }
}

static void reportAddReal(ReportRows *p, double r){
  ReportCell *c = reportNextCell(p);
  if( c ){
    c->eType = SQLITE_FLOAT;
    c->r = r;
  }
}

/* Add z (NULL adds SQL NULL). */
static void reportAddText(ReportRows *p, const char *z){
  ReportCell *c = reportNextCell(p);
  if( c==0 ) return;
  if( z==0 ){
    c->eType = SQLITE_NULL;
    return;
  }
  c->eType = SQLITE_TEXT;
  c->z = sqlite3_mprintf("%s", z);
  if( c->z==0 ){
    c->eType = SQLITE_NULL;
    p->rc = SQLITE_NOMEM;
  }
}

/* ---- the fleet from the catalog --------------------------------------- */

/* The catalog's record of one active customer. */
typedef struct ReportCustomer ReportCustomer;
struct ReportCustomer {
  char zId[TENANT_MAX_ID + 1];
  char zTier[16];
  char zUpgradeTo[16];            /* "" when the tier has no upgrade */
  sqlite3_int64 nCalls;           /* API calls this month, flushed ones */
  sqlite3_int64 nAgents;
  int bIntegration;               /* custom integration requested */
  char zCompliance[128];          /* compliance labels required */
  sqlite3_int64 iLimit;           /* storage limit, -1: unlimited */
  sqlite3_int64 iUpStorage;       /* upgrade thresholds, -1: none */
  sqlite3_int64 iUpCalls;
  sqlite3_int64 iUpAgents;
  int bUpOnRequest;               /* integration or compliance triggers */
};

/* Column value as an integer, or -1 for NULL. */
static sqlite3_int64 reportColumnInt(sqlite3_stmt *pStmt, int i){
  if( sqlite3_column_type(pStmt, i)==SQLITE_NULL ) return -1;
  return sqlite3_column_int64(pStmt, i);
}

/*
** Load the active customers (only zOnly when not NULL) ordered by
** placement, so that customers of one shared file follow each other.
*/
static int reportLoadFleet(const char *zOnly, ReportCustomer **paOut,
                           int *pnOut, char **pzErr){
  static const char zSql[] =
    "SELECT c.id, c.tier, coalesce(q.upgrade_to,''),"
    "  coalesce((SELECT api_calls FROM usage_monthly u"
    "    WHERE u.customer=c.id AND u.month=strftime('%Y-%m','now')), 0),"
    "  (SELECT count(*) FROM agents a WHERE a.customer=c.id),"
    "  coalesce(r.custom_integration, 0), coalesce(r.compliance, ''),"
    "  y.storage_limit_bytes, q.upgrade_storage_bytes, q.upgrade_api_calls,"
    "  q.upgrade_agents, coalesce(q.upgrade_on_request, 0)"
    " FROM customers c JOIN policy y ON y.tier=c.tier"
    " LEFT JOIN policy_usage q ON q.tier=c.tier"
    " LEFT JOIN customer_requests r ON r.customer=c.id"
    " LEFT JOIN placements p ON p.customer=c.id"
    " WHERE c.state='active' AND (?1 IS NULL OR c.id=?1)"
    " ORDER BY p.database, c.id";
  ReportCustomer *a = 0;
  int n = 0, nAlloc = 0;
  sqlite3_stmt *pStmt = 0;
  sqlite3 *db;
  int rc;

  *paOut = 0;
  *pnOut = 0;
  rc = tenantCatalogOpen(0, pzErr);
  if( rc!=SQLITE_OK ) return rc;
  db = tenantCatalogEnter();
  if( db==0 ) return SQLITE_MISUSE;
  rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  if( rc==SQLITE_OK ){
    if( zOnly ) sqlite3_bind_text(pStmt, 1, zOnly, -1, SQLITE_STATIC);
    while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
      ReportCustomer *c;
      if( n>=nAlloc ){
        ReportCustomer *aNew;
        nAlloc = nAlloc ? nAlloc*2 : 64;
        aNew = sqlite3_realloc64(a, sizeof(*a)*(sqlite3_uint64)nAlloc);
        if( aNew==0 ){
          rc = SQLITE_NOMEM;
          break;
        }
        a = aNew;
      }
      c = &a[n++];
      memset(c, 0, sizeof(*c));
      sqlite3_snprintf(sizeof(c->zId), c->zId, "%s",
                       sqlite3_column_text(pStmt, 0));
      sqlite3_snprintf(sizeof(c->zTier), c->zTier, "%s",
                       sqlite3_column_text(pStmt, 1));
      sqlite3_snprintf(sizeof(c->zUpgradeTo), c->zUpgradeTo, "%s",
                       sqlite3_column_text(pStmt, 2));
      c->nCalls = sqlite3_column_int64(pStmt, 3);
      c->nAgents = sqlite3_column_int64(pStmt, 4);
      c->bIntegration = sqlite3_column_int(pStmt, 5)!=0;
      sqlite3_snprintf(sizeof(c->zCompliance), c->zCompliance, "%s",
                       sqlite3_column_text(pStmt, 6));
      c->iLimit = reportColumnInt(pStmt, 7);
      c->iUpStorage = reportColumnInt(pStmt, 8);
      c->iUpCalls = reportColumnInt(pStmt, 9);
      c->iUpAgents = reportColumnInt(pStmt, 10);
      c->bUpOnRequest = sqlite3_column_int(pStmt, 11)!=0;
    }
    if( rc==SQLITE_DONE ) rc = SQLITE_OK;
  }
  if( rc!=SQLITE_OK && rc!=SQLITE_NOMEM ){
    tenantSetError(pzErr, "cannot read the fleet from the catalog: %s",
                   sqlite3_errmsg(db));
  }
  sqlite3_finalize(pStmt);
  tenantCatalogLeave();
  if( rc!=SQLITE_OK ){
    sqlite3_free(a);
    return rc;
  }
  *paOut = a;
  *pnOut = n;
  return SQLITE_OK;
}

/* True when the comma-separated zList contains zLabel (any case). */
static int reportHasLabel(const char *zList, const char *zLabel){
  size_t n = strlen(zLabel);
  const char *z = zList;
  while( *z ){
    const char *zEnd = strchr(z, ',');
    size_t nItem = zEnd ? (size_t)(zEnd-z) : strlen(z);
    while( nItem>0 && *z==' ' ){ z++; nItem--; }
    while( nItem>0 && z[nItem-1]==' ' ) nItem--;
    if( nItem==n && sqlite3_strnicmp(z, zLabel, (int)n)==0 ) return 1;
    if( zEnd==0 ) break;
    z = zEnd+1;
  }
  return 0;
}

/*
** One fired upgrade trigger, handed to xEach by reportEachTrigger():
** the trigger name, the measured value and the threshold, as text when
** zMeasured is not NULL and as integers otherwise.
*/
typedef void (*ReportTriggerFunc)(void *pArg, const ReportCustomer *c,
                                  const char *zTrigger, sqlite3_int64 iValue,
                                  sqlite3_int64 iThreshold,
                                  const char *zMeasured,
                                  const char *zThreshold);

/* Call xEach for every upgrade trigger that fires for c, in a fixed
** order: storage, API calls, agents, custom integration, compliance.
** nStorage is -1 when the customer's storage could not be measured. */
static int reportEachTrigger(const ReportCustomer *c, sqlite3_int64 nStorage,
                             ReportTriggerFunc xEach, void *pArg){
  int n = 0;
  if( c->zUpgradeTo[0]==0 ) return 0;
  if( c->iUpStorage>=0 && nStorage>c->iUpStorage ){
    xEach(pArg, c, "storage_bytes", nStorage, c->iUpStorage, 0, 0);
    n++;
  }
  if( c->iUpCalls>=0 && c->nCalls>c->iUpCalls ){
    xEach(pArg, c, "api_calls_month", c->nCalls, c->iUpCalls, 0, 0);
    n++;
  }
  if( c->iUpAgents>=0 && c->nAgents>c->iUpAgents ){
    xEach(pArg, c, "agents", c->nAgents, c->iUpAgents, 0, 0);
    n++;
  }
  if( c->bUpOnRequest && c->bIntegration ){
    xEach(pArg, c, "custom_integration", 1, 1, 0, 0);
    n++;
  }
  if( c->bUpOnRequest && (reportHasLabel(c->zCompliance, "HIPAA")
                          || reportHasLabel(c->zCompliance, "SOX")) ){
    xEach(pArg, c, "compliance", 0, 0, c->zCompliance, "HIPAA,SOX");
    n++;
  }
  return n;
}

/* ---- the reports ------------------------------------------------------ */

/* Measure the stored storage of every customer of a; -1 where it fails. */
static int reportMeasureFleet(ReportCustomer *a, int n,
                              sqlite3_int64 *anStorage, char **azDatabase){
  void *pCache = 0;
  int i;
  for(i=0; i<n; i++){
    TenantStorage st;
    char *zErr = 0;
    anStorage[i] = -1;
    azDatabase[i] = 0;
    if( tenantQuotaMeasure(a[i].zId, 0, &st, &pCache, &zErr)==SQLITE_OK ){
      anStorage[i] = st.nStored;
      azDatabase[i] = sqlite3_mprintf("%s", st.zDatabase);
      if( azDatabase[i]==0 ) return SQLITE_NOMEM;
    }else{
      sqlite3_log(SQLITE_WARNING, "tenant: storage of customer %s not "
                  "measured: %s", a[i].zId, zErr ? zErr : "unknown error");
    }
    sqlite3_free(zErr);
  }
  tenantQuotaMeasureDone(pCache);
  return SQLITE_OK;
}

/* tenant_storage_check([customer]) */
int reportStorageCheck(ReportRows *pRows, const char *zArg,
                              char **pzErr){
  ReportCustomer *a = 0;
  void *pCache = 0;
  int n = 0;
  int rc;
  int i;

  rc = reportLoadFleet(zArg, &a, &n, pzErr);
  if( rc!=SQLITE_OK ) return rc;
  if( zArg && n==0 ){
    tenantSetError(pzErr, "customer \"%s\" not found or not active: check "
        "the id", zArg);
    return SQLITE_NOTFOUND;
  }
  for(i=0; i<n && pRows->rc==SQLITE_OK; i++){
    TenantStorage st;
    char *zErr = 0;
    rc = tenantQuotaMeasure(a[i].zId, 1, &st, &pCache, &zErr);
    reportRow(pRows);
    reportAddText(pRows, a[i].zId);
    if( rc==SQLITE_OK ){
      reportAddText(pRows, st.zDatabase);
      reportAddText(pRows, st.bShared ? "shared" : "dedicated");
      reportAddInt(pRows, st.nStored);
      reportAddInt(pRows, st.nActual);
      reportAddInt(pRows, st.nStored - st.nActual);
      reportAddNull(pRows);
    }else{
      reportAddNull(pRows);
      reportAddNull(pRows);
      reportAddNull(pRows);
      reportAddNull(pRows);
      reportAddNull(pRows);
      reportAddText(pRows, zErr ? zErr : sqlite3_errstr(rc));
    }
    sqlite3_free(zErr);
  }
  tenantQuotaMeasureDone(pCache);
  sqlite3_free(a);
  return pRows->rc;
}

static void reportCandidateRow(void *pArg, const ReportCustomer *c,
                               const char *zTrigger, sqlite3_int64 iValue,
                               sqlite3_int64 iThreshold,
                               const char *zMeasured, const char *zThreshold){
  ReportRows *pRows = (ReportRows*)pArg;
  reportRow(pRows);
  reportAddText(pRows, c->zId);
  reportAddText(pRows, c->zTier);
  reportAddText(pRows, c->zUpgradeTo);
  reportAddText(pRows, zTrigger);
  if( zMeasured ){
    reportAddText(pRows, zMeasured);
    reportAddText(pRows, zThreshold);
  }else{
    reportAddInt(pRows, iValue);
    reportAddInt(pRows, iThreshold);
  }
}

/* Remember the first trigger that fired, as an alert text. */
static void reportFirstTrigger(void *pArg, const ReportCustomer *c,
                               const char *zTrigger, sqlite3_int64 iValue,
                               sqlite3_int64 iThreshold,
                               const char *zMeasured, const char *zThreshold){
  char **pz = (char**)pArg;
  (void)iValue; (void)iThreshold; (void)zMeasured; (void)zThreshold;
  if( *pz==0 ){
    *pz = sqlite3_mprintf("upgrade to %s: %s", c->zUpgradeTo, zTrigger);
  }
}

/* tenant_upgrade_candidates and tenant_usage_report share the fleet. */
int reportFleet(ReportRows *pRows, int bUsage, char **pzErr){
  ReportCustomer *a = 0;
  sqlite3_int64 *anStorage = 0;
  char **azDatabase = 0;
  int n = 0;
  int rc;
  int i;

  rc = reportLoadFleet(0, &a, &n, pzErr);
  if( rc!=SQLITE_OK ) return rc;
  anStorage = sqlite3_malloc64(sizeof(sqlite3_int64)*(n+1));
  azDatabase = sqlite3_malloc64(sizeof(char*)*(n+1));
  if( anStorage==0 || azDatabase==0 ){
    rc = SQLITE_NOMEM;
  }else{
    memset(azDatabase, 0, sizeof(char*)*(n+1));
    rc = reportMeasureFleet(a, n, anStorage, azDatabase);
  }

  for(i=0; rc==SQLITE_OK && i<n && pRows->rc==SQLITE_OK; i++){
    const ReportCustomer *c = &a[i];
    char *zAlert = 0;
    double rPercent = -1.0;
    if( !bUsage ){
      reportEachTrigger(c, anStorage[i], reportCandidateRow, pRows);
      continue;
    }

    if( c->iLimit>0 && anStorage[i]>=0 ){
      rPercent = 100.0*(double)anStorage[i]/(double)c->iLimit;
    }
    if( rPercent>80.0 ){
      zAlert = sqlite3_mprintf("storage above 80%%");
    }else{
      reportEachTrigger(c, anStorage[i], reportFirstTrigger, &zAlert);
    }
    reportRow(pRows);
    reportAddText(pRows, c->zId);
    reportAddText(pRows, c->zTier);
    reportAddText(pRows, azDatabase[i]);
    if( anStorage[i]>=0 ) reportAddInt(pRows, anStorage[i]);
    else reportAddNull(pRows);
    if( c->iLimit>=0 ) reportAddInt(pRows, c->iLimit);
    else reportAddNull(pRows);
    if( rPercent>=0.0 ) reportAddReal(pRows, rPercent);
    else reportAddNull(pRows);
    reportAddInt(pRows, c->nCalls);
    reportAddInt(pRows, c->nAgents);
    reportAddText(pRows, zAlert);
    sqlite3_free(zAlert);
  }

  if( azDatabase ){
    for(i=0; i<n; i++) sqlite3_free(azDatabase[i]);
  }
  sqlite3_free(azDatabase);
  sqlite3_free(anStorage);
  sqlite3_free(a);
  return rc==SQLITE_OK ? pRows->rc : rc;
}

/*
** tenant_cost_report: one row per tier and a total row. tiered_usd is
** customers x the tier's price_usd; dedicated_usd is customers x the
** tier's dedicated_price_usd, the cost of one dedicated database each.
** saving_percent is 100 x (dedicated - tiered) / dedicated.
*/
int reportCost(ReportRows *pRows, char **pzErr){
  static const char zSql[] =
    "SELECT y.tier, (SELECT count(*) FROM customers c"
    "   WHERE c.tier=y.tier AND c.state='active'),"
    "  y.price_usd, coalesce(q.dedicated_price_usd, 0)"
    " FROM policy y LEFT JOIN policy_usage q ON q.tier=y.tier"
    " ORDER BY y.price_usd DESC, y.tier";
  sqlite3_stmt *pStmt = 0;
  sqlite3_int64 nTotal = 0;
  double rTiered = 0.0, rDedicated = 0.0;
  sqlite3 *db;
  int rc;

  rc = tenantCatalogOpen(0, pzErr);
  if( rc!=SQLITE_OK ) return rc;
  db = tenantCatalogEnter();
  if( db==0 ) return SQLITE_MISUSE;
  rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  while( rc==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
    sqlite3_int64 n = sqlite3_column_int64(pStmt, 1);
    double rPrice = sqlite3_column_double(pStmt, 2);
    double rDedicatedPrice = sqlite3_column_double(pStmt, 3);
    reportRow(pRows);
    reportAddText(pRows, (const char*)sqlite3_column_text(pStmt, 0));
    reportAddInt(pRows, n);
    reportAddReal(pRows, rPrice);
    reportAddReal(pRows, n*rPrice);
    reportAddReal(pRows, rDedicatedPrice);
    reportAddReal(pRows, n*rDedicatedPrice);
    reportAddNull(pRows);
    nTotal += n;
    rTiered += n*rPrice;
    rDedicated += n*rDedicatedPrice;
  }
  if( rc==SQLITE_OK ) rc = sqlite3_finalize(pStmt);
  else sqlite3_finalize(pStmt);
  if( rc!=SQLITE_OK ){
    tenantSetError(pzErr, "cannot read the policy prices: %s",
                   sqlite3_errmsg(db));
  }
  tenantCatalogLeave();
  if( rc!=SQLITE_OK ) return rc;

  reportRow(pRows);
  reportAddText(pRows, "total");
  reportAddInt(pRows, nTotal);
  reportAddNull(pRows);
  reportAddReal(pRows, rTiered);
  reportAddNull(pRows);
  reportAddReal(pRows, rDedicated);
  if( rDedicated>0.0 ){
    reportAddReal(pRows, 100.0*(rDedicated - rTiered)/rDedicated);
  }else{
    reportAddNull(pRows);
  }
  return pRows->rc;
}
