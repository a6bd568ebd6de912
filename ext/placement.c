/*
** Placement files and the helpers that every administrative SQL function
** uses: catalog statements, argument checks and error results, then the
** building and removal of a placement's files. provision.h declares them
** for provision.c, decommission.c and policy.c.
**
** Files are built under a temporary name "<file>.db.tmp-<pid>" in their
** final folder and linked into place only when complete, so a file that
** exists under its final name always contains every table of its
** partitions.
**
** Encrypted files are created and opened through a private connection that
** attaches them with "ATTACH ?1 AS f KEY ?2", the raw key bound as a
** parameter so it never appears in SQL text, logs or error messages. A
** host without a codec attaches them through the tenant VFS's codec URI
** instead, and no key is bound.
**
** LIMITATIONS: a stale temporary file is one whose process id is not
** running on this machine, so a process on another machine that builds
** in the same folder over a network filesystem may lose its temporary
** file to this one.
*/
#include "provision.h"
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

#define PROV_ID_CHARS "letters, digits, '_', '.' and '-'"

/* ---- helpers ---------------------------------------------------------- */

/*
** Copy z into zOut (nOut bytes) for an error message: control characters
** become \xNN and text longer than TENANT_MAX_ID ends in "...".
*/
const char *provShow(const char *z, char *zOut, int nOut){
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
int provCheckId(const char *zWhat, const char *z, char **pzErr){
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

int tenantIdArgHasNul(sqlite3_context *pCtx, sqlite3_value *v,
                      const char *zWhat){
  char zShow[TENANT_MAX_ID*4+8];
  const char *z;

  if( sqlite3_value_type(v)==SQLITE_NULL ) return 0;
  z = (const char*)sqlite3_value_text(v);
  if( z==0 ){
    sqlite3_result_error_nomem(pCtx);
    return 1;
  }
  if( (size_t)sqlite3_value_bytes(v)==strlen(z) ) return 0;
  tenantResultError(pCtx, "invalid %s id \"%s\\0...\": an id cannot "
      "contain a NUL byte, so pass only " PROV_ID_CHARS, zWhat,
      provShow(z, zShow, sizeof(zShow)));
  return 1;
}

/* Text of argument v, or NULL when it is SQL NULL. */
const char *provArgText(sqlite3_value *v){
  return sqlite3_value_type(v)==SQLITE_NULL
       ? 0 : (const char*)sqlite3_value_text(v);
}

/*
** Run one catalog statement with text parameters ?1.. from azArg (nArg).
** Returns SQLITE_ROW with *ppStmt positioned on the first row, SQLITE_DONE
** with *ppStmt finalized, or an error code with *pzErr set. The caller
** finalizes *ppStmt after SQLITE_ROW.
*/
int provQuery(
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
int provExec(sqlite3 *db, char **pzErr, const char *zSql,
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
sqlite3 *provEnter(char **pzErr){
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
void provResultError(sqlite3_context *pCtx, int rc, char *zErr){
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
int provOpenFile(
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
char *provOwnDdl(const char *zDdl, const char *zOwner){
  static const char zColumn[] = "customer_id TEXT NOT NULL";
  const char *zAt = 0;
  const char *z = zDdl;
  int nHead;

  /* The column definition, outside the strings and quoted names of the
  ** DDL, where a DEFAULT or a column name may contain the same text. */
  while( zOwner && *z ){
    if( *z=='\'' || *z=='"' || *z=='`' || *z=='[' ){
      char cClose = *z=='[' ? ']' : *z;
      z++;
      while( *z && *z!=cClose ) z++;
      if( *z ) z++;
      continue;
    }
    /* The column the extension adds follows ", " or "(". A column type,
    ** which contains no comma, may have the same words. */
    if( strncmp(z, zColumn, sizeof(zColumn)-1)==0 && z>zDdl
     && (z[-1]=='(' || (z[-1]==' ' && z-zDdl>=2 && z[-2]==',')) ){
      zAt = z;
      break;
    }
    z++;
  }
  if( zAt==0 ) return sqlite3_mprintf("%s", zDdl);
  nHead = (int)(zAt - zDdl) + (int)sizeof(zColumn) - 1;
  return sqlite3_mprintf("%.*s DEFAULT '%q'%s", nHead, zDdl, zOwner,
                         zDdl + nHead);
}

/*
** Run zSql, a CREATE TABLE statement of table zTable, on db as exactly
** one statement. A physical DDL read from the catalog then never runs a
** second statement, even from a catalog written before tenant_add_table()
** verified the DDL it stores.
*/
int provExecOne(sqlite3 *db, const char *zTable, const char *zSql,
                char **pzErr){
  sqlite3_stmt *pStmt = 0;
  const char *zTail = 0;
  int rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, &zTail);
  if( rc==SQLITE_OK && (pStmt==0 || zTail==0 || *zTail!=0) ){
    tenantSetError(pzErr, "physical DDL of table \"%s\" is not exactly one "
        "statement, so it was not run: correct it in app_tables of the "
        "catalog", zTable);
    rc = SQLITE_ERROR;
  }else if( rc==SQLITE_OK ){
    rc = sqlite3_step(pStmt);
    if( rc==SQLITE_DONE ) rc = SQLITE_OK;
  }
  sqlite3_finalize(pStmt);
  return rc;
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
    "SELECT a.physical_ddl, a.name FROM app_tables a"
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
    rc = provExecOne(dbFile, (const char*)sqlite3_column_text(pStmt, 1), zSql,
                     pzErr);
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
int provBuildFile(
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
int provMkdirs(const char *zPath, char **pzErr){
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
void provRemoveFile(const char *zFolder, const char *zName){
  static const char *const azSuffix[] = { "", "-journal", "-wal", "-shm" };
  int i;
  for(i=0; i<(int)(sizeof(azSuffix)/sizeof(azSuffix[0])); i++){
    char *zPath = sqlite3_mprintf("%s/%s.db%s", zFolder, zName, azSuffix[i]);
    if( zPath ) unlink(zPath);
    sqlite3_free(zPath);
  }
  provRemoveStaleTemps(zFolder, zName);
}
