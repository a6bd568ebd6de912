/*
** Reports over the fleet, as table-valued functions, and the functions
** that record the requests behind upgrade triggers.
**
**   tenant_storage_check([customer])   stored against recomputed storage
**   tenant_upgrade_candidates           customers an upgrade trigger fired for
**   tenant_usage_report                 usage, limit and alert per customer
**   tenant_cost_report                  tiered against all-dedicated cost
**   tenant_request_integration(customer [, requested])
**   tenant_require_compliance(customer, labels)
**
** Each table-valued function is an eponymous virtual table. Its xFilter
** computes every row at once into memory, from the catalog and the
** placement files, and the cursor then walks them. Thresholds and prices come from
** the catalog tables policy and policy_usage, so tenant_policy_set()
** changes them. API calls are those flushed to the catalog: calls that
** open sessions have counted but not flushed yet are missing (meter.c).
**
** A session bound to a customer cannot use any of them: the authorizer
** denies the functions, and the virtual tables refuse to run on a bound
** connection.
*/
#include "tenant_int.h"
SQLITE_EXTENSION_INIT3

#include <stdlib.h>
#include <string.h>

/* ---- rows in memory --------------------------------------------------- */

/* One value of a report row. */
typedef struct ReportCell ReportCell;
struct ReportCell {
  int eType;                  /* SQLITE_NULL, _INTEGER, _FLOAT or _TEXT */
  sqlite3_int64 i;
  double r;
  char *z;                    /* sqlite3_malloc'd text */
};

/* The rows of one report: nRow rows of nCol cells. */
typedef struct ReportRows ReportRows;
struct ReportRows {
  int nCol;
  int nRow;
  int nAlloc;                 /* rows allocated */
  ReportCell *aCell;          /* nRow*nCol cells, row by row */
  int iNext;                  /* next cell of the row being built */
  int rc;                     /* SQLITE_NOMEM once an allocation failed */
};

