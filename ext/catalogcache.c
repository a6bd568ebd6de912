/*
** The per-process cache of routing plans and table lists, keyed by the
** catalog version (catalog.h).
**
** Every session that binds reads its customer's plan (tenantPlanLoad) and
** the tables of its partitions (tenantCatalogTablesOf). Both change only
** when the catalog does, so the last CATALOG_CACHE_SLOTS of each are kept
** with the version they were read at, and served while the catalog's
** version stays the same. A plan is copied out whole, and a table list is
** copied into new arrays, so that callers own what they get.
**
** Every function here requires the catalog mutex (tenantCatalogEnter).
*/
#include "tenant_int.h"
#include "catalog.h"
SQLITE_EXTENSION_INIT3

#include <string.h>

/* Rows of usage_monthly that this process's meter wrote, which no plan or
** table list reads (tenantCatalogUsageWritten). */
static sqlite3_int64 catalogUsageWrites = 0;

void tenantCatalogUsageWritten(sqlite3_int64 nRow){
  catalogUsageWrites += nRow;
}

/* Read the current version into *pV. Requires the catalog mutex. */
int catalogVersionRead(CatalogVersion *pV){
  sqlite3_stmt *pStmt = catalogStmt(CATALOG_STMT_VERSION, 0);
  int rc;

  if( pStmt==0 ) return SQLITE_ERROR;
  rc = sqlite3_step(pStmt);
  if( rc==SQLITE_ROW ){
    pV->iData = sqlite3_column_int64(pStmt, 0);
    pV->nWrite = sqlite3_total_changes(sqlite3_db_handle(pStmt))
               - catalogUsageWrites;
    rc = SQLITE_OK;
  }else if( rc==SQLITE_DONE ){
    rc = SQLITE_ERROR;
  }
  sqlite3_reset(pStmt);
  return rc;
}

static int catalogVersionSame(const CatalogVersion *pA,
                              const CatalogVersion *pB){
  return pA->iData==pB->iData && pA->nWrite==pB->nWrite;
}

/*
** The last plans that tenantPlanLoad() built, by customer and agent, and
** the last table lists of tenantCatalogTablesOf(), by the list of
** partitions. Only successful reads are kept, so every error is read from
** the catalog again. Guarded by the catalog mutex, and freed when the
** catalog closes.
*/
#define CATALOG_CACHE_SLOTS 8

typedef struct CatalogPlanSlot CatalogPlanSlot;
struct CatalogPlanSlot {
  CatalogVersion v;
  TenantPlan plan;                     /* plan.zAgent is the key's agent */
};

typedef struct CatalogTablesSlot CatalogTablesSlot;
struct CatalogTablesSlot {
  CatalogVersion v;
  char *zKey;                          /* partition names, each ending '\n' */
  int nName;
  char **azName;                       /* table names */
  int *aiPartition;                    /* the partition of each, by index */
};

static CatalogPlanSlot *catalogPlanCache[CATALOG_CACHE_SLOTS];
static int catalogPlanNext = 0;        /* the slot the next plan replaces */
static CatalogTablesSlot *catalogTablesCache[CATALOG_CACHE_SLOTS];
static int catalogTablesNext = 0;

static void catalogTablesSlotFree(CatalogTablesSlot *pSlot){
  int i;
  if( pSlot==0 ) return;
  for(i=0; i<pSlot->nName; i++) sqlite3_free(pSlot->azName[i]);
  sqlite3_free(pSlot->azName);
  sqlite3_free(pSlot->aiPartition);
  sqlite3_free(pSlot->zKey);
  sqlite3_free(pSlot);
}

/* Free both caches. Requires the catalog mutex. */
void catalogCacheClear(void){
  int i;
  for(i=0; i<CATALOG_CACHE_SLOTS; i++){
    sqlite3_free(catalogPlanCache[i]);
    catalogPlanCache[i] = 0;
    catalogTablesSlotFree(catalogTablesCache[i]);
    catalogTablesCache[i] = 0;
  }
}

/* The cached plan of zCustomer and zAgent at version pV, or NULL. */
const TenantPlan *catalogPlanFind(const char *zCustomer,
                                  const char *zAgent,
                                  const CatalogVersion *pV){
  int i;
  if( zAgent==0 ) zAgent = "";
  for(i=0; i<CATALOG_CACHE_SLOTS; i++){
    CatalogPlanSlot *pSlot = catalogPlanCache[i];
    if( pSlot && catalogVersionSame(&pSlot->v, pV)
     && strcmp(pSlot->plan.zCustomer, zCustomer)==0
     && strcmp(pSlot->plan.zAgent, zAgent)==0 ){
      return &pSlot->plan;
    }
  }
  return 0;
}

