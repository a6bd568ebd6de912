/*
** Sessions: binding a connection to one customer, and the authorizer that
** keeps a bound connection inside what the customer may reach.
**
** A connection is bound either as it opens, when its main database is a
** tenant URI ("file:<customer>?vfs=tenant[&agent=<id>][&root=<path>]"), or
** by SELECT tenant_bind('<customer>' [, '<agent>']). Binding
**
**   1. loads the customer's plan from the catalog (tier, files, partitions);
**   2. attaches each file of the plan through the tenant VFS under a random
**      128-bit schema name that no SQL the customer runs can learn, keyed
**      with the file's own derived key;
**   3. in every shared file, hides each table the customer reaches behind a
**      temp virtual table of the same name (rowvtab.c) that adds the
**      customer filter; dedicated (Sapphire) tables are reached directly
**      (sessiontemp.c builds these temp tables);
**   4. installs a default-deny authorizer (authorizer.c).
**
** The authorizer lets the extension's own statements through: they run
** between tenantSessionEnterInternal() and tenantSessionLeaveInternal().
** Anything else may read and write temp objects and the customer's
** dedicated schemas, call ordinary functions and run transactions. It may
** not attach or detach, run pragmas, read or write a shared schema, change
** any persistent schema, create triggers, load extensions, or call the
** administrative functions; a bound connection cannot be bound again.
**
** The session lives until the connection closes: it is the client data of
** the connection's tenant_whoami() function, whose destructor frees it.
*/
#include "tenant_int.h"
#include "vfscodec.h"
#include "session.h"
SQLITE_EXTENSION_INIT3

#include <assert.h>
#include <unistd.h>
#include <string.h>
#include <sys/stat.h>

#define TENANT_BUSY_TIMEOUT_MS 5000 /* a bound connection's busy timeout */

/* All live sessions, to find a connection's session and to refuse a
** second binding. Guarded by SQLITE_MUTEX_STATIC_APP2. */
static TenantSession *tenantSessionList = 0;

sqlite3_mutex *tenantSessionMutex(void){
  return sqlite3_mutex_alloc(SQLITE_MUTEX_STATIC_APP2);
}

int tenantAdminDenied(sqlite3_context *pCtx, const char *zName){
  sqlite3 *db = sqlite3_context_db_handle(pCtx);
  TenantSession *p;
  int bBound;
  char *zErr;

  sqlite3_mutex_enter(tenantSessionMutex());
  for(p=tenantSessionList; p && p->db!=db; p=p->pNext){}
  bBound = p!=0 && p->bBound;
  sqlite3_mutex_leave(tenantSessionMutex());
  if( !bBound ) return 0;
  zErr = sqlite3_mprintf("not authorized to use function: %s", zName);
  sqlite3_result_error(pCtx, zErr ? zErr : "not authorized", -1);
  sqlite3_result_error_code(pCtx, SQLITE_AUTH);
  sqlite3_free(zErr);
  return 1;
}

int tenantSessionIsRegistered(sqlite3 *db){
  TenantSession *p;
  sqlite3_mutex_enter(tenantSessionMutex());
  for(p=tenantSessionList; p && p->db!=db; p=p->pNext){}
  sqlite3_mutex_leave(tenantSessionMutex());
  return p!=0;
}

TenantSession *tenantSessionOf(sqlite3 *db){
  TenantSession *p;
  sqlite3_mutex_enter(tenantSessionMutex());
  for(p=tenantSessionList; p && p->db!=db; p=p->pNext){}
  sqlite3_mutex_leave(tenantSessionMutex());
  return p && p->bBound ? p : 0;
}

const char *tenantSessionCustomer(TenantSession *p){
  return p->plan.zCustomer;
}

const char *tenantSessionParent(TenantSession *p){
  return p->plan.zParent;
}

int tenantSessionIsMetered(TenantSession *p){
  return p->bMetered;
}

const char *tenantSessionScanCustomer(TenantSession *p){
  return p->bRetired ? 0 : p->plan.zCustomer;
}

static int tenantSessionTrace(unsigned, void*, void*, void*);

