/*
** Measuring a customer's storage for tenant_storage_check() and the usage
** report: the total recorded in tenant_usage, or the size of a dedicated
** placement's files, and the same total recomputed from the rows with the
** estimate of quota.c.
**
** Each shared file is opened in a private connection as schema "f", with
** its derived key on a SQLCipher host. Measuring only reads it;
** tenant_storage_repair() also writes the customer's stored total.
*/
#include "tenant_int.h"
#include "vfscodec.h"
SQLITE_EXTENSION_INIT3

#include <assert.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* Bytes of zPath, 0 when it does not exist. */
static sqlite3_int64 quotaPathBytes(const char *zPath){
  struct stat st;
  return stat(zPath, &st)==0 ? (sqlite3_int64)st.st_size : 0;
}

/* ---- measuring a customer --------------------------------------------- */

/* The file that tenantQuotaMeasure() opened last, kept for the next call. */
typedef struct QuotaReader QuotaReader;
struct QuotaReader {
  sqlite3 *db;                  /* private connection, the file is "f" */
  char zPath[TENANT_MAX_PATH];
};

void tenantQuotaMeasureDone(void *pCache){
  QuotaReader *p = (QuotaReader*)pCache;
  if( p==0 ) return;
  sqlite3_close(p->db);
  sqlite3_free(p);
}

/* Open pFile as schema "f" of a private connection, with its key. */
static int quotaOpenFile(const TenantFile *pFile, sqlite3 **pDb,
                         char **pzErr){
  unsigned char aKey[TENANT_KEY_BYTES];
  char zKey[2*TENANT_KEY_BYTES+4];
  sqlite3_stmt *pStmt = 0;
  sqlite3 *db = 0;
  char *zUri = 0;
  int bVfsCodec = pFile->bEncrypted && !tenantHostHasCodec();
  int bKey = pFile->bEncrypted && !bVfsCodec;
  int rc;

  *pDb = 0;
  if( bVfsCodec && !tenantCodecAvailable() ){
    tenantSetError(pzErr, "placement file %s is encrypted and this host has "
        "no codec and is older than SQLite 3.34: measure it from the "
        "sqlcipher shell or a newer host", pFile->zKeyId);
    return SQLITE_ERROR;
  }
  if( access(pFile->zPath, F_OK)!=0 ){
    tenantSetError(pzErr, "placement file \"%s\" is missing: restore it from "
        "a backup", pFile->zPath);
    return SQLITE_CANTOPEN;
  }
  rc = sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE
                       | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, 0);
  if( rc==SQLITE_OK ) rc = sqlite3_busy_timeout(db, 5000);
  if( rc==SQLITE_OK ){
    rc = sqlite3_prepare_v2(db, bKey ? "ATTACH ?1 AS f KEY ?2"
                            : "ATTACH ?1 AS f", -1, &pStmt, 0);
  }
  if( rc==SQLITE_OK && bVfsCodec ){
    /* No codec in the host: the tenant VFS decrypts the file itself. */
    zUri = tenantVfsCodecUri(pFile->zPath);
    rc = zUri ? sqlite3_bind_text(pStmt, 1, zUri, -1, SQLITE_STATIC)
              : SQLITE_NOMEM;
  }else if( rc==SQLITE_OK ){
    sqlite3_bind_text(pStmt, 1, pFile->zPath, -1, SQLITE_STATIC);
  }
  if( rc==SQLITE_OK ){
    if( bKey ){
      rc = tenantKeyDerive(pFile->zKeyId, aKey, pzErr);
      if( rc==SQLITE_OK ){
        tenantKeyFormatRaw(aKey, zKey);
        sqlite3_bind_text(pStmt, 2, zKey, -1, SQLITE_STATIC);
      }
    }
  }
  if( rc==SQLITE_OK ){
    rc = sqlite3_step(pStmt);
    if( rc==SQLITE_DONE ) rc = SQLITE_OK;
  }
  sqlite3_finalize(pStmt);
  sqlite3_free(zUri);
  if( bKey ){
    tenantKeyWipe(aKey, sizeof(aKey));
    tenantKeyWipe(zKey, sizeof(zKey));
  }
  if( rc==SQLITE_OK ){
    rc = sqlite3_exec(db, "SELECT count(*) FROM f.sqlite_master", 0, 0, 0);
  }
  if( rc!=SQLITE_OK ){
    if( pzErr && *pzErr==0 ){
      tenantSetError(pzErr, "cannot open placement file \"%s\": %s",
          pFile->zPath, db ? sqlite3_errmsg(db) : "out of memory");
    }
    sqlite3_close(db);
    return rc;
  }
  *pDb = db;
  return SQLITE_OK;
}

