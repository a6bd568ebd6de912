/*
** The administrative SQL functions: provisioning and decommissioning
** customers, agents, application tables and tier policy.
**
** Every function checks all of its arguments before it changes anything,
** and holds the catalog mutex from the first check to the last change, so
** the administrative calls of one process never interleave.
**
** Files are built under a temporary name "<file>.db.tmp-<pid>" in their
** final folder and linked into place only when complete, so a file that
** exists under its final name always contains every table of its
** partitions.
** A customer row is written in state 'provisioning' before any file and
** turned 'active' after the last, so a crash leaves a customer that no
** session can bind and that the same tenant_provision() call completes.
**
** Encrypted files are created and opened through a private connection that
** attaches them with "ATTACH ?1 AS f KEY ?2", the raw key bound as a
** parameter so it never appears in SQL text, logs or error messages.
**
** LIMITATIONS: tenant_add_table() rebuilds each table from its column list,
** primary key and UNIQUE constraints, so CHECK, REFERENCES, generated
** columns, AUTOINCREMENT and WITHOUT ROWID are rejected as not supported.
** Two processes that provision and add a table at the same moment may leave
** the new file without the new table (see provisionAddTable).
*/
#include "tenant_int.h"
#include "vfscodec.h"
SQLITE_EXTENSION_INIT3

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* Names of the administrative functions, NULL-terminated, which the
** authorizer of a bound connection denies. */
extern const char *const tenantAdminFunctions[];

/* Build the plan of a customer in any state, with the catalog mutex held.
** Defined in catalog.c. */
int tenantPlanBuild(const char *zCustomer, TenantPlan *pPlan,
                    char *zState, char **pzErr);

/* Validate zDdl, one CREATE TABLE statement, and return the table's name
** and physical DDL. Defined in tabledef.c. */
int provParseTable(const char *zDdl, char **pzName, char **pzPhysical,
                   char **pzErr);

const char *const tenantAdminFunctions[] = {
  "tenant_root",
  "tenant_provision",
  "tenant_decommission",
  "tenant_add_agent",
  "tenant_remove_agent",
  "tenant_add_table",
  "tenant_policy_set",
  "tenant_request_integration",
  "tenant_require_compliance",
  "tenant_storage_check",
  "tenant_storage_repair",
  "tenant_upgrade_candidates",
  "tenant_usage_report",
  "tenant_cost_report",
  0
};

#define PROV_ID_CHARS "letters, digits, '_', '.' and '-'"

/* Placement of one customer's own database. */
typedef struct ProvPlacement ProvPlacement;
struct ProvPlacement {
  char zDatabase[192];           /* e.g. "d1-opal-acme-us-west1" */
  char zProject[128];            /* e.g. "shared-opal-us-west1" */
  char zFolder[TENANT_MAX_PATH]; /* <root>/<project>/<database> */
  int iOnyx;                     /* Onyx instance from 1, 0 for the others */
};

/* ---- helpers ---------------------------------------------------------- */

/*
** Copy z into zOut (nOut bytes) for an error message: control characters
** become \xNN and text longer than TENANT_MAX_ID ends in "...".
*/
static const char *provShow(const char *z, char *zOut, int nOut){
  int i = 0, j = 0;
  assert( nOut>=TENANT_MAX_ID+8 );
  if( z==0 ) z = "";
  while( z[i] && j<nOut-8 && i<TENANT_MAX_ID ){
    unsigned char c = (unsigned char)z[i++];
    if( c<0x20 || c==0x7f ){
      sqlite3_snprintf(nOut-j, zOut+j, "\\x%02x", c);
      j += 4;
    }else{
      zOut[j++] = (char)c;
    }
  }
  if( z[i] ){
    memcpy(zOut+j, "...", 3);
    j += 3;
  }
  zOut[j] = 0;
  return zOut;
}

/*
** Check the id z, named zWhat in messages ("customer", "parent",
** "agent"). Returns SQLITE_OK or sets *pzErr with the reason.
*/
static int provCheckId(const char *zWhat, const char *z, char **pzErr){
  char zShow[TENANT_MAX_ID*4+8];
  size_t i;
  if( z==0 || z[0]==0 ){
    tenantSetError(pzErr, "%s id is missing: pass 1 to %d characters of "
        PROV_ID_CHARS, zWhat, TENANT_MAX_ID);
    return SQLITE_ERROR;
  }
  if( tenantIdIsSafe(z) ) return SQLITE_OK;
  provShow(z, zShow, sizeof(zShow));
  for(i=0; z[i]; i++){
    unsigned char c = (unsigned char)z[i];
    if( c=='/' || c=='\\' ){
      tenantSetError(pzErr, "%s id \"%s\" contains a path separator: "
          "use only " PROV_ID_CHARS, zWhat, zShow);
      return SQLITE_ERROR;
    }
    if( c<0x20 || c==0x7f ){
      tenantSetError(pzErr, "%s id \"%s\" contains a control character: "
          "use only " PROV_ID_CHARS, zWhat, zShow);
      return SQLITE_ERROR;
    }
  }
  if( strcmp(z, ".")==0 || strcmp(z, "..")==0 ){
    tenantSetError(pzErr, "%s id \"%s\" is a special path name: "
        "use a name of " PROV_ID_CHARS " other than \".\" and \"..\"",
        zWhat, zShow);
    return SQLITE_ERROR;
  }
  if( i>TENANT_MAX_ID ){
    tenantSetError(pzErr, "%s id \"%s\" is %d bytes long: use at most %d "
        "characters", zWhat, zShow, (int)i, TENANT_MAX_ID);
    return SQLITE_ERROR;
  }
  for(i=0; z[i]; i++){
    char c = z[i];
    if( !((c>='a' && c<='z') || (c>='A' && c<='Z') || (c>='0' && c<='9')
          || c=='_' || c=='.' || c=='-') ){
      tenantSetError(pzErr, "%s id \"%s\" contains the character '%c': "
          "use only " PROV_ID_CHARS, zWhat, zShow, c);
      return SQLITE_ERROR;
    }
  }
  assert( 0 );  /* tenantIdIsSafe() rejects nothing else */
  return SQLITE_ERROR;
}

/* Text of argument v, or NULL when it is SQL NULL. */
static const char *provArgText(sqlite3_value *v){
  return sqlite3_value_type(v)==SQLITE_NULL
       ? 0 : (const char*)sqlite3_value_text(v);
}

/*
** Run one catalog statement with text parameters ?1.. from azArg (nArg).
** Returns SQLITE_ROW with *ppStmt positioned on the first row, SQLITE_DONE
** with *ppStmt finalized, or an error code with *pzErr set. The caller
** finalizes *ppStmt after SQLITE_ROW.
*/
static int provQuery(
  sqlite3 *db,
  sqlite3_stmt **ppStmt,
  char **pzErr,
  const char *zSql,
  int nArg,
  const char **azArg
){
  sqlite3_stmt *pStmt = 0;
  int rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  int i;
  *ppStmt = 0;
  for(i=0; rc==SQLITE_OK && i<nArg; i++){
    rc = sqlite3_bind_text(pStmt, i+1, azArg[i], -1, SQLITE_STATIC);
  }
  if( rc==SQLITE_OK ) rc = sqlite3_step(pStmt);
  if( rc==SQLITE_ROW ){
    *ppStmt = pStmt;
    return rc;
  }
  if( rc!=SQLITE_DONE ){
    tenantSetError(pzErr, "catalog statement failed: %s: check the catalog "
        "database of %s", sqlite3_errmsg(db), tenantCatalogRoot());
  }
  sqlite3_finalize(pStmt);
  return rc;
}

/* provQuery() for statements that return no rows. */
static int provExec(sqlite3 *db, char **pzErr, const char *zSql,
                    int nArg, const char **azArg){
  sqlite3_stmt *pStmt;
  int rc = provQuery(db, &pStmt, pzErr, zSql, nArg, azArg);
  if( rc==SQLITE_ROW ){
    sqlite3_finalize(pStmt);
    rc = SQLITE_DONE;
  }
  return rc==SQLITE_DONE ? SQLITE_OK : rc;
}

/* Open the catalog and take its mutex. Returns NULL with *pzErr set. */
static sqlite3 *provEnter(char **pzErr){
  sqlite3 *db;
  if( tenantCatalogOpen(0, pzErr)!=SQLITE_OK ) return 0;
  db = tenantCatalogEnter();
  if( db==0 ){
    tenantSetError(pzErr, "catalog closed while in use: call the function "
        "again");
  }
  return db;
}

/* Report zErr (already prefixed) or an out-of-memory error as the result. */
static void provResultError(sqlite3_context *pCtx, int rc, char *zErr){
  if( zErr ){
    sqlite3_result_error(pCtx, zErr, -1);
  }else if( rc==SQLITE_NOMEM ){
    sqlite3_result_error_nomem(pCtx);
  }else{
    tenantResultError(pCtx, "%s", sqlite3_errstr(rc));
  }
  sqlite3_free(zErr);
}

