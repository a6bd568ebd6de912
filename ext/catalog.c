/*
** The catalog: the control database of one root folder, its connection,
** schema and hot statements.
**
** A process serves one root folder. The root contains catalog.db, a plain
** SQLite database in WAL mode that stores no key material, and one folder
** per project with one folder per placement (database) inside:
**
**     <root>/catalog.db
**     <root>/catalog.db-epoch                   change counter (catalogepoch.c)
**     <root>/<project>/<database>/owner.db      partitions 1-6, or Onyx's 3
**     <root>/<project>/<database>/private.db    partitions 7-12, Sapphire only
**
** The extension keeps one private connection to catalog.db, opened through
** the default VFS and serialised by the static mutex SQLITE_MUTEX_STATIC_APP1
** (tenantCatalogEnter/Leave). Other processes on the same root share the
** database through SQLite's own locking, with a busy timeout of 5 seconds.
**
** The routing plans built from the catalog are in catalogplan.c, and the
** per-process cache of plans and table lists in catalogcache.c. Both reach
** the hot statements below through catalog.h.
**
** LIMITATIONS: the catalog mutex is not recursive. Code that holds it must
** not call tenantCatalogOpen(), tenantPlanLoad(), tenantPlanResolve() or
** tenantCatalogTables(), which take it themselves.
*/
#include "tenant_int.h"
#include "catalog.h"
SQLITE_EXTENSION_INIT3

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

  /* The generation of each provisioning of a customer id (provision.c):
  ** max(generation)+1 over the whole table, so a number is never used
  ** twice. Rows are never deleted, and a customer without a row, such as
  ** one provisioned before this table existed, has generation 0. */
  "CREATE TABLE IF NOT EXISTS customer_generations("
  "  id TEXT PRIMARY KEY,"
  "  generation INTEGER NOT NULL"
  ");"

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

  /* The generation of each addition of an agent (provision.c), numbered
  ** as customer_generations is: max(generation)+1 over the whole table.
  ** Rows are never deleted, not even when the agent is removed, so a
  ** number is never used twice. An agent without a row, such as one added
  ** before this table existed, has generation 0. */
  "CREATE TABLE IF NOT EXISTS agent_generations("
  "  customer TEXT NOT NULL,"
  "  id TEXT NOT NULL,"
  "  generation INTEGER NOT NULL,"
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

  /* The file id of the root's change counter (catalogepoch.c), in hex,
  ** in its single row. */
  "CREATE TABLE IF NOT EXISTS change_counter("
  "  id INTEGER PRIMARY KEY CHECK(id=1),"
  "  file_id TEXT NOT NULL"
  ");"

  "CREATE TABLE IF NOT EXISTS app_tables("
  "  name TEXT PRIMARY KEY COLLATE NOCASE,"
  "  partition TEXT NOT NULL,"
  "  ddl TEXT NOT NULL,"
  "  physical_ddl TEXT NOT NULL"
  ");";

/* The SQL of the hot statements, indexed by CATALOG_STMT_* (catalog.h). */