/*
** Statements started inside the bracket are not counted. A session also
** removes its trace for the bracket on hosts that format a "-- <sql>"
** copy of every statement that a virtual table runs, only for the trace
** callback to skip it. Callgrind counted about a thousand instructions per
** inner statement for that copy in SQLite 3.40.1. SQLite 3.15.2 passes the
** text as it is, so removing the trace there would cost its two mutex
** round trips for nothing. Versions in between were not tried.
*/
static int tenantSessionTraceFormats(void){
  return tenantHostVersion()>=3016000;
}

/* The trace events a session needs: each statement's start, for the
** meter, and once the session has made temp tables, each statement's end
** (authdefinition.c). */
static unsigned tenantSessionTraceMask(TenantSession *p){
  return SQLITE_TRACE_STMT | (p->bTempCreated ? SQLITE_TRACE_PROFILE : 0);
}

void tenantSessionEnterInternal(TenantSession *p){
  if( p->nInternal++==0 && tenantSessionTraceFormats() ){
    sqlite3_trace_v2(p->db, 0, 0, 0);
  }
}

void tenantSessionTraceRestore(TenantSession *p){
  if( p->nInternal==0 ){
    sqlite3_trace_v2(p->db, tenantSessionTraceMask(p), tenantSessionTrace,
                     p);
  }
}

void tenantSessionLeaveInternal(TenantSession *p){
  assert( p->nInternal>0 );
  if( --p->nInternal==0 && tenantSessionTraceFormats() ){
    tenantSessionTraceRestore(p);
  }
}

int tenantSessionLookupTable(TenantSession *p, const char *zTable,
                             const char **pzSchema, const char **pzPartition,
                             int *pbReadOnly){
  int i;
  for(i=0; i<p->nTable; i++){
    if( sqlite3_stricmp(p->aTable[i].zName, zTable)==0 ){
      TenantReach *pReach = &p->plan.aReach[p->aTable[i].iReach];
      *pzSchema = p->azSchema[pReach->iFile];
      *pzPartition = pReach->zPartition;
      *pbReadOnly = pReach->bReadOnly;
      return SQLITE_OK;
    }
  }
  return SQLITE_ERROR;
}

/* Return p to the unbound state. */
static void tenantSessionReset(TenantSession *p){
  int i;
  tenantMeterClose(p->pMeter);
  p->pMeter = 0;
  for(i=0; i<p->nTable; i++) sqlite3_free(p->aTable[i].zName);
  sqlite3_free(p->aTable);
  p->aTable = 0;
  p->nTable = 0;
  for(i=0; i<p->nKnown; i++) sqlite3_free(p->azKnown[i]);
  sqlite3_free(p->azKnown);
  p->azKnown = 0;
  p->nKnown = 0;
  p->nKnownAlloc = 0;
  sqlite3_free(p->zModules);
  p->zModules = 0;
  p->nModules = 0;
  tenantSessionDefinitionsFree(p);
  p->bBound = 0;
  p->bDedicated = 0;
  p->bInCommitHook = 0;
  p->bExpirePending = 0;
  p->bMetered = 0;
  p->bBinding = 0;
  p->bStale = 0;
  p->bActiveRead = 0;
  p->bEpochRead = 0;
  p->bRetired = 0;
  p->bAgentRemoved = 0;
  p->bDisarmAgain = 0;
  memset(&p->plan, 0, sizeof(p->plan));
  memset(p->azSchema, 0, sizeof(p->azSchema));
  memset(p->abCookie, 0, sizeof(p->abCookie));
}

static void tenantSessionFree(void *pArg){
  TenantSession *p = (TenantSession*)pArg;
  TenantSession **pp;
  if( p==0 ) return;
  sqlite3_mutex_enter(tenantSessionMutex());
  for(pp=&tenantSessionList; *pp; pp=&(*pp)->pNext){
    if( *pp==p ){
      *pp = p->pNext;
      break;
    }
  }
  sqlite3_mutex_leave(tenantSessionMutex());
  tenantSessionReset(p);
  sqlite3_free(p);
}

/* ---- binding ---------------------------------------------------------- */

