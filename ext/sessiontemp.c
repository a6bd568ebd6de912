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
** at once (tenantSessionCreateAll). On a host that must discard every
** schema to read them again, it writes them before it attaches any file,
** once this process has listed the tables of each shared file
** (tenantSessionPrewrite).
*/
#include "tenant_int.h"
#include "session.h"
SQLITE_EXTENSION_INIT3

#include <assert.h>
#include <limits.h>
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

/*
** True when the tables of a binding may be written straight into the temp
** schema (tenantSessionCreateAll). *pbCookie is set when the temp schema
** cookie was read, into *piCookie. The temp schema must be empty, so that no name can clash. The
** connection must not be in defensive mode (3.26), because that mode
** forbids writing the schema table.
**
** A cookie of 0 shows an empty temp schema without counting its rows:
** every CREATE and DROP increments the cookie, and the temp database of a
** connection starts empty with a cookie of 0. Rows written with
** writable_schema on leave the cookie as it is, but a name of such a row
** that clashes fails the binding when SQLite reads the temp schema again
** ("already exists"), so it cannot hide a table of the binding.
*/
static int tenantSessionCanWriteTemp(TenantSession *p, int *pbCookie,
                                     int *piCookie){
  sqlite3_stmt *pStmt = 0;
  int bEmpty = 0;

  *pbCookie = 0;
  *piCookie = 0;
  if( tenantHostVersion()>=3026000 ){
    int bDefensive = 1;
    if( sqlite3_db_config(p->db, 1010 /* SQLITE_DBCONFIG_DEFENSIVE */, -1,
                          &bDefensive)!=SQLITE_OK || bDefensive ){
      return 0;
    }
  }

  /* On a host that discards every schema (tenantTempReload 2, SQLite
  ** 3.15.2 with SQLCipher), callgrind counted more instructions for the
  ** cookie first than for the count alone, so there the count decides. */
  if( tenantTempReload!=2 ){
    if( sqlite3_prepare_v2(p->db, "PRAGMA temp.schema_version", -1, &pStmt,
                           0)!=SQLITE_OK
     || sqlite3_step(pStmt)!=SQLITE_ROW ){
      sqlite3_finalize(pStmt);
      return 0;
    }
    *piCookie = sqlite3_column_int(pStmt, 0);
    *pbCookie = 1;
    sqlite3_finalize(pStmt);
    if( *piCookie==0 ) return 1;
    pStmt = 0;
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

/* Return a schema cookie other than iCookie, which may be any 32-bit value
** an application set with PRAGMA temp.schema_version. */
static int tenantNextCookie(int iCookie){
  return iCookie==INT_MAX ? INT_MIN : iCookie+1;
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
** Turn writing the schema tables on (bOn) or off. From SQLite 3.28 on,
** sqlite3_db_config() sets the flag of PRAGMA writable_schema, which
** sqlite3.h of 3.40.1 calls logically equivalent, without preparing a
** statement.
*/
static int tenantSessionWritableSchema(TenantSession *p, int bOn,
                                       char **pzErr){
  int bNow = -1;

  if( tenantHostVersion()<3028000 ){
    return tenantSessionExec(p, bOn ? "PRAGMA writable_schema=ON"
                                    : "PRAGMA writable_schema=OFF",
                             0, 0, -1, pzErr);
  }
  if( sqlite3_db_config(p->db, 1011 /* SQLITE_DBCONFIG_WRITABLE_SCHEMA */,
                        bOn, &bNow)!=SQLITE_OK || bNow!=bOn ){
    tenantSetError(pzErr, "cannot bind: SQLite %s did not turn "
                   "writable_schema %s", sqlite3_libversion(),
                   bOn ? "on" : "off");
    return SQLITE_ERROR;
  }
  return SQLITE_OK;
}

/*
** Format the text that CREATE VIRTUAL TABLE stores in the schema for table
** zName of module zModule: CREATE VIRTUAL TABLE "<zName>" USING
** <zModule>("<zName>"), with each double quote of the name doubled. It is
** the text that sqlite3_mprintf() formats with %w, built for about a tenth
** of the instructions.
*/
static char *tenantTempTableSql(const char *zName, const char *zModule){
  static const char zHead[] = "CREATE VIRTUAL TABLE \"";
  static const char zUsing[] = "\" USING ";
  sqlite3_int64 nName = (sqlite3_int64)strlen(zName);
  sqlite3_int64 nModule = (sqlite3_int64)strlen(zModule);
  sqlite3_int64 nQuoted = nName;
  sqlite3_int64 i;
  char *zOut, *z;
  int k;

  for(i=0; i<nName; i++){
    if( zName[i]=='"' ) nQuoted++;
  }
  zOut = sqlite3_malloc64(sizeof(zHead) + sizeof(zUsing) + nModule
                          + 2*nQuoted + 8);
  if( zOut==0 ) return 0;
  z = zOut;
  memcpy(z, zHead, sizeof(zHead)-1);
  z += sizeof(zHead)-1;
  for(k=0; k<2; k++){
    for(i=0; i<nName; i++){
      *z++ = zName[i];
      if( zName[i]=='"' ) *z++ = '"';
    }
    if( k==0 ){
      memcpy(z, zUsing, sizeof(zUsing)-1);
      z += sizeof(zUsing)-1;
      memcpy(z, zModule, nModule);
      z += nModule;
      *z++ = '(';
      *z++ = '"';
    }
  }
  *z++ = '"';
  *z++ = ')';
  *z = 0;
  return zOut;
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
                                  int bCookie, int iCookie, char **pzErr){
  sqlite3_stmt *pStmt = 0;
  int i, rc;

  rc = tenantSessionWritableSchema(p, 1, pzErr);
  if( rc!=SQLITE_OK ) return rc;
  rc = sqlite3_prepare_v2(p->db, "INSERT INTO sqlite_temp_master"
      "(type, name, tbl_name, rootpage, sql) VALUES('table', ?1, ?1, 0, ?2)",
      -1, &pStmt, 0);
  for(i=0; i<pList->nTable && rc==SQLITE_OK; i++){
    char *zSql = tenantTempTableSql(pList->aTable[i].zName,
                                    pList->aTable[i].zModule);
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
  if( tenantSessionWritableSchema(p, 0, rc==SQLITE_OK ? pzErr : 0)
      !=SQLITE_OK && rc==SQLITE_OK ){
    rc = SQLITE_ERROR;
  }
  if( rc!=SQLITE_OK ) return rc;

  /* Writing rows left the cookie as it was. */
  if( !bCookie ){
    rc = sqlite3_prepare_v2(p->db, "PRAGMA temp.schema_version", -1, &pStmt,
                            0);
    if( rc==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
      iCookie = sqlite3_column_int(pStmt, 0);
      bCookie = 1;
    }
    rc = sqlite3_finalize(pStmt);
    if( rc==SQLITE_OK && !bCookie ) rc = SQLITE_ERROR;
    if( rc!=SQLITE_OK ){
      tenantSetError(pzErr, "%s", sqlite3_errmsg(p->db));
      return rc;
    }
  }

  /* 1. A new cookie, then a statement that checks it. DROP INDEX IF
  ** EXISTS of an index that does not exist codes only that check
  ** (sqlite3DropIndex() in build.c), for about 20,000 instructions less
  ** than a SELECT of sqlite_temp_master (callgrind, SQLite 3.40.1). No
  ** index can have the name: CREATE INDEX rejects names that start with
  ** "sqlite_", SQLite names its own indexes "sqlite_autoindex_...", and
  ** refuses to drop those. */
  if( tenantTempReload!=2 ){
    iCookie = tenantNextCookie(iCookie);
    rc = tenantSessionTempCookie(p, iCookie, 0, pzErr);
    if( rc==SQLITE_OK ){
      rc = tenantSessionExec(p, "DROP INDEX IF EXISTS "
                             "temp.sqlite_tenant_reload", 0, 0, -1, pzErr);
    }
    if( rc!=SQLITE_OK ) return rc;
    if( tenantSessionTempHasAll(p, pList) ){
      tenantTempReload = 1;
      return SQLITE_OK;
    }
    tenantTempReload = 2;
  }

  /* 2. Discard every schema of the connection. */
  rc = tenantSessionTempCookie(p, tenantNextCookie(iCookie), 1, pzErr);
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

  /* Where a new temp schema cookie is enough (tenantTempReload 1), only
  ** the temp schema is read again, and writing early saves nothing. */
  if( tenantTempReload!=2 || p->nTable==0
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
