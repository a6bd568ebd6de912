/*
** Storage accounting and storage limits.
**
** Shared placements (Opal and Onyx owner files) keep, in each file, a table
**
**     tenant_usage(customer_id TEXT PRIMARY KEY, bytes INTEGER)
**
** with the estimated bytes of each customer's rows and index entries. The
** isolation virtual table (rowvtab.c) measures every row it inserts,
** changes or deletes, checks the change against the customer's limit before
** it writes, and adds it to a running total per file and connection. The
** total is written to tenant_usage from the virtual table's xSync, inside
** the transaction that wrote the rows, so a crash or a rollback can never
** leave tenant_usage out of step with the rows. Savepoints, and statement
** rollbacks that reach the virtual table through xRollbackTo, restore the
** running total with the rows. quotarow.c computes the estimate of a row.
**
** Dedicated placements (Sapphire) are measured by the size of their files
** (quotameasure.c), and the VFS stops their databases from growing past
** the limit (quotadisk.c).
**
** LIMITATIONS: files of fleets provisioned before tenant_usage existed get
** an empty tenant_usage on the first binding, so their rows written
** earlier are not counted. tenant_storage_repair() sets a customer's total
** to the recomputed one. The estimate has limits of its own (quotarow.c).
*/
#include "tenant_int.h"
#include "quota.h"
SQLITE_EXTENSION_INIT3

#include <assert.h>
#include <string.h>


/* Every QuotaFile of the process, guarded by SQLITE_MUTEX_STATIC_APP3. */
static QuotaFile *quotaFileList = 0;

static sqlite3_mutex *quotaMutex(void){
  return sqlite3_mutex_alloc(SQLITE_MUTEX_STATIC_APP3);
}

/* ---- per-file state --------------------------------------------------- */

int tenantQuotaPrepareFile(sqlite3 *db, const char *zSchema, char **pzErr){
  char *zSql;
  char *zMsg = 0;
  int rc;

  /* Provisioning creates the table, so it is nearly always in the schema
  ** that SQLite has read already, where looking it up runs no statement.
  ** NOTE: a table that another connection dropped since that read is
  ** taken as present; the next write to it then fails with an error. */
  if( sqlite3_api->table_column_metadata
   && sqlite3_table_column_metadata(db, zSchema, TENANT_USAGE_TABLE, 0, 0, 0,
                                    0, 0, 0)==SQLITE_OK ){
    return SQLITE_OK;
  }
  zSql = sqlite3_mprintf(
      "CREATE TABLE IF NOT EXISTS \"%w\"." TENANT_USAGE_TABLE "("
      "customer_id TEXT PRIMARY KEY, bytes INTEGER NOT NULL DEFAULT 0)"
      " WITHOUT ROWID",
      zSchema);
  if( zSql==0 ) return SQLITE_NOMEM;
  rc = sqlite3_exec(db, zSql, 0, 0, &zMsg);
  sqlite3_free(zSql);
  if( rc!=SQLITE_OK ){
    tenantSetError(pzErr, "cannot create the " TENANT_USAGE_TABLE " table of "
        "a shared placement file: %s", zMsg ? zMsg : sqlite3_errstr(rc));
  }
  sqlite3_free(zMsg);
  return rc;
}

static void quotaFileRelease(QuotaFile *p){
  QuotaFile **pp;
  if( p==0 ) return;
  sqlite3_mutex_enter(quotaMutex());
  if( --p->nRef>0 ){
    sqlite3_mutex_leave(quotaMutex());
    return;
  }
  for(pp=&quotaFileList; *pp; pp=&(*pp)->pNext){
    if( *pp==p ){
      *pp = p->pNext;
      break;
    }
  }
  sqlite3_mutex_leave(quotaMutex());
  sqlite3_finalize(p->pRead);
  sqlite3_finalize(p->pInit);
  sqlite3_finalize(p->pAdd);
  sqlite3_free(p->aSave);
  sqlite3_free(p->zSchema);
  sqlite3_free(p);
}

/* Find or create the state of zSchema on db. */
static QuotaFile *quotaFileAcquire(sqlite3 *db, TenantSession *pSession,
                                   const char *zSchema){
  QuotaFile *p;
  sqlite3_mutex_enter(quotaMutex());
  for(p=quotaFileList; p; p=p->pNext){
    if( p->db==db && strcmp(p->zSchema, zSchema)==0 ) break;
  }
  if( p==0 ){
    p = sqlite3_malloc64(sizeof(*p));
    if( p ){
      memset(p, 0, sizeof(*p));
      p->zSchema = sqlite3_mprintf("%s", zSchema);
      if( p->zSchema==0 ){
        sqlite3_free(p);
        p = 0;
      }else{
        p->db = db;
        p->pSession = pSession;
        p->pNext = quotaFileList;
        quotaFileList = p;
      }
    }
  }
  if( p ) p->nRef++;
  sqlite3_mutex_leave(quotaMutex());
  return p;
}