/*
** tenant_attach_key(i): the raw key text of file i of the session being
** bound. It returns a key only while tenantSessionBind() attaches, from inside
** the extension's own ATTACH statement; the authorizer keeps it from any
** other SQL, and its result is never part of SQL text.
*/
static void tenantAttachKeyFunc(sqlite3_context *pCtx, int argc,
                                sqlite3_value **argv){
  TenantSession *p = (TenantSession*)sqlite3_user_data(pCtx);
  int iFile = sqlite3_value_int(argv[0]);
  unsigned char aKey[TENANT_KEY_BYTES];
  char zKey[72];
  char *zErr = 0;
  (void)argc;
  if( p==0 || !p->bBinding || p->nInternal==0
   || iFile<0 || iFile>=p->plan.nFile ){
    tenantResultError(pCtx, "tenant_attach_key() is internal to binding");
    return;
  }
  if( tenantKeyDerive(p->plan.aFile[iFile].zKeyId, aKey, &zErr)!=SQLITE_OK ){
    sqlite3_result_error(pCtx, zErr ? zErr : "tenant: key derivation failed", -1);
    sqlite3_free(zErr);
    return;
  }
  tenantKeyFormatRaw(aKey, zKey);
  sqlite3_result_text(pCtx, zKey, -1, SQLITE_TRANSIENT);
  tenantKeyWipe(aKey, sizeof(aKey));
  tenantKeyWipe(zKey, sizeof(zKey));
}

/* Run one internal statement with up to two text parameters. */
int tenantSessionExec(TenantSession *p, const char *zSql,
                      const char *zP1, const char *zP2, int iP3,
                      char **pzErr){
  sqlite3_stmt *pStmt = 0;
  int rc;
  rc = sqlite3_prepare_v2(p->db, zSql, -1, &pStmt, 0);
  if( rc==SQLITE_OK ){
    if( zP1 ) sqlite3_bind_text(pStmt, 1, zP1, -1, SQLITE_STATIC);
    if( zP2 ) sqlite3_bind_text(pStmt, 2, zP2, -1, SQLITE_STATIC);
    if( iP3>=0 ) sqlite3_bind_int(pStmt, 3, iP3);
    while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){}
    if( rc==SQLITE_DONE ) rc = SQLITE_OK;
  }
  if( rc!=SQLITE_OK ){
    tenantSetError(pzErr, "%s", sqlite3_errmsg(p->db));
  }
  sqlite3_finalize(pStmt);
  return rc;
}

/*
** Read the schema cookie of file iFile while the connection binds, outside
** any transaction of the application. An isolation table that connects
** later takes it from here (tenantSessionFileCookie) instead of reading the
** file: inside the application's BEGIN such a read would hold a read lock,
** which SQLite does not upgrade to the write lock with a wait.
*/
static int tenantSessionReadCookie(TenantSession *p, int iFile,
                                   char **pzErr){
  sqlite3_stmt *pStmt = 0;
  char *zSql = sqlite3_mprintf("PRAGMA \"%w\".schema_version",
                               p->azSchema[iFile]);
  int rc;

  if( zSql==0 ) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(p->db, zSql, -1, &pStmt, 0);
  sqlite3_free(zSql);
  if( rc==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
    p->aCookie[iFile] = sqlite3_column_int(pStmt, 0);
    p->abCookie[iFile] = 1;
  }
  rc = sqlite3_finalize(pStmt);
  if( rc!=SQLITE_OK ){
    tenantSetError(pzErr, "cannot read the schema version of placement file"
        " %s: %s", p->plan.aFile[iFile].zKeyId, sqlite3_errmsg(p->db));
  }
  return rc;
}

int tenantSessionFileCookie(TenantSession *p, const char *zSchema,
                            int *piCookie){
  int i;
  for(i=0; i<p->plan.nFile && i<TENANT_MAX_FILES; i++){
    if( p->abCookie[i] && strcmp(p->azSchema[i], zSchema)==0 ){
      *piCookie = p->aCookie[i];
      return 1;
    }
  }
  return 0;
}

