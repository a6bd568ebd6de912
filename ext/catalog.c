/*
** The catalog: the control database of one root folder, and the routing
** plans built from it.
**
** A process serves one root folder. The root contains catalog.db, a plain
** SQLite database in WAL mode that stores no key material, and one folder
** per project with one folder per placement (database) inside:
**
**     <root>/catalog.db
**     <root>/<project>/<database>/owner.db      partitions 1-6, or Onyx's 3
**     <root>/<project>/<database>/private.db    partitions 7-12, Sapphire only
**
** The extension keeps one private connection to catalog.db, opened through
** the default VFS and serialised by the static mutex SQLITE_MUTEX_STATIC_APP1
** (tenantCatalogEnter/Leave). Other processes on the same root share the
** database through SQLite's own locking, with a busy timeout of 5 seconds.
**
** tenantPlanLoad() turns the catalog rows of one customer into the files and
** partitions a session attaches. Who reaches what:
**   Sapphire C: owner.db and private.db of its own database, read-write.
**   Opal C, parent P: partitions 1-6 in d1-opal-P-<region>/owner.db
**     read-write; 7-12 in P's private.db read-only. Both files are shared.
**   Onyx C, parent P: Onyx's partitions in its regional owner.db read-write;
**     4-6 in P's owner.db and 7-12 in P's private.db read-only. All shared.
**
** LIMITATIONS: the catalog mutex is not recursive. Code that holds it must
** not call tenantCatalogOpen(), tenantPlanLoad(), tenantPlanResolve() or
** tenantCatalogTables(), which take it themselves.
*/
#include "tenant_int.h"
SQLITE_EXTENSION_INIT3

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

/*
** The catalog schema. Seed rows use INSERT OR IGNORE, so an operator's
** changes to policy and regions survive the next open.
**
** placements.path is the absolute folder of the customer's own database as
** it was provisioned, for operators to read. The extension rebuilds the
** folder as <root>/<project>/<database> under the root in use.
** placements.onyx_instance is the 1-based Onyx instance of an Onyx customer
** and NULL for the other tiers. app_tables.physical_ddl is the statement
** that creates the table in a file, with customer_id added.
*/
static const char catalogSchema[] =
  "CREATE TABLE IF NOT EXISTS policy("
  "  tier TEXT PRIMARY KEY,"
  "  storage_limit_bytes INTEGER,"          /* NULL: unlimited */
  "  backup_frequency TEXT NOT NULL,"
  "  compliance TEXT NOT NULL,"
  "  price_usd NUMERIC NOT NULL,"
  "  audit_retention_years INTEGER NOT NULL,"
  "  encrypted INTEGER NOT NULL DEFAULT 1,"  /* 0: development fleet */
  "  journal_mode TEXT NOT NULL DEFAULT 'wal'"  /* of files built later */
  "    CHECK(journal_mode IN ('wal','delete'))"
  ");"
  "INSERT OR IGNORE INTO policy(tier, storage_limit_bytes, backup_frequency,"
  "  compliance, price_usd, audit_retention_years, encrypted) VALUES"
  "  ('sapphire', NULL, 'hourly', 'SOC2,GDPR,HIPAA', 1000, 7, 1),"
  "  ('opal', 100000000000, 'daily', 'SOC2,GDPR', 200, 3, 1),"
  "  ('onyx', 10000000000, 'weekly', 'Basic-GDPR', 50, 1, 1);"

  "CREATE TABLE IF NOT EXISTS regions("
  "  id TEXT PRIMARY KEY,"
  "  opal_instances INTEGER NOT NULL,"
  "  onyx_instances INTEGER NOT NULL CHECK(onyx_instances>=1)"
  ");"
  "INSERT OR IGNORE INTO regions VALUES"
  "  ('us-west1', 5, 2), ('us-central1', 3, 2), ('eu-west1', 2, 1);"

  "CREATE TABLE IF NOT EXISTS partitions("
  "  name TEXT PRIMARY KEY,"
  "  number INTEGER NOT NULL,"
  "  scheme TEXT NOT NULL CHECK(scheme IN ('standard','onyx')),"
  "  file TEXT NOT NULL CHECK(file IN ('owner','private')),"
  "  UNIQUE(scheme, number)"
  ");"
  "INSERT OR IGNORE INTO partitions VALUES"
  "  ('communications_data', 1, 'standard', 'owner'),"
  "  ('bidsuite_opportunities', 2, 'standard', 'owner'),"
  "  ('customer_relationships', 3, 'standard', 'owner'),"
  "  ('workflow_automations', 4, 'standard', 'owner'),"
  "  ('roi_tracking_metrics', 5, 'standard', 'owner'),"
  "  ('academy_progress', 6, 'standard', 'owner'),"
  "  ('internal_analytics', 7, 'standard', 'private'),"
  "  ('behavioral_patterns', 8, 'standard', 'private'),"
  "  ('optimization_models', 9, 'standard', 'private'),"
  "  ('learning_algorithms', 10, 'standard', 'private'),"
  "  ('recommendation_engine', 11, 'standard', 'private'),"
  "  ('wish_vision_clouds', 12, 'standard', 'private'),"
  "  ('basic_communications', 1, 'onyx', 'owner'),"
  "  ('limited_opportunities', 2, 'onyx', 'owner'),"
  "  ('simple_workflows', 3, 'onyx', 'owner');"

  "CREATE TABLE IF NOT EXISTS customers("
  "  id TEXT PRIMARY KEY,"
  "  tier TEXT NOT NULL,"
  "  region TEXT NOT NULL,"
  "  parent TEXT,"
  "  state TEXT NOT NULL"
  "    CHECK(state IN ('provisioning','active','decommissioning')),"
  "  created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP"
  ");"
  "CREATE INDEX IF NOT EXISTS customers_parent ON customers(parent);"

  "CREATE TABLE IF NOT EXISTS placements("
  "  customer TEXT PRIMARY KEY,"
  "  database TEXT NOT NULL,"
  "  project TEXT NOT NULL,"
  "  path TEXT NOT NULL,"
  "  onyx_instance INTEGER"
  ");"
  "CREATE INDEX IF NOT EXISTS placements_database ON placements(database);"

  "CREATE TABLE IF NOT EXISTS agents("
  "  customer TEXT NOT NULL,"
  "  id TEXT NOT NULL,"
  "  created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,"
  "  PRIMARY KEY(customer, id)"
  ");"

  /* Usage: API calls per customer and month (meter.c), upgrade thresholds
  ** and the dedicated price of the cost report per tier (report.c), and
  ** requests that make an Opal customer an upgrade candidate. */
  "CREATE TABLE IF NOT EXISTS usage_monthly("
  "  customer TEXT NOT NULL,"
  "  month TEXT NOT NULL,"                  /* 'YYYY-MM', UTC */
  "  api_calls INTEGER NOT NULL DEFAULT 0,"
  "  PRIMARY KEY(customer, month)"
  ");"
  "CREATE TABLE IF NOT EXISTS policy_usage("
  "  tier TEXT PRIMARY KEY,"
  "  upgrade_to TEXT,"                      /* NULL: no upgrade */
  "  upgrade_storage_bytes INTEGER,"        /* NULL: no such trigger */
  "  upgrade_api_calls INTEGER,"            /*   per calendar month */
  "  upgrade_agents INTEGER,"
  "  upgrade_on_request INTEGER NOT NULL DEFAULT 0,"
  "  dedicated_price_usd NUMERIC NOT NULL"  /* one dedicated database */
  ");"
  "INSERT OR IGNORE INTO policy_usage VALUES"
  "  ('sapphire', NULL, NULL, NULL, NULL, 0, 500),"
  "  ('opal', 'sapphire', 75000000000, 1000000, NULL, 1, 500),"
  "  ('onyx', 'opal', 8000000000, 100000, 25, 0, 500);"
  "CREATE TABLE IF NOT EXISTS customer_requests("
  "  customer TEXT PRIMARY KEY,"
  "  custom_integration INTEGER NOT NULL DEFAULT 0,"
  "  compliance TEXT NOT NULL DEFAULT ''"   /* e.g. 'HIPAA,SOX' */
  ");"

  "CREATE TABLE IF NOT EXISTS app_tables("
  "  name TEXT PRIMARY KEY COLLATE NOCASE,"
  "  partition TEXT NOT NULL,"
  "  ddl TEXT NOT NULL,"
  "  physical_ddl TEXT NOT NULL"
  ");";