/* Prepare (once) and reset an internal statement of the file state. */
static int quotaFileStmt(QuotaFile *p, sqlite3_stmt **pp, const char *zFormat){
  int rc = SQLITE_OK;
  if( *pp==0 ){
    char *zSql = sqlite3_mprintf(zFormat, p->zSchema);
    if( zSql==0 ) return SQLITE_NOMEM;
    tenantSessionEnterInternal(p->pSession);
    rc = sqlite3_prepare_v2(p->db, zSql, -1, pp, 0);
    tenantSessionLeaveInternal(p->pSession);
    sqlite3_free(zSql);
  }else{
    sqlite3_reset(*pp);
  }
  return rc;
}

/* Step an internal statement once; returns its first column in *piOut. */
static int quotaFileRun(QuotaFile *p, sqlite3_stmt *pStmt,
                        sqlite3_int64 *piOut){
  int rc;
  tenantSessionEnterInternal(p->pSession);
  rc = sqlite3_step(pStmt);
  tenantSessionLeaveInternal(p->pSession);
  if( rc==SQLITE_ROW ){
    if( piOut ) *piOut = sqlite3_column_int64(pStmt, 0);
    rc = SQLITE_OK;
  }else if( rc==SQLITE_DONE ){
    rc = SQLITE_OK;
  }else{
    rc = sqlite3_reset(pStmt);
    if( rc==SQLITE_OK ) rc = SQLITE_ERROR;
  }
  sqlite3_reset(pStmt);
  return rc;
}

/*
** Read the customer's limit from the catalog, unless the catalog has not
** changed since it was last read. A limit changed, or a customer
** decommissioned or provisioned again, by any process applies from the
** next write transaction.
*/
static int quotaFileLimit(QuotaFile *p){
  sqlite3_int64 iData = 0;
  sqlite3_int64 nWrite = 0;
  int bVersion;
  int rc;

  bVersion = tenantCatalogVersion(&iData, &nWrite)==SQLITE_OK;
  if( bVersion && p->bLimitRead && iData==p->iLimitData
   && nWrite==p->nLimitWrites ){
    return SQLITE_OK;
  }
  p->bLimitRead = 0;
  rc = tenantSessionLimit(p->pSession, &p->iLimit, p->zTier,
                          sizeof(p->zTier));
  if( rc==SQLITE_OK && bVersion ){
    p->bLimitRead = 1;
    p->iLimitData = iData;
    p->nLimitWrites = nWrite;
  }
  return rc;
}

/*
** Read the limit, and the stored usage when there is a limit, once per
** transaction. The running change and the savepoints stay as they are:
** tenantQuotaEnd() cleared them when the last transaction ended, and
** SQLite may have reported savepoints of this one before its first write.
*/
static int quotaFileBegin(QuotaFile *p, const char *zCustomer, char **pzErr){
  int rc;
  if( p->bInTxn ) return SQLITE_OK;
  p->iBase = 0;
  rc = quotaFileLimit(p);
  if( rc==SQLITE_OK && p->iLimit>=0 ){
    rc = quotaFileStmt(p, &p->pRead, "SELECT bytes FROM \"%w\"."
                       TENANT_USAGE_TABLE " WHERE customer_id=?1");
    if( rc==SQLITE_OK ){
      sqlite3_bind_text(p->pRead, 1, zCustomer, -1, SQLITE_TRANSIENT);
      rc = quotaFileRun(p, p->pRead, &p->iBase);
    }
  }
  if( rc==SQLITE_NOTFOUND ){
    return tenantSessionRejectInactive(p->pSession, pzErr);
  }
  if( rc!=SQLITE_OK ){
    tenantSetError(pzErr, "cannot read the storage usage of customer \"%s\":"
        " %s", zCustomer, sqlite3_errmsg(p->db));
    return rc;
  }
  p->bInTxn = 1;
  return SQLITE_OK;
}

/* ---- isolation table interface ---------------------------------------- */