/* ---- files of placements ---------------------------------------------- */

/*
** Open a private connection with the physical file zPath attached as "f",
** keyed when bEncrypted. The connection checks that the file is readable
** with its key. bCreate allows a missing file to be created.
*/
static int provOpenFile(
  const char *zPath,
  const char *zKeyId,
  int bEncrypted,
  int bCreate,
  sqlite3 **pDb,
  char **pzErr
){
  unsigned char aKey[TENANT_KEY_BYTES];
  char zKeyText[2*TENANT_KEY_BYTES+4];
  sqlite3 *db = 0;
  sqlite3_stmt *pStmt = 0;
  char *zUri = 0;                /* codec=vfs URI when the VFS encrypts */
  int bVfsCodec;
  int rc;

  *pDb = 0;
  memset(aKey, 0, sizeof(aKey));
  memset(zKeyText, 0, sizeof(zKeyText));
  if( !bCreate && access(zPath, F_OK)!=0 ){
    tenantSetError(pzErr, "file \"%s\" of placement \"%s\" is missing: "
        "restore it from a backup", zPath, zKeyId);
    return SQLITE_CANTOPEN;
  }
  if( bEncrypted && !tenantHostHasCodec() && !tenantCodecAvailable() ){
    tenantSetError(pzErr, "file \"%s\" is encrypted but this host has no "
        "codec and is older than SQLite 3.34: load the extension into the "
        "sqlcipher shell, a SQLCipher-linked program or SQLite 3.34 or "
        "newer", zKeyId);
    return SQLITE_ERROR;
  }
  bVfsCodec = bEncrypted && !tenantHostHasCodec();

  rc = sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE
                       | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, 0);
  if( rc==SQLITE_OK ) rc = sqlite3_busy_timeout(db, 5000);
  if( rc==SQLITE_OK ){
    rc = sqlite3_prepare_v2(db,
        bEncrypted && !bVfsCodec ? "ATTACH ?1 AS f KEY ?2" : "ATTACH ?1 AS f",
        -1, &pStmt, 0);
  }
  if( rc==SQLITE_OK && bVfsCodec ){
    /* No codec in the host: the tenant VFS encrypts the file itself. */
    zUri = tenantVfsCodecUri(zPath);
    rc = zUri ? sqlite3_bind_text(pStmt, 1, zUri, -1, SQLITE_STATIC)
              : SQLITE_NOMEM;
  }else if( rc==SQLITE_OK ){
    rc = sqlite3_bind_text(pStmt, 1, zPath, -1, SQLITE_STATIC);
  }
  if( rc==SQLITE_OK && bEncrypted && !bVfsCodec ){
    rc = tenantKeyDerive(zKeyId, aKey, pzErr);
    if( rc==SQLITE_OK ){
      tenantKeyFormatRaw(aKey, zKeyText);
      rc = sqlite3_bind_text(pStmt, 2, zKeyText, -1, SQLITE_STATIC);
    }
  }
  if( rc==SQLITE_OK ){
    rc = sqlite3_step(pStmt);
    if( rc==SQLITE_DONE ) rc = SQLITE_OK;
  }
  sqlite3_finalize(pStmt);
  sqlite3_free(zUri);
  tenantKeyWipe(aKey, sizeof(aKey));
  tenantKeyWipe(zKeyText, sizeof(zKeyText));
  if( rc==SQLITE_OK && bVfsCodec ) rc = tenantCodecPrepare(db, "f", pzErr);

  /* A wrong key or a plain file opened with a key shows on the first read
  ** of the schema. */
  if( rc==SQLITE_OK ){
    rc = sqlite3_exec(db, "SELECT count(*) FROM f.sqlite_master", 0, 0, 0);
  }
  if( rc!=SQLITE_OK ){
    if( pzErr && *pzErr==0 ){
      tenantSetError(pzErr, "cannot open file \"%s\": %s: check the master "
          "key and the tier's encrypted policy", zPath,
          db ? sqlite3_errmsg(db) : "out of memory");
    }
    sqlite3_close(db);
    return rc;
  }
  *pDb = db;
  return SQLITE_OK;
}

/*
** Return zDdl, a CREATE TABLE this file generated, for a file whose owner
** is zOwner: in a dedicated (Sapphire) file the customer_id column
** defaults to the owner, so an insert that names no customer_id works
** there as it does through an isolation table. zOwner NULL (a shared
** file) returns a plain copy. The result is freed with sqlite3_free.
*/
static char *provOwnDdl(const char *zDdl, const char *zOwner){
  static const char zColumn[] = "customer_id TEXT NOT NULL";
  const char *zAt = zOwner ? strstr(zDdl, zColumn) : 0;
  int nHead;
  if( zAt==0 ) return sqlite3_mprintf("%s", zDdl);
  nHead = (int)(zAt - zDdl) + (int)sizeof(zColumn) - 1;
  return sqlite3_mprintf("%.*s DEFAULT '%q'%s", nHead, zDdl, zOwner,
                         zDdl + nHead);
}

/*
** Create in schema f of db every table of the partitions of scheme zScheme
** and file class zClass: each partition's default table, then its
** application tables. zOwner is the customer of a dedicated file, NULL
** for a shared one.
*/
static int provCreateTables(
  sqlite3 *dbFile,
  sqlite3 *dbCatalog,
  const char *zScheme,
  const char *zClass,
  const char *zOwner,
  char **pzErr
){
  static const char zAppSql[] =
    "SELECT a.physical_ddl FROM app_tables a"
    "  JOIN partitions p ON p.name=a.partition"
    " WHERE p.scheme=?1 AND p.file=?2 ORDER BY a.name";
  const char *azArg[2];
  sqlite3_stmt *pStmt = 0;
  int rc;

  azArg[0] = zScheme;
  azArg[1] = zClass;
  rc = provQuery(dbCatalog, &pStmt, pzErr,
      "SELECT name FROM partitions WHERE scheme=?1 AND file=?2"
      " ORDER BY number", 2, azArg);
  while( rc==SQLITE_ROW ){
    char *zDefault = sqlite3_mprintf(
        "CREATE TABLE f.\"%w\"("
        "id TEXT NOT NULL, customer_id TEXT NOT NULL, "
        "sapphire_parent_id TEXT, data TEXT, "
        "created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, "
        "PRIMARY KEY(customer_id, id))",
        (const char*)sqlite3_column_text(pStmt, 0));
    char *zSql = zDefault ? provOwnDdl(zDefault, zOwner) : 0;
    sqlite3_free(zDefault);
    if( zSql==0 ){
      rc = SQLITE_NOMEM;
      break;
    }
    rc = sqlite3_exec(dbFile, zSql, 0, 0, 0);
    sqlite3_free(zSql);
    if( rc!=SQLITE_OK ) break;
    rc = sqlite3_step(pStmt);
  }
  sqlite3_finalize(pStmt);
  if( rc==SQLITE_DONE ) rc = SQLITE_OK;

  if( rc==SQLITE_OK ){
    rc = provQuery(dbCatalog, &pStmt, pzErr, zAppSql, 2, azArg);
  }
  while( rc==SQLITE_ROW ){
    /* physical_ddl starts "CREATE TABLE ", as provisionAddTable wrote it */
    const char *zDdl = (const char*)sqlite3_column_text(pStmt, 0);
    char *zSql;
    char *zOwned;
    assert( strncmp(zDdl, "CREATE TABLE ", 13)==0 );
    zOwned = provOwnDdl(zDdl+13, zOwner);
    zSql = zOwned ? sqlite3_mprintf("CREATE TABLE f.%z", zOwned) : 0;
    if( zSql==0 ){
      rc = SQLITE_NOMEM;
      break;
    }
    rc = sqlite3_exec(dbFile, zSql, 0, 0, 0);
    sqlite3_free(zSql);
    if( rc!=SQLITE_OK ) break;
    rc = sqlite3_step(pStmt);
  }
  sqlite3_finalize(pStmt);
  if( rc==SQLITE_DONE ) rc = SQLITE_OK;

  if( rc!=SQLITE_OK && pzErr && *pzErr==0 ){
    tenantSetError(pzErr, "cannot create the tables of partitions %s/%s: %s",
        zScheme, zClass, sqlite3_errmsg(dbFile));
  }
  return rc;
}