/* The statements prepared once per catalog open, by index. */
#define CATALOG_STMT_CUSTOMER   0
#define CATALOG_STMT_PLACEMENT  1
#define CATALOG_STMT_ENCRYPTED  2
#define CATALOG_STMT_SCHEME     3
#define CATALOG_STMT_AGENT      4
#define CATALOG_STMT_APPTABLES  5
#define CATALOG_STMT_PARTITION  6
#define CATALOG_STMT_LIMIT      7
#define CATALOG_STMT_FOLDER     8
#define CATALOG_STMT_VERSION    9
#define CATALOG_N_STMT          10

static const char *const catalogStmtSql[CATALOG_N_STMT] = {
  "SELECT tier, region, coalesce(parent,''), state"
  "  FROM customers WHERE id=?1",
  "SELECT database, project FROM placements WHERE customer=?1",
  "SELECT encrypted FROM policy WHERE tier=?1",
  "SELECT name, number, file FROM partitions WHERE scheme=?1 ORDER BY number",
  "SELECT 1 FROM agents WHERE customer=?1 AND id=?2",
  "SELECT name FROM app_tables WHERE partition=?1 ORDER BY name",
  "SELECT scheme, file, number FROM partitions WHERE name=?1",
  "SELECT y.storage_limit_bytes, c.tier FROM customers c"
  "  JOIN policy y ON y.tier=c.tier WHERE c.id=?1",
  "SELECT c.id, y.storage_limit_bytes FROM placements p"
  "  JOIN customers c ON c.id=p.customer"
  "  JOIN policy y ON y.tier=c.tier"
  " WHERE p.database=?2 AND p.project=?1 AND c.tier='sapphire'",
  "PRAGMA data_version",
};

/* The process-wide catalog. Every member is guarded by the catalog mutex. */
static struct CatalogGlobal {
  sqlite3 *db;                          /* private connection, or NULL */
  char *zRoot;                          /* absolute root, sqlite3_malloc'd */
  sqlite3_stmt *apStmt[CATALOG_N_STMT]; /* prepared on first use */
} catalog;

static sqlite3_mutex *catalogMutex(void){
  return sqlite3_mutex_alloc(SQLITE_MUTEX_STATIC_APP1);
}