/* Keep a copy of pPlan, read at version pV. A failed allocation only
** leaves the plan out of the cache. */
void catalogPlanKeep(const TenantPlan *pPlan, const CatalogVersion *pV){
  int iSlot = catalogPlanNext;
  int i;
  CatalogPlanSlot *pSlot;

  /* An older plan of the same customer and agent gives way first. */
  for(i=0; i<CATALOG_CACHE_SLOTS; i++){
    pSlot = catalogPlanCache[i];
    if( pSlot && strcmp(pSlot->plan.zCustomer, pPlan->zCustomer)==0
     && strcmp(pSlot->plan.zAgent, pPlan->zAgent)==0 ){
      iSlot = i;
      break;
    }
  }
  if( iSlot==catalogPlanNext ){
    catalogPlanNext = (catalogPlanNext+1) % CATALOG_CACHE_SLOTS;
  }
  pSlot = catalogPlanCache[iSlot];
  if( pSlot==0 ){
    pSlot = sqlite3_malloc64(sizeof(*pSlot));
    if( pSlot==0 ) return;
    catalogPlanCache[iSlot] = pSlot;
  }
  pSlot->v = *pV;
  memcpy(&pSlot->plan, pPlan, sizeof(*pPlan));
}

/* The key of a list of partitions: each name followed by '\n'. */
char *catalogTablesKey(int nPartition, const char *const *azPartition){
  sqlite3_uint64 nKey = 1;
  char *zKey, *z;
  int i;

  for(i=0; i<nPartition; i++) nKey += strlen(azPartition[i]) + 1;
  zKey = z = sqlite3_malloc64(nKey);
  if( zKey==0 ) return 0;
  for(i=0; i<nPartition; i++){
    size_t n = strlen(azPartition[i]);
    memcpy(z, azPartition[i], n);
    z += n;
    *z++ = '\n';
  }
  *z = 0;
  return zKey;
}

/* Copy the names and partitions of pSlot into new arrays. */
static int catalogTablesCopy(const CatalogTablesSlot *pSlot, char ***pazName,
                             int **paiPartition){
  sqlite3_uint64 n = pSlot->nName>0 ? (sqlite3_uint64)pSlot->nName : 1;
  char **azName = sqlite3_malloc64(sizeof(char*)*n);
  int *aiPartition = sqlite3_malloc64(sizeof(int)*n);
  int i, rc = SQLITE_OK;

  if( azName ) memset(azName, 0, sizeof(char*)*n);
  if( azName==0 || aiPartition==0 ) rc = SQLITE_NOMEM;
  for(i=0; i<pSlot->nName && rc==SQLITE_OK; i++){
    azName[i] = sqlite3_mprintf("%s", pSlot->azName[i]);
    if( azName[i]==0 ) rc = SQLITE_NOMEM;
    aiPartition[i] = pSlot->aiPartition[i];
  }
  if( rc!=SQLITE_OK && azName ){
    for(i=0; i<pSlot->nName; i++) sqlite3_free(azName[i]);
    sqlite3_free(azName);
    sqlite3_free(aiPartition);
    azName = 0;
    aiPartition = 0;
  }
  *pazName = azName;
  *paiPartition = aiPartition;
  return rc;
}

/* Copy the cached table list of zKey read at version pV into new arrays.
** Return SQLITE_NOTFOUND when no such list is cached. */
int catalogTablesFind(const char *zKey, const CatalogVersion *pV,
                      int *pnName, char ***pazName, int **paiPartition){
  CatalogTablesSlot *pHit = 0;
  int rc;
  int i;

  for(i=0; i<CATALOG_CACHE_SLOTS; i++){
    CatalogTablesSlot *pSlot = catalogTablesCache[i];
    if( pSlot && catalogVersionSame(&pSlot->v, pV)
     && strcmp(pSlot->zKey, zKey)==0 ){
      pHit = pSlot;
      break;
    }
  }
  if( pHit==0 ) return SQLITE_NOTFOUND;
  rc = catalogTablesCopy(pHit, pazName, paiPartition);
  if( rc==SQLITE_OK ) *pnName = pHit->nName;
  return rc;
}

/* Keep a copy of a table list read at version pV under zKey, which the
** cache then owns. A failed allocation only leaves the list out. */
void catalogTablesKeep(char *zKey, int nName, char **azName,
                       int *aiPartition, const CatalogVersion *pV){
  CatalogTablesSlot tmp;
  CatalogTablesSlot *pSlot = sqlite3_malloc64(sizeof(*pSlot));
  int iSlot = catalogTablesNext;
  int i;

  if( pSlot==0 ){
    sqlite3_free(zKey);
    return;
  }
  memset(pSlot, 0, sizeof(*pSlot));
  pSlot->zKey = zKey;
  tmp.nName = nName;
  tmp.azName = azName;
  tmp.aiPartition = aiPartition;
  if( catalogTablesCopy(&tmp, &pSlot->azName, &pSlot->aiPartition)
      !=SQLITE_OK ){
    catalogTablesSlotFree(pSlot);
    return;
  }
  pSlot->nName = nName;
  pSlot->v = *pV;

  /* An older list of the same partitions gives way first. */
  for(i=0; i<CATALOG_CACHE_SLOTS; i++){
    if( catalogTablesCache[i]
     && strcmp(catalogTablesCache[i]->zKey, pSlot->zKey)==0 ){
      iSlot = i;
      break;
    }
  }
  if( iSlot==catalogTablesNext ){
    catalogTablesNext = (catalogTablesNext+1) % CATALOG_CACHE_SLOTS;
  }
  catalogTablesSlotFree(catalogTablesCache[iSlot]);
  catalogTablesCache[iSlot] = pSlot;
}