/* State of quotaSumTable: where to add and what to read. */
typedef struct QuotaSum QuotaSum;
struct QuotaSum {
  sqlite3 *db;
  const char *zCustomer;
  sqlite3_int64 nBytes;
  char **pzErr;
};

/* Add the recomputed bytes of zTable's rows of the customer. */
static int quotaSumTable(void *pArg, const char *zTable){
  QuotaSum *pSum = (QuotaSum*)pArg;
  sqlite3_stmt *pStmt = 0;
  char *zExpr = 0;
  char *zSql;
  int rc;

  rc = tenantQuotaRowSql(pSum->db, "f", zTable, &zExpr);
  if( rc!=SQLITE_OK ){
    tenantSetError(pSum->pzErr, "table \"%s\" not found in its placement "
        "file: provision the partition again", zTable);
    return rc;
  }
  zSql = zExpr ? sqlite3_mprintf("SELECT total(%s) FROM f.\"%w\" WHERE "
                                 "customer_id=?1", zExpr, zTable) : 0;
  sqlite3_free(zExpr);
  if( zSql==0 ) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(pSum->db, zSql, -1, &pStmt, 0);
  sqlite3_free(zSql);
  if( rc==SQLITE_OK ){
    sqlite3_bind_text(pStmt, 1, pSum->zCustomer, -1, SQLITE_STATIC);
    if( sqlite3_step(pStmt)==SQLITE_ROW ){
      pSum->nBytes += (sqlite3_int64)sqlite3_column_double(pStmt, 0);
    }
    rc = sqlite3_finalize(pStmt);
  }
  if( rc!=SQLITE_OK ){
    tenantSetError(pSum->pzErr, "cannot recompute the storage of table "
        "\"%s\": %s", zTable, sqlite3_errmsg(pSum->db));
  }
  return rc;
}

/* Read tenant_usage.bytes of zCustomer in schema f, 0 when it has none. */
static int quotaReadStored(sqlite3 *db, const char *zCustomer,
                           sqlite3_int64 *pn){
  sqlite3_stmt *pStmt = 0;
  int rc;
  *pn = 0;
  rc = sqlite3_prepare_v2(db, "SELECT bytes FROM f." TENANT_USAGE_TABLE
                          " WHERE customer_id=?1", -1, &pStmt, 0);
  if( rc!=SQLITE_OK ){
    /* No tenant_usage yet: nothing was ever recorded. */
    sqlite3_finalize(pStmt);
    return SQLITE_OK;
  }
  sqlite3_bind_text(pStmt, 1, zCustomer, -1, SQLITE_STATIC);
  if( sqlite3_step(pStmt)==SQLITE_ROW ) *pn = sqlite3_column_int64(pStmt, 0);
  return sqlite3_finalize(pStmt);
}