/* Attach file i of the plan under its secret schema name. */
static int tenantSessionAttach(TenantSession *p, int iFile, char **pzErr){
  TenantFile *pFile = &p->plan.aFile[iFile];
  int bVfsCodec = pFile->bEncrypted && !tenantHostHasCodec();
  int bWritable = 0;
  char zToken[TENANT_VFS_TOKEN_LEN+1];
  const char *zPartition = 0;
  char *zName;
  sqlite3_file *pOsFile = 0;
  struct stat st;
  int i, rc;
  const char *zSql;

  /* Name the file by any partition it holds; the VFS resolves it. */
  for(i=0; i<p->plan.nReach; i++){
    if( p->plan.aReach[i].iFile==iFile ){
      zPartition = p->plan.aReach[i].zPartition;
      break;
    }
  }
  if( zPartition==0 ) return SQLITE_OK;

  /* ATTACH would create a missing file: an empty placement would then
  ** hide the customer's data. mode=rw below also stops a race. A file of
  ** no bytes is as good as missing: provisioning never leaves one, and
  ** SQLite would write a new database into it. */
  if( stat(pFile->zPath, &st)!=0 || st.st_size==0 ){
    tenantSetError(pzErr, "placement file %s of customer \"%s\" is "
        "%s: restore it from a backup; binding creates no file",
        pFile->zPath, p->plan.zCustomer,
        access(pFile->zPath, F_OK)!=0 ? "missing" : "empty");
    return SQLITE_CANTOPEN;
  }

  /* A file the session only reads is attached read-only, so that the
  ** session cannot hold its write lock (BEGIN IMMEDIATE or EXCLUSIVE)
  ** against the customers who write it. */
  for(i=0; i<p->plan.nReach; i++){
    if( p->plan.aReach[i].iFile==iFile && !p->plan.aReach[i].bReadOnly ){
      bWritable = 1;
    }
  }
  if( tenantVfsBindingBegin(zToken, pFile->zPath)!=SQLITE_OK ){
    tenantSetError(pzErr, "cannot bind customer \"%s\": too many bindings "
        "run at once in this process; try again", p->plan.zCustomer);
    return SQLITE_BUSY;
  }
  zName = sqlite3_mprintf("file:%s/%s@%s?vfs=" TENANT_VFS_NAME
                          "&mode=%s%s&bind=%s",
                          p->plan.zCustomer, zPartition, zToken,
                          bWritable ? "rw" : "ro",
                          bVfsCodec ? "&codec=vfs" : "", zToken);
  if( zName==0 ){
    tenantVfsBindingEnd(zToken);
    return SQLITE_NOMEM;
  }

  if( bVfsCodec ){
    zSql = "ATTACH ?1 AS ?2";
  }else if( pFile->bEncrypted ){
    zSql = "ATTACH ?1 AS ?2 KEY tenant_attach_key(?3)";
  }else if( tenantHostHasCodec() ){
    zSql = "ATTACH ?1 AS ?2 KEY ''";      /* explicit: no inherited key */
  }else{
    zSql = "ATTACH ?1 AS ?2";
  }
  rc = tenantSessionExec(p, zSql, zName, p->azSchema[iFile],
                         pFile->bEncrypted && !bVfsCodec ? iFile : -1, pzErr);
  tenantVfsBindingEnd(zToken);
  sqlite3_free(zName);
  if( (rc&0xff)==SQLITE_NOTADB ){
    tenantSetError(pzErr, "cannot open placement file %s of customer \"%s\": "
        "the key does not match or the file is not a database; check "
        "TENANT_MASTER_KEY or TENANT_KEY_FILE", pFile->zKeyId,
        p->plan.zCustomer);
  }else if( rc!=SQLITE_OK && pzErr ){
    /* SQLite's message names the internal URI with its binding token. A
    ** connection that does not process URIs fails here too, because it
    ** takes the URI for a path in a folder that does not exist. */
    sqlite3_free(*pzErr);
    *pzErr = 0;
    tenantSetError(pzErr, "cannot open placement file %s of customer \"%s\":"
        " %s; if the connection was opened without SQLITE_OPEN_URI, open it"
        " with that flag or as \"file:%s?vfs=tenant\"", pFile->zKeyId,
        p->plan.zCustomer, sqlite3_errstr(rc), p->plan.zCustomer);
  }
  if( rc!=SQLITE_OK ) return rc;

  /* A connection that does not process URIs would have opened a plain
  ** file named like the URI: check the file really is the tenant VFS's. */
  if( sqlite3_file_control(p->db, p->azSchema[iFile],
                           SQLITE_FCNTL_FILE_POINTER, &pOsFile)!=SQLITE_OK
   || !tenantVfsIsPlacement(pOsFile) ){
    tenantSetError(pzErr, "cannot bind: the connection does not process "
        "URI file names; open it with SQLITE_OPEN_URI or as "
        "\"file:%s?vfs=tenant\"", p->plan.zCustomer);
    return SQLITE_CANTOPEN;
  }

  /* ATTACH has read the file's schema, so a wrong key failed above with
  ** SQLITE_NOTADB, in SQLite 3.15.2 and 3.40 alike. */
  return SQLITE_OK;
}