/*
** Return the hot statement iStmt, reset and with its bindings cleared, or
** NULL with *pzErr set. Requires the catalog mutex.
*/
static sqlite3_stmt *catalogStmt(int iStmt, char **pzErr){
  sqlite3_stmt *pStmt;
  assert( iStmt>=0 );
  assert( iStmt<CATALOG_N_STMT );
  assert( catalog.db!=0 );
  pStmt = catalog.apStmt[iStmt];
  if( pStmt==0 ){
    int rc = sqlite3_prepare_v2(catalog.db, catalogStmtSql[iStmt], -1,
                                &pStmt, 0);
    if( rc!=SQLITE_OK ){
      tenantSetError(pzErr, "catalog query failed: %s: check %s/catalog.db",
          sqlite3_errmsg(catalog.db), catalog.zRoot);
      return 0;
    }
    catalog.apStmt[iStmt] = pStmt;
  }
  sqlite3_reset(pStmt);
  sqlite3_clear_bindings(pStmt);
  return pStmt;
}

/* Record an error of the catalog connection after a failed step. */
static int catalogStepError(sqlite3_stmt *pStmt, char **pzErr){
  int rc = sqlite3_reset(pStmt);
  if( rc==SQLITE_OK ) rc = SQLITE_ERROR;
  tenantSetError(pzErr, "catalog query failed: %s: check %s/catalog.db",
      sqlite3_errmsg(catalog.db), catalog.zRoot);
  return rc;
}

/* ---- cached plans and table lists -------------------------------------- */

/*
** The state of the catalog as one read saw it. PRAGMA data_version changes
** when any other connection, of this process or another, commits to
** catalog.db. sqlite3_total_changes() counts the rows that this process's
** own catalog connection writes, and the meter's usage rows are taken off.
** A plan or table list read at one version is used again only while both
** numbers are the same.
*/
/* Rows of usage_monthly that this process's meter wrote, which no plan or
** table list reads (tenantCatalogUsageWritten). */
static sqlite3_int64 catalogUsageWrites = 0;

void tenantCatalogUsageWritten(sqlite3_int64 nRow){
  catalogUsageWrites += nRow;
}

typedef struct CatalogVersion CatalogVersion;
struct CatalogVersion {
  sqlite3_int64 iData;                 /* PRAGMA data_version */
  sqlite3_int64 nWrite;                /* sqlite3_total_changes() */
};