int tenantQuotaMeasure(const char *zCustomer, int bRecompute,
                       TenantStorage *pOut, void **ppCache, char **pzErr){
  QuotaReader *pReader = (QuotaReader*)*ppCache;
  TenantPlan *pPlan;
  const TenantFile *pFile = 0;
  const char *zSlash;
  int rc;
  int i;

  memset(pOut, 0, sizeof(*pOut));
  pOut->nActual = -1;
  pPlan = sqlite3_malloc64(sizeof(*pPlan));
  if( pPlan==0 ) return SQLITE_NOMEM;
  rc = tenantPlanLoad(zCustomer, 0, pPlan, pzErr);
  if( rc!=SQLITE_OK ) goto measure_done;

  /* The customer's own file is the one its writable partitions are in. */
  for(i=0; i<pPlan->nReach && pFile==0; i++){
    if( !pPlan->aReach[i].bReadOnly ){
      pFile = &pPlan->aFile[pPlan->aReach[i].iFile];
    }
  }
  if( pFile==0 ){
    tenantSetError(pzErr, "customer \"%s\" has no writable partition",
                   zCustomer);
    rc = SQLITE_ERROR;
    goto measure_done;
  }
  zSlash = strchr(pFile->zKeyId, '/');
  sqlite3_snprintf(sizeof(pOut->zDatabase), pOut->zDatabase, "%.*s",
      zSlash ? (int)(zSlash-pFile->zKeyId) : (int)strlen(pFile->zKeyId),
      pFile->zKeyId);
  pOut->bShared = pFile->bShared;

  /* Dedicated: the size of the placement's files, journals included. */
  if( !pFile->bShared ){
    static const char *const azSuffix[] = { "", "-wal", "-journal", 0 };
    char zFolder[TENANT_MAX_PATH];
    const char *zEnd = strrchr(pFile->zPath, '/');
    int j;
    sqlite3_snprintf(sizeof(zFolder), zFolder, "%.*s",
        zEnd ? (int)(zEnd-pFile->zPath) : 0, pFile->zPath);
    for(i=0; i<2; i++){
      for(j=0; azSuffix[j]; j++){
        char zPath[TENANT_MAX_PATH];
        sqlite3_snprintf(sizeof(zPath), zPath, "%s/%s.db%s", zFolder,
                         i==0 ? "owner" : "private", azSuffix[j]);
        pOut->nStored += quotaPathBytes(zPath);
      }
    }
    if( bRecompute ) pOut->nActual = pOut->nStored;
    goto measure_done;
  }

  /* Shared: tenant_usage, and the rows when asked. */
  if( pReader==0 || strcmp(pReader->zPath, pFile->zPath)!=0 ){
    tenantQuotaMeasureDone(pReader);
    *ppCache = pReader = sqlite3_malloc64(sizeof(*pReader));
    if( pReader==0 ){
      rc = SQLITE_NOMEM;
      goto measure_done;
    }
    memset(pReader, 0, sizeof(*pReader));
    rc = quotaOpenFile(pFile, &pReader->db, pzErr);
    if( rc!=SQLITE_OK ){
      sqlite3_free(pReader);
      *ppCache = 0;
      goto measure_done;
    }
    memcpy(pReader->zPath, pFile->zPath, strlen(pFile->zPath)+1);
  }

  /* One read transaction, so the stored total and the rows agree. A
  ** savepoint, because tenant_storage_repair() measures inside its own
  ** write transaction. */
  sqlite3_exec(pReader->db, "SAVEPOINT measure", 0, 0, 0);
  rc = quotaReadStored(pReader->db, zCustomer, &pOut->nStored);
  if( rc==SQLITE_OK && bRecompute ){
    QuotaSum sum;
    sum.db = pReader->db;
    sum.zCustomer = zCustomer;
    sum.nBytes = 0;
    sum.pzErr = pzErr;
    for(i=0; rc==SQLITE_OK && i<pPlan->nReach; i++){
      const TenantReach *pReach = &pPlan->aReach[i];
      if( pReach->bReadOnly || &pPlan->aFile[pReach->iFile]!=pFile ) continue;
      rc = tenantCatalogTables(pReach->zPartition, quotaSumTable, &sum,
                               pzErr);
    }
    pOut->nActual = sum.nBytes;
  }
  sqlite3_exec(pReader->db, "RELEASE measure", 0, 0, 0);

measure_done:
  sqlite3_free(pPlan);
  return rc;
}

/* ---- repairing a customer's stored total ------------------------------ */