/*
** Remove temporary files "<zName>.db.tmp-<pid>" in zFolder that this
** process or a process no longer running left behind.
*/
static void provRemoveStaleTemps(const char *zFolder, const char *zName){
  char zPrefix[32];
  DIR *pDir;
  struct dirent *pEntry;
  size_t nPrefix;

  sqlite3_snprintf(sizeof(zPrefix), zPrefix, "%s.db.tmp-", zName);
  nPrefix = strlen(zPrefix);
  pDir = opendir(zFolder);
  if( pDir==0 ) return;
  while( (pEntry = readdir(pDir))!=0 ){
    long iPid;
    char *zEnd = 0;
    if( strncmp(pEntry->d_name, zPrefix, nPrefix)!=0 ) continue;
    iPid = strtol(pEntry->d_name+nPrefix, &zEnd, 10);
    if( iPid<=0 ) continue;
    if( iPid!=(long)getpid() && (kill((pid_t)iPid, 0)==0 || errno!=ESRCH) ){
      continue;   /* another live process is building this file */
    }
    {
      char *zPath = sqlite3_mprintf("%s/%s", zFolder, pEntry->d_name);
      if( zPath && unlink(zPath)==0 ){
        sqlite3_log(SQLITE_NOTICE, "tenant: removed stale file %s", zPath);
      }
      sqlite3_free(zPath);
    }
  }
  closedir(pDir);
}

/*
** Build file zName ("owner" or "private") of the placement in zFolder,
** holding the partitions of zScheme and class zName, unless it exists.
*/
static int provBuildFile(
  sqlite3 *dbCatalog,
  const char *zFolder,
  const char *zDatabase,
  const char *zName,
  const char *zScheme,
  const char *zOwner,
  int bEncrypted,
  int bWal,
  char **pzErr
){
  char zFinal[TENANT_MAX_PATH];
  char zTemp[TENANT_MAX_PATH];
  char zKeyId[256];
  sqlite3 *dbFile = 0;
  int rc;

  sqlite3_snprintf(sizeof(zFinal), zFinal, "%s/%s.db", zFolder, zName);
  sqlite3_snprintf(sizeof(zTemp), zTemp, "%s.tmp-%ld", zFinal,
      (long)getpid());
  sqlite3_snprintf(sizeof(zKeyId), zKeyId, "%s/%s", zDatabase, zName);
  if( access(zFinal, F_OK)==0 ) return SQLITE_OK;   /* reuse it */

  /* A previous attempt may have left its temporary file and journal. */
  provRemoveStaleTemps(zFolder, zName);

  rc = provOpenFile(zTemp, zKeyId, bEncrypted, 1, &dbFile, pzErr);
  if( rc==SQLITE_OK ) rc = sqlite3_exec(dbFile, "BEGIN", 0, 0, 0);
  if( rc==SQLITE_OK ){
    rc = provCreateTables(dbFile, dbCatalog, zScheme, zName, zOwner, pzErr);
  }
  if( rc==SQLITE_OK && zOwner==0 && strcmp(zName, "owner")==0 ){
    /* A shared file that customers write records their storage there. */
    rc = tenantQuotaPrepareFile(dbFile, "f", pzErr);
  }
  if( rc==SQLITE_OK ) rc = sqlite3_exec(dbFile, "COMMIT", 0, 0, 0);

  /* WAL, by default: a reader then never delays another customer's writer
  ** of the same file, as a long read transaction does under a rollback
  ** journal. The mode is kept in the file. */
  if( rc==SQLITE_OK && bWal ){
    rc = sqlite3_exec(dbFile, "PRAGMA f.journal_mode=WAL", 0, 0, 0);
  }
  if( rc!=SQLITE_OK && pzErr && *pzErr==0 ){
    tenantSetError(pzErr, "cannot build file \"%s\": %s", zTemp,
        sqlite3_errmsg(dbFile));
  }
  if( sqlite3_close(dbFile)!=SQLITE_OK && rc==SQLITE_OK ){
    rc = SQLITE_IOERR;
    tenantSetError(pzErr, "cannot close file \"%s\"", zTemp);
  }
  if( rc!=SQLITE_OK ){
    unlink(zTemp);
    return rc;
  }

  /* link() fails when the final name exists, so a file that a concurrent
  ** process finished first is reused and never replaced. Filesystems
  ** without hard links fall back to rename(). */
  if( link(zTemp, zFinal)==0 || errno==EEXIST ){
    unlink(zTemp);
  }else if( rename(zTemp, zFinal)!=0 ){
    tenantSetError(pzErr, "cannot move \"%s\" into place as \"%s\": %s",
        zTemp, zFinal, strerror(errno));
    unlink(zTemp);
    return SQLITE_IOERR;
  }
  {
    int fd = open(zFolder, O_RDONLY | O_DIRECTORY);
    if( fd>=0 ){
      fsync(fd);
      close(fd);
    }
  }
  sqlite3_log(SQLITE_NOTICE, "tenant: created %s", zFinal);
  return SQLITE_OK;
}

/* Create zPath and its missing parents with mode 0700. */
static int provMkdirs(const char *zPath, char **pzErr){
  char zDir[TENANT_MAX_PATH];
  size_t n = strlen(zPath);
  size_t i;
  if( n>=sizeof(zDir) ) return SQLITE_CANTOPEN;
  memcpy(zDir, zPath, n+1);
  for(i=1; i<=n; i++){
    if( zDir[i]=='/' || zDir[i]==0 ){
      char c = zDir[i];
      zDir[i] = 0;
      if( mkdir(zDir, 0700)!=0 && errno!=EEXIST ){
        tenantSetError(pzErr, "cannot create folder \"%s\": %s", zDir,
            strerror(errno));
        return SQLITE_CANTOPEN;
      }
      zDir[i] = c;
    }
  }
  return SQLITE_OK;
}

/* Remove file zName of zFolder with its journal and WAL files. */
static void provRemoveFile(const char *zFolder, const char *zName){
  static const char *const azSuffix[] = { "", "-journal", "-wal", "-shm" };
  int i;
  for(i=0; i<(int)(sizeof(azSuffix)/sizeof(azSuffix[0])); i++){
    char *zPath = sqlite3_mprintf("%s/%s.db%s", zFolder, zName, azSuffix[i]);
    if( zPath ) unlink(zPath);
    sqlite3_free(zPath);
  }
  provRemoveStaleTemps(zFolder, zName);
}

/* ---- tenant_root([path]) ---------------------------------------------- */

static void provisionRoot(sqlite3_context *pCtx, int argc,
                          sqlite3_value **argv){
  char *zErr = 0;
  const char *zRoot = argc>0 ? provArgText(argv[0]) : 0;
  int rc = tenantCatalogOpen(zRoot, &zErr);
  if( rc!=SQLITE_OK ){
    provResultError(pCtx, rc, zErr);
    return;
  }
  sqlite3_result_text(pCtx, tenantCatalogRoot(), -1, SQLITE_TRANSIENT);
}

/* ---- tenant_provision(customer, tier, region [, parent]) --------------- */

/* FNV-1a, 32 bits, of z: spreads Onyx customers over a region's
** instances, and stays stable because the result is stored. */
static unsigned int provFnv1a(const char *z){
  unsigned int h = 2166136261u;
  while( *z ){
    h ^= (unsigned char)*z++;
    h *= 16777619u;
  }
  return h;
}

/*
** Name the placement of a new customer. Onyx customers are spread over
** nOnyx regional instances by a hash of their id.
*/
static void provNamePlacement(
  ProvPlacement *p,
  const char *zCustomer,
  const char *zTier,
  const char *zRegion,
  const char *zParent,
  int nOnyx
){
  memset(p, 0, sizeof(*p));
  if( strcmp(zTier, "sapphire")==0 ){
    sqlite3_snprintf(sizeof(p->zDatabase), p->zDatabase,
        "d1-sapphire-%s-%s", zCustomer, zRegion);
    sqlite3_snprintf(sizeof(p->zProject), p->zProject,
        "customer-%s-sapphire", zCustomer);
  }else if( strcmp(zTier, "opal")==0 ){
    sqlite3_snprintf(sizeof(p->zDatabase), p->zDatabase,
        "d1-opal-%s-%s", zParent, zRegion);
    sqlite3_snprintf(sizeof(p->zProject), p->zProject,
        "shared-opal-%s", zRegion);
  }else{
    p->iOnyx = (int)(provFnv1a(zCustomer) % (unsigned)(nOnyx>0 ? nOnyx : 1))
             + 1;
    if( nOnyx>1 ){
      sqlite3_snprintf(sizeof(p->zDatabase), p->zDatabase,
          "d1-onyx-shared-%s-%d", zRegion, p->iOnyx);
    }else{
      sqlite3_snprintf(sizeof(p->zDatabase), p->zDatabase,
          "d1-onyx-shared-%s", zRegion);
    }
    sqlite3_snprintf(sizeof(p->zProject), p->zProject,
        "shared-onyx-%s", zRegion);
  }
  sqlite3_snprintf(sizeof(p->zFolder), p->zFolder, "%s/%s/%s",
      tenantCatalogRoot(), p->zProject, p->zDatabase);
}

