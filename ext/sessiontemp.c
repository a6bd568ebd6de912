/*
** The temp schema of a bound connection (session.c): the isolation virtual
** tables that hide the customer's tables in shared files, the placeholders
** that hide every other table of those files, and the names an unqualified
** read may resolve to.
**
** A binding reads from the catalog the tables the customer reaches in
** shared files (tenantSessionListTables). It creates a temp "tenant_row"
** virtual table (rowvtab.c) of the same name for each, and a
** "tenant_hidden" placeholder (placeholder.c) for every other table of a
** shared file, so that no unqualified name reaches a raw shared table.
** tenant_bind() creates them one CREATE VIRTUAL TABLE statement each. A
** binding as the connection opens writes their rows into the temp schema
** at once (tenantSessionCreateAll, sessiontempwrite.c). On a host that must discard every
** schema to read them again, it writes them before it attaches any file,
** once this process has listed the tables of each shared file
** (tenantSessionPrewrite).
*/
#include "tenant_int.h"
#include "session.h"
SQLITE_EXTENSION_INIT3

#include <assert.h>
#include <string.h>

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

  /* The array grows to 16 entries, then doubles whenever nTable reaches
  ** a power of two, so that it has room for nTable+1 entries. */
  if( p->nTable==0 || (p->nTable>=16 && (p->nTable & (p->nTable-1))==0) ){
    int nAlloc = p->nTable ? p->nTable*2 : 16;
    aNew = sqlite3_realloc64(p->aTable, sizeof(aNew[0])*nAlloc);
    if( aNew==0 ) return SQLITE_NOMEM;
    p->aTable = aNew;
  }
  aNew = p->aTable;
  aNew[p->nTable].zName = sqlite3_mprintf("%s", zTable);
  if( aNew[p->nTable].zName==0 ) return SQLITE_NOMEM;
  aNew[p->nTable].iReach = pC->aiReach[iPartition];
  p->nTable++;
  return SQLITE_OK;
}