int tenantQuotaTableOpen(sqlite3 *db, TenantSession *pSession,
                         const char *zSchema, const char *zTable,
                         TenantQuotaTable **pp, char **pzErr){
  static const char *const azAlias[] = { "rowid", "_rowid_", "oid" };
  TenantQuotaTable *p;
  QuotaShape shape;
  char *zExpr = 0;
  char *zSql = 0;
  const char *zRowid = 0;
  int iCustomer = -1;
  int iParent = -1;
  int rc;
  int i, j;

  *pp = 0;
  if( !tenantSessionIsMetered(pSession) ) return SQLITE_OK;

  tenantSessionEnterInternal(pSession);
  rc = quotaShapeRead(db, zSchema, zTable, &shape);
  tenantSessionLeaveInternal(pSession);
  if( rc!=SQLITE_OK ){
    tenantSetError(pzErr, "cannot read the shape of table \"%s\" for "
        "storage accounting: %s", zTable, sqlite3_errmsg(db));
    return rc;
  }

  zExpr = quotaShapeSql(&shape);
  p = sqlite3_malloc64(sizeof(*p));
  if( p==0 || zExpr==0 ){
    sqlite3_free(p);
    sqlite3_free(zExpr);
    quotaShapeFree(&shape);
    return SQLITE_NOMEM;
  }
  memset(p, 0, sizeof(*p));
  p->nCol = shape.nCol;
  p->aAff = shape.aAff;
  p->aWeight = shape.aWeight;
  shape.aAff = 0;
  shape.aWeight = 0;
  p->nFixed = QUOTA_ROW_OVERHEAD + QUOTA_INDEX_OVERHEAD*shape.nIndex;
  p->zTable = sqlite3_mprintf("%s", zTable);
  p->aDefault = sqlite3_malloc64(sizeof(sqlite3_int64)*shape.nCol);
  p->pFile = quotaFileAcquire(db, pSession, zSchema);
  if( p->zTable==0 || p->aDefault==0 || p->pFile==0 ) rc = SQLITE_NOMEM;

  /* Each default is measured once: a default such as CURRENT_TIMESTAMP
  ** has the same length every time. */
  for(i=0; rc==SQLITE_OK && i<shape.nCol; i++){
    p->aDefault[i] = -1;
    if( sqlite3_stricmp(shape.azCol[i], "customer_id")==0 ) iCustomer = i;
    if( sqlite3_stricmp(shape.azCol[i], "sapphire_parent_id")==0 ) iParent = i;
    if( shape.azDefault[i] ){
      sqlite3_stmt *pStmt = 0;
      zSql = sqlite3_mprintf("SELECT length(CAST((%s) AS BLOB))",
                             shape.azDefault[i]);
      if( zSql==0 ){
        rc = SQLITE_NOMEM;
        break;
      }
      tenantSessionEnterInternal(pSession);
      rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
      if( rc==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
        p->aDefault[i] = sqlite3_column_int64(pStmt, 0);
      }
      tenantSessionLeaveInternal(pSession);
      sqlite3_finalize(pStmt);
      sqlite3_free(zSql);
      zSql = 0;
    }
  }

  /* The statement that measures a stored row, for updates and deletes. */
  for(i=0; i<3 && zRowid==0; i++){
    zRowid = azAlias[i];
    for(j=0; j<shape.nCol; j++){
      if( sqlite3_stricmp(shape.azCol[j], azAlias[i])==0 ) zRowid = 0;
    }
  }
  p->iCustomer = iCustomer;
  p->iParent = iParent;
  if( rc==SQLITE_OK && (zRowid==0 || iCustomer<0) ){
    tenantSetError(pzErr, "table \"%s\" has no reachable rowid or no "
        "customer_id column, so its storage cannot be counted", zTable);
    rc = SQLITE_ERROR;
  }
  if( rc==SQLITE_OK ){
    zSql = sqlite3_mprintf("SELECT %s FROM \"%w\".\"%w\" WHERE %s=?1"
                                   " AND customer_id=?2", zExpr, zSchema,
                                   zTable, zRowid);
    if( zSql==0 ) rc = SQLITE_NOMEM;
  }
  if( rc==SQLITE_OK ){
    tenantSessionEnterInternal(pSession);
    rc = sqlite3_prepare_v2(db, zSql, -1, &p->pOld, 0);
    tenantSessionLeaveInternal(pSession);
    if( rc!=SQLITE_OK ){
      tenantSetError(pzErr, "cannot prepare the storage estimate of table "
          "\"%s\": %s", zTable, sqlite3_errmsg(db));
    }
  }
  for(i=0; rc==SQLITE_OK && i<2; i++){
    p->azReplaceSql[i] = quotaConflictSql(&shape, zSchema, zTable, zRowid,
                                          zExpr, i, &rc);
  }
  sqlite3_free(zExpr);
  sqlite3_free(zSql);
  quotaShapeFree(&shape);
  if( rc!=SQLITE_OK ){
    tenantQuotaTableClose(p);
    return rc;
  }
  *pp = p;
  return SQLITE_OK;
}