/*
** Check every argument of tenant_provision() against the catalog, inside
** the caller's write transaction. Sets *pbResume when zCustomer is a
** half-provisioned customer with the same arguments, and *pbEncrypted,
** *pbWal and *pnOnyx from the tier's policy and the region.
*/
static int provisionCheck(
  sqlite3 *db,
  const char *zCustomer,
  const char *zTier,
  const char *zRegion,
  const char *zParent,
  int *pbResume,
  int *pbEncrypted,
  int *pbWal,
  int *pnOnyx,
  char **pzErr
){
  char zShow[TENANT_MAX_ID*4+8];
  sqlite3_stmt *pStmt;
  const char *azArg[1];
  int rc;

  rc = provCheckId("customer", zCustomer, pzErr);
  if( rc!=SQLITE_OK ) return rc;
  if( zTier==0 || (strcmp(zTier, "sapphire")!=0 && strcmp(zTier, "opal")!=0
                   && strcmp(zTier, "onyx")!=0) ){
    tenantSetError(pzErr, "unknown tier \"%s\": use sapphire, opal or onyx",
        provShow(zTier, zShow, sizeof(zShow)));
    return SQLITE_ERROR;
  }

  /* The region must be one of the catalog's regions. */
  azArg[0] = zRegion ? zRegion : "";
  rc = provQuery(db, &pStmt, pzErr,
      "SELECT onyx_instances FROM regions WHERE id=?1", 1, azArg);
  if( rc==SQLITE_ROW ){
    *pnOnyx = sqlite3_column_int(pStmt, 0);
    sqlite3_finalize(pStmt);
  }else if( rc==SQLITE_DONE ){
    char *zList = 0;
    rc = provQuery(db, &pStmt, pzErr, "SELECT id FROM regions ORDER BY id",
                   0, 0);
    while( rc==SQLITE_ROW ){
      zList = sqlite3_mprintf("%z%s%s", zList, zList ? ", " : "",
                              sqlite3_column_text(pStmt, 0));
      rc = sqlite3_step(pStmt);
    }
    sqlite3_finalize(pStmt);
    tenantSetError(pzErr, "unknown region \"%s\": use one of %s",
        provShow(zRegion, zShow, sizeof(zShow)), zList ? zList : "(none)");
    sqlite3_free(zList);
    return SQLITE_ERROR;
  }else{
    return rc;
  }

  /* Parent rules: Sapphire has none; Opal and Onyx have an active
  ** Sapphire parent in their own region, because data stays in its
  ** region. */
  if( strcmp(zTier, "sapphire")==0 ){
    if( zParent ){
      tenantSetError(pzErr, "a sapphire customer has no parent, but parent "
          "\"%s\" was given: omit the fourth argument",
          provShow(zParent, zShow, sizeof(zShow)));
      return SQLITE_ERROR;
    }
  }else{
    if( zParent==0 ){
      tenantSetError(pzErr, "tier \"%s\" requires a parent sapphire "
          "customer: pass its id as the fourth argument", zTier);
      return SQLITE_ERROR;
    }
    rc = provCheckId("parent", zParent, pzErr);
    if( rc!=SQLITE_OK ) return rc;
    azArg[0] = zParent;
    rc = provQuery(db, &pStmt, pzErr,
        "SELECT tier, region, state FROM customers WHERE id=?1", 1, azArg);
    if( rc==SQLITE_DONE ){
      tenantSetError(pzErr, "parent customer \"%s\" not found: provision it "
          "first as a sapphire customer", zParent);
      return SQLITE_ERROR;
    }
    if( rc!=SQLITE_ROW ) return rc;
    rc = SQLITE_ERROR;
    if( strcmp((const char*)sqlite3_column_text(pStmt, 0), "sapphire")!=0 ){
      tenantSetError(pzErr, "parent customer \"%s\" is %s, not sapphire: "
          "choose a sapphire customer as parent", zParent,
          sqlite3_column_text(pStmt, 0));
    }else if( strcmp((const char*)sqlite3_column_text(pStmt, 1),
                     zRegion)!=0 ){
      tenantSetError(pzErr, "parent customer \"%s\" is in region \"%s\", "
          "not \"%s\": data stays in its region, so choose a parent in "
          "\"%s\"", zParent, sqlite3_column_text(pStmt, 1), zRegion,
          zRegion);
    }else if( strcmp((const char*)sqlite3_column_text(pStmt, 2),
                     "active")!=0 ){
      tenantSetError(pzErr, "parent customer \"%s\" is in state '%s': "
          "finish its provisioning first", zParent,
          sqlite3_column_text(pStmt, 2));
    }else{
      rc = SQLITE_OK;
    }
    sqlite3_finalize(pStmt);
    if( rc!=SQLITE_OK ) return rc;
  }

  /* A duplicate id is an error, unless it is the same customer half
  ** provisioned: then this call finishes the job. */
  azArg[0] = zCustomer;
  *pbResume = 0;
  rc = provQuery(db, &pStmt, pzErr,
      "SELECT tier, region, coalesce(parent,''), state FROM customers"
      " WHERE id=?1", 1, azArg);
  if( rc==SQLITE_ROW ){
    const char *zState = (const char*)sqlite3_column_text(pStmt, 3);
    rc = SQLITE_ERROR;
    if( strcmp(zState, "active")==0 ){
      tenantSetError(pzErr, "customer \"%s\" already exists: choose another "
          "id", zCustomer);
    }else if( strcmp(zState, "provisioning")!=0 ){
      tenantSetError(pzErr, "customer \"%s\" is being decommissioned: call "
          "tenant_decommission('%s') to finish first", zCustomer, zCustomer);
    }else if( strcmp((const char*)sqlite3_column_text(pStmt, 0), zTier)!=0
           || strcmp((const char*)sqlite3_column_text(pStmt, 1), zRegion)!=0
           || strcmp((const char*)sqlite3_column_text(pStmt, 2),
                     zParent ? zParent : "")!=0 ){
      tenantSetError(pzErr, "customer \"%s\" is half provisioned as %s in "
          "%s: call tenant_provision() with those arguments to finish it",
          zCustomer, sqlite3_column_text(pStmt, 0),
          sqlite3_column_text(pStmt, 1));
    }else{
      *pbResume = 1;
      rc = SQLITE_OK;
    }
    sqlite3_finalize(pStmt);
    if( rc!=SQLITE_OK ) return rc;
  }else if( rc!=SQLITE_DONE ){
    return rc;
  }

  azArg[0] = zTier;
  rc = provQuery(db, &pStmt, pzErr,
      "SELECT encrypted, journal_mode='wal' FROM policy WHERE tier=?1",
      1, azArg);
  if( rc!=SQLITE_ROW ){
    if( rc==SQLITE_DONE ){
      tenantSetError(pzErr, "tier \"%s\" has no policy row: restore it in "
          "the policy table of the catalog", zTier);
      rc = SQLITE_ERROR;
    }
    return rc;
  }
  *pbEncrypted = sqlite3_column_int(pStmt, 0)!=0;
  *pbWal = sqlite3_column_int(pStmt, 1)!=0;
  sqlite3_finalize(pStmt);
  return SQLITE_OK;
}

/*
** Check that the files of placement p can be encrypted as policy requires:
** the host has a codec and the master key derives.
*/
static int provisionCheckKeys(const ProvPlacement *p, const char *zTier,
                              int bEncrypted, char **pzErr){
  unsigned char aKey[TENANT_KEY_BYTES];
  char zKeyId[256];
  int rc;
  if( !bEncrypted ) return SQLITE_OK;
  if( !tenantHostHasCodec() && !tenantCodecAvailable() ){
    tenantSetError(pzErr, "placement \"%s\" must be encrypted but this host "
        "has no codec: load the extension into the sqlcipher shell or a "
        "SQLCipher-linked program, or mark the tier unencrypted with "
        "tenant_policy_set('%s', 'encrypted', 0)", p->zDatabase, zTier);
    return SQLITE_ERROR;
  }
  sqlite3_snprintf(sizeof(zKeyId), zKeyId, "%s/owner", p->zDatabase);
  rc = tenantKeyDerive(zKeyId, aKey, pzErr);
  tenantKeyWipe(aKey, sizeof(aKey));
  return rc;
}