static void tenantWhoamiFunc(sqlite3_context *pCtx, int argc,
                             sqlite3_value **argv){
  TenantSession *p = (TenantSession*)sqlite3_user_data(pCtx);
  (void)argc; (void)argv;
  if( p->bBound ){
    sqlite3_result_text(pCtx, p->plan.zCustomer, -1, SQLITE_TRANSIENT);
  }
}

static void tenantAgentFunc(sqlite3_context *pCtx, int argc,
                            sqlite3_value **argv){
  TenantSession *p = (TenantSession*)sqlite3_user_data(pCtx);
  (void)argc; (void)argv;
  if( p->bBound && p->plan.zAgent[0] ){
    sqlite3_result_text(pCtx, p->plan.zAgent, -1, SQLITE_TRANSIENT);
  }
}

/* True when file iFile is shared and the session writes a partition in
** it: its rows are counted in the file's tenant_usage table. */
static int tenantSessionFileIsWritable(TenantSession *p, int iFile){
  int i;
  if( !p->plan.aFile[iFile].bShared ) return 0;
  for(i=0; i<p->plan.nReach; i++){
    if( p->plan.aReach[i].iFile==iFile && !p->plan.aReach[i].bReadOnly ){
      return 1;
    }
  }
  return 0;
}

/* SQLITE_TRACE_STMT: count each statement the application executes as
** one API call, and stop it when the session is retired and reaches a
** dedicated file (tenantSessionRunCheck). SQLITE_TRACE_PROFILE: check the
** temp tables a finished statement may have changed. Statements the
** extension runs itself are neither counted nor checked. */
static int tenantSessionTrace(unsigned eType, void *pArg, void *pStmt,
                              void *pData){
  TenantSession *p = (TenantSession*)pArg;
  if( p->nInternal>0 ) return 0;
  if( eType==SQLITE_TRACE_STMT ){
    if( p->bDedicated ) tenantSessionRunCheck(p, (const char*)pData);
    if( p->pMeter ) tenantMeterCount(p->pMeter);
    tenantSessionStatementStarts(p);
  }else if( eType==SQLITE_TRACE_PROFILE ){
    tenantSessionCheckDefinitions(p, (sqlite3_stmt*)pStmt);
  }
  return 0;
}

/* Function flags: SQLITE_DIRECTONLY (3.30) keeps a function out of views
** and triggers; older hosts rely on the authorizer alone. */
static int tenantDirectOnly(void){
  return tenantHostVersion()>=3030000 ? 0x000080000 : 0;
}

/*
** Fail when binding would drop temp objects of the application. Binding
** keeps the session's temporary data in memory (PRAGMA temp_store=MEMORY),
** and changing temp_store closes the temp database with its tables, views
** and triggers.
*/
static int tenantSessionCheckTempStore(TenantSession *p, char **pzErr){
  sqlite3_stmt *pStmt = 0;
  int eStore = 0;
  int nObject = 0;

  if( sqlite3_prepare_v2(p->db, "PRAGMA temp_store", -1, &pStmt, 0)
      ==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
    eStore = sqlite3_column_int(pStmt, 0);
  }
  sqlite3_finalize(pStmt);
  if( eStore==2 ) return SQLITE_OK;
  pStmt = 0;
  if( sqlite3_prepare_v2(p->db, "SELECT count(*) FROM sqlite_temp_master",
                         -1, &pStmt, 0)==SQLITE_OK
   && sqlite3_step(pStmt)==SQLITE_ROW ){
    nObject = sqlite3_column_int(pStmt, 0);
  }
  sqlite3_finalize(pStmt);
  if( nObject==0 ) return SQLITE_OK;
  tenantSetError(pzErr, "the connection has %d temp object%s, which binding"
      " would drop when it moves temporary data to memory: run PRAGMA"
      " temp_store=MEMORY before creating them, or bind first", nObject,
      nObject==1 ? "" : "s");
  return SQLITE_ERROR;
}