static void reportRowsClear(ReportRows *p){
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
static int reportStorageCheck(ReportRows *pRows, const char *zArg,
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
static int reportFleet(ReportRows *pRows, int bUsage, char **pzErr){
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
static int reportCost(ReportRows *pRows, char **pzErr){
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

/* ---- the table-valued function module --------------------------------- */

#define REPORT_STORAGE_CHECK 0
#define REPORT_CANDIDATES    1
#define REPORT_USAGE         2
#define REPORT_COST          3

/* One table-valued function: its name and columns. A last column named
** "arg" is the hidden argument. */
typedef struct ReportDef ReportDef;
struct ReportDef {
  const char *zName;
  const char *zDecl;
  int nCol;                     /* result columns, without the argument */
  int bArg;                     /* takes one optional argument */
};

static const ReportDef aReportDef[] = {
  { "tenant_storage_check",
    "CREATE TABLE x(customer, database, placement, stored_bytes,"
    " recomputed_bytes, difference, error, arg HIDDEN)", 7, 1 },
  { "tenant_upgrade_candidates",
    "CREATE TABLE x(customer, tier, target_tier, trigger, measured,"
    " threshold)", 6, 0 },
  { "tenant_usage_report",
    "CREATE TABLE x(customer, tier, database, storage_bytes, limit_bytes,"
    " percent_used, api_calls_month, agents, alert)", 9, 0 },
  { "tenant_cost_report",
    "CREATE TABLE x(tier, customers, price_usd, tiered_usd,"
    " dedicated_price_usd, dedicated_usd, saving_percent)", 7, 0 },
};

typedef struct ReportVtab ReportVtab;
struct ReportVtab {
  sqlite3_vtab base;            /* base class: must be first */
  sqlite3 *db;
  const ReportDef *pDef;
};

typedef struct ReportCursor ReportCursor;
struct ReportCursor {
  sqlite3_vtab_cursor base;     /* base class: must be first */
  ReportRows rows;
  int iRow;
};

static int reportConnect(sqlite3 *db, void *pAux, int argc,
                         const char *const *argv, sqlite3_vtab **ppVtab,
                         char **pzErr){
  const ReportDef *pDef = (const ReportDef*)pAux;
  ReportVtab *p;
  int rc;
  (void)argc; (void)argv; (void)pzErr;
  rc = sqlite3_declare_vtab(db, pDef->zDecl);
  if( rc!=SQLITE_OK ) return rc;
  p = sqlite3_malloc64(sizeof(*p));
  if( p==0 ) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->db = db;
  p->pDef = pDef;
  *ppVtab = &p->base;
  return SQLITE_OK;
}

static int reportDisconnect(sqlite3_vtab *pVtab){
  sqlite3_free(pVtab);
  return SQLITE_OK;
}

/* An equality on the hidden argument column becomes xFilter's argv[0]. */
static int reportBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo){
  ReportVtab *p = (ReportVtab*)pVtab;
  int i;
  pInfo->idxNum = 0;
  for(i=0; i<pInfo->nConstraint; i++){
    const struct sqlite3_index_constraint *pCons = &pInfo->aConstraint[i];
    if( p->pDef->bArg && pCons->iColumn==p->pDef->nCol && pCons->usable
     && pCons->op==SQLITE_INDEX_CONSTRAINT_EQ ){
      pInfo->aConstraintUsage[i].argvIndex = 1;
      pInfo->aConstraintUsage[i].omit = 1;
      pInfo->idxNum = 1;
    }
  }
  pInfo->estimatedCost = pInfo->idxNum ? 10.0 : 10000.0;
  return SQLITE_OK;
}

static int reportOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCursor){
  ReportVtab *p = (ReportVtab*)pVtab;
  ReportCursor *pCur = sqlite3_malloc64(sizeof(*pCur));
  if( pCur==0 ) return SQLITE_NOMEM;
  memset(pCur, 0, sizeof(*pCur));
  pCur->rows.nCol = p->pDef->nCol;
  *ppCursor = &pCur->base;
  return SQLITE_OK;
}

static int reportClose(sqlite3_vtab_cursor *pCursor){
  ReportCursor *pCur = (ReportCursor*)pCursor;
  reportRowsClear(&pCur->rows);
  sqlite3_free(pCur);
  return SQLITE_OK;
}

static int reportFilter(sqlite3_vtab_cursor *pCursor, int idxNum,
                        const char *idxStr, int argc, sqlite3_value **argv){
  ReportCursor *pCur = (ReportCursor*)pCursor;
  ReportVtab *p = (ReportVtab*)pCursor->pVtab;
  const char *zArg = 0;
  char *zErr = 0;
  int rc;
  (void)idxStr;

  reportRowsClear(&pCur->rows);
  pCur->iRow = 0;
  if( tenantSessionOf(p->db) ){
    tenantSetError(&p->base.zErrMsg, "%s is administrative and not "
        "available on a connection bound to a customer: query it from an "
        "unbound connection", p->pDef->zName);
    return SQLITE_AUTH;
  }
  if( idxNum==1 && argc>0 ){
    zArg = (const char*)sqlite3_value_text(argv[0]);
    if( zArg && (size_t)sqlite3_value_bytes(argv[0])!=strlen(zArg) ){
      tenantSetError(&p->base.zErrMsg, "invalid customer id \"%.64s\\0...\":"
          " an id cannot contain a NUL byte, so pass only letters, digits,"
          " '_', '.' and '-'", zArg);
      return SQLITE_ERROR;
    }
  }

  switch( (int)(p->pDef - aReportDef) ){
    case REPORT_STORAGE_CHECK:
      rc = reportStorageCheck(&pCur->rows, zArg, &zErr);
      break;
    case REPORT_CANDIDATES:
      rc = reportFleet(&pCur->rows, 0, &zErr);
      break;
    case REPORT_USAGE:
      rc = reportFleet(&pCur->rows, 1, &zErr);
      break;
    default:
      rc = reportCost(&pCur->rows, &zErr);
      break;
  }
  if( rc!=SQLITE_OK ){
    sqlite3_free(p->base.zErrMsg);
    p->base.zErrMsg = zErr;
    return rc;
  }
  sqlite3_free(zErr);
  return SQLITE_OK;
}

static int reportNext(sqlite3_vtab_cursor *pCursor){
  ((ReportCursor*)pCursor)->iRow++;
  return SQLITE_OK;
}

static int reportEof(sqlite3_vtab_cursor *pCursor){
  ReportCursor *pCur = (ReportCursor*)pCursor;
  return pCur->iRow>=pCur->rows.nRow;
}

static int reportColumn(sqlite3_vtab_cursor *pCursor, sqlite3_context *pCtx,
                        int i){
  ReportCursor *pCur = (ReportCursor*)pCursor;
  const ReportCell *c;
  if( i>=pCur->rows.nCol ) return SQLITE_OK;   /* the hidden argument */
  c = &pCur->rows.aCell[pCur->iRow*pCur->rows.nCol + i];
  switch( c->eType ){
    case SQLITE_INTEGER: sqlite3_result_int64(pCtx, c->i); break;
    case SQLITE_FLOAT:   sqlite3_result_double(pCtx, c->r); break;
    case SQLITE_TEXT:
      sqlite3_result_text(pCtx, c->z, -1, SQLITE_TRANSIENT);
      break;
    default: break;
  }
  return SQLITE_OK;
}

static int reportRowid(sqlite3_vtab_cursor *pCursor, sqlite_int64 *pRowid){
  *pRowid = ((ReportCursor*)pCursor)->iRow + 1;
  return SQLITE_OK;
}

static sqlite3_module reportModule = {
  /* iVersion      */ 0,
  /* xCreate       */ 0,          /* eponymous only */
  /* xConnect      */ reportConnect,
  /* xBestIndex    */ reportBestIndex,
  /* xDisconnect   */ reportDisconnect,
  /* xDestroy      */ reportDisconnect,
  /* xOpen         */ reportOpen,
  /* xClose        */ reportClose,
  /* xFilter       */ reportFilter,
  /* xNext         */ reportNext,
  /* xEof          */ reportEof,
  /* xColumn       */ reportColumn,
  /* xRowid        */ reportRowid,
  /* xUpdate       */ 0,
  /* xBegin        */ 0,
  /* xSync         */ 0,
  /* xCommit       */ 0,
  /* xRollback     */ 0,
  /* xFindFunction */ 0,
  /* xRename       */ 0,
  /* xSavepoint    */ 0,
  /* xRelease      */ 0,
  /* xRollbackTo   */ 0,
  /* xShadowName   */ 0
};

/* ---- request functions ------------------------------------------------ */

/*
** Record a request of an active customer: custom_integration (an integer)
** or compliance (a text), in customer_requests. pValue NULL stands for 1.
*/
static int reportSetRequest(const char *zCustomer, const char *zColumn,
                            sqlite3_value *pValue, char **pzErr){
  sqlite3_stmt *pStmt = 0;
  sqlite3 *db;
  char *zSql;
  int rc;

  if( !tenantIdIsSafe(zCustomer) ){
    tenantSetError(pzErr, "customer \"%s\" not found: pass the id of an "
        "active customer", zCustomer ? zCustomer : "NULL");
    return SQLITE_ERROR;
  }
  rc = tenantCatalogOpen(0, pzErr);
  if( rc!=SQLITE_OK ) return rc;
  db = tenantCatalogEnter();
  if( db==0 ) return SQLITE_MISUSE;
  rc = sqlite3_exec(db, "BEGIN IMMEDIATE", 0, 0, 0);
  if( rc==SQLITE_OK ){
    rc = sqlite3_prepare_v2(db, "SELECT 1 FROM customers WHERE id=?1 AND "
                            "state='active'", -1, &pStmt, 0);
  }
  if( rc==SQLITE_OK ){
    sqlite3_bind_text(pStmt, 1, zCustomer, -1, SQLITE_STATIC);
    if( sqlite3_step(pStmt)!=SQLITE_ROW ){
      tenantSetError(pzErr, "customer \"%s\" not found or not active: "
          "provision it with tenant_provision() first", zCustomer);
      rc = SQLITE_ERROR;
    }
    sqlite3_finalize(pStmt);
    pStmt = 0;
  }
  if( rc==SQLITE_OK ){
    rc = sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO customer_requests"
                            "(customer) VALUES(?1)", -1, &pStmt, 0);
    if( rc==SQLITE_OK ){
      sqlite3_bind_text(pStmt, 1, zCustomer, -1, SQLITE_STATIC);
      sqlite3_step(pStmt);
      rc = sqlite3_finalize(pStmt);
      pStmt = 0;
    }
  }
  if( rc==SQLITE_OK ){
    /* zColumn is one of two fixed names, never user text. */
    zSql = sqlite3_mprintf("UPDATE customer_requests SET \"%w\"=?2"
                           " WHERE customer=?1", zColumn);
    rc = zSql ? sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0) : SQLITE_NOMEM;
    sqlite3_free(zSql);
    if( rc==SQLITE_OK ){
      sqlite3_bind_text(pStmt, 1, zCustomer, -1, SQLITE_STATIC);
      if( pValue ) sqlite3_bind_value(pStmt, 2, pValue);
      else sqlite3_bind_int(pStmt, 2, 1);
      sqlite3_step(pStmt);
      rc = sqlite3_finalize(pStmt);
    }
  }
  if( rc==SQLITE_OK ){
    rc = sqlite3_exec(db, "COMMIT", 0, 0, 0);
  }
  if( rc!=SQLITE_OK ){
    if( pzErr && *pzErr==0 ){
      tenantSetError(pzErr, "cannot record the request of customer \"%s\": "
          "%s: try again", zCustomer, sqlite3_errmsg(db));
    }
    sqlite3_exec(db, "ROLLBACK", 0, 0, 0);
  }else{
    sqlite3_log(SQLITE_NOTICE, "tenant: customer %s: %s set to %s",
                zCustomer, zColumn,
                pValue ? (const char*)sqlite3_value_text(pValue) : "1");
  }
  tenantCatalogLeave();
  return rc;
}