static void provisionProvision(sqlite3_context *pCtx, int argc,
                               sqlite3_value **argv){
  const char *zCustomer = provArgText(argv[0]);
  const char *zTier = provArgText(argv[1]);
  const char *zRegion = provArgText(argv[2]);
  const char *zParent = argc>3 ? provArgText(argv[3]) : 0;
  const char *azArg[6];
  ProvPlacement *p = 0;
  char zOnyx[16];
  char *zErr = 0;
  sqlite3 *db;
  int bResume = 0, bEncrypted = 1, bWal = 1, nOnyx = 1;
  int bInTxn = 0;
  int rc;

  db = provEnter(&zErr);
  if( db==0 ){
    provResultError(pCtx, SQLITE_ERROR, zErr);
    return;
  }
  p = sqlite3_malloc64(sizeof(*p));
  if( p==0 ){
    rc = SQLITE_NOMEM;
    goto provision_done;
  }

  /* Step 1: check everything and write the 'provisioning' row in one
  ** write transaction, so two processes cannot both take the id. */
  rc = sqlite3_exec(db, "BEGIN IMMEDIATE", 0, 0, 0);
  if( rc!=SQLITE_OK ){
    tenantSetError(&zErr, "cannot write the catalog: %s: try again",
        sqlite3_errmsg(db));
    goto provision_done;
  }
  bInTxn = 1;
  rc = provisionCheck(db, zCustomer, zTier, zRegion, zParent, &bResume,
                      &bEncrypted, &bWal, &nOnyx, &zErr);
  if( rc!=SQLITE_OK ) goto provision_done;

  if( bResume ){
    sqlite3_stmt *pStmt;
    azArg[0] = zCustomer;
    rc = provQuery(db, &pStmt, &zErr, "SELECT database, project, path,"
        " coalesce(onyx_instance,0) FROM placements WHERE customer=?1",
        1, azArg);
    if( rc==SQLITE_ROW ){
      memset(p, 0, sizeof(*p));
      sqlite3_snprintf(sizeof(p->zDatabase), p->zDatabase, "%s",
          sqlite3_column_text(pStmt, 0));
      sqlite3_snprintf(sizeof(p->zProject), p->zProject, "%s",
          sqlite3_column_text(pStmt, 1));
      /* Rebuilt under the root in use, not read back: see catalog.c. */
      sqlite3_snprintf(sizeof(p->zFolder), p->zFolder, "%s/%s/%s",
          tenantCatalogRoot(), sqlite3_column_text(pStmt, 1),
          sqlite3_column_text(pStmt, 0));
      p->iOnyx = sqlite3_column_int(pStmt, 3);
      sqlite3_finalize(pStmt);
      rc = SQLITE_OK;
    }else if( rc==SQLITE_DONE ){
      /* The row of the customer was written without its placement. */
      bResume = 0;
      rc = SQLITE_OK;
    }
    if( rc!=SQLITE_OK ) goto provision_done;
  }
  if( !bResume ){
    provNamePlacement(p, zCustomer, zTier, zRegion, zParent, nOnyx);
  }
  rc = provisionCheckKeys(p, zTier, bEncrypted, &zErr);
  if( rc!=SQLITE_OK ) goto provision_done;

  if( !bResume ){
    sqlite3_snprintf(sizeof(zOnyx), zOnyx, "%d", p->iOnyx);
    azArg[0] = zCustomer;
    azArg[1] = zTier;
    azArg[2] = zRegion;
    azArg[3] = zParent;
    rc = provExec(db, &zErr, "INSERT OR IGNORE INTO customers(id, tier,"
        " region, parent, state) VALUES(?1, ?2, ?3, ?4, 'provisioning')",
        4, azArg);
    if( rc!=SQLITE_OK ) goto provision_done;
    azArg[1] = p->zDatabase;
    azArg[2] = p->zProject;
    azArg[3] = p->zFolder;
    azArg[4] = p->iOnyx ? zOnyx : 0;
    rc = provExec(db, &zErr, "INSERT OR REPLACE INTO placements(customer,"
        " database, project, path, onyx_instance)"
        " VALUES(?1, ?2, ?3, ?4, CAST(?5 AS INTEGER))", 5, azArg);
    if( rc!=SQLITE_OK ) goto provision_done;
  }
  rc = sqlite3_exec(db, "COMMIT", 0, 0, 0);
  if( rc!=SQLITE_OK ) goto provision_done;
  bInTxn = 0;

  /* Step 2: build the files that do not exist yet. */
  rc = provMkdirs(p->zFolder, &zErr);
  if( rc==SQLITE_OK ){
    rc = provBuildFile(db, p->zFolder, p->zDatabase, "owner",
        strcmp(zTier, "onyx")==0 ? "onyx" : "standard",
        strcmp(zTier, "sapphire")==0 ? zCustomer : 0, bEncrypted, bWal,
        &zErr);
  }
  if( rc==SQLITE_OK && strcmp(zTier, "sapphire")==0 ){
    rc = provBuildFile(db, p->zFolder, p->zDatabase, "private", "standard",
                       zCustomer, bEncrypted, bWal, &zErr);
  }
  if( rc!=SQLITE_OK ){
    sqlite3_log(rc, "tenant: provisioning of customer %s stopped: %s",
        zCustomer, zErr ? zErr : "");
    goto provision_done;
  }

  /* Step 3: only now may sessions bind the customer. */
  azArg[0] = zCustomer;
  rc = provExec(db, &zErr, "UPDATE customers SET state='active'"
      " WHERE id=?1", 1, azArg);
  if( rc!=SQLITE_OK ) goto provision_done;
  sqlite3_log(SQLITE_NOTICE, "tenant: provisioned customer %s (%s, %s) in %s",
      zCustomer, zTier, zRegion, p->zDatabase);
  sqlite3_result_text(pCtx, p->zDatabase, -1, SQLITE_TRANSIENT);

provision_done:
  if( bInTxn ) sqlite3_exec(db, "ROLLBACK", 0, 0, 0);
  tenantCatalogLeave();
  sqlite3_free(p);
  if( rc!=SQLITE_OK ) provResultError(pCtx, rc, zErr);
}

/* ---- tenant_decommission(customer) ------------------------------------ */

/* Callback state of provDeleteRows: the file and the customer. */
typedef struct ProvDelete ProvDelete;
struct ProvDelete {
  sqlite3 *dbFile;
  const char *zCustomer;
  char **pzErr;
};

/*
** Delete the rows of zCustomer from every table of every partition that
** plan reaches in file iFile. secure_delete overwrites the freed content.
*/
static int provDeleteRows(
  sqlite3 *dbCatalog,
  const TenantPlan *pPlan,
  int iFile,
  char **pzErr
){
  const TenantFile *pFile = &pPlan->aFile[iFile];
  sqlite3 *dbFile = 0;
  const char *azArg[1];
  int rc;
  int i;

  if( access(pFile->zPath, F_OK)!=0 ) return SQLITE_OK;
  rc = provOpenFile(pFile->zPath, pFile->zKeyId, pFile->bEncrypted, 0,
                    &dbFile, pzErr);
  if( rc!=SQLITE_OK ) return rc;
  rc = sqlite3_exec(dbFile, "PRAGMA f.secure_delete=1; BEGIN", 0, 0, 0);

  for(i=0; rc==SQLITE_OK && i<pPlan->nReach; i++){
    sqlite3_stmt *pTables = 0;
    if( pPlan->aReach[i].iFile!=iFile ) continue;
    azArg[0] = pPlan->aReach[i].zPartition;
    rc = provQuery(dbCatalog, &pTables, pzErr,
        "SELECT ?1 UNION ALL"
        " SELECT name FROM app_tables WHERE partition=?1", 1, azArg);
    while( rc==SQLITE_ROW ){
      sqlite3_stmt *pDel = 0;
      char *zSql = sqlite3_mprintf("DELETE FROM f.\"%w\" WHERE customer_id=?1",
          (const char*)sqlite3_column_text(pTables, 0));
      rc = zSql ? sqlite3_prepare_v2(dbFile, zSql, -1, &pDel, 0)
                : SQLITE_NOMEM;
      sqlite3_free(zSql);
      if( rc==SQLITE_OK ){
        sqlite3_bind_text(pDel, 1, pPlan->zCustomer, -1, SQLITE_STATIC);
        rc = sqlite3_step(pDel);
        if( rc==SQLITE_DONE ) rc = SQLITE_OK;
      }
      sqlite3_finalize(pDel);
      if( rc!=SQLITE_OK ) break;
      rc = sqlite3_step(pTables);
    }
    sqlite3_finalize(pTables);
    if( rc==SQLITE_DONE ) rc = SQLITE_OK;
  }

  if( rc==SQLITE_OK ){
    /* Its storage record goes with its rows, where the file has one. */
    sqlite3_stmt *pDel = 0;
    if( sqlite3_prepare_v2(dbFile, "DELETE FROM f." TENANT_USAGE_TABLE
                           " WHERE customer_id=?1", -1, &pDel, 0)==SQLITE_OK ){
      sqlite3_bind_text(pDel, 1, pPlan->zCustomer, -1, SQLITE_STATIC);
      rc = sqlite3_step(pDel);
      if( rc==SQLITE_DONE ) rc = SQLITE_OK;
    }
    sqlite3_finalize(pDel);
  }
  if( rc==SQLITE_OK ) rc = sqlite3_exec(dbFile, "COMMIT", 0, 0, 0);
  if( rc!=SQLITE_OK && pzErr && *pzErr==0 ){
    tenantSetError(pzErr, "cannot delete the rows of customer \"%s\" from "
        "\"%s\": %s", pPlan->zCustomer, pFile->zPath,
        sqlite3_errmsg(dbFile));
  }
  sqlite3_close(dbFile);
  return rc;
}