/* Read the current version into *pV. Requires the catalog mutex. */
static int catalogVersionRead(CatalogVersion *pV){
  sqlite3_stmt *pStmt = catalogStmt(CATALOG_STMT_VERSION, 0);
  int rc;

  if( pStmt==0 ) return SQLITE_ERROR;
  rc = sqlite3_step(pStmt);
  if( rc==SQLITE_ROW ){
    pV->iData = sqlite3_column_int64(pStmt, 0);
    pV->nWrite = sqlite3_total_changes(catalog.db) - catalogUsageWrites;
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
static void catalogCacheClear(void){
  int i;
  for(i=0; i<CATALOG_CACHE_SLOTS; i++){
    sqlite3_free(catalogPlanCache[i]);
    catalogPlanCache[i] = 0;
    catalogTablesSlotFree(catalogTablesCache[i]);
    catalogTablesCache[i] = 0;
  }
}

/* The cached plan of zCustomer and zAgent at version pV, or NULL. */
static const TenantPlan *catalogPlanFind(const char *zCustomer,
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
static void catalogPlanKeep(const TenantPlan *pPlan, const CatalogVersion *pV){
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
static char *catalogTablesKey(int nPartition, const char *const *azPartition){
  char *zKey = sqlite3_mprintf("%s", "");
  int i;
  for(i=0; i<nPartition && zKey; i++){
    zKey = sqlite3_mprintf("%z%s\n", zKey, azPartition[i]);
  }
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

/* Keep a copy of a table list read at version pV under zKey, which the
** cache then owns. A failed allocation only leaves the list out. */
static void catalogTablesKeep(char *zKey, int nName, char **azName,
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

int tenantIdIsSafe(const char *z){
  size_t i;
  if( z==0 || z[0]==0 ) return 0;
  if( strcmp(z, ".")==0 || strcmp(z, "..")==0 ) return 0;
  for(i=0; z[i]; i++){
    char c = z[i];
    int bOk = (c>='a' && c<='z') || (c>='A' && c<='Z') || (c>='0' && c<='9')
           || c=='_' || c=='.' || c=='-';
    if( !bOk || i>=TENANT_MAX_ID ) return 0;
  }
  return 1;
}

/*
** Create zDir and its missing parents, like "mkdir -p", with mode 0700
** for new folders because they hold customer data.
*/
static int catalogMkdirs(const char *zDir, char **pzErr){
  char zPath[TENANT_MAX_PATH];
  size_t n = strlen(zDir);
  size_t i;

  if( n==0 || n>=sizeof(zPath) ){
    tenantSetError(pzErr, "root folder \"%s\" is empty or longer than %d "
        "bytes: choose a shorter path", zDir, TENANT_MAX_PATH-1);
    return SQLITE_CANTOPEN;
  }
  memcpy(zPath, zDir, n+1);
  for(i=1; i<=n; i++){
    if( zPath[i]=='/' || zPath[i]==0 ){
      char c = zPath[i];
      zPath[i] = 0;
      if( mkdir(zPath, 0700)!=0 && errno!=EEXIST ){
        tenantSetError(pzErr, "cannot create folder \"%s\": %s: check the "
            "permissions of its parent folder", zPath, strerror(errno));
        return SQLITE_CANTOPEN;
      }
      zPath[i] = c;
    }
  }
  return SQLITE_OK;
}

/* Open the catalog database of zAbsRoot and create its schema. */
static int catalogOpenDb(const char *zAbsRoot, sqlite3 **pDb, char **pzErr){
  sqlite3 *db = 0;
  char *zFile;
  char *zMsg = 0;
  int rc;

  zFile = sqlite3_mprintf("%s/catalog.db", zAbsRoot);
  if( zFile==0 ) return SQLITE_NOMEM;
  rc = sqlite3_open_v2(zFile, &db,
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 0);
  if( rc==SQLITE_OK ) rc = sqlite3_busy_timeout(db, 5000);
  if( rc==SQLITE_OK ){
    rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL", 0, 0, &zMsg);
  }
  if( rc==SQLITE_OK ){
    rc = sqlite3_exec(db, "BEGIN IMMEDIATE", 0, 0, &zMsg);
    if( rc==SQLITE_OK ) rc = sqlite3_exec(db, catalogSchema, 0, 0, &zMsg);
    if( rc==SQLITE_OK ){
      rc = sqlite3_exec(db, "COMMIT", 0, 0, &zMsg);
    }else{
      sqlite3_exec(db, "ROLLBACK", 0, 0, 0);
    }
  }
  if( rc!=SQLITE_OK ){
    tenantSetError(pzErr, "cannot open catalog \"%s\": %s: check that the "
        "root folder is writable and the file is a SQLite database", zFile,
        zMsg ? zMsg : (db ? sqlite3_errmsg(db) : "out of memory"));
    sqlite3_log(rc, "tenant: cannot open catalog %s", zFile);
    sqlite3_close(db);
    db = 0;
  }
  sqlite3_free(zMsg);
  sqlite3_free(zFile);
  *pDb = db;
  return rc;
}

int tenantCatalogOpen(const char *zRoot, char **pzErr){
  char zAbs[PATH_MAX];
  sqlite3 *db = 0;
  int rc = SQLITE_OK;

  sqlite3_mutex_enter(catalogMutex());

  /* 1. An open catalog serves every call that names no root or the same
  **    root. 2. Any other root is an error, because the VFS and the
  **    sessions of this process already route through the open one. */
  if( catalog.db ){
    if( zRoot && zRoot[0]
     && (realpath(zRoot, zAbs)==0 || strcmp(zAbs, catalog.zRoot)!=0) ){
      tenantSetError(pzErr, "root \"%s\" differs from the root \"%s\" that "
          "this process already uses: serve each root from its own process",
          zRoot, catalog.zRoot);
      rc = SQLITE_MISUSE;
    }
    goto open_done;
  }

  if( zRoot==0 || zRoot[0]==0 ) zRoot = getenv("TENANT_ROOT");
  if( zRoot==0 || zRoot[0]==0 ) zRoot = "tenant-data";
  rc = catalogMkdirs(zRoot, pzErr);
  if( rc!=SQLITE_OK ) goto open_done;
  if( realpath(zRoot, zAbs)==0 ){
    tenantSetError(pzErr, "cannot resolve root folder \"%s\": %s",
        zRoot, strerror(errno));
    rc = SQLITE_CANTOPEN;
    goto open_done;
  }
  if( strlen(zAbs)>TENANT_MAX_PATH/2 ){
    tenantSetError(pzErr, "root folder \"%s\" is longer than %d bytes: "
        "choose a shorter path", zAbs, TENANT_MAX_PATH/2);
    rc = SQLITE_CANTOPEN;
    goto open_done;
  }

  rc = catalogOpenDb(zAbs, &db, pzErr);
  if( rc!=SQLITE_OK ) goto open_done;
  catalog.zRoot = sqlite3_mprintf("%s", zAbs);
  if( catalog.zRoot==0 ){
    sqlite3_close(db);
    rc = SQLITE_NOMEM;
    goto open_done;
  }
  catalog.db = db;
  sqlite3_log(SQLITE_NOTICE, "tenant: catalog open at %s", catalog.zRoot);

open_done:
  sqlite3_mutex_leave(catalogMutex());
  return rc;
}

sqlite3 *tenantCatalogEnter(void){
  sqlite3_mutex_enter(catalogMutex());
  if( catalog.db==0 ){
    sqlite3_mutex_leave(catalogMutex());
    return 0;
  }
  return catalog.db;
}

void tenantCatalogLeave(void){
  sqlite3_mutex_leave(catalogMutex());
}

const char *tenantCatalogRoot(void){
  return catalog.zRoot;
}

void tenantCatalogShutdown(void){
  int i;
  sqlite3_mutex_enter(catalogMutex());
  catalogCacheClear();
  for(i=0; i<CATALOG_N_STMT; i++){
    sqlite3_finalize(catalog.apStmt[i]);
    catalog.apStmt[i] = 0;
  }
  if( catalog.db ){
    sqlite3_close(catalog.db);
    catalog.db = 0;
  }
  sqlite3_free(catalog.zRoot);
  catalog.zRoot = 0;
  sqlite3_mutex_leave(catalogMutex());
}

/* ---- routing plans ---------------------------------------------------- */

/* Read the encrypted flag of zTier's policy into *pbEncrypted. */
static int planTierEncrypted(const char *zTier, int *pbEncrypted,
                             char **pzErr){
  sqlite3_stmt *pStmt = catalogStmt(CATALOG_STMT_ENCRYPTED, pzErr);
  int rc;
  if( pStmt==0 ) return SQLITE_ERROR;
  sqlite3_bind_text(pStmt, 1, zTier, -1, SQLITE_STATIC);
  rc = sqlite3_step(pStmt);
  if( rc==SQLITE_ROW ){
    *pbEncrypted = sqlite3_column_int(pStmt, 0)!=0;
    sqlite3_reset(pStmt);
    return SQLITE_OK;
  }
  if( rc!=SQLITE_DONE ) return catalogStepError(pStmt, pzErr);
  sqlite3_reset(pStmt);
  tenantSetError(pzErr, "tier \"%s\" has no policy row: restore it in the "
      "policy table of the catalog", zTier);
  return SQLITE_CORRUPT;
}

/*
** Add file zName ("owner" or "private") of the placement of zCustomer to
** the plan, or find it there. Sets *piFile to its index.
*/
static int planAddFile(
  TenantPlan *pPlan,
  const char *zCustomer,     /* customer whose placement contains the file */
  const char *zName,         /* "owner" or "private" */
  int bShared,
  int bEncrypted,
  int *piFile,
  char **pzErr
){
  sqlite3_stmt *pStmt;
  TenantFile *pFile;
  char zPath[TENANT_MAX_PATH];
  char zKeyId[sizeof(pFile->zKeyId)];
  int i, rc, nPath, nKey;

  pStmt = catalogStmt(CATALOG_STMT_PLACEMENT, pzErr);
  if( pStmt==0 ) return SQLITE_ERROR;
  sqlite3_bind_text(pStmt, 1, zCustomer, -1, SQLITE_STATIC);
  rc = sqlite3_step(pStmt);
  if( rc!=SQLITE_ROW ){
    if( rc!=SQLITE_DONE ) return catalogStepError(pStmt, pzErr);
    sqlite3_reset(pStmt);
    tenantSetError(pzErr, "customer \"%s\" has no placement in the catalog: "
        "run tenant_provision() for it again", zCustomer);
    return SQLITE_CORRUPT;
  }
  {
    /* The folder is rebuilt under the current root, never read back as
    ** stored, so that a copied or restored root uses its own files. */
    const char *zDatabase = (const char*)sqlite3_column_text(pStmt, 0);
    const char *zProject = (const char*)sqlite3_column_text(pStmt, 1);
    const char *zRoot = tenantCatalogRoot();
    nKey = (int)(strlen(zDatabase) + 1 + strlen(zName));
    nPath = (int)(strlen(zRoot) + strlen(zProject) + strlen(zDatabase)
                  + strlen(zName) + 6);
    if( nPath<(int)sizeof(zPath) && nKey<(int)sizeof(zKeyId) ){
      sqlite3_snprintf(sizeof(zPath), zPath, "%s/%s/%s/%s.db", zRoot,
                       zProject, zDatabase, zName);
      sqlite3_snprintf(sizeof(zKeyId), zKeyId, "%s/%s", zDatabase, zName);
    }
  }
  sqlite3_reset(pStmt);
  if( nPath>=(int)sizeof(zPath) || nKey>=(int)sizeof(zKeyId) ){
    tenantSetError(pzErr, "path of the placement of customer \"%s\" is "
        "too long: choose a shorter root folder", zCustomer);
    return SQLITE_CANTOPEN;
  }

  for(i=0; i<pPlan->nFile; i++){
    if( strcmp(pPlan->aFile[i].zPath, zPath)==0 ){
      *piFile = i;
      return SQLITE_OK;
    }
  }
  assert( pPlan->nFile<TENANT_MAX_FILES );  /* three files at most */
  pFile = &pPlan->aFile[pPlan->nFile];
  memcpy(pFile->zPath, zPath, (size_t)nPath+1);
  memcpy(pFile->zKeyId, zKeyId, strlen(zKeyId)+1);
  pFile->bShared = bShared;
  pFile->bEncrypted = bEncrypted;
  *piFile = pPlan->nFile++;
  return SQLITE_OK;
}

/*
** Add the partitions of zScheme to the plan: those of class zFile
** ("owner", "private" or NULL for both) numbered above iAbove, held by
** file iFile.
*/
static int planAddReach(
  TenantPlan *pPlan,
  const char *zScheme,
  const char *zFile,
  int iAbove,
  int iFile,
  int bReadOnly,
  char **pzErr
){
  sqlite3_stmt *pStmt = catalogStmt(CATALOG_STMT_SCHEME, pzErr);
  int rc;
  if( pStmt==0 ) return SQLITE_ERROR;
  sqlite3_bind_text(pStmt, 1, zScheme, -1, SQLITE_STATIC);
  while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
    const char *zName = (const char*)sqlite3_column_text(pStmt, 0);
    const char *zClass = (const char*)sqlite3_column_text(pStmt, 2);
    TenantReach *pReach;
    if( sqlite3_column_int(pStmt, 1)<=iAbove ) continue;
    if( zFile && strcmp(zClass, zFile)!=0 ) continue;
    if( pPlan->nReach>=TENANT_MAX_PARTITIONS
     || strlen(zName)>=sizeof(pReach->zPartition) ){
      sqlite3_reset(pStmt);
      tenantSetError(pzErr, "partition \"%s\" does not fit a session: keep "
          "at most %d partitions with names under %d bytes", zName,
          TENANT_MAX_PARTITIONS, (int)sizeof(pReach->zPartition));
      return SQLITE_TOOBIG;
    }
    pReach = &pPlan->aReach[pPlan->nReach++];
    memcpy(pReach->zPartition, zName, strlen(zName)+1);
    pReach->iFile = iFile;
    pReach->bReadOnly = bReadOnly;
  }
  if( rc!=SQLITE_DONE ) return catalogStepError(pStmt, pzErr);
  sqlite3_reset(pStmt);
  return SQLITE_OK;
}

/* Highest partition number of the Onyx scheme: the standard partitions
** above it are the ones an Onyx customer reaches through its parent. */
static int planOnyxTop(int *piTop, char **pzErr){
  sqlite3_stmt *pStmt = catalogStmt(CATALOG_STMT_SCHEME, pzErr);
  int rc;
  if( pStmt==0 ) return SQLITE_ERROR;
  *piTop = 0;
  sqlite3_bind_text(pStmt, 1, "onyx", -1, SQLITE_STATIC);
  while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
    int n = sqlite3_column_int(pStmt, 1);
    if( n>*piTop ) *piTop = n;
  }
  if( rc!=SQLITE_DONE ) return catalogStepError(pStmt, pzErr);
  sqlite3_reset(pStmt);
  return SQLITE_OK;
}

/*
** Build the plan of zCustomer in whatever state it is, and copy the state
** into zState (16 bytes). Requires the catalog mutex. Shared with
** provision.c, which declares it itself.
*/
int tenantPlanBuild(const char *zCustomer, TenantPlan *pPlan,
                    char *zState, char **pzErr);
int tenantPlanBuild(
  const char *zCustomer,
  TenantPlan *pPlan,
  char *zState,
  char **pzErr
){
  sqlite3_stmt *pStmt;
  int rc;
  int iOwn = 0, iParentOwner = 0, iParentPrivate = 0;
  int bEncOwn = 1, bEncParent = 1;
  int iTop = 0;

  memset(pPlan, 0, sizeof(*pPlan));
  if( !tenantIdIsSafe(zCustomer) ){
    tenantSetError(pzErr, "customer \"%s\" not found: customer ids are 1 to "
        "%d characters of letters, digits, '_', '.' and '-'",
        zCustomer, TENANT_MAX_ID);
    return SQLITE_NOTFOUND;
  }

  pStmt = catalogStmt(CATALOG_STMT_CUSTOMER, pzErr);
  if( pStmt==0 ) return SQLITE_ERROR;
  sqlite3_bind_text(pStmt, 1, zCustomer, -1, SQLITE_STATIC);
  rc = sqlite3_step(pStmt);
  if( rc!=SQLITE_ROW ){
    if( rc!=SQLITE_DONE ) return catalogStepError(pStmt, pzErr);
    sqlite3_reset(pStmt);
    tenantSetError(pzErr, "customer \"%s\" not found in the catalog of "
        "root %s: provision it with tenant_provision(), or set TENANT_ROOT "
        "to the root that holds it", zCustomer, tenantCatalogRoot());
    return SQLITE_NOTFOUND;
  }
  sqlite3_snprintf(sizeof(pPlan->zCustomer), pPlan->zCustomer, "%s",
      zCustomer);
  sqlite3_snprintf(sizeof(pPlan->zTier), pPlan->zTier, "%s",
      (const char*)sqlite3_column_text(pStmt, 0));
  sqlite3_snprintf(sizeof(pPlan->zRegion), pPlan->zRegion, "%s",
      (const char*)sqlite3_column_text(pStmt, 1));
  sqlite3_snprintf(sizeof(pPlan->zParent), pPlan->zParent, "%s",
      (const char*)sqlite3_column_text(pStmt, 2));
  sqlite3_snprintf(16, zState, "%s",
      (const char*)sqlite3_column_text(pStmt, 3));
  sqlite3_reset(pStmt);

  rc = planTierEncrypted(pPlan->zTier, &bEncOwn, pzErr);
  if( rc!=SQLITE_OK ) return rc;

  if( strcmp(pPlan->zTier, "sapphire")==0 ){
    rc = planAddFile(pPlan, zCustomer, "owner", 0, bEncOwn, &iOwn, pzErr);
    if( rc==SQLITE_OK ){
      rc = planAddFile(pPlan, zCustomer, "private", 0, bEncOwn,
                       &iParentPrivate, pzErr);
    }
    if( rc==SQLITE_OK ){
      rc = planAddReach(pPlan, "standard", "owner", 0, iOwn, 0, pzErr);
    }
    if( rc==SQLITE_OK ){
      rc = planAddReach(pPlan, "standard", "private", 0, iParentPrivate, 0,
                        pzErr);
    }
    return rc;
  }

  /* Opal and Onyx: the parent's files are the parent tier's, and always
  ** read-only and shared with the parent's other children. */
  if( pPlan->zParent[0]==0 ){
    tenantSetError(pzErr, "customer \"%s\" of tier \"%s\" has no parent in "
        "the catalog: set customers.parent to its Sapphire parent",
        zCustomer, pPlan->zTier);
    return SQLITE_CORRUPT;
  }
  rc = planTierEncrypted("sapphire", &bEncParent, pzErr);
  if( rc==SQLITE_OK ){
    rc = planAddFile(pPlan, zCustomer, "owner", 1, bEncOwn, &iOwn, pzErr);
  }
  if( rc!=SQLITE_OK ) return rc;

  if( strcmp(pPlan->zTier, "opal")==0 ){
    rc = planAddFile(pPlan, pPlan->zParent, "private", 1, bEncParent,
                     &iParentPrivate, pzErr);
    if( rc==SQLITE_OK ){
      rc = planAddReach(pPlan, "standard", "owner", 0, iOwn, 0, pzErr);
    }
    if( rc==SQLITE_OK ){
      rc = planAddReach(pPlan, "standard", "private", 0, iParentPrivate, 1,
                        pzErr);
    }
    return rc;
  }

  if( strcmp(pPlan->zTier, "onyx")==0 ){
    rc = planOnyxTop(&iTop, pzErr);
    if( rc==SQLITE_OK ){
      rc = planAddFile(pPlan, pPlan->zParent, "owner", 1, bEncParent,
                       &iParentOwner, pzErr);
    }
    if( rc==SQLITE_OK ){
      rc = planAddFile(pPlan, pPlan->zParent, "private", 1, bEncParent,
                       &iParentPrivate, pzErr);
    }
    if( rc==SQLITE_OK ){
      rc = planAddReach(pPlan, "onyx", 0, 0, iOwn, 0, pzErr);
    }
    if( rc==SQLITE_OK ){
      rc = planAddReach(pPlan, "standard", "owner", iTop, iParentOwner, 1,
                        pzErr);
    }
    if( rc==SQLITE_OK ){
      rc = planAddReach(pPlan, "standard", "private", iTop, iParentPrivate,
                        1, pzErr);
    }
    return rc;
  }

  tenantSetError(pzErr, "customer \"%s\" has unknown tier \"%s\" in the "
      "catalog: use sapphire, opal or onyx", zCustomer, pPlan->zTier);
  return SQLITE_CORRUPT;
}

int tenantPlanLoad(
  const char *zCustomer,
  const char *zAgent,
  TenantPlan *pPlan,
  char **pzErr
){
  char zState[16];
  sqlite3 *db;
  CatalogVersion v;
  int bVersion;
  int bTxn = 0;
  int rc;

  rc = tenantCatalogOpen(0, pzErr);
  if( rc!=SQLITE_OK ) return rc;
  db = tenantCatalogEnter();
  if( db==0 ) return SQLITE_MISUSE;

  /* A plan read at the catalog's current version is used again. The
  ** version is read before the plan, so that a write between the two
  ** leaves a plan newer than its version, which is only read again. */
  bVersion = catalogVersionRead(&v)==SQLITE_OK;
  if( bVersion ){
    const TenantPlan *pCached = catalogPlanFind(zCustomer, zAgent, &v);
    if( pCached ){
      memcpy(pPlan, pCached, sizeof(*pPlan));
      tenantCatalogLeave();
      return SQLITE_OK;
    }
  }

  /* One read transaction for every query of the plan: a consistent
  ** snapshot, and the WAL read lock taken once instead of per query. */
  if( sqlite3_get_autocommit(db) ){
    bTxn = sqlite3_exec(db, "BEGIN", 0, 0, 0)==SQLITE_OK;
  }

  /* The state decides first: a half-provisioned customer may lack the
  ** placement rows that building its plan reads. */
  zState[0] = 0;
  rc = tenantPlanBuild(zCustomer, pPlan, zState, pzErr);
  if( rc!=SQLITE_NOTFOUND && strcmp(zState, "provisioning")==0 ){
    tenantSetError(pzErr, "customer \"%s\" is still being provisioned: "
        "call tenant_provision() with the same arguments to finish it",
        zCustomer);
    rc = SQLITE_BUSY;
  }else if( rc!=SQLITE_NOTFOUND && zState[0]
         && strcmp(zState, "active")!=0 ){
    tenantSetError(pzErr, "customer \"%s\" is being decommissioned: "
        "call tenant_decommission('%s') to finish it", zCustomer, zCustomer);
    rc = SQLITE_BUSY;
  }

  if( rc==SQLITE_OK && zAgent && zAgent[0] ){
    sqlite3_stmt *pStmt = catalogStmt(CATALOG_STMT_AGENT, pzErr);
    if( pStmt==0 ){
      rc = SQLITE_ERROR;
    }else{
      sqlite3_bind_text(pStmt, 1, zCustomer, -1, SQLITE_STATIC);
      sqlite3_bind_text(pStmt, 2, zAgent, -1, SQLITE_STATIC);
      rc = sqlite3_step(pStmt);
      if( rc==SQLITE_ROW ){
        sqlite3_reset(pStmt);
        sqlite3_snprintf(sizeof(pPlan->zAgent), pPlan->zAgent, "%s", zAgent);
        rc = SQLITE_OK;
      }else if( rc==SQLITE_DONE ){
        sqlite3_reset(pStmt);
        tenantSetError(pzErr, "agent \"%s\" not found for customer \"%s\": "
            "add it with tenant_add_agent()", zAgent, zCustomer);
        rc = SQLITE_NOTFOUND;
      }else{
        rc = catalogStepError(pStmt, pzErr);
      }
    }
  }

  if( bTxn ) sqlite3_exec(db, "COMMIT", 0, 0, 0);
  if( rc==SQLITE_OK && bVersion ) catalogPlanKeep(pPlan, &v);
  tenantCatalogLeave();
  if( rc!=SQLITE_OK ) memset(pPlan, 0, sizeof(*pPlan));
  return rc;
}

int tenantPlanResolve(
  const char *zLogical,
  char *zOut,
  int nOut,
  char **pzErr
){
  char zCustomer[TENANT_MAX_ID+1];
  const char *zSlash = strchr(zLogical, '/');
  const char *zPartition;
  TenantPlan *pPlan;
  int rc;
  int i;

  if( zSlash==0 || zSlash==zLogical || zSlash-zLogical>TENANT_MAX_ID ){
    tenantSetError(pzErr, "invalid logical name \"%s\": "
        "use \"<customer>/<partition>\"", zLogical);
    return SQLITE_CANTOPEN;
  }
  memcpy(zCustomer, zLogical, (size_t)(zSlash-zLogical));
  zCustomer[zSlash-zLogical] = 0;
  zPartition = zSlash+1;

  /* A plan is about 19 KB, so it stays off the stack of the VFS method. */
  pPlan = sqlite3_malloc64(sizeof(*pPlan));
  if( pPlan==0 ) return SQLITE_NOMEM;
  rc = tenantPlanLoad(zCustomer, 0, pPlan, pzErr);
  if( rc==SQLITE_OK ){
    rc = SQLITE_NOTFOUND;
    for(i=0; i<pPlan->nReach; i++){
      if( strcmp(pPlan->aReach[i].zPartition, zPartition)==0 ){
        const char *zPath = pPlan->aFile[pPlan->aReach[i].iFile].zPath;
        if( (int)strlen(zPath)>=nOut ){
          tenantSetError(pzErr, "path of \"%s\" is longer than %d bytes: "
              "choose a shorter root folder", zLogical, nOut-1);
          rc = SQLITE_CANTOPEN;
        }else{
          memcpy(zOut, zPath, strlen(zPath)+1);
          rc = SQLITE_OK;
        }
        break;
      }
    }
    if( rc==SQLITE_NOTFOUND ){
      tenantSetError(pzErr, "customer \"%s\" does not reach partition "
          "\"%s\": use one of the partitions of its tier (%s)",
          zCustomer, zPartition, pPlan->zTier);
    }
  }
  sqlite3_free(pPlan);
  return rc;
}

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
  CatalogTablesSlot *pHit = 0;
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
  for(i=0; bVersion && i<CATALOG_CACHE_SLOTS; i++){
    CatalogTablesSlot *pSlot = catalogTablesCache[i];
    if( pSlot && catalogVersionSame(&pSlot->v, &v)
     && strcmp(pSlot->zKey, zKey)==0 ){
      pHit = pSlot;
      break;
    }
  }
  if( pHit ){
    rc = catalogTablesCopy(pHit, &azName, &aiPartition);
    if( rc==SQLITE_OK ) nName = pHit->nName;
    tenantCatalogLeave();
    sqlite3_free(zKey);
    goto tables_each;
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

sqlite3_int64 tenantCatalogWrites(void){
  sqlite3_int64 n = 0;
  sqlite3 *db = tenantCatalogEnter();
  if( db ){
    n = sqlite3_total_changes(db);
    tenantCatalogLeave();
  }
  return n;
}

int tenantCatalogLimit(const char *zCustomer, sqlite3_int64 *piLimit,
                       char *zTier, int nTier){
  sqlite3_stmt *pStmt;
  int rc;
  *piLimit = -1;
  if( tenantCatalogEnter()==0 ) return SQLITE_MISUSE;
  pStmt = catalogStmt(CATALOG_STMT_LIMIT, 0);
  if( pStmt==0 ){
    tenantCatalogLeave();
    return SQLITE_ERROR;
  }
  sqlite3_bind_text(pStmt, 1, zCustomer, -1, SQLITE_STATIC);
  rc = sqlite3_step(pStmt);
  if( rc==SQLITE_ROW ){
    if( sqlite3_column_type(pStmt, 0)!=SQLITE_NULL ){
      *piLimit = sqlite3_column_int64(pStmt, 0);
    }
    sqlite3_snprintf(nTier, zTier, "%s", sqlite3_column_text(pStmt, 1));
    rc = SQLITE_OK;
  }else if( rc==SQLITE_DONE ){
    rc = SQLITE_OK;
  }
  sqlite3_reset(pStmt);
  tenantCatalogLeave();
  return rc;
}

int tenantCatalogFolderLimit(const char *zProject, const char *zDatabase,
                             char *zCustomer, int nCustomer,
                             sqlite3_int64 *piLimit){
  sqlite3_stmt *pStmt;
  int rc;

  zCustomer[0] = 0;
  *piLimit = -1;
  if( tenantCatalogEnter()==0 ) return SQLITE_MISUSE;
  pStmt = catalogStmt(CATALOG_STMT_FOLDER, 0);
  if( pStmt==0 ){
    tenantCatalogLeave();
    return SQLITE_ERROR;
  }
  sqlite3_bind_text(pStmt, 1, zProject, -1, SQLITE_STATIC);
  sqlite3_bind_text(pStmt, 2, zDatabase, -1, SQLITE_STATIC);
  rc = sqlite3_step(pStmt);
  if( rc==SQLITE_ROW ){
    sqlite3_snprintf(nCustomer, zCustomer, "%s", sqlite3_column_text(pStmt, 0));
    if( sqlite3_column_type(pStmt, 1)!=SQLITE_NULL ){
      *piLimit = sqlite3_column_int64(pStmt, 1);
    }
    rc = SQLITE_OK;
  }else if( rc==SQLITE_DONE ){
    rc = SQLITE_OK;
  }
  sqlite3_reset(pStmt);
  tenantCatalogLeave();
  return rc;
}