/* tenant_request_integration(customer [, requested]): requested is 1 (the
** default) or 0 to withdraw the request. */
static void reportRequestIntegration(sqlite3_context *pCtx, int argc,
                                     sqlite3_value **argv){
  const char *zCustomer = (const char*)sqlite3_value_text(argv[0]);
  char *zErr = 0;
  int rc;
  if( argc>1 && (sqlite3_value_numeric_type(argv[1])!=SQLITE_INTEGER
                 || (sqlite3_value_int(argv[1])!=0
                     && sqlite3_value_int(argv[1])!=1)) ){
    tenantResultError(pCtx, "requested \"%s\" is invalid: use 1 to request a "
        "custom integration or 0 to withdraw the request",
        sqlite3_value_text(argv[1]) ? (const char*)sqlite3_value_text(argv[1])
                                    : "NULL");
    return;
  }
  if( tenantIdArgHasNul(pCtx, argv[0], "customer") ) return;
  rc = reportSetRequest(zCustomer, "custom_integration",
                        argc>1 ? argv[1] : 0, &zErr);
  if( rc!=SQLITE_OK ){
    sqlite3_result_error(pCtx, zErr ? zErr : sqlite3_errstr(rc), -1);
    sqlite3_free(zErr);
    return;
  }
  sqlite3_result_int(pCtx, argc>1 ? sqlite3_value_int(argv[1]) : 1);
}