/* Remove the dedicated placement folder zFolder and, when empty, its
** project folder. */
static void provRemovePlacement(const char *zFolder){
  char zProject[TENANT_MAX_PATH];
  char *zSlash;
  provRemoveFile(zFolder, "owner");
  provRemoveFile(zFolder, "private");
  if( rmdir(zFolder)==0 ){
    sqlite3_log(SQLITE_NOTICE, "tenant: removed %s", zFolder);
  }
  sqlite3_snprintf(sizeof(zProject), zProject, "%s", zFolder);
  zSlash = strrchr(zProject, '/');
  if( zSlash ){
    *zSlash = 0;
    rmdir(zProject);   /* fails, as intended, while other folders remain */
  }
}

static void provisionDecommission(sqlite3_context *pCtx, int argc,
                                  sqlite3_value **argv){
  const char *zCustomer = provArgText(argv[0]);
  const char *azArg[2];
  TenantPlan *pPlan = 0;
  sqlite3_stmt *pStmt = 0;
  char zState[16];
  char *zErr = 0;
  char *zOpal = 0;
  sqlite3 *db;
  int rc;
  int i;

  db = provEnter(&zErr);
  if( db==0 ){
    provResultError(pCtx, SQLITE_ERROR, zErr);
    return;
  }
  pPlan = sqlite3_malloc64(sizeof(*pPlan));
  if( pPlan==0 ){
    rc = SQLITE_NOMEM;
    goto decommission_done;
  }
  rc = provCheckId("customer", zCustomer, &zErr);
  if( rc==SQLITE_OK ) rc = tenantPlanBuild(zCustomer, pPlan, zState, &zErr);
  if( rc!=SQLITE_OK ) goto decommission_done;

  /* A Sapphire's files hold rows of its children, so they go first. */
  azArg[0] = zCustomer;
  rc = provQuery(db, &pStmt, &zErr,
      "SELECT count(*) FROM customers WHERE parent=?1", 1, azArg);
  if( rc!=SQLITE_ROW ) goto decommission_done;
  if( sqlite3_column_int(pStmt, 0)>0 ){
    int n = sqlite3_column_int(pStmt, 0);
    tenantSetError(&zErr, "customer \"%s\" still has %d child customer%s: "
        "decommission them first", zCustomer, n, n==1 ? "" : "s");
    sqlite3_finalize(pStmt);
    rc = SQLITE_ERROR;
    goto decommission_done;
  }
  sqlite3_finalize(pStmt);

  rc = provExec(db, &zErr, "UPDATE customers SET state='decommissioning'"
      " WHERE id=?1", 1, azArg);
  if( rc!=SQLITE_OK ) goto decommission_done;

  /* Rows in shared files go row by row; dedicated files go whole. */
  for(i=0; rc==SQLITE_OK && i<pPlan->nFile; i++){
    if( pPlan->aFile[i].bShared ){
      rc = provDeleteRows(db, pPlan, i, &zErr);
    }
  }
  if( rc!=SQLITE_OK ) goto decommission_done;
  if( strcmp(pPlan->zTier, "sapphire")==0 ){
    char *zFolder = sqlite3_mprintf("%s", pPlan->aFile[0].zPath);
    char *zSlash = zFolder ? strrchr(zFolder, '/') : 0;
    if( zSlash ){
      *zSlash = 0;
      provRemovePlacement(zFolder);
    }
    sqlite3_free(zFolder);

    /* The Opal database named after this Sapphire has no customers left. */
    zOpal = sqlite3_mprintf("%s/shared-opal-%s/d1-opal-%s-%s",
        tenantCatalogRoot(), pPlan->zRegion, zCustomer, pPlan->zRegion);
    if( zOpal ) provRemovePlacement(zOpal);
  }

  rc = sqlite3_exec(db, "BEGIN IMMEDIATE", 0, 0, 0);
  if( rc==SQLITE_OK ){
    rc = provExec(db, &zErr, "DELETE FROM agents WHERE customer=?1", 1,
                  azArg);
  }
  if( rc==SQLITE_OK ){
    rc = provExec(db, &zErr, "DELETE FROM usage_monthly WHERE customer=?1",
                  1, azArg);
  }
  if( rc==SQLITE_OK ){
    rc = provExec(db, &zErr, "DELETE FROM customer_requests"
                  " WHERE customer=?1", 1, azArg);
  }
  if( rc==SQLITE_OK ){
    rc = provExec(db, &zErr, "DELETE FROM placements WHERE customer=?1", 1,
                  azArg);
  }
  if( rc==SQLITE_OK ){
    rc = provExec(db, &zErr, "DELETE FROM customers WHERE id=?1", 1, azArg);
  }
  if( rc==SQLITE_OK ){
    rc = sqlite3_exec(db, "COMMIT", 0, 0, 0);
  }else{
    sqlite3_exec(db, "ROLLBACK", 0, 0, 0);
  }
  if( rc==SQLITE_OK ){
    sqlite3_log(SQLITE_NOTICE, "tenant: decommissioned customer %s",
        zCustomer);
    sqlite3_result_text(pCtx, zCustomer, -1, SQLITE_TRANSIENT);
  }

decommission_done:
  tenantCatalogLeave();
  sqlite3_free(zOpal);
  sqlite3_free(pPlan);
  if( rc!=SQLITE_OK ) provResultError(pCtx, rc, zErr);
}

/* ---- tenant_add_agent / tenant_remove_agent --------------------------- */

/* Check that zCustomer exists and is not being decommissioned. */
static int provCheckCustomer(sqlite3 *db, const char *zCustomer,
                             char **pzErr){
  sqlite3_stmt *pStmt;
  const char *azArg[1];
  int rc = provCheckId("customer", zCustomer, pzErr);
  if( rc!=SQLITE_OK ) return rc;
  azArg[0] = zCustomer;
  rc = provQuery(db, &pStmt, pzErr,
      "SELECT state FROM customers WHERE id=?1", 1, azArg);
  if( rc==SQLITE_DONE ){
    tenantSetError(pzErr, "customer \"%s\" not found: provision it with "
        "tenant_provision()", zCustomer);
    return SQLITE_ERROR;
  }
  if( rc!=SQLITE_ROW ) return rc;
  rc = SQLITE_OK;
  if( strcmp((const char*)sqlite3_column_text(pStmt, 0),
             "decommissioning")==0 ){
    tenantSetError(pzErr, "customer \"%s\" is being decommissioned: "
        "call tenant_decommission('%s') to finish it", zCustomer, zCustomer);
    rc = SQLITE_ERROR;
  }
  sqlite3_finalize(pStmt);
  return rc;
}

/* tenant_add_agent(customer, agent) when bAdd, else tenant_remove_agent. */
static void provisionAgent(sqlite3_context *pCtx, int argc,
                           sqlite3_value **argv){
  int bAdd = sqlite3_user_data(pCtx)!=0;
  const char *zCustomer = provArgText(argv[0]);
  const char *zAgent = provArgText(argv[1]);
  const char *azArg[2];
  char *zErr = 0;
  sqlite3 *db;
  int rc;

  db = provEnter(&zErr);
  if( db==0 ){
    provResultError(pCtx, SQLITE_ERROR, zErr);
    return;
  }
  rc = provCheckCustomer(db, zCustomer, &zErr);
  if( rc==SQLITE_OK ) rc = provCheckId("agent", zAgent, &zErr);
  if( rc!=SQLITE_OK ) goto agent_done;

  azArg[0] = zCustomer;
  azArg[1] = zAgent;
  rc = provExec(db, &zErr, bAdd
      ? "INSERT OR IGNORE INTO agents(customer, id) VALUES(?1, ?2)"
      : "DELETE FROM agents WHERE customer=?1 AND id=?2", 2, azArg);
  if( rc!=SQLITE_OK ) goto agent_done;
  if( sqlite3_changes(db)==0 ){
    if( bAdd ){
      tenantSetError(&zErr, "agent \"%s\" already exists for customer "
          "\"%s\": choose another id", zAgent, zCustomer);
    }else{
      tenantSetError(&zErr, "agent \"%s\" not found for customer \"%s\": "
          "check the id", zAgent, zCustomer);
    }
    rc = SQLITE_ERROR;
    goto agent_done;
  }
  sqlite3_result_text(pCtx, zAgent, -1, SQLITE_TRANSIENT);

agent_done:
  tenantCatalogLeave();
  if( rc!=SQLITE_OK ) provResultError(pCtx, rc, zErr);
}