void tenantQuotaTableClose(TenantQuotaTable *p){
  if( p==0 ) return;
  sqlite3_finalize(p->pOld);
  sqlite3_finalize(p->apReplace[0]);
  sqlite3_finalize(p->apReplace[1]);
  sqlite3_free(p->azReplaceSql[0]);
  sqlite3_free(p->azReplaceSql[1]);
  quotaFileRelease(p->pFile);
  sqlite3_free(p->aAff);
  sqlite3_free(p->aWeight);
  sqlite3_free(p->aDefault);
  sqlite3_free(p->zTable);
  sqlite3_free(p);
}

int tenantQuotaStoredRowBytes(TenantQuotaTable *p, sqlite3_value *pRowid,
                              const char *zCustomer, sqlite3_int64 *pnByte){
  *pnByte = 0;
  sqlite3_reset(p->pOld);
  sqlite3_bind_value(p->pOld, 1, pRowid);
  sqlite3_bind_text(p->pOld, 2, zCustomer, -1, SQLITE_TRANSIENT);
  return quotaFileRun(p->pFile, p->pOld, pnByte);
}

/*
** Set *pnByte to the estimate of the stored rows of zCustomer that a write
** in conflict mode REPLACE removes before it stores the row apVal[0..nCol-1]:
** an insert when pRowid is NULL, else the update of row pRowid. Only rows
** that conflict on the primary key or a UNIQUE index of the real table are
** removed, and every such key starts with customer_id. SQLite may delete
** them as the write runs, so the caller subtracts *pnByte from the write's
** growth before the check, which keeps the stored total exact.
*/
int tenantQuotaReplacedBytes(TenantQuotaTable *p, sqlite3_value *pRowid,
                             sqlite3_value **apVal, const char *zCustomer,
                             sqlite3_int64 *pnByte){
  TenantSession *pSession = p->pFile->pSession;
  int bInsert = pRowid==0 || sqlite3_value_type(pRowid)==SQLITE_NULL;
  sqlite3_stmt *pStmt;
  int rc = SQLITE_OK;
  int i;

  *pnByte = 0;
  if( p->azReplaceSql[bInsert]==0 ) return SQLITE_OK;
  if( p->apReplace[bInsert]==0 ){
    tenantSessionEnterInternal(pSession);
    rc = sqlite3_prepare_v2(p->pFile->db, p->azReplaceSql[bInsert], -1,
                            &p->apReplace[bInsert], 0);
    tenantSessionLeaveInternal(pSession);
    if( rc!=SQLITE_OK ) return rc;
  }
  pStmt = p->apReplace[bInsert];
  sqlite3_reset(pStmt);

  /* The values the write stores: the isolation table stamps the customer,
  ** and the parent where the row names none. */
  for(i=0; i<p->nCol; i++){
    if( i==p->iCustomer ){
      sqlite3_bind_text(pStmt, i+1, zCustomer, -1, SQLITE_TRANSIENT);
    }else if( i==p->iParent && sqlite3_value_type(apVal[i])==SQLITE_NULL ){
      sqlite3_bind_text(pStmt, i+1, tenantSessionParent(pSession), -1,
                        SQLITE_TRANSIENT);
    }else{
      sqlite3_bind_value(pStmt, i+1, apVal[i]);
    }
  }
  sqlite3_bind_text(pStmt, p->nCol+1, zCustomer, -1, SQLITE_TRANSIENT);
  if( bInsert ){
    sqlite3_bind_null(pStmt, p->nCol+2);
  }else{
    sqlite3_bind_value(pStmt, p->nCol+2, pRowid);
  }
  rc = quotaFileRun(p->pFile, pStmt, pnByte);
  sqlite3_clear_bindings(pStmt);
  return rc;
}