/*
** Bind the connection of p to zCustomer (and zAgent when not NULL); bAtOpen
** is true while the connection opens on a tenant URI. On failure the
** connection is left unbound with nothing attached, and *pzErr explains
** why.
*/
static int tenantSessionBind(TenantSession *p, const char *zCustomer,
                             const char *zAgent, const char *zRoot,
                             int bAtOpen, char **pzErr){
  sqlite3 *db = p->db;
  TenantTempList early;
  int i, rc;

  memset(&early, 0, sizeof(early));
  if( p->bBound ){
    tenantSetError(pzErr, "this connection is already bound to customer "
        "\"%s\"; open a new connection to bind another", p->plan.zCustomer);
    return SQLITE_ERROR;
  }
  if( sqlite3_get_autocommit(db)==0 ){
    tenantSetError(pzErr, "cannot bind inside a transaction: COMMIT or "
        "ROLLBACK first");
    return SQLITE_ERROR;
  }
  rc = tenantCatalogOpenExisting(zRoot, pzErr);
  if( rc!=SQLITE_OK ) return rc;
  rc = tenantPlanLoad(zCustomer, zAgent, &p->plan, pzErr);
  if( rc!=SQLITE_OK ){
    tenantSessionReset(p);
    return rc;
  }
  for(i=0; i<p->plan.nFile; i++){
    if( p->plan.aFile[i].bEncrypted && !tenantHostHasCodec()
     && !tenantCodecAvailable() ){
      tenantSetError(pzErr, "placement file %s of customer \"%s\" must be "
          "encrypted but this host, SQLite %s, has no codec and is older "
          "than 3.34, which the tenant VFS needs to encrypt: use the "
          "sqlcipher shell, a SQLCipher-linked program or SQLite 3.34 or "
          "newer, or mark the tier unencrypted with "
          "tenant_policy_set(tier, 'encrypted', 0) for a development fleet",
          p->plan.aFile[i].zKeyId, p->plan.zCustomer, sqlite3_libversion());
      tenantSessionReset(p);
      return SQLITE_ERROR;
    }
  }
  /* A missing or short master key fails here, before anything is
  ** attached: a failed ATTACH would show the internal file name. */
  for(i=0; i<p->plan.nFile; i++){
    if( p->plan.aFile[i].bEncrypted ){
      rc = tenantKeyCheckMaster(pzErr);
      if( rc!=SQLITE_OK ){
        tenantSessionReset(p);
        return rc;
      }
      break;
    }
  }

  /* A connection opening on a tenant URI has no temp object yet. */
  rc = bAtOpen ? SQLITE_OK : tenantSessionCheckTempStore(p, pzErr);
  if( rc!=SQLITE_OK ){
    tenantSessionReset(p);
    return rc;
  }
  for(i=0; i<p->plan.nFile; i++){
    static const char aHex[] = "0123456789abcdef";
    unsigned char aRand[16];
    int j;
    sqlite3_randomness(sizeof(aRand), aRand);
    p->azSchema[i][0] = 't';
    for(j=0; j<16; j++){
      p->azSchema[i][1+2*j] = aHex[aRand[j]>>4];
      p->azSchema[i][2+2*j] = aHex[aRand[j]&0xf];
    }
    p->azSchema[i][TENANT_SCHEMA_NAME_LEN] = 0;
  }

  rc = tenantSessionMarkAppTables(p, pzErr);
  if( rc!=SQLITE_OK ){
    tenantSessionReset(p);
    return rc;
  }
  for(i=0; i<p->plan.nFile; i++){
    if( !p->plan.aFile[i].bShared ) p->bDedicated = 1;
  }

  /* Bound from here on: the authorizer is in force for all but the
  ** extension's own statements. It is installed again in case the
  ** application replaced it after the connection opened. */
  p->bBound = 1;
  p->bMetered = tenantMeterEnabled();
  sqlite3_set_authorizer(db, tenantAuthorize, p);
  if( p->bDedicated ) sqlite3_commit_hook(db, tenantSessionCommitHook, p);
  tenantSessionDisarm(db);
  p->bDisarmAgain = 1;

  /* Other processes commit to shared files: wait for their locks, here and
  ** in the session's statements (PRAGMA busy_timeout changes it). */
  sqlite3_busy_timeout(db, TENANT_BUSY_TIMEOUT_MS);
  p->nInternal++;
  p->bBinding = 1;
  rc = tenantSessionExec(p, "PRAGMA temp_store=MEMORY", 0, 0, -1, pzErr);
  if( rc==SQLITE_OK ) rc = tenantSessionListTables(p, pzErr);
  if( rc==SQLITE_OK && bAtOpen ) rc = tenantSessionPrewrite(p, &early, pzErr);
  for(i=0; i<p->plan.nFile && rc==SQLITE_OK; i++){
    rc = tenantSessionAttach(p, i, pzErr);
  }
  p->bBinding = 0;
  for(i=0; i<p->plan.nFile && rc==SQLITE_OK; i++){
    if( tenantSessionFileIsWritable(p, i) ){
      rc = tenantQuotaPrepareFile(db, p->azSchema[i], pzErr);
    }
  }

  /* One read transaction over every attached file for all the statements
  ** that build the isolation tables, so the files are locked and checked
  ** for a hot journal once rather than once per statement. */
  if( rc==SQLITE_OK ) rc = tenantSessionExec(p, "BEGIN", 0, 0, -1, pzErr);
  if( rc==SQLITE_OK ){
    /* The cookies are read inside the transaction, which then holds the
    ** files' read locks, so that reading them takes no lock of its own. */
    for(i=0; i<p->plan.nFile && rc==SQLITE_OK; i++){
      if( sqlite3_db_filename(db, p->azSchema[i]) ){
        rc = tenantSessionReadCookie(p, i, pzErr);
      }
    }
    /* Every isolation table's shape is read here (by tenantRowCheck() or
    ** xCreate) unless the process has it, into the per-process cache of
    ** the last shapes used, so that a table connecting inside the
    ** application's BEGIN reads nothing from its file. */
    if( rc==SQLITE_OK ) rc = tenantSessionIsolate(p, bAtOpen, &early, pzErr);
    if( rc==SQLITE_OK ){
      rc = tenantSessionExec(p, "COMMIT", 0, 0, -1, pzErr);
    }else{
      tenantSessionExec(p, "ROLLBACK", 0, 0, -1, 0);
    }
  }
  tenantTempListFree(&early);
  if( rc==SQLITE_OK ) rc = tenantMeterOpen(p->plan.zCustomer, &p->pMeter);

  if( rc!=SQLITE_OK ){
    /* Undo: drop the temp tables, detach the files, unbind. */
    char *zSaved = pzErr ? *pzErr : 0;
    if( pzErr ) *pzErr = 0;
    tenantSessionDropTemp(p);
    for(i=0; i<p->plan.nFile; i++){
      tenantSessionExec(p, "DETACH ?1", p->azSchema[i], 0, -1, 0);
    }
    if( pzErr ){
      sqlite3_free(*pzErr);
      *pzErr = zSaved;
    }
    p->nInternal--;
    tenantSessionReset(p);
    return rc;
  }
  p->nInternal--;
  sqlite3_trace_v2(db, tenantSessionTraceMask(p), tenantSessionTrace, p);
  sqlite3_log(SQLITE_OK, "tenant: connection bound to customer \"%s\"%s%s",
              p->plan.zCustomer, p->plan.zAgent[0] ? " as agent " : "",
              p->plan.zAgent);
  return SQLITE_OK;
}