/* ---- tenant_add_table(partition, ddl) --------------------------------- */

/*
** Create application table zPhysical in every existing file that contains
** partition zScheme/zClass, inside the caller's catalog write transaction.
*/
static int provAddTableToFiles(
  sqlite3 *db,
  const char *zScheme,
  const char *zClass,
  const char *zPhysical,
  char **pzErr
){
  const char *azArg[2];
  sqlite3_stmt *pStmt = 0;
  char *zSql = 0;
  int rc;

  assert( strncmp(zPhysical, "CREATE TABLE ", 13)==0 );

  /* Standard owner partitions live in Sapphire and Opal owner files,
  ** private ones in Sapphire private files, Onyx's in Onyx owner files. */
  azArg[0] = strcmp(zScheme, "onyx")==0 ? "onyx" : "sapphire";
  azArg[1] = strcmp(zScheme, "onyx")==0 ? "onyx"
           : strcmp(zClass, "owner")==0 ? "opal" : "sapphire";
  rc = provQuery(db, &pStmt, pzErr,
      "SELECT DISTINCT p.project, p.database, y.encrypted,"
      "       CASE WHEN c.tier='sapphire' THEN c.id END"
      "  FROM placements p JOIN customers c ON c.id=p.customer"
      "  JOIN policy y ON y.tier=c.tier"
      " WHERE c.tier IN (?1, ?2)", 2, azArg);
  while( rc==SQLITE_ROW ){
    char zPath[TENANT_MAX_PATH];
    char zKeyId[256];
    sqlite3 *dbFile = 0;
    sqlite3_snprintf(sizeof(zPath), zPath, "%s/%s/%s/%s.db",
        tenantCatalogRoot(), sqlite3_column_text(pStmt, 0),
        sqlite3_column_text(pStmt, 1), zClass);
    sqlite3_snprintf(sizeof(zKeyId), zKeyId, "%s/%s",
        sqlite3_column_text(pStmt, 1), zClass);
    if( access(zPath, F_OK)==0 ){
      rc = provOpenFile(zPath, zKeyId, sqlite3_column_int(pStmt, 2), 0,
                        &dbFile, pzErr);
      if( rc==SQLITE_OK ){
        char *zOwned = provOwnDdl(zPhysical+13,
                                  (const char*)sqlite3_column_text(pStmt, 3));
        zSql = zOwned ? sqlite3_mprintf("CREATE TABLE IF NOT EXISTS f.%z",
                                        zOwned) : 0;
        rc = zSql ? sqlite3_exec(dbFile, zSql, 0, 0, 0) : SQLITE_NOMEM;
        sqlite3_free(zSql);
        zSql = 0;
        if( rc!=SQLITE_OK ){
          tenantSetError(pzErr, "cannot create the table in \"%s\": %s",
              zPath, sqlite3_errmsg(dbFile));
        }
      }
      sqlite3_close(dbFile);
      if( rc!=SQLITE_OK ) break;
    }
    rc = sqlite3_step(pStmt);
  }
  sqlite3_finalize(pStmt);
  return rc==SQLITE_DONE ? SQLITE_OK : rc;
}

/*
** NOTE: files built by another process while this call runs may miss the
** new table, because provisioning reads app_tables before it builds a file
** and this call only reaches files that already exist.
*/
static void provisionAddTable(sqlite3_context *pCtx, int argc,
                              sqlite3_value **argv){
  const char *zPartition = provArgText(argv[0]);
  const char *zDdl = provArgText(argv[1]);
  const char *azArg[4];
  sqlite3_stmt *pStmt = 0;
  char zShow[TENANT_MAX_ID*4+8];
  char zScheme[16], zClass[16];
  char *zName = 0, *zPhysical = 0, *zErr = 0;
  int bInTxn = 0;
  sqlite3 *db;
  int rc;

  db = provEnter(&zErr);
  if( db==0 ){
    provResultError(pCtx, SQLITE_ERROR, zErr);
    return;
  }

  azArg[0] = zPartition ? zPartition : "";
  rc = provQuery(db, &pStmt, &zErr,
      "SELECT scheme, file FROM partitions WHERE name=?1", 1, azArg);
  if( rc==SQLITE_DONE ){
    /* Name the partitions there are, from the catalog. */
    sqlite3_stmt *pList = 0;
    const char *zList = 0;
    sqlite3_finalize(pStmt);
    pStmt = 0;
    if( sqlite3_prepare_v2(db, "SELECT group_concat(name, ', ') FROM "
          "(SELECT name FROM partitions ORDER BY scheme DESC, number)", -1,
          &pList, 0)==SQLITE_OK && sqlite3_step(pList)==SQLITE_ROW ){
      zList = (const char*)sqlite3_column_text(pList, 0);
    }
    tenantSetError(&zErr, "unknown partition \"%s\": use one of %s",
        provShow(zPartition, zShow, sizeof(zShow)),
        zList ? zList : "the partitions in the catalog");
    sqlite3_finalize(pList);
    rc = SQLITE_ERROR;
    goto add_table_done;
  }
  if( rc!=SQLITE_ROW ) goto add_table_done;
  sqlite3_snprintf(sizeof(zScheme), zScheme, "%s",
      sqlite3_column_text(pStmt, 0));
  sqlite3_snprintf(sizeof(zClass), zClass, "%s",
      sqlite3_column_text(pStmt, 1));
  sqlite3_finalize(pStmt);

  rc = provParseTable(zDdl ? zDdl : "", &zName, &zPhysical, &zErr);
  if( rc!=SQLITE_OK ) goto add_table_done;

  rc = sqlite3_exec(db, "BEGIN IMMEDIATE", 0, 0, 0);
  if( rc!=SQLITE_OK ) goto add_table_done;
  bInTxn = 1;
  azArg[0] = zName;
  rc = provQuery(db, &pStmt, &zErr,
      "SELECT partition FROM app_tables WHERE name=?1 COLLATE NOCASE"
      " UNION ALL SELECT name FROM partitions WHERE name=?1 COLLATE NOCASE",
      1, azArg);
  if( rc==SQLITE_ROW ){
    tenantSetError(&zErr, "table \"%s\" already exists in partition \"%s\": "
        "choose another name", zName, sqlite3_column_text(pStmt, 0));
    sqlite3_finalize(pStmt);
    rc = SQLITE_ERROR;
    goto add_table_done;
  }
  if( rc!=SQLITE_DONE ) goto add_table_done;

  azArg[1] = zPartition;
  azArg[2] = zDdl;
  azArg[3] = zPhysical;
  rc = provExec(db, &zErr, "INSERT INTO app_tables(name, partition, ddl,"
      " physical_ddl) VALUES(?1, ?2, ?3, ?4)", 4, azArg);
  if( rc==SQLITE_OK ){
    rc = provAddTableToFiles(db, zScheme, zClass, zPhysical, &zErr);
  }
  if( rc==SQLITE_OK ) rc = sqlite3_exec(db, "COMMIT", 0, 0, 0);
  if( rc!=SQLITE_OK ) goto add_table_done;
  bInTxn = 0;
  sqlite3_log(SQLITE_NOTICE, "tenant: added table %s to partition %s",
      zName, zPartition);
  sqlite3_result_text(pCtx, zName, -1, SQLITE_TRANSIENT);

add_table_done:
  if( bInTxn ) sqlite3_exec(db, "ROLLBACK", 0, 0, 0);
  tenantCatalogLeave();
  sqlite3_free(zName);
  sqlite3_free(zPhysical);
  if( rc!=SQLITE_OK ) provResultError(pCtx, rc, zErr);
}

/* ---- tenant_policy_set(tier, setting, value) -------------------------- */

