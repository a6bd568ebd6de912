/*
** The application tables of partitions, as the catalog lists them:
** tenantCatalogTablesOf() for several partitions at once, with a cache
** per catalog version (catalogcache.c), and tenantCatalogTables() for one.
*/
#include "tenant_int.h"
#include "catalog.h"
SQLITE_EXTENSION_INIT3

int tenantCatalogTablesOf(
  int nPartition,
  const char *const *azPartition,
  int (*xEach)(void *pArg, int iPartition, const char *zTable),
  void *pArg,
  char **pzErr
){
  sqlite3 *db;
  sqlite3_stmt *pStmt;
  char **azName = 0;    /* table names, copied so xEach runs unlocked */
  int *aiPartition = 0; /* the index in azPartition of each name */
  int nName = 0;
  int nAlloc = 0;
  char *zKey;
  CatalogVersion v;
  int bVersion;
  int bTxn = 0;
  int rc = SQLITE_OK;
  int i;

  rc = tenantCatalogOpen(0, pzErr);
  if( rc!=SQLITE_OK ) return rc;
  zKey = catalogTablesKey(nPartition, azPartition);
  if( zKey==0 ) return SQLITE_NOMEM;
  db = tenantCatalogEnter();
  if( db==0 ){
    sqlite3_free(zKey);
    return SQLITE_MISUSE;
  }

  /* The lists read at the catalog's current version are used again, as
  ** plans are in tenantPlanLoad(). */
  bVersion = catalogVersionRead(&v)==SQLITE_OK;
  if( bVersion ){
    rc = catalogTablesFind(zKey, &v, &nName, &azName, &aiPartition);
    if( rc!=SQLITE_NOTFOUND ){
      tenantCatalogLeave();
      sqlite3_free(zKey);
      goto tables_each;
    }
    rc = SQLITE_OK;
  }

  /* One read transaction for all the partitions: one snapshot, and the
  ** WAL read lock taken once instead of twice per partition. */
  if( nPartition>1 && sqlite3_get_autocommit(db) ){
    bTxn = sqlite3_exec(db, "BEGIN", 0, 0, 0)==SQLITE_OK;
  }

  for(i=0; i<nPartition && rc==SQLITE_OK; i++){
    const char *zPartition = azPartition[i];
    int nOfPartition = 0;

    /* The partition's default table comes first, then its application
    ** tables by name. */
    pStmt = catalogStmt(CATALOG_STMT_PARTITION, pzErr);
    if( pStmt==0 ){
      rc = SQLITE_ERROR;
      break;
    }
    sqlite3_bind_text(pStmt, 1, zPartition, -1, SQLITE_STATIC);
    rc = sqlite3_step(pStmt);
    if( rc!=SQLITE_ROW ){
      if( rc!=SQLITE_DONE ){
        rc = catalogStepError(pStmt, pzErr);
        break;
      }
      sqlite3_reset(pStmt);
      tenantSetError(pzErr, "unknown partition \"%s\": see the partitions "
          "table of the catalog", zPartition);
      rc = SQLITE_NOTFOUND;
      break;
    }
    sqlite3_reset(pStmt);

    pStmt = catalogStmt(CATALOG_STMT_APPTABLES, pzErr);
    if( pStmt==0 ){
      rc = SQLITE_ERROR;
      break;
    }
    sqlite3_bind_text(pStmt, 1, zPartition, -1, SQLITE_STATIC);
    rc = SQLITE_ROW;
    while( rc==SQLITE_ROW ){
      const char *zName = nOfPartition==0 ? zPartition : 0;
      if( zName==0 ){
        rc = sqlite3_step(pStmt);
        if( rc!=SQLITE_ROW ) break;
        zName = (const char*)sqlite3_column_text(pStmt, 0);
      }
      if( nName>=nAlloc ){
        char **azNew;
        int *aiNew;
        nAlloc = nAlloc ? nAlloc*2 : 16;
        azNew = sqlite3_realloc64(azName,
                                  sizeof(char*)*(sqlite3_uint64)nAlloc);
        if( azNew ) azName = azNew;
        aiNew = sqlite3_realloc64(aiPartition,
                                  sizeof(int)*(sqlite3_uint64)nAlloc);
        if( aiNew ) aiPartition = aiNew;
        if( azNew==0 || aiNew==0 ){
          rc = SQLITE_NOMEM;
          break;
        }
      }
      azName[nName] = sqlite3_mprintf("%s", zName);
      if( azName[nName]==0 ){
        rc = SQLITE_NOMEM;
        break;
      }
      aiPartition[nName] = i;
      nName++;
      nOfPartition++;
    }
    if( rc==SQLITE_DONE ){
      sqlite3_reset(pStmt);
      rc = SQLITE_OK;
    }else if( rc!=SQLITE_NOMEM ){
      rc = catalogStepError(pStmt, pzErr);
    }else{
      sqlite3_reset(pStmt);
    }
  }

  if( bTxn ) sqlite3_exec(db, "COMMIT", 0, 0, 0);
  if( rc==SQLITE_OK && bVersion ){
    catalogTablesKeep(zKey, nName, azName, aiPartition, &v);
    zKey = 0;
  }
  tenantCatalogLeave();
  sqlite3_free(zKey);

tables_each:
  for(i=0; i<nName; i++){
    if( rc==SQLITE_OK ) rc = xEach(pArg, aiPartition[i], azName[i]);
    sqlite3_free(azName[i]);
  }
  sqlite3_free(azName);
  sqlite3_free(aiPartition);
  return rc;
}

/* The callback of tenantCatalogTables(), which has one partition. */
typedef struct CatalogTablesOne CatalogTablesOne;
struct CatalogTablesOne {
  int (*xEach)(void *pArg, const char *zTable);
  void *pArg;
};

static int catalogTablesOne(void *pArg, int iPartition, const char *zTable){
  CatalogTablesOne *pOne = (CatalogTablesOne*)pArg;
  (void)iPartition;
  return pOne->xEach(pOne->pArg, zTable);
}

int tenantCatalogTables(
  const char *zPartition,
  int (*xEach)(void *pArg, const char *zTable),
  void *pArg,
  char **pzErr
){
  CatalogTablesOne one;
  one.xEach = xEach;
  one.pArg = pArg;
  return tenantCatalogTablesOf(1, &zPartition, catalogTablesOne, &one, pzErr);
}