void tenantTempListFree(TenantTempList *pList){
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
** Format the statement that lists the schema of file iFile. The callers
** filter its rows, because a WHERE clause costs more to prepare than the
** rows it skips (callgrind, SQLite 3.40.1).
*/
static char *tenantSessionSchemaSql(TenantSession *p, int iFile){
  return sqlite3_mprintf("SELECT type, name FROM \"%w\".sqlite_master",
                         p->azSchema[iFile]);
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
  if( tenantSessionTempReload()!=1 ){
    pSeen = sqlite3_malloc64(sizeof(*pSeen));
    if( pSeen==0 ) return SQLITE_NOMEM;
    memset(pSeen, 0, sizeof(*pSeen));
    pSeen->zPath = sqlite3_mprintf("%s", p->plan.aFile[iFile].zPath);
    if( pSeen->zPath==0 ){
      tenantFileTablesFree(pSeen);
      return SQLITE_NOMEM;
    }
  }
  zSql = tenantSessionSchemaSql(p, iFile);
  if( zSql==0 ){
    tenantFileTablesFree(pSeen);
    return SQLITE_NOMEM;
  }
  rc = sqlite3_prepare_v2(p->db, zSql, -1, &pStmt, 0);
  sqlite3_free(zSql);
  while( rc==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
    const char *zType = (const char*)sqlite3_column_text(pStmt, 0);
    const char *zName = (const char*)sqlite3_column_text(pStmt, 1);
    if( zType==0 || zName==0 || strcmp(zType, "table")!=0 ) continue;
    /* SQLite's own tables (sqlite_sequence, sqlite_stat1) are not
    ** hidden: the authorizer reads them as NULLs. */
    if( sqlite3_strnicmp(zName, "sqlite_", 7)==0 ) continue;
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

/* Record every table of dedicated file iFile as known. */
static int tenantSessionKnowFile(TenantSession *p, int iFile, char **pzErr){
  sqlite3_stmt *pList = 0;
  char *zSql;
  int rc;

  zSql = tenantSessionSchemaSql(p, iFile);
  if( zSql==0 ) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(p->db, zSql, -1, &pList, 0);
  sqlite3_free(zSql);
  while( rc==SQLITE_OK && sqlite3_step(pList)==SQLITE_ROW ){
    const char *zType = (const char*)sqlite3_column_text(pList, 0);
    if( zType && (strcmp(zType, "table")==0 || strcmp(zType, "view")==0) ){
      rc = tenantSessionKnow(p, (const char*)sqlite3_column_text(pList, 1));
    }
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
** report such reads need the names. PRAGMA module_list costs about a
** tenth of the instructions of SELECT from pragma_module_list (callgrind,
** SQLite 3.40.1), which also lists itself, a name the authorizer denies.
*/
static int tenantSessionKnowModules(TenantSession *p, char **pzErr){
  sqlite3_stmt *pList = 0;
  int nAlloc = 0;
  int rc;

  if( tenantHostVersion()<3030000 ) return SQLITE_OK;
  rc = sqlite3_prepare_v2(p->db, "PRAGMA module_list", -1, &pList, 0);
  while( rc==SQLITE_OK && sqlite3_step(pList)==SQLITE_ROW ){
    const char *zName = (const char*)sqlite3_column_text(pList, 0);
    int nName = sqlite3_column_bytes(pList, 0) + 1;
    if( zName==0 ) continue;
    /* One buffer for all the names, which doubles when full. */
    if( p->nModules+nName>nAlloc ){
      char *zNew;
      while( p->nModules+nName>nAlloc ) nAlloc = nAlloc ? nAlloc*2 : 512;
      zNew = sqlite3_realloc64(p->zModules, nAlloc);
      if( zNew==0 ){
        rc = SQLITE_NOMEM;
        break;
      }
      p->zModules = zNew;
    }
    memcpy(&p->zModules[p->nModules], zName, nName);
    p->nModules += nName;
  }
  if( rc!=SQLITE_OK && pzErr && *pzErr==0 ){
    tenantSetError(pzErr, "%s", sqlite3_errmsg(p->db));
  }
  sqlite3_finalize(pList);
  return rc;
}

/* Read from the catalog the tables the session reaches in shared files. */
int tenantSessionListTables(TenantSession *p, char **pzErr){
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
** Before any file is attached, write into the temp schema the temp tables
** that a binding as the connection opens expects (tenantSessionCreateAll).
** These are its isolation tables, and a placeholder for every other table
** that the last binding found in its shared files. This is for a host that must
** discard every schema to read the temp schema again (SQLite 3.15.2): only
** main and temp are then there to be read again, not the attached files.
** tenantSessionIsolate() checks the placeholders once the files are
** attached. pList is left empty when the tables are to be created after
** the files are attached instead: a shared file this process has not
** listed yet, a temp schema that cannot be written, or no shared file.
*/
int tenantSessionPrewrite(TenantSession *p, TenantTempList *pList,
                          char **pzErr){
  int i, rc = SQLITE_OK;
  int bCookie = 0;
  int iCookie = 0;

  /* Where a new temp schema cookie is enough (tenantSessionTempReload() 1), only
  ** the temp schema is read again, and writing early saves nothing. */
  if( tenantSessionTempReload()!=2 || p->nTable==0
   || sqlite3_api->table_column_metadata==0
   || !tenantSessionCanWriteTemp(p, &bCookie, &iCookie) ){
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
    rc = tenantSessionCreateAll(p, pList, bCookie, iCookie, pzErr);
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
** shared file. When tenantSessionPrewrite() wrote them already (pEarly is
** not empty), the isolation tables are checked, and placeholders are
** added or dropped to match the files.
** A binding as the connection opens (bAtOpen) writes them into the temp
** schema at once. tenant_bind() creates them one statement each: it runs
** inside the caller's statement, whose cursors a savepoint rollback could
** abort.
*/
int tenantSessionIsolate(TenantSession *p, int bAtOpen,
                         TenantTempList *pEarly, char **pzErr){
  TenantTempList list;
  int i, rc = SQLITE_OK;
  int bCookie = 0;
  int iCookie = 0;

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
   && sqlite3_api->table_column_metadata
   && tenantSessionCanWriteTemp(p, &bCookie, &iCookie) ){
    for(i=0; i<p->nTable && rc==SQLITE_OK; i++){
      rc = tenantRowCheck(p->db, p, p->aTable[i].zName, pzErr);
    }
    if( rc==SQLITE_OK ){
      rc = tenantSessionCreateAll(p, &list, bCookie, iCookie, pzErr);
    }
  }else if( rc==SQLITE_OK ){
    rc = tenantSessionCreateEach(p, &list, pzErr);
  }
  tenantTempListFree(&list);
  if( rc==SQLITE_OK ) rc = tenantSessionKnowModules(p, pzErr);
  return rc;
}

/* Drop every isolation table and placeholder the binding created. */
void tenantSessionDropTemp(TenantSession *p){
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