/*
** Set the stored storage total of zCustomer to the one recomputed from its
** rows, and write both into *pOut as they were before the change. Only a
** shared placement keeps a stored total: for a dedicated one this measures
** and changes nothing. The recount and the change run in one write
** transaction of the file, so a session's commit lands wholly before or
** wholly after them, and its later commits add to the repaired total.
*/
static int quotaRepair(const char *zCustomer, TenantStorage *pOut,
                       char **pzErr){
  void *pCache = 0;
  QuotaReader *pReader;
  sqlite3_stmt *pStmt = 0;
  int rc;

  rc = tenantQuotaMeasure(zCustomer, 0, pOut, &pCache, pzErr);
  if( rc!=SQLITE_OK || !pOut->bShared ){
    if( rc==SQLITE_OK ) pOut->nActual = pOut->nStored;
    tenantQuotaMeasureDone(pCache);
    return rc;
  }

  /* The measure left the file open: take its write lock, then count. */
  pReader = (QuotaReader*)pCache;
  assert( pReader!=0 );   /* a shared placement's file is kept open */
  rc = sqlite3_exec(pReader->db, "BEGIN IMMEDIATE", 0, 0, 0);
  if( rc==SQLITE_OK ) rc = tenantQuotaPrepareFile(pReader->db, "f", pzErr);
  if( rc==SQLITE_OK ){
    rc = tenantQuotaMeasure(zCustomer, 1, pOut, &pCache, pzErr);
    assert( pCache==(void*)pReader );   /* the same file, not reopened */
  }
  if( rc==SQLITE_OK ){
    rc = sqlite3_prepare_v2(pReader->db, "INSERT OR REPLACE INTO f."
        TENANT_USAGE_TABLE "(customer_id, bytes) VALUES(?1, ?2)", -1,
        &pStmt, 0);
  }
  if( rc==SQLITE_OK ){
    sqlite3_bind_text(pStmt, 1, zCustomer, -1, SQLITE_STATIC);
    sqlite3_bind_int64(pStmt, 2, pOut->nActual);
    sqlite3_step(pStmt);
    rc = sqlite3_finalize(pStmt);
  }
  if( rc==SQLITE_OK ) rc = sqlite3_exec(pReader->db, "COMMIT", 0, 0, 0);
  if( rc!=SQLITE_OK ){
    if( pzErr && *pzErr==0 ){
      tenantSetError(pzErr, "cannot repair the storage total of customer "
          "\"%s\": %s; retry when the placement file is not busy", zCustomer,
          sqlite3_errmsg(pReader->db));
    }
    sqlite3_exec(pReader->db, "ROLLBACK", 0, 0, 0);
  }
  tenantQuotaMeasureDone(pCache);
  return rc;
}

/*
** tenant_storage_repair(customer): set the customer's stored storage total
** (tenant_usage.bytes of its shared placement file) to the total that
** tenant_storage_check() recomputes from its rows. Returns the correction
** in bytes, stored minus recomputed before the repair. It is 0 when there
** was no drift, and always for a dedicated placement, whose usage is the
** size of its files. Use it when tenant_storage_check() shows a
** difference, for example after writes made by older versions. An
** administrative function: a bound connection cannot call it.
*/
static void quotaRepairFunc(sqlite3_context *pCtx, int argc,
                            sqlite3_value **argv){
  const char *zCustomer = (const char*)sqlite3_value_text(argv[0]);
  TenantStorage st;
  char *zErr = 0;
  int rc;
  (void)argc;
  if( tenantAdminDenied(pCtx, "tenant_storage_repair") ) return;

  if( tenantSessionOf(sqlite3_context_db_handle(pCtx)) ){
    tenantResultError(pCtx, "tenant_storage_repair() is administrative: "
        "call it from a connection that is not bound to a customer");
    return;
  }
  if( tenantIdArgHasNul(pCtx, argv[0], "customer") ) return;
  if( zCustomer==0 || !tenantIdIsSafe(zCustomer) ){
    tenantResultError(pCtx, "customer id \"%.64s\" is invalid: use 1 to %d "
        "letters, digits, '_', '.' or '-'", zCustomer ? zCustomer : "NULL",
        TENANT_MAX_ID);
    return;
  }
  if( tenantCatalogRoot()==0 ){
    rc = tenantCatalogOpen(0, &zErr);
    if( rc!=SQLITE_OK ){
      tenantResultError(pCtx, "%s", zErr ? zErr : sqlite3_errstr(rc));
      sqlite3_free(zErr);
      return;
    }
  }

  rc = quotaRepair(zCustomer, &st, &zErr);
  if( rc!=SQLITE_OK ){
    tenantResultError(pCtx, "%s", zErr ? zErr : sqlite3_errstr(rc));
    sqlite3_free(zErr);
    return;
  }
  if( st.nStored!=st.nActual ){
    sqlite3_log(SQLITE_NOTICE, "tenant: storage total of customer %s in %s "
        "repaired from %lld to %lld bytes", zCustomer, st.zDatabase,
        st.nStored, st.nActual);
  }
  sqlite3_result_int64(pCtx, st.nStored - st.nActual);
}

/* Register tenant_storage_repair() on db. */
int tenantQuotaRepairRegister(sqlite3 *db){
  /* SQLITE_DIRECTONLY (3.30.0) keeps triggers and views from calling it. */
  int eFlags = SQLITE_UTF8 | (tenantHostVersion()>=3030000 ? 0x80000 : 0);
  return sqlite3_create_function(db, "tenant_storage_repair", 1, eFlags, 0,
                                 quotaRepairFunc, 0, 0);
}