/*
** Return true when the connection's main database contains a schema
** object. A bound customer may read and write main, so binding must not
** hand it the tables of a file that the host program opened.
*/
static int tenantMainHasObjects(sqlite3 *db){
  sqlite3_stmt *pStmt = 0;
  int bFound;

  if( sqlite3_prepare_v2(db, "SELECT 1 FROM main.sqlite_master LIMIT 1", -1,
                         &pStmt, 0)!=SQLITE_OK ){
    return 1;
  }
  bFound = sqlite3_step(pStmt)!=SQLITE_DONE;
  sqlite3_finalize(pStmt);
  return bFound;
}

/* tenant_bind(customer [, agent]) */
static void tenantBindFunc(sqlite3_context *pCtx, int argc,
                           sqlite3_value **argv){
  TenantSession *p = (TenantSession*)sqlite3_user_data(pCtx);
  const char *zCustomer = (const char*)sqlite3_value_text(argv[0]);
  const char *zAgent = argc>1 ? (const char*)sqlite3_value_text(argv[1]) : 0;
  char *zErr = 0;
  int rc;

  if( zCustomer==0 ){
    tenantResultError(pCtx, "tenant_bind() needs a customer id, not NULL");
    return;
  }
  if( tenantIdArgHasNul(pCtx, argv[0], "customer")
   || (argc>1 && tenantIdArgHasNul(pCtx, argv[1], "agent")) ){
    return;
  }
  if( !p->bBound && tenantMainHasObjects(sqlite3_context_db_handle(pCtx)) ){
    const char *zFile = sqlite3_db_filename(sqlite3_context_db_handle(pCtx),
                                            "main");
    char *zMsg = sqlite3_mprintf("cannot bind customer \"%s\": the"
        " connection's main database \"%s\" is not empty, and a bound"
        " customer could read and write it; drop its tables, or bind a new"
        " connection opened on an empty or in-memory database", zCustomer,
        zFile && zFile[0] ? zFile : ":memory:");
    tenantResultError(pCtx, zMsg ? zMsg : "out of memory");
    sqlite3_free(zMsg);
    return;
  }
  rc = tenantSessionBind(p, zCustomer, zAgent, 0, 0, &zErr);
  if( rc!=SQLITE_OK ){
    sqlite3_result_error(pCtx, zErr ? zErr : sqlite3_errstr(rc), -1);
    sqlite3_result_error_code(pCtx, rc);
    sqlite3_free(zErr);
    return;
  }
  sqlite3_result_text(pCtx, zCustomer, -1, SQLITE_TRANSIENT);
}