static void provisionPolicySet(sqlite3_context *pCtx, int argc,
                               sqlite3_value **argv){
  static const char *const azFrequency[] = {
    "hourly", "daily", "weekly", "monthly", 0
  };
  const char *zTier = provArgText(argv[0]);
  const char *zSetting = provArgText(argv[1]);
  const char *zTable = "policy";   /* the catalog table of the setting */
  sqlite3_value *pValue = argv[2];
  int eType = sqlite3_value_numeric_type(pValue);
  char zShow[TENANT_MAX_ID*4+8];
  sqlite3_stmt *pStmt = 0;
  const char *azArg[1];
  char *zErr = 0;
  char *zSql = 0;
  sqlite3 *db;
  int rc = SQLITE_ERROR;
  int i;

  db = provEnter(&zErr);
  if( db==0 ){
    provResultError(pCtx, SQLITE_ERROR, zErr);
    return;
  }
  if( zTier==0 || (strcmp(zTier, "sapphire")!=0 && strcmp(zTier, "opal")!=0
                   && strcmp(zTier, "onyx")!=0) ){
    tenantSetError(&zErr, "unknown tier \"%s\": use sapphire, opal or onyx",
        provShow(zTier, zShow, sizeof(zShow)));
    goto policy_done;
  }

  /* Each setting has its own value rule. */
  if( zSetting==0 ){
    zSetting = "";
  }
  if( strcmp(zSetting, "storage_limit_bytes")==0 ){
    if( eType!=SQLITE_NULL && (eType!=SQLITE_INTEGER
                               || sqlite3_value_int64(pValue)<0) ){
      tenantSetError(&zErr, "storage_limit_bytes \"%s\" is invalid: use a "
          "byte count of 0 or more, or NULL for unlimited",
          provShow((const char*)sqlite3_value_text(pValue), zShow,
                   sizeof(zShow)));
      goto policy_done;
    }
  }else if( strcmp(zSetting, "price_usd")==0 ){
    if( (eType!=SQLITE_INTEGER && eType!=SQLITE_FLOAT)
     || sqlite3_value_double(pValue)<0.0 ){
      tenantSetError(&zErr, "price_usd \"%s\" is invalid: use a monthly "
          "price in dollars of 0 or more",
          provShow((const char*)sqlite3_value_text(pValue), zShow,
                   sizeof(zShow)));
      goto policy_done;
    }
  }else if( strcmp(zSetting, "backup_frequency")==0 ){
    const char *zValue = (const char*)sqlite3_value_text(pValue);
    for(i=0; azFrequency[i]; i++){
      if( zValue && strcmp(zValue, azFrequency[i])==0 ) break;
    }
    if( azFrequency[i]==0 ){
      tenantSetError(&zErr, "backup_frequency \"%s\" is invalid: use "
          "hourly, daily, weekly or monthly",
          provShow(zValue, zShow, sizeof(zShow)));
      goto policy_done;
    }
  }else if( strcmp(zSetting, "encrypted")==0 ){
    if( eType!=SQLITE_INTEGER || (sqlite3_value_int64(pValue)!=0
                                  && sqlite3_value_int64(pValue)!=1) ){
      tenantSetError(&zErr, "encrypted \"%s\" is invalid: use 1 to encrypt "
          "the tier's files or 0 for an unencrypted development fleet",
          provShow((const char*)sqlite3_value_text(pValue), zShow,
                   sizeof(zShow)));
      goto policy_done;
    }
  }else if( strcmp(zSetting, "journal_mode")==0 ){
    const char *zValue = (const char*)sqlite3_value_text(pValue);
    if( zValue==0 || (strcmp(zValue, "wal")!=0 && strcmp(zValue, "delete")!=0) ){
      tenantSetError(&zErr, "journal_mode \"%s\" is invalid: use wal, or "
          "delete for a rollback journal; files built before keep theirs",
          provShow(zValue, zShow, sizeof(zShow)));
      goto policy_done;
    }
  }else if( strcmp(zSetting, "audit_retention_years")==0 ){
    if( eType!=SQLITE_INTEGER || sqlite3_value_int64(pValue)<0 ){
      tenantSetError(&zErr, "audit_retention_years \"%s\" is invalid: use a "
          "number of years of 0 or more",
          provShow((const char*)sqlite3_value_text(pValue), zShow,
                   sizeof(zShow)));
      goto policy_done;
    }
  }else if( strcmp(zSetting, "upgrade_storage_bytes")==0
         || strcmp(zSetting, "upgrade_api_calls")==0
         || strcmp(zSetting, "upgrade_agents")==0 ){
    /* Upgrade thresholds live in policy_usage (see report.c). */
    zTable = "policy_usage";
    if( eType!=SQLITE_NULL && (eType!=SQLITE_INTEGER
                               || sqlite3_value_int64(pValue)<0) ){
      tenantSetError(&zErr, "%s \"%s\" is invalid: use a threshold of 0 or "
          "more, or NULL for no such upgrade trigger", zSetting,
          provShow((const char*)sqlite3_value_text(pValue), zShow,
                   sizeof(zShow)));
      goto policy_done;
    }
  }else if( strcmp(zSetting, "dedicated_price_usd")==0 ){
    zTable = "policy_usage";
    if( (eType!=SQLITE_INTEGER && eType!=SQLITE_FLOAT)
     || sqlite3_value_double(pValue)<0.0 ){
      tenantSetError(&zErr, "dedicated_price_usd \"%s\" is invalid: use the "
          "monthly price in dollars of one dedicated database, 0 or more",
          provShow((const char*)sqlite3_value_text(pValue), zShow,
                   sizeof(zShow)));
      goto policy_done;
    }
  }else{
    tenantSetError(&zErr, "unknown policy setting \"%s\": use "
        "storage_limit_bytes, price_usd, backup_frequency, encrypted, "
        "journal_mode, audit_retention_years, upgrade_storage_bytes, "
        "upgrade_api_calls, "
        "upgrade_agents or dedicated_price_usd",
        provShow(zSetting, zShow, sizeof(zShow)));
    goto policy_done;
  }

  /* Existing files keep the encryption they were built with, so the flag
  ** changes only while the tier has no placement. */
  if( strcmp(zSetting, "encrypted")==0 ){
    azArg[0] = zTier;
    rc = provQuery(db, &pStmt, &zErr,
        "SELECT (SELECT encrypted FROM policy WHERE tier=?1),"
        "       (SELECT count(*) FROM customers WHERE tier=?1)", 1, azArg);
    if( rc!=SQLITE_ROW ) goto policy_done;
    rc = SQLITE_OK;
    if( sqlite3_column_int64(pStmt, 0)!=sqlite3_value_int64(pValue)
     && sqlite3_column_int(pStmt, 1)>0 ){
      int n = sqlite3_column_int(pStmt, 1);
      tenantSetError(&zErr, "tier \"%s\" already has %d customer%s, whose "
          "files keep their encryption: decommission them before changing "
          "encrypted", zTier, n, n==1 ? "" : "s");
      rc = SQLITE_ERROR;
    }
    sqlite3_finalize(pStmt);
    if( rc!=SQLITE_OK ) goto policy_done;
  }

  /* zSetting is one of the fixed names checked above, never user text. */
  zSql = sqlite3_mprintf("UPDATE \"%w\" SET \"%w\"=?1 WHERE tier=?2",
                         zTable, zSetting);
  rc = zSql ? sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0) : SQLITE_NOMEM;
  if( rc==SQLITE_OK ){
    sqlite3_bind_value(pStmt, 1, pValue);
    sqlite3_bind_text(pStmt, 2, zTier, -1, SQLITE_STATIC);
    rc = sqlite3_step(pStmt);
    if( rc==SQLITE_DONE ) rc = SQLITE_OK;
    if( rc!=SQLITE_OK ){
      tenantSetError(&zErr, "cannot change the policy: %s: try again",
          sqlite3_errmsg(db));
    }
  }
  sqlite3_finalize(pStmt);
  if( rc==SQLITE_OK ){
    sqlite3_log(SQLITE_NOTICE, "tenant: policy of tier %s: %s set to %s",
        zTier, zSetting, sqlite3_value_text(pValue));
    sqlite3_result_value(pCtx, pValue);
  }

policy_done:
  sqlite3_free(zSql);
  tenantCatalogLeave();
  if( rc!=SQLITE_OK ) provResultError(pCtx, rc, zErr);
}

/* ---- registration ----------------------------------------------------- */

int tenantProvisionRegister(sqlite3 *db){
  static const struct {
    const char *zName;
    int nArg;
    int bUserData;
    void (*xFunc)(sqlite3_context*, int, sqlite3_value**);
  } aFunc[] = {
    { "tenant_root",          0, 0, provisionRoot },
    { "tenant_root",          1, 0, provisionRoot },
    { "tenant_provision",     3, 0, provisionProvision },
    { "tenant_provision",     4, 0, provisionProvision },
    { "tenant_decommission",  1, 0, provisionDecommission },
    { "tenant_add_agent",     2, 1, provisionAgent },
    { "tenant_remove_agent",  2, 0, provisionAgent },
    { "tenant_add_table",     2, 0, provisionAddTable },
    { "tenant_policy_set",    3, 0, provisionPolicySet },
  };
  /* SQLITE_DIRECTONLY (3.30.0) keeps triggers and views from calling
  ** them; older hosts rely on the authorizer of bound connections. */
  int eFlags = SQLITE_UTF8 | (tenantHostVersion()>=3030000 ? 0x80000 : 0);
  int rc = SQLITE_OK;
  int i;
  for(i=0; rc==SQLITE_OK && i<(int)(sizeof(aFunc)/sizeof(aFunc[0])); i++){
    rc = sqlite3_create_function(db, aFunc[i].zName, aFunc[i].nArg, eFlags,
        aFunc[i].bUserData ? (void*)aFunc : 0, aFunc[i].xFunc, 0, 0);
  }
  if( rc==SQLITE_OK ) rc = tenantReportRegister(db);
  return rc;
}