static const char *const catalogStmtSql[CATALOG_N_STMT] = {
  "SELECT c.tier, c.region, coalesce(c.parent,''), c.state,"
  "  coalesce((SELECT g.generation FROM customer_generations g"
  "    WHERE g.id=c.id), 0)"
  "  FROM customers c WHERE c.id=?1",
  "SELECT database, project FROM placements WHERE customer=?1",
  "SELECT encrypted FROM policy WHERE tier=?1",
  "SELECT name, number, file FROM partitions WHERE scheme=?1 ORDER BY number",
  "SELECT coalesce((SELECT g.generation FROM agent_generations g"
  "    WHERE g.customer=a.customer AND g.id=a.id), 0)"
  "  FROM agents a WHERE a.customer=?1 AND a.id=?2",
  "SELECT name FROM app_tables WHERE partition=?1 ORDER BY name",
  "SELECT scheme, file, number FROM partitions WHERE name=?1",
  "SELECT y.storage_limit_bytes, c.tier FROM customers c"
  "  JOIN policy y ON y.tier=c.tier WHERE c.id=?1 AND c.state='active'"
  "  AND coalesce((SELECT g.generation FROM customer_generations g"
  "    WHERE g.id=c.id), 0)=?2",
  "SELECT c.id, y.storage_limit_bytes FROM placements p"
  "  JOIN customers c ON c.id=p.customer"
  "  JOIN policy y ON y.tier=c.tier"
  " WHERE p.database=?2 AND p.project=?1 AND c.tier='sapphire'",
  "PRAGMA data_version",
  "INSERT OR REPLACE INTO usage_monthly(customer, month, api_calls)"
  " VALUES(?1, ?2, ?3 + coalesce((SELECT api_calls FROM usage_monthly"
  "  WHERE customer=?1 AND month=?2), 0))",
  "SELECT count(*) FROM app_tables",
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
sqlite3_stmt *catalogStmt(int iStmt, char **pzErr){
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
int catalogStepError(sqlite3_stmt *pStmt, char **pzErr){
  int rc = sqlite3_reset(pStmt);
  if( rc==SQLITE_OK ) rc = SQLITE_ERROR;
  tenantSetError(pzErr, "catalog query failed: %s: check %s/catalog.db",
      sqlite3_errmsg(catalog.db), catalog.zRoot);
  return rc;
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

/* Open the catalog database of zAbsRoot, creating the file only when
** bCreate, create its schema and map the change counter. The counter's
** file is checked against the catalog, and created, under the catalog's
** write lock, so that two processes opening a new root at once agree on
** one file. */
static int catalogOpenDb(const char *zAbsRoot, int bCreate, sqlite3 **pDb,
                         char **pzErr){
  sqlite3 *db = 0;
  char *zFile;
  char *zMsg = 0;
  char *zEpochErr = 0;
  time_t tStart;
  int rc;

  zFile = sqlite3_mprintf("%s/catalog.db", zAbsRoot);
  if( zFile==0 ) return SQLITE_NOMEM;
  rc = sqlite3_open_v2(zFile, &db, SQLITE_OPEN_READWRITE
                       | (bCreate ? SQLITE_OPEN_CREATE : 0), 0);
  if( rc==SQLITE_OK ) rc = sqlite3_busy_timeout(db, 5000);

  /* Processes that open a new root at once race to turn on WAL mode and
  ** create the schema. SQLite returns SQLITE_BUSY without waiting where
  ** waiting could deadlock, so the steps are tried again until about as
  ** long as the busy timeout has passed. */
  tStart = time(0);
  while( rc==SQLITE_OK ){
    rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL", 0, 0, &zMsg);
    if( rc==SQLITE_OK ){
      rc = sqlite3_exec(db, "BEGIN IMMEDIATE", 0, 0, &zMsg);
      if( rc==SQLITE_OK ) rc = sqlite3_exec(db, catalogSchema, 0, 0, &zMsg);
      if( rc==SQLITE_OK ) rc = tenantEpochOpen(db, zAbsRoot, 1, &zEpochErr);
      if( rc==SQLITE_OK ){
        rc = sqlite3_exec(db, "COMMIT", 0, 0, &zMsg);
      }else{
        sqlite3_exec(db, "ROLLBACK", 0, 0, 0);
      }
    }
    if( (rc&0xff)!=SQLITE_BUSY || zEpochErr || time(0)-tStart>=5 ) break;
    sqlite3_free(zMsg);
    zMsg = 0;
    sqlite3_sleep(50);
    rc = SQLITE_OK;
  }
  if( rc!=SQLITE_OK && zEpochErr ){
    tenantSetError(pzErr, "%s", zEpochErr);
    sqlite3_log(rc, "%s", zEpochErr);
    sqlite3_close(db);
    db = 0;
  }else if( rc!=SQLITE_OK ){
    tenantSetError(pzErr, "cannot open catalog \"%s\": %s: check that the "
        "root folder is writable and the file is a SQLite database", zFile,
        zMsg ? zMsg : (db ? sqlite3_errmsg(db) : "out of memory"));
    sqlite3_log(rc, "tenant: cannot open catalog %s", zFile);
    sqlite3_close(db);
    db = 0;
  }
  sqlite3_free(zEpochErr);
  sqlite3_free(zMsg);
  sqlite3_free(zFile);
  *pDb = db;
  return rc;
}

/* Report that the root folder zRoot has no catalog to bind sessions to. */
static int catalogMissing(const char *zRoot, char **pzErr){
  tenantSetError(pzErr, "catalog \"%s/catalog.db\" not found: provision "
      "customers in that root folder with tenant_provision(), or point "
      "TENANT_ROOT (or the URI parameter root=) at the folder that holds "
      "catalog.db", zRoot);
  return SQLITE_CANTOPEN;
}

/* Open the catalog of zRoot. Without bCreate, a missing root folder or
** catalog.db is an error and nothing is created. */
static int catalogOpen(const char *zRoot, int bCreate, char **pzErr){
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
  if( bCreate ){
    rc = catalogMkdirs(zRoot, pzErr);
    if( rc!=SQLITE_OK ) goto open_done;
  }
  if( realpath(zRoot, zAbs)==0 ){
    if( !bCreate && errno==ENOENT ){
      rc = catalogMissing(zRoot, pzErr);
    }else{
      tenantSetError(pzErr, "cannot resolve root folder \"%s\": %s",
          zRoot, strerror(errno));
      rc = SQLITE_CANTOPEN;
    }
    goto open_done;
  }
  if( strlen(zAbs)>TENANT_MAX_PATH/2 ){
    tenantSetError(pzErr, "root folder \"%s\" is longer than %d bytes: "
        "choose a shorter path", zAbs, TENANT_MAX_PATH/2);
    rc = SQLITE_CANTOPEN;
    goto open_done;
  }

  if( !bCreate ){
    struct stat st;
    char *zFile = sqlite3_mprintf("%s/catalog.db", zAbs);
    if( zFile==0 ){
      rc = SQLITE_NOMEM;
      goto open_done;
    }
    rc = stat(zFile, &st)==0 ? SQLITE_OK : catalogMissing(zAbs, pzErr);
    sqlite3_free(zFile);
    if( rc!=SQLITE_OK ) goto open_done;
  }

  rc = catalogOpenDb(zAbs, bCreate, &db, pzErr);
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

int tenantCatalogOpen(const char *zRoot, char **pzErr){
  return catalogOpen(zRoot, 1, pzErr);
}

int tenantCatalogOpenExisting(const char *zRoot, char **pzErr){
  return catalogOpen(zRoot, 0, pzErr);
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

int tenantCatalogAddCalls(const char *zCustomer, const char *zMonth,
                          sqlite3_int64 nCalls, char **pzErr){
  sqlite3_stmt *pStmt;
  sqlite3 *db = tenantCatalogEnter();
  int eSync = -1;
  int rc;

  if( db==0 ) return SQLITE_MISUSE;

  /* The catalog runs in WAL mode. A flush commits with synchronous=NORMAL,
  ** which survives a crash of the process but skips the fsync that costs
  ** more than a thousand statements do; the next synchronous=FULL commit
  ** of the catalog, or a checkpoint, makes it durable on disk. Setting
  ** synchronous takes effect when the PRAGMA is prepared, so it is run
  ** with sqlite3_exec() each time. */
  pStmt = 0;
  if( sqlite3_prepare_v2(db, "PRAGMA synchronous", -1, &pStmt, 0)==SQLITE_OK
   && sqlite3_step(pStmt)==SQLITE_ROW ){
    eSync = sqlite3_column_int(pStmt, 0);
  }
  sqlite3_finalize(pStmt);
  if( eSync>1 ) sqlite3_exec(db, "PRAGMA synchronous=NORMAL", 0, 0, 0);

  pStmt = catalogStmt(CATALOG_STMT_ADD_CALLS, pzErr);
  if( pStmt==0 ){
    rc = SQLITE_ERROR;
  }else{
    sqlite3_int64 nBefore = sqlite3_total_changes(db);
    sqlite3_bind_text(pStmt, 1, zCustomer, -1, SQLITE_STATIC);
    sqlite3_bind_text(pStmt, 2, zMonth, -1, SQLITE_STATIC);
    sqlite3_bind_int64(pStmt, 3, nCalls);
    rc = sqlite3_step(pStmt);
    if( rc==SQLITE_DONE ){
      rc = SQLITE_OK;
    }else{
      rc = catalogStepError(pStmt, pzErr);
    }
    sqlite3_reset(pStmt);
    tenantCatalogUsageWritten(sqlite3_total_changes(db) - nBefore);
  }
  if( eSync>1 ){
    char zRestore[40];
    sqlite3_snprintf(sizeof(zRestore), zRestore, "PRAGMA synchronous=%d",
                     eSync);
    sqlite3_exec(db, zRestore, 0, 0, 0);
  }
  tenantCatalogLeave();
  return rc;
}

int tenantCatalogVersion(sqlite3_int64 *piData, sqlite3_int64 *pnWrite){
  CatalogVersion v;
  int rc;
  if( tenantCatalogEnter()==0 ) return SQLITE_MISUSE;
  rc = catalogVersionRead(&v);
  tenantCatalogLeave();
  if( rc==SQLITE_OK ){
    *piData = v.iData;
    *pnWrite = v.nWrite;
  }
  return rc;
}

/* tenantCatalogLimit() with the catalog mutex already held. */
int catalogLimitRead(const char *zCustomer, sqlite3_int64 iGeneration,
                     sqlite3_int64 *piLimit, char *zTier, int nTier){
  sqlite3_stmt *pStmt;
  int rc;
  *piLimit = -1;
  pStmt = catalogStmt(CATALOG_STMT_LIMIT, 0);
  if( pStmt==0 ) return SQLITE_ERROR;
  sqlite3_bind_text(pStmt, 1, zCustomer, -1, SQLITE_STATIC);
  sqlite3_bind_int64(pStmt, 2, iGeneration);
  rc = sqlite3_step(pStmt);
  if( rc==SQLITE_ROW ){
    if( sqlite3_column_type(pStmt, 0)!=SQLITE_NULL ){
      *piLimit = sqlite3_column_int64(pStmt, 0);
    }
    sqlite3_snprintf(nTier, zTier, "%s", sqlite3_column_text(pStmt, 1));
    rc = SQLITE_OK;
  }else if( rc==SQLITE_DONE ){
    rc = SQLITE_NOTFOUND;
  }
  sqlite3_reset(pStmt);
  return rc;
}

int catalogAgentRead(const char *zCustomer, const char *zAgent,
                     sqlite3_int64 *piGeneration, char **pzErr){
  sqlite3_stmt *pStmt = catalogStmt(CATALOG_STMT_AGENT, pzErr);
  int rc;

  *piGeneration = 0;
  if( pStmt==0 ) return SQLITE_ERROR;
  sqlite3_bind_text(pStmt, 1, zCustomer, -1, SQLITE_STATIC);
  sqlite3_bind_text(pStmt, 2, zAgent, -1, SQLITE_STATIC);
  rc = sqlite3_step(pStmt);
  if( rc==SQLITE_ROW ) *piGeneration = sqlite3_column_int64(pStmt, 0);
  if( rc==SQLITE_ROW || rc==SQLITE_DONE ){
    sqlite3_reset(pStmt);
    return rc==SQLITE_ROW ? SQLITE_OK : SQLITE_NOTFOUND;
  }
  return catalogStepError(pStmt, pzErr);
}

int tenantCatalogLimit(const char *zCustomer, sqlite3_int64 iGeneration,
                       sqlite3_int64 *piLimit, char *zTier, int nTier){
  int rc;
  *piLimit = -1;
  if( tenantCatalogEnter()==0 ) return SQLITE_MISUSE;
  rc = catalogLimitRead(zCustomer, iGeneration, piLimit, zTier, nTier);
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
