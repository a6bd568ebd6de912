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
**      customer filter; dedicated (Sapphire) tables are reached directly;
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

#define TENANT_BUSY_TIMEOUT_MS 5000 /* a bound connection's busy timeout */

/* All live sessions, to find a connection's session and to refuse a
** second binding. Guarded by SQLITE_MUTEX_STATIC_APP2. */
static TenantSession *tenantSessionList = 0;

static sqlite3_mutex *tenantSessionMutex(void){
  return sqlite3_mutex_alloc(SQLITE_MUTEX_STATIC_APP2);
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

static int tenantSessionTrace(unsigned, void*, void*, void*);

/*
** Statements started inside the bracket are not counted. A metered session
** also removes its trace for the bracket. SQLite 3.40 formats a "-- <sql>"
** copy of every statement that a virtual table runs, only for the trace
** callback to skip it. Callgrind counted about a thousand instructions per
** inner statement for that copy.
*/
void tenantSessionEnterInternal(TenantSession *p){
  if( p->nInternal++==0 && p->pMeter ){
    sqlite3_trace_v2(p->db, 0, 0, 0);
  }
}

void tenantSessionTraceRestore(TenantSession *p){
  if( p->pMeter && p->nInternal==0 ){
    sqlite3_trace_v2(p->db, SQLITE_TRACE_STMT, tenantSessionTrace, p);
  }
}

void tenantSessionLeaveInternal(TenantSession *p){
  assert( p->nInternal>0 );
  if( --p->nInternal==0 && p->pMeter ){
    sqlite3_trace_v2(p->db, SQLITE_TRACE_STMT, tenantSessionTrace, p);
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
  p->bBound = 0;
  p->bMetered = 0;
  p->bBinding = 0;
  memset(&p->plan, 0, sizeof(p->plan));
  memset(p->azSchema, 0, sizeof(p->azSchema));
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
static int tenantSessionExec(TenantSession *p, const char *zSql,
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

/* Attach file i of the plan under its secret schema name. */
static int tenantSessionAttach(TenantSession *p, int iFile, char **pzErr){
  TenantFile *pFile = &p->plan.aFile[iFile];
  int bVfsCodec = pFile->bEncrypted && !tenantHostHasCodec();
  int bWritable = 0;
  char zToken[TENANT_VFS_TOKEN_LEN+1];
  const char *zPartition = 0;
  char *zName;
  sqlite3_file *pOsFile = 0;
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
  ** hide the customer's data. mode=rw below also stops a race. */
  if( access(pFile->zPath, F_OK)!=0 ){
    tenantSetError(pzErr, "placement file %s of customer \"%s\" is "
        "missing: restore it from a backup; binding creates no file",
        pFile->zPath, p->plan.zCustomer);
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

  /* Read the schema now so a wrong key fails the binding, not a query. */
  zName = sqlite3_mprintf("SELECT count(*) FROM \"%w\".sqlite_master",
                          p->azSchema[iFile]);
  if( zName==0 ) return SQLITE_NOMEM;
  rc = tenantSessionExec(p, zName, 0, 0, -1, pzErr);
  sqlite3_free(zName);
  return rc;
}

/* The state of tenantSessionAddTable(): the reach of each partition that
** tenantCatalogTablesOf() was given. */
typedef struct TenantTableCollect TenantTableCollect;
struct TenantTableCollect {
  TenantSession *pSession;
  int aiReach[TENANT_MAX_PARTITIONS];
};

static int tenantSessionAddTable(void *pArg, int iPartition,
                                 const char *zTable){
  TenantTableCollect *pC = (TenantTableCollect*)pArg;
  TenantSession *p = pC->pSession;
  TenantSessionTable *aNew;

  aNew = sqlite3_realloc64(p->aTable, sizeof(aNew[0])*(p->nTable+1));
  if( aNew==0 ) return SQLITE_NOMEM;
  p->aTable = aNew;
  aNew[p->nTable].zName = sqlite3_mprintf("%s", zTable);
  if( aNew[p->nTable].zName==0 ) return SQLITE_NOMEM;
  aNew[p->nTable].iReach = pC->aiReach[iPartition];
  p->nTable++;
  return SQLITE_OK;
}

/* A temp virtual table that binding creates: an isolation table (module
** tenant_row) or a placeholder (module tenant_hidden). */
typedef struct TenantTempTable TenantTempTable;
struct TenantTempTable {
  const char *zName;           /* table name, owned by the session or list */
  const char *zModule;         /* TENANT_ROW_MODULE or TENANT_HIDDEN_MODULE */
};

/* The temp virtual tables of one binding, in creation order. */
typedef struct TenantTempList TenantTempList;
struct TenantTempList {
  int nTable;
  TenantTempTable *aTable;
  int nOwned;                  /* placeholder names the list allocated */
  char **azOwned;
};

static void tenantTempListFree(TenantTempList *pList){
  int i;
  for(i=0; i<pList->nOwned; i++) sqlite3_free(pList->azOwned[i]);
  sqlite3_free(pList->azOwned);
  sqlite3_free(pList->aTable);
  memset(pList, 0, sizeof(*pList));
}

/* Append table zName of module zModule. A placeholder's name is copied. */
static int tenantTempListAdd(TenantTempList *pList, const char *zName,
                             const char *zModule, int bCopy){
  TenantTempTable *aNew;

  aNew = sqlite3_realloc64(pList->aTable, sizeof(aNew[0])*(pList->nTable+1));
  if( aNew==0 ) return SQLITE_NOMEM;
  pList->aTable = aNew;
  if( bCopy ){
    char **azNew = sqlite3_realloc64(pList->azOwned,
                                     sizeof(char*)*(pList->nOwned+1));
    if( azNew==0 ) return SQLITE_NOMEM;
    pList->azOwned = azNew;
    zName = azNew[pList->nOwned] = sqlite3_mprintf("%s", zName);
    if( zName==0 ) return SQLITE_NOMEM;
    pList->nOwned++;
  }
  aNew[pList->nTable].zName = zName;
  aNew[pList->nTable].zModule = zModule;
  pList->nTable++;
  return SQLITE_OK;
}

/* True when the list already has a table named zName. */
static int tenantTempListHas(TenantTempList *pList, const char *zName){
  int i;
  for(i=0; i<pList->nTable; i++){
    if( sqlite3_stricmp(pList->aTable[i].zName, zName)==0 ) return 1;
  }
  return 0;
}

/*
** The way this host reads the temp schema again after
** tenantSessionCreateAll() wrote its rows. 0: not known yet. 1: a new temp schema cookie is enough,
** as in SQLite 3.40, which reads the temp schema again at the next
** statement that checks the cookie. 2: a savepoint rollback must discard
** every schema, as in SQLite 3.15.2, which keeps its stale temp schema.
** The first binding of the process learns it, and a race only repeats it.
*/
static int tenantTempReload = 0;

/*
** The table names of each shared file, as the last binding that attached
** it listed them (tenantSessionHide), by path. A binding as the connection
** opens writes the placeholders it expects from here into the temp schema
** before it attaches any file. It checks them against the file once the
** file is attached, so the list only saves work and never decides what is
** hidden.
** Guarded by the session mutex. Entries are kept until the process exits,
** one per shared file bound in it.
*/
typedef struct TenantFileTables TenantFileTables;
struct TenantFileTables {
  char *zPath;                       /* the file's absolute path */
  int nName;
  char **azName;                     /* table names, in sqlite_master order */
  TenantFileTables *pNext;           /* next entry of the same hash bucket */
};
#define TENANT_FILE_TABLES_BUCKETS 256
static TenantFileTables *tenantFileTablesHash[TENANT_FILE_TABLES_BUCKETS];

static unsigned tenantFileTablesBucket(const char *zPath){
  unsigned h = 0;
  while( *zPath ) h = h*31 + (unsigned char)*zPath++;
  return h % TENANT_FILE_TABLES_BUCKETS;
}

static void tenantFileTablesFree(TenantFileTables *pEntry){
  int i;
  if( pEntry==0 ) return;
  for(i=0; i<pEntry->nName; i++) sqlite3_free(pEntry->azName[i]);
  sqlite3_free(pEntry->azName);
  sqlite3_free(pEntry->zPath);
  sqlite3_free(pEntry);
}

/* Replace the entry of zPath by pNew, which the list then owns. */
static void tenantFileTablesStore(TenantFileTables *pNew){
  TenantFileTables **pp;
  TenantFileTables *pOld = 0;
  unsigned iBucket = tenantFileTablesBucket(pNew->zPath);

  sqlite3_mutex_enter(tenantSessionMutex());
  for(pp=&tenantFileTablesHash[iBucket]; *pp; pp=&(*pp)->pNext){
    if( strcmp((*pp)->zPath, pNew->zPath)==0 ){
      pOld = *pp;
      *pp = pOld->pNext;
      break;
    }
  }
  pNew->pNext = tenantFileTablesHash[iBucket];
  tenantFileTablesHash[iBucket] = pNew;
  sqlite3_mutex_leave(tenantSessionMutex());
  tenantFileTablesFree(pOld);
}

/*
** Append a placeholder to pList for every table that the last binding
** listed in file zPath and that pList does not cover yet. Returns
** SQLITE_NOTFOUND when no binding of this process has listed the file.
*/
static int tenantFileTablesExpect(const char *zPath, TenantTempList *pList){
  TenantFileTables *pEntry;
  int i, rc = SQLITE_NOTFOUND;

  sqlite3_mutex_enter(tenantSessionMutex());
  pEntry = tenantFileTablesHash[tenantFileTablesBucket(zPath)];
  while( pEntry && strcmp(pEntry->zPath, zPath)!=0 ) pEntry = pEntry->pNext;
  if( pEntry ){
    rc = SQLITE_OK;
    for(i=0; i<pEntry->nName && rc==SQLITE_OK; i++){
      if( tenantTempListHas(pList, pEntry->azName[i]) ) continue;
      rc = tenantTempListAdd(pList, pEntry->azName[i], TENANT_HIDDEN_MODULE, 1);
    }
  }
  sqlite3_mutex_leave(tenantSessionMutex());
  return rc;
}

/*
** Add a tenant_hidden placeholder to pList for every table of shared file
** iFile that no table of pList covers yet, so that an unqualified name
** never finds a raw shared table. The file's table names are recorded for
** tenantFileTablesExpect().
*/
static int tenantSessionHide(TenantSession *p, int iFile,
                             TenantTempList *pList, char **pzErr){
  sqlite3_stmt *pStmt = 0;
  TenantFileTables *pSeen = 0;
  char *zSql;
  int rc;

  /* Only tenantSessionPrewrite() reads the names, and only on a host that
  ** must discard every schema, so the other hosts do not record them. */
  if( tenantTempReload!=1 ){
    pSeen = sqlite3_malloc64(sizeof(*pSeen));
    if( pSeen==0 ) return SQLITE_NOMEM;
    memset(pSeen, 0, sizeof(*pSeen));
    pSeen->zPath = sqlite3_mprintf("%s", p->plan.aFile[iFile].zPath);
    if( pSeen->zPath==0 ){
      tenantFileTablesFree(pSeen);
      return SQLITE_NOMEM;
    }
  }
  zSql = sqlite3_mprintf("SELECT name FROM \"%w\".sqlite_master "
                         "WHERE type='table' AND name NOT LIKE 'sqlite\\_%%' "
                         "ESCAPE '\\'", p->azSchema[iFile]);
  if( zSql==0 ){
    tenantFileTablesFree(pSeen);
    return SQLITE_NOMEM;
  }
  rc = sqlite3_prepare_v2(p->db, zSql, -1, &pStmt, 0);
  sqlite3_free(zSql);
  while( rc==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
    const char *zName = (const char*)sqlite3_column_text(pStmt, 0);
    if( zName==0 ) continue;
    if( pSeen ){
      char **azNew = sqlite3_realloc64(pSeen->azName,
                                       sizeof(char*)*(pSeen->nName+1));
      if( azNew==0 ){
        rc = SQLITE_NOMEM;
        break;
      }
      pSeen->azName = azNew;
      azNew[pSeen->nName] = sqlite3_mprintf("%s", zName);
      if( azNew[pSeen->nName]==0 ){
        rc = SQLITE_NOMEM;
        break;
      }
      pSeen->nName++;
    }
    if( tenantTempListHas(pList, zName) ) continue;
    rc = tenantSessionKnow(p, zName);
    if( rc==SQLITE_OK ){
      rc = tenantTempListAdd(pList, zName, TENANT_HIDDEN_MODULE, 1);
    }
  }
  if( rc==SQLITE_OK ) rc = sqlite3_finalize(pStmt);
  else sqlite3_finalize(pStmt);
  if( rc!=SQLITE_OK && pzErr && *pzErr==0 ){
    tenantSetError(pzErr, "%s", sqlite3_errmsg(p->db));
  }
  if( rc==SQLITE_OK && pSeen ){
    tenantFileTablesStore(pSeen);
  }else{
    tenantFileTablesFree(pSeen);
  }
  return rc;
}

/*
** Fail when a temp table or view of the application has the name of a
** table of pList. It would stand in front of the isolation table or the
** placeholder, and once dropped leave the name to the raw shared table.
*/
static int tenantSessionCheckClash(TenantSession *p, TenantTempList *pList,
                                   char **pzErr){
  sqlite3_stmt *pStmt = 0;
  int rc;

  rc = sqlite3_prepare_v2(p->db, "SELECT type, name FROM sqlite_temp_master"
                          " WHERE type IN ('table','view')", -1, &pStmt, 0);
  while( rc==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
    const char *zName = (const char*)sqlite3_column_text(pStmt, 1);
    if( zName && tenantTempListHas(pList, zName) ){
      tenantSetError(pzErr, "the connection has a temp %s \"%s\", the name"
          " of a table of customer \"%s\": drop it before binding, or bind"
          " a new connection", sqlite3_column_text(pStmt, 0), zName,
          p->plan.zCustomer);
      rc = SQLITE_ERROR;
    }
  }
  sqlite3_finalize(pStmt);
  return rc;
}

/* Create the tables of pList one CREATE VIRTUAL TABLE statement each,
** after checking that no temp table of the application has their names. */
static int tenantSessionCreateEach(TenantSession *p, TenantTempList *pList,
                                   char **pzErr){
  int i;
  int rc = tenantSessionCheckClash(p, pList, pzErr);
  for(i=0; i<pList->nTable && rc==SQLITE_OK; i++){
    const char *zModule = pList->aTable[i].zModule;
    int bHidden = strcmp(zModule, TENANT_HIDDEN_MODULE)==0;
    char *zSql = sqlite3_mprintf(
        "CREATE VIRTUAL TABLE %stemp.\"%w\" USING %s(\"%w\")",
        bHidden ? "IF NOT EXISTS " : "", pList->aTable[i].zName, zModule,
        pList->aTable[i].zName);
    if( zSql==0 ) return SQLITE_NOMEM;
    rc = tenantSessionExec(p, zSql, 0, 0, -1, pzErr);
    sqlite3_free(zSql);
  }
  return rc;
}

/*
** True when the tables of a binding may be written straight into the temp
** schema (tenantSessionCreateAll). The temp schema must be empty, so that
** no name can clash. The connection must not be in defensive mode (3.26),
** because that mode forbids writing the schema table.
*/
static int tenantSessionCanWriteTemp(TenantSession *p){
  sqlite3_stmt *pStmt = 0;
  int bEmpty = 0;

  if( tenantHostVersion()>=3026000 ){
    int bDefensive = 1;
    if( sqlite3_db_config(p->db, 1010 /* SQLITE_DBCONFIG_DEFENSIVE */, -1,
                          &bDefensive)!=SQLITE_OK || bDefensive ){
      return 0;
    }
  }
  if( sqlite3_prepare_v2(p->db, "SELECT count(*) FROM sqlite_temp_master",
                         -1, &pStmt, 0)==SQLITE_OK
   && sqlite3_step(pStmt)==SQLITE_ROW ){
    bEmpty = sqlite3_column_int(pStmt, 0)==0;
  }
  sqlite3_finalize(pStmt);
  return bEmpty;
}

/* True when every table of pList is in the connection's temp schema. */
static int tenantSessionTempHasAll(TenantSession *p, TenantTempList *pList){
  int i;
  for(i=0; i<pList->nTable; i++){
    if( sqlite3_table_column_metadata(p->db, "temp", pList->aTable[i].zName,
                                      0, 0, 0, 0, 0, 0)!=SQLITE_OK ){
      return 0;
    }
  }
  return 1;
}

/* Set the temp schema cookie to iCookie, inside a savepoint rolled back
** at once when bRollback is true. */
static int tenantSessionTempCookie(TenantSession *p, int iCookie,
                                   int bRollback, char **pzErr){
  char *zSql = sqlite3_mprintf("PRAGMA temp.schema_version=%d", iCookie);
  int rc;

  if( zSql==0 ) return SQLITE_NOMEM;
  rc = bRollback ? tenantSessionExec(p, "SAVEPOINT tenant_bind", 0, 0, -1,
                                     pzErr) : SQLITE_OK;
  if( rc==SQLITE_OK ) rc = tenantSessionExec(p, zSql, 0, 0, -1, pzErr);
  sqlite3_free(zSql);
  if( rc==SQLITE_OK && bRollback ){
    rc = tenantSessionExec(p, "ROLLBACK TO tenant_bind", 0, 0, -1, pzErr);
    if( rc==SQLITE_OK ){
      rc = tenantSessionExec(p, "RELEASE tenant_bind", 0, 0, -1, pzErr);
    }
  }
  return rc;
}

/*
** Create the tables of pList by writing their rows into sqlite_temp_master
** and making SQLite read the temp schema again, instead of one CREATE
** VIRTUAL TABLE statement each. Such a statement parses and plans an
** UPDATE of the schema table, reads the new row back and declares the
** columns, once per table. The rows written here are the ones CREATE
** VIRTUAL TABLE writes (type 'table', root page 0, the same SQL text). The
** virtual tables connect when a statement first uses them. The caller has
** checked every isolation table with tenantRowCheck(), so binding fails on
** the same errors as xCreate. A placeholder's xCreate can fail only for
** lack of memory.
**
** The temp schema is read again in one of two ways (tenantTempReload). A
** new cookie makes SQLite 3.40 read the temp schema again at the next
** statement that checks the cookie. On a host that keeps its stale temp
** schema, setting the cookie inside a savepoint and rolling the savepoint
** back discards every schema of the connection, and the next statement
** reads them all again. Either way, every table must then be in the temp
** schema, or binding fails: an unqualified name must never reach a raw
** shared table.
*/
static int tenantSessionCreateAll(TenantSession *p, TenantTempList *pList,
                                  char **pzErr){
  sqlite3_stmt *pStmt = 0;
  int i, rc;
  int iCookie = 0;

  rc = tenantSessionExec(p, "PRAGMA writable_schema=ON", 0, 0, -1, pzErr);
  if( rc!=SQLITE_OK ) return rc;
  rc = sqlite3_prepare_v2(p->db, "INSERT INTO sqlite_temp_master"
      "(type, name, tbl_name, rootpage, sql) VALUES('table', ?1, ?1, 0, ?2)",
      -1, &pStmt, 0);
  for(i=0; i<pList->nTable && rc==SQLITE_OK; i++){
    char *zSql = sqlite3_mprintf("CREATE VIRTUAL TABLE \"%w\" USING %s(\"%w\")",
                                 pList->aTable[i].zName,
                                 pList->aTable[i].zModule,
                                 pList->aTable[i].zName);
    if( zSql==0 ){
      rc = SQLITE_NOMEM;
      break;
    }
    sqlite3_bind_text(pStmt, 1, pList->aTable[i].zName, -1, SQLITE_STATIC);
    sqlite3_bind_text(pStmt, 2, zSql, -1, sqlite3_free);
    rc = sqlite3_step(pStmt);
    if( rc==SQLITE_DONE ) rc = SQLITE_OK;
    sqlite3_reset(pStmt);
  }
  if( rc!=SQLITE_OK ) tenantSetError(pzErr, "%s", sqlite3_errmsg(p->db));
  sqlite3_finalize(pStmt);
  pStmt = 0;
  if( tenantSessionExec(p, "PRAGMA writable_schema=OFF", 0, 0, -1,
                        rc==SQLITE_OK ? pzErr : 0)!=SQLITE_OK
   && rc==SQLITE_OK ){
    rc = SQLITE_ERROR;
  }
  if( rc!=SQLITE_OK ) return rc;

  rc = sqlite3_prepare_v2(p->db, "PRAGMA temp.schema_version", -1, &pStmt, 0);
  if( rc==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
    iCookie = sqlite3_column_int(pStmt, 0);
  }
  rc = sqlite3_finalize(pStmt);
  if( rc!=SQLITE_OK ){
    tenantSetError(pzErr, "%s", sqlite3_errmsg(p->db));
    return rc;
  }

  /* 1. A new cookie, then a statement that checks it. */
  if( tenantTempReload!=2 ){
    iCookie++;
    rc = tenantSessionTempCookie(p, iCookie, 0, pzErr);
    if( rc==SQLITE_OK ){
      rc = tenantSessionExec(p, "SELECT count(*) FROM sqlite_temp_master",
                             0, 0, -1, pzErr);
    }
    if( rc!=SQLITE_OK ) return rc;
    if( tenantSessionTempHasAll(p, pList) ){
      tenantTempReload = 1;
      return SQLITE_OK;
    }
    tenantTempReload = 2;
  }

  /* 2. Discard every schema of the connection. */
  rc = tenantSessionTempCookie(p, iCookie+1, 1, pzErr);
  if( rc!=SQLITE_OK ) return rc;
  if( !tenantSessionTempHasAll(p, pList) ){
    tenantSetError(pzErr, "cannot bind customer \"%s\" as the connection "
        "opens: SQLite %s did not load the isolation tables written to the "
        "temp schema; open an ordinary connection and bind it with "
        "SELECT tenant_bind('%q')", p->plan.zCustomer, sqlite3_libversion(),
        p->plan.zCustomer);
    return SQLITE_INTERNAL;
  }
  return SQLITE_OK;
}

/* Record every table of dedicated file iFile as known. */
static int tenantSessionKnowFile(TenantSession *p, int iFile, char **pzErr){
  sqlite3_stmt *pList = 0;
  char *zSql;
  int rc;

  zSql = sqlite3_mprintf("SELECT name FROM \"%w\".sqlite_master "
                         "WHERE type IN ('table','view')", p->azSchema[iFile]);
  if( zSql==0 ) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(p->db, zSql, -1, &pList, 0);
  sqlite3_free(zSql);
  while( rc==SQLITE_OK && sqlite3_step(pList)==SQLITE_ROW ){
    rc = tenantSessionKnow(p, (const char*)sqlite3_column_text(pList, 0));
  }
  if( rc!=SQLITE_OK && pzErr && *pzErr==0 ){
    tenantSetError(pzErr, "%s", sqlite3_errmsg(p->db));
  }
  sqlite3_finalize(pList);
  return rc;
}

/*
** Record the names of the connection's modules as known: an eponymous
** virtual table (json_each, tenant_codec) used without reading a column,
** as in "SELECT count(*) FROM json_each(?)", reaches the authorizer with
** no schema name. Only hosts from 3.30 list modules, and only hosts that
** report such reads need the names.
*/
static int tenantSessionKnowModules(TenantSession *p, char **pzErr){
  sqlite3_stmt *pList = 0;
  int rc;

  if( tenantHostVersion()<3030000 ) return SQLITE_OK;
  rc = sqlite3_prepare_v2(p->db, "SELECT name FROM pragma_module_list", -1,
                          &pList, 0);
  while( rc==SQLITE_OK && sqlite3_step(pList)==SQLITE_ROW ){
    rc = tenantSessionKnow(p, (const char*)sqlite3_column_text(pList, 0));
  }
  if( rc!=SQLITE_OK && pzErr && *pzErr==0 ){
    tenantSetError(pzErr, "%s", sqlite3_errmsg(p->db));
  }
  sqlite3_finalize(pList);
  return rc;
}

/* Read from the catalog the tables the session reaches in shared files. */
static int tenantSessionListTables(TenantSession *p, char **pzErr){
  TenantTableCollect c;
  const char *azPartition[TENANT_MAX_PARTITIONS];
  int nPartition = 0;
  int i;

  c.pSession = p;
  for(i=0; i<p->plan.nReach; i++){
    if( !p->plan.aFile[p->plan.aReach[i].iFile].bShared ) continue;
    assert( nPartition<TENANT_MAX_PARTITIONS );
    c.aiReach[nPartition] = i;
    azPartition[nPartition++] = p->plan.aReach[i].zPartition;
  }
  if( nPartition==0 ) return SQLITE_OK;
  return tenantCatalogTablesOf(nPartition, azPartition,
                               tenantSessionAddTable, &c, pzErr);
}

/*
** Before any file is attached, write the temp tables that a binding as the
** connection opens expects into the temp schema (tenantSessionCreateAll):
** its isolation tables, and a placeholder for every other table that the
** last binding found in its shared files. This is for a host that must
** discard every schema to read the temp schema again (SQLite 3.15.2): only
** main and temp are then there to be read again, not the attached files.
** tenantSessionIsolate() checks the placeholders once the files are
** attached. pList is left empty when the tables are to be created after
** the files are attached instead: a shared file this process has not
** listed yet, a temp schema that cannot be written, or no shared file.
*/
static int tenantSessionPrewrite(TenantSession *p, TenantTempList *pList,
                                 char **pzErr){
  int i, rc = SQLITE_OK;

  /* Where a new temp schema cookie is enough (tenantTempReload 1), only
  ** the temp schema is read again, and writing early saves nothing. */
  if( tenantTempReload!=2 || p->nTable==0
   || sqlite3_api->table_column_metadata==0
   || !tenantSessionCanWriteTemp(p) ){
    return SQLITE_OK;
  }
  for(i=0; i<p->nTable && rc==SQLITE_OK; i++){
    rc = tenantTempListAdd(pList, p->aTable[i].zName, TENANT_ROW_MODULE, 0);
  }
  for(i=0; i<p->plan.nFile && rc==SQLITE_OK; i++){
    if( p->plan.aFile[i].bShared ){
      rc = tenantFileTablesExpect(p->plan.aFile[i].zPath, pList);
    }
  }
  if( rc!=SQLITE_OK ){
    tenantTempListFree(pList);
    return rc==SQLITE_NOTFOUND ? SQLITE_OK : rc;
  }

  /* One transaction, so that the temp schema is not committed per row. */
  rc = tenantSessionExec(p, "BEGIN", 0, 0, -1, pzErr);
  if( rc==SQLITE_OK ){
    rc = tenantSessionCreateAll(p, pList, pzErr);
    if( rc==SQLITE_OK ){
      rc = tenantSessionExec(p, "COMMIT", 0, 0, -1, pzErr);
    }else{
      tenantSessionExec(p, "ROLLBACK", 0, 0, -1, 0);
    }
  }
  if( rc!=SQLITE_OK ) tenantTempListFree(pList);
  return rc;
}

/*
** Make the placeholders written before the files were attached (pEarly)
** match pList, the temp tables the attached files call for: create the
** missing ones and drop those whose table is gone.
*/
static int tenantSessionMendTemp(TenantSession *p, TenantTempList *pEarly,
                                 TenantTempList *pList, char **pzErr){
  TenantTempList missing;
  int i, rc = SQLITE_OK;

  memset(&missing, 0, sizeof(missing));
  for(i=0; i<pList->nTable && rc==SQLITE_OK; i++){
    if( !tenantTempListHas(pEarly, pList->aTable[i].zName) ){
      rc = tenantTempListAdd(&missing, pList->aTable[i].zName,
                             pList->aTable[i].zModule, 0);
    }
  }
  if( rc==SQLITE_OK ) rc = tenantSessionCreateEach(p, &missing, pzErr);
  tenantTempListFree(&missing);
  for(i=0; i<pEarly->nTable && rc==SQLITE_OK; i++){
    if( !tenantTempListHas(pList, pEarly->aTable[i].zName) ){
      char *zSql = sqlite3_mprintf("DROP TABLE temp.\"%w\"",
                                   pEarly->aTable[i].zName);
      if( zSql==0 ) return SQLITE_NOMEM;
      rc = tenantSessionExec(p, zSql, 0, 0, -1, pzErr);
      sqlite3_free(zSql);
    }
  }
  return rc;
}

/*
** Create the temp isolation virtual table of every table the session
** reaches in a shared file, and a placeholder for every other table of a
** shared file, unless tenantSessionPrewrite() wrote them (pEarly is not
** empty), in which case the placeholders are checked against the files.
** A binding as the connection opens (bAtOpen) writes them into the temp
** schema at once. tenant_bind() creates them one statement each: it runs
** inside the caller's statement, whose cursors a savepoint rollback could
** abort.
*/
static int tenantSessionIsolate(TenantSession *p, int bAtOpen,
                                TenantTempList *pEarly, char **pzErr){
  TenantTempList list;
  int i, rc = SQLITE_OK;

  memset(&list, 0, sizeof(list));
  for(i=0; i<p->nTable && rc==SQLITE_OK; i++){
    rc = tenantTempListAdd(&list, p->aTable[i].zName, TENANT_ROW_MODULE, 0);
  }
  for(i=0; i<p->plan.nFile && rc==SQLITE_OK; i++){
    if( p->plan.aFile[i].bShared ){
      rc = tenantSessionHide(p, i, &list, pzErr);
    }else{
      rc = tenantSessionKnowFile(p, i, pzErr);
    }
  }
  if( rc==SQLITE_OK && pEarly->nTable>0 ){
    for(i=0; i<p->nTable && rc==SQLITE_OK; i++){
      rc = tenantRowCheck(p->db, p, p->aTable[i].zName, pzErr);
    }
    if( rc==SQLITE_OK ) rc = tenantSessionMendTemp(p, pEarly, &list, pzErr);
  }else if( rc==SQLITE_OK && bAtOpen && list.nTable>0
   && sqlite3_api->table_column_metadata && tenantSessionCanWriteTemp(p) ){
    for(i=0; i<p->nTable && rc==SQLITE_OK; i++){
      rc = tenantRowCheck(p->db, p, p->aTable[i].zName, pzErr);
    }
    if( rc==SQLITE_OK ) rc = tenantSessionCreateAll(p, &list, pzErr);
  }else if( rc==SQLITE_OK ){
    rc = tenantSessionCreateEach(p, &list, pzErr);
  }
  tenantTempListFree(&list);
  if( rc==SQLITE_OK ) rc = tenantSessionKnowModules(p, pzErr);
  return rc;
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

/* Drop every isolation table and placeholder the binding created. */
static void tenantSessionDropTemp(TenantSession *p){
  sqlite3_stmt *pList = 0;
  char **azName = 0;
  int nName = 0, i;

  if( sqlite3_prepare_v2(p->db, "SELECT name FROM temp.sqlite_master "
        "WHERE type='table' AND (sql LIKE '%USING " TENANT_ROW_MODULE "(%' "
        "OR sql LIKE '%USING " TENANT_HIDDEN_MODULE "(%')", -1, &pList, 0)
      !=SQLITE_OK ){
    return;
  }
  while( sqlite3_step(pList)==SQLITE_ROW ){
    char **azNew = sqlite3_realloc64(azName, sizeof(char*)*(nName+1));
    if( azNew==0 ) break;
    azName = azNew;
    azName[nName] = sqlite3_mprintf("%s", sqlite3_column_text(pList, 0));
    if( azName[nName] ) nName++;
  }
  sqlite3_finalize(pList);
  for(i=0; i<nName; i++){
    char *zSql = sqlite3_mprintf("DROP TABLE temp.\"%w\"", azName[i]);
    if( zSql ) tenantSessionExec(p, zSql, 0, 0, -1, 0);
    sqlite3_free(zSql);
    sqlite3_free(azName[i]);
  }
  sqlite3_free(azName);
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
** one API call. Statements the extension runs itself are not counted. */
static int tenantSessionTrace(unsigned eType, void *pArg, void *pStmt,
                              void *pSql){
  TenantSession *p = (TenantSession*)pArg;
  (void)eType; (void)pStmt; (void)pSql;
  if( p->nInternal==0 && p->pMeter ) tenantMeterCount(p->pMeter);
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
  rc = tenantCatalogOpen(zRoot, pzErr);
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
  rc = tenantSessionCheckTempStore(p, pzErr);
  if( rc!=SQLITE_OK ){
    tenantSessionReset(p);
    return rc;
  }
  for(i=0; i<p->plan.nFile; i++){
    unsigned char aRand[16];
    int j;
    sqlite3_randomness(sizeof(aRand), aRand);
    p->azSchema[i][0] = 't';
    for(j=0; j<16; j++){
      sqlite3_snprintf(3, &p->azSchema[i][1+2*j], "%02x", aRand[j]);
    }
  }

  p->iAppGeneration = -1;
  if( !tenantHostReportsCountRead() ){
    p->iAppGeneration = tenantAppTableGeneration();
  }

  /* Bound from here on: the authorizer is in force for all but the
  ** extension's own statements. It is installed again in case the
  ** application replaced it after the connection opened. */
  p->bBound = 1;
  p->bMetered = tenantMeterEnabled();
  sqlite3_set_authorizer(db, tenantAuthorize, p);

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
    rc = tenantSessionIsolate(p, bAtOpen, &early, pzErr);
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
  if( p->pMeter ){
    sqlite3_trace_v2(db, SQLITE_TRACE_STMT, tenantSessionTrace, p);
  }
  sqlite3_log(SQLITE_OK, "tenant: connection bound to customer \"%s\"%s%s",
              p->plan.zCustomer, p->plan.zAgent[0] ? " as agent " : "",
              p->plan.zAgent);
  return SQLITE_OK;
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