int tenantSessionRegister(sqlite3 *db, char **pzErr){
  static const struct {
    const char *zName;
    int nArg;
    int bDirectOnly;
    void (*xFunc)(sqlite3_context*, int, sqlite3_value**);
  } aFunc[] = {
    { "tenant_bind",       1, 1, tenantBindFunc },
    { "tenant_bind",       2, 1, tenantBindFunc },
    { "tenant_agent",      0, 0, tenantAgentFunc },
    { "tenant_attach_key", 1, 1, tenantAttachKeyFunc },
  };
  TenantSession *p;
  const char *zCustomer = 0;
  int i, rc;

  /* Every connection gets an unbound session: functions, modules and the
  ** authorizer are registered now, while no statement runs, because
  ** SQLite refuses to replace a function from inside a statement. */
  p = sqlite3_malloc64(sizeof(*p));
  if( p==0 ) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->db = db;
  sqlite3_mutex_enter(tenantSessionMutex());
  p->pNext = tenantSessionList;
  tenantSessionList = p;
  sqlite3_mutex_leave(tenantSessionMutex());

  /* tenant_whoami() owns the session: its destructor frees it when the
  ** connection closes (or on failure here). */
  rc = sqlite3_create_function_v2(db, "tenant_whoami", 0, SQLITE_UTF8, p,
                                  tenantWhoamiFunc, 0, 0, tenantSessionFree);
  if( rc!=SQLITE_OK ) return rc;
  for(i=0; rc==SQLITE_OK && i<(int)(sizeof(aFunc)/sizeof(aFunc[0])); i++){
    rc = sqlite3_create_function(db, aFunc[i].zName, aFunc[i].nArg,
        SQLITE_UTF8|(aFunc[i].bDirectOnly ? tenantDirectOnly() : 0), p,
        aFunc[i].xFunc, 0, 0);
  }
  if( rc==SQLITE_OK ) rc = tenantRowRegister(db, p);
  if( rc==SQLITE_OK ) rc = tenantPlaceholderRegister(db);
  if( rc!=SQLITE_OK ) return rc;
  sqlite3_set_authorizer(db, tenantAuthorize, p);

  /* A connection opened on a tenant URI is bound now, as it opens. */
  if( tenantVfsIsSession(db, &zCustomer) ){
    const char *zFilename = sqlite3_db_filename(db, "main");
    const char *zAgent = sqlite3_uri_parameter(zFilename, "agent");
    const char *zRoot = sqlite3_uri_parameter(zFilename, "root");
    /* On failure sqlite3_open_v2() reports *pzErr and returns an error. */
    rc = tenantSessionBind(p, zCustomer, zAgent, zRoot, 1, pzErr);
  }
  return rc;
}