/* tenant_require_compliance(customer, labels): labels is a comma-separated
** list such as 'HIPAA,SOX', or '' for none. */
static void reportRequireCompliance(sqlite3_context *pCtx, int argc,
                                    sqlite3_value **argv){
  const char *zCustomer = (const char*)sqlite3_value_text(argv[0]);
  const char *zLabels = (const char*)sqlite3_value_text(argv[1]);
  char *zErr = 0;
  int rc;
  int i;
  (void)argc;

  if( zLabels==0 || strlen(zLabels)>=128 ){
    tenantResultError(pCtx, "compliance labels \"%s\" are invalid: pass a "
        "comma-separated list such as 'HIPAA,SOX' of under 128 bytes, or ''",
        zLabels ? zLabels : "NULL");
    return;
  }
  for(i=0; zLabels[i]; i++){
    char c = zLabels[i];
    if( !((c>='a' && c<='z') || (c>='A' && c<='Z') || (c>='0' && c<='9')
          || c=='-' || c==',' || c==' ') ){
      tenantResultError(pCtx, "compliance labels \"%s\" contain the character "
          "'%c': use letters, digits, '-' and commas, such as 'HIPAA,SOX'",
          zLabels, c);
      return;
    }
  }
  if( tenantIdArgHasNul(pCtx, argv[0], "customer") ) return;
  rc = reportSetRequest(zCustomer, "compliance", argv[1], &zErr);
  if( rc!=SQLITE_OK ){
    sqlite3_result_error(pCtx, zErr ? zErr : sqlite3_errstr(rc), -1);
    sqlite3_free(zErr);
    return;
  }
  sqlite3_result_text(pCtx, zLabels, -1, SQLITE_TRANSIENT);
}

int tenantReportRegister(sqlite3 *db){
  /* SQLITE_DIRECTONLY (3.30.0) keeps triggers and views from calling
  ** them; older hosts rely on the authorizer of bound connections. */
  int eFlags = SQLITE_UTF8 | (tenantHostVersion()>=3030000 ? 0x80000 : 0);
  int rc = SQLITE_OK;
  int i;
  for(i=0; rc==SQLITE_OK && i<(int)(sizeof(aReportDef)/sizeof(aReportDef[0]));
      i++){
    rc = sqlite3_create_module(db, aReportDef[i].zName, &reportModule,
                               (void*)&aReportDef[i]);
  }
  if( rc==SQLITE_OK ){
    rc = sqlite3_create_function(db, "tenant_request_integration", 1, eFlags,
                                 0, reportRequestIntegration, 0, 0);
  }
  if( rc==SQLITE_OK ){
    rc = sqlite3_create_function(db, "tenant_request_integration", 2, eFlags,
                                 0, reportRequestIntegration, 0, 0);
  }
  if( rc==SQLITE_OK ){
    rc = sqlite3_create_function(db, "tenant_require_compliance", 2, eFlags,
                                 0, reportRequireCompliance, 0, 0);
  }
  return rc;
}