int tenantQuotaCheck(TenantQuotaTable *pTab, const char *zCustomer,
                     sqlite3_int64 nDelta, char **pzErr){
  QuotaFile *p = pTab->pFile;
  int rc = quotaFileBegin(p, zCustomer, pzErr);
  if( rc!=SQLITE_OK ) return rc;

  /* Only growth is checked, so a customer over its limit can still
  ** delete and shrink rows. */
  if( nDelta>0 && p->iLimit>=0 ){
    sqlite3_int64 iUsed = p->iBase + p->iDelta;
    if( iUsed + nDelta > p->iLimit ){
      tenantSetError(pzErr, "storage limit reached for customer \"%s\": "
          "the write needs %lld more bytes, %lld of the %lld bytes that tier "
          "\"%s\" allows are used; delete rows or move the customer to a "
          "larger tier", zCustomer, nDelta, iUsed, p->iLimit, p->zTier);
      sqlite3_log(SQLITE_FULL, "tenant: customer %s over its storage limit "
          "in table %s: %lld + %lld bytes > %lld", zCustomer, pTab->zTable,
          iUsed, nDelta, p->iLimit);
      return SQLITE_FULL;
    }
  }
  return SQLITE_OK;
}

void tenantQuotaRecord(TenantQuotaTable *pTab, sqlite3_int64 nDelta){
  pTab->pFile->iDelta += nDelta;
}

int tenantQuotaSync(TenantQuotaTable *pTab, char **pzErr){
  QuotaFile *p = pTab->pFile;
  const char *zCustomer = tenantSessionCustomer(p->pSession);
  int rc;
  if( !p->bInTxn || p->iDelta==0 ) return SQLITE_OK;

  /* Add to the customer's row, or create it on its first commit. */
  rc = quotaFileStmt(p, &p->pAdd, "UPDATE \"%w\"." TENANT_USAGE_TABLE
                     " SET bytes=bytes+?2 WHERE customer_id=?1");
  if( rc==SQLITE_OK ){
    sqlite3_bind_text(p->pAdd, 1, zCustomer, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(p->pAdd, 2, p->iDelta);
    rc = quotaFileRun(p, p->pAdd, 0);
  }
  if( rc==SQLITE_OK && sqlite3_changes(p->db)==0 ){
    rc = quotaFileStmt(p, &p->pInit, "INSERT INTO \"%w\"."
                       TENANT_USAGE_TABLE "(customer_id, bytes) VALUES(?1, ?2)");
    if( rc==SQLITE_OK ){
      sqlite3_bind_text(p->pInit, 1, zCustomer, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(p->pInit, 2, p->iDelta);
      rc = quotaFileRun(p, p->pInit, 0);
    }
  }
  if( rc!=SQLITE_OK ){
    tenantSetError(pzErr, "cannot record the storage usage of customer "
        "\"%s\": %s", zCustomer, sqlite3_errmsg(p->db));
    return rc;
  }

  /* Written: a second xSync of the same commit (another table of this
  ** file, or COMMIT retried after SQLITE_BUSY) adds nothing again. */
  p->iBase += p->iDelta;
  p->iDelta = 0;
  return SQLITE_OK;
}

void tenantQuotaEnd(TenantQuotaTable *pTab){
  QuotaFile *p = pTab->pFile;
  p->bInTxn = 0;
  p->iDelta = 0;
  p->nSave = 0;
}

void tenantQuotaSavepoint(TenantQuotaTable *pTab, int iSavepoint){
  QuotaFile *p = pTab->pFile;
  int i;
  if( iSavepoint<0 ) return;
  if( iSavepoint>=p->nSaveAlloc ){
    int nNew = iSavepoint+8;
    sqlite3_int64 *aNew = sqlite3_realloc64(p->aSave,
                                            sizeof(sqlite3_int64)*nNew);
    if( aNew==0 ) return;   /* NOTE: a later ROLLBACK TO keeps the total */
    p->aSave = aNew;
    p->nSaveAlloc = nNew;
  }
  for(i=p->nSave; i<=iSavepoint; i++) p->aSave[i] = p->iDelta;
  if( p->nSave<=iSavepoint ) p->nSave = iSavepoint+1;
}

void tenantQuotaRelease(TenantQuotaTable *pTab, int iSavepoint){
  QuotaFile *p = pTab->pFile;
  if( iSavepoint>=0 && iSavepoint<p->nSave ) p->nSave = iSavepoint;
}

void tenantQuotaRollbackTo(TenantQuotaTable *pTab, int iSavepoint){
  QuotaFile *p = pTab->pFile;
  if( iSavepoint<0 ){
    /* ROLLBACK TO the SAVEPOINT that began the transaction: SQLite passes
    ** -1, and every change of the transaction is undone. */
    p->iDelta = 0;
    p->nSave = 0;
  }else if( iSavepoint<p->nSave ){
    p->iDelta = p->aSave[iSavepoint];
    p->nSave = iSavepoint+1;
  }
}
