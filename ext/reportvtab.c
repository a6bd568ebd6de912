/*
** The fleet reports as table-valued functions, each an eponymous virtual
** table whose xFilter computes every row at once (report.c) and whose
** cursor then walks them:
**
**   tenant_storage_check([customer])   stored against recomputed storage
**   tenant_upgrade_candidates           customers an upgrade trigger fired for
**   tenant_usage_report                 usage, limit and alert per customer
**   tenant_cost_report                  tiered against all-dedicated cost
**
** A session bound to a customer cannot use them: xFilter fails with
** SQLITE_AUTH on a bound connection.
*/
#include "tenant_int.h"
#include "report.h"
SQLITE_EXTENSION_INIT3

#include <string.h>

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

int tenantReportRegister(sqlite3 *db){
  int rc = SQLITE_OK;
  int i;
  for(i=0; rc==SQLITE_OK && i<(int)(sizeof(aReportDef)/sizeof(aReportDef[0]));
      i++){
    rc = sqlite3_create_module(db, aReportDef[i].zName, &reportModule,
                               (void*)&aReportDef[i]);
  }
  return rc;
}
