/*
** The authorizer of a connection bound to a customer (session.c binds it).
**
** It denies by default. A bound connection may read and write temp objects
** and its dedicated schemas, read the tables it reaches by name, call
** ordinary functions and run transactions. Statements that the extension
** runs itself pass, inside tenantSessionEnterInternal() and
** tenantSessionLeaveInternal(), unless a view or trigger fires in them.
**
** LIMITATIONS: a read of no column, as in "SELECT count(*) FROM t", is
** checked by table name only, and SQLite 3.15.2 does not report it at all.
** So a session becomes stale, and every statement is denied, once an
** application table is added after binding.
*/
#include "session.h"
SQLITE_EXTENSION_INIT3

#include <string.h>

/* ---- authorizer ------------------------------------------------------- */

/* True when zDb names a schema the customer may read and write directly:
** temp, main (the session's empty database) or a dedicated file. A retired
** session reaches no dedicated file: its customer is gone, or its agent. */
static int tenantSchemaIsOpen(TenantSession *p, const char *zDb){
  int i;
  if( zDb==0 ) return 0;
  if( sqlite3_stricmp(zDb, "temp")==0 ) return 1;
  if( sqlite3_stricmp(zDb, "main")==0 ) return 1;
  if( p->bRetired ) return 0;
  for(i=0; i<p->plan.nFile; i++){
    if( !p->plan.aFile[i].bShared
     && sqlite3_stricmp(zDb, p->azSchema[i])==0 ){
      return 1;
    }
  }
  return 0;
}

/* Tables of the main schema that expose other schemas or raw pages:
** the pragma table-valued functions, dbstat and sqlite_dbpage. */
static int tenantTableIsIntrospection(const char *zTable){
  static const char *const azDenied[] = {
    "dbstat", "sqlite_dbpage", "sqlite_dbdata", "sqlite_dbptr",
    "sqlite_stmt",        /* lists the extension's statements */
    "fsdir", "zipfile",   /* the 3.40 shell's views of the file system */
    0
  };
  int i;
  if( zTable==0 ) return 0;
  if( sqlite3_strnicmp(zTable, "pragma_", 7)==0 ) return 1;
  for(i=0; azDenied[i]; i++){
    if( sqlite3_stricmp(zTable, azDenied[i])==0 ) return 1;
  }
  return 0;
}

/*
** Functions a bound session may not call. Every tenant_* function other
** than tenant_whoami() and tenant_agent() is administrative. SQLCipher's
** sqlcipher_export() runs SQL built from its argument with the schema
** writable. The others reach files or load code.
*/
int tenantFunctionIsDenied(const char *zName){
  static const char *const azDenied[] = {
    "load_extension", "fts3_tokenizer", "readfile", "writefile", "edit",
    "lsmode", "sqlite_dbdata", "sha3_query",
    "sqlite_log",         /* writes any line into the host's error log */
    0
  };
  int i;
  if( zName==0 ) return 1;
  if( sqlite3_strnicmp(zName, "sqlcipher", 9)==0 ) return 1;
  if( sqlite3_strnicmp(zName, "tenant_", 7)==0 ){
    return sqlite3_stricmp(zName, "tenant_whoami")!=0
        && sqlite3_stricmp(zName, "tenant_agent")!=0;
  }
  for(i=0; azDenied[i]; i++){
    if( sqlite3_stricmp(zName, azDenied[i])==0 ) return 1;
  }
  return 0;
}

static int tenantTableIsIsolated(TenantSession *p, const char *zTable){
  int i;
  if( zTable==0 ) return 0;
  for(i=0; i<p->nTable; i++){
    if( sqlite3_stricmp(p->aTable[i].zName, zTable)==0 ) return 1;
  }
  return 0;
}

/* Whether the session may not INSERT or UPDATE table zTable of schema
** zDb because of a DEFAULT (authdefinition.c). Isolation tables declare
** none, and SQLite writes sqlite_temp_master itself as it creates a temp
** table. */
static int tenantTempWriteIsDenied(TenantSession *p, const char *zTable,
                                   const char *zDb){
  if( !p->bTempWriteDenied && p->nUnchecked==0 ) return 0;
  if( zDb==0 || sqlite3_stricmp(zDb, "temp")!=0 ) return 0;
  if( zTable==0 || sqlite3_stricmp(zTable, "sqlite_temp_master")==0 ){
    return 0;
  }
  if( tenantTableIsIsolated(p, zTable) ) return 0;
  return tenantSessionTempWriteIsDenied(p, zTable);
}

/* Record zName as a table an unqualified read may resolve to. */
int tenantSessionKnow(TenantSession *p, const char *zName){
  if( zName==0 ) return SQLITE_OK;
  if( p->nKnown==p->nKnownAlloc ){
    int nNew = p->nKnownAlloc ? p->nKnownAlloc*2 : 32;
    char **azNew = sqlite3_realloc64(p->azKnown, sizeof(char*)*nNew);
    if( azNew==0 ) return SQLITE_NOMEM;
    p->azKnown = azNew;
    p->nKnownAlloc = nNew;
  }
  p->azKnown[p->nKnown] = sqlite3_mprintf("%s", zName);
  if( p->azKnown[p->nKnown]==0 ) return SQLITE_NOMEM;
  p->nKnown++;
  return SQLITE_OK;
}

/*
** True when a table named zName, found by an unqualified name, is one the
** session may read: an isolation table, a placeholder, a table of a
** dedicated file, a temp object the session made, or a schema table.
** SQLite reports a read of no column ("SELECT count(*) FROM t") with no
** schema name, so this name check is all the authorizer can make of it.
*/
static int tenantTableIsKnown(TenantSession *p, const char *zName){
  int i;
  if( zName==0 ) return 0;
  if( tenantTableIsIsolated(p, zName) ) return 1;
  for(i=0; i<p->nKnown; i++){
    if( sqlite3_stricmp(p->azKnown[i], zName)==0 ) return 1;
  }
  for(i=0; i<p->nModules; i+=(int)strlen(&p->zModules[i])+1){
    if( sqlite3_stricmp(&p->zModules[i], zName)==0 ) return 1;
  }
  return sqlite3_stricmp(zName, "sqlite_master")==0
      || sqlite3_stricmp(zName, "sqlite_temp_master")==0
      || sqlite3_stricmp(zName, "sqlite_schema")==0
      || sqlite3_stricmp(zName, "sqlite_temp_schema")==0;
}

/* The number of application tables in the catalog, or -1 on error.
** Requires the catalog mutex. */
static sqlite3_int64 tenantAppTableCount(void){
  sqlite3_stmt *pStmt = catalogStmt(CATALOG_STMT_APP_COUNT, 0);
  sqlite3_int64 nTable = -1;
  if( pStmt && sqlite3_step(pStmt)==SQLITE_ROW ){
    nTable = sqlite3_column_int64(pStmt, 0);
  }
  /* The reset ends the statement's read transaction on the catalog. */
  if( pStmt ) sqlite3_reset(pStmt);
  return nTable;
}

int tenantSessionMarkAppTables(TenantSession *p, char **pzErr){
  sqlite3 *dbCatalog = tenantCatalogEnter();
  sqlite3_uint64 iEpoch = 0;
  int bEpoch = 0;
  int rc = SQLITE_ERROR;

  p->iAppGeneration = -1;
  p->bEpochRead = 0;
  if( dbCatalog ){
    /* The change counter comes before every catalog read below, as a
    ** scan's full check reads it (tenantSessionScanCheck). */
    bEpoch = tenantEpochLoad(&iEpoch);
    /* The version comes first: a write between the two reads leaves a
    ** count newer than its version, which only costs one more count. */
    rc = catalogVersionRead(&p->appVersion);
    if( rc==SQLITE_OK ) p->iAppGeneration = tenantAppTableCount();
    if( p->iAppGeneration<0 ) rc = SQLITE_ERROR;
    /* The plan was read before this version: check that its customer,
    ** generation and agent still hold, so that a change made in between
    ** is not taken as seen. Any later change moves the version. */
    if( rc==SQLITE_OK ){
      sqlite3_int64 iLimit;
      char zTier[16];
      int rcActive = tenantSessionLimitRead(p, &iLimit, zTier, sizeof(zTier));
      if( rcActive!=SQLITE_OK ){
        tenantCatalogLeave();
        if( rcActive==SQLITE_NOTFOUND ){
          return tenantSessionRejectInactive(p, pzErr);
        }
        tenantSetError(pzErr, "cannot read the state of customer \"%s\""
            " from the catalog: %s", p->plan.zCustomer,
            sqlite3_errstr(rcActive));
        return rcActive;
      }
      p->iEpoch = iEpoch;
      p->bEpochRead = bEpoch;
    }
    tenantCatalogLeave();
  }
  if( rc!=SQLITE_OK ){
    tenantSetError(pzErr, "cannot read the application tables of catalog "
        "%s/catalog.db: check that the file is readable and retry",
        tenantCatalogRoot() ? tenantCatalogRoot() : "(not open)");
  }
  return rc;
}

/*
** Return true when the statement being prepared must be denied: the
** session is stale, or a read of the catalog failed.
**
** A table added to a shared file after binding has no placeholder to
** shadow it, so an unqualified name finds it in the file's secret schema.
** Where the host does not report reads of no column, "SELECT count(*)"
** would count every customer's rows. Where it does, a column read is
** denied, but SQLite's denial names the secret schema. So a session is
** stale once the catalog holds another number of application tables than
** at binding: it is refused every statement until it reconnects.
**
** The catalog's version (PRAGMA data_version and this process's own
** catalog writes) is read on every check, and the tables are counted again
** only when it has changed. Then the customer is also looked up under the
** generation the session bound, with its agent, and a session whose
** customer was decommissioned or provisioned again, or whose agent was
** removed, is retired: its scans and writes
** then fail with the error of an inactive customer, which a denial here
** could not word. NOTE: tenant_add_table() creates the table in the files
** before its catalog row commits, so a statement prepared in that window
** is not yet refused.
*/
static int tenantSessionRecheck(TenantSession *p){
  sqlite3 *dbCatalog;
  CatalogVersion v;
  sqlite3_int64 nTable = -1;
  sqlite3_int64 iLimit = 0;
  char zTier[16];
  int rcActive = SQLITE_OK;
  int rc;

  if( p->bStale ) return 1;
  dbCatalog = tenantCatalogEnter();
  if( dbCatalog==0 ) return 1;
  rc = catalogVersionRead(&v);
  if( rc==SQLITE_OK
   && v.iData==p->appVersion.iData && v.nWrite==p->appVersion.nWrite ){
    tenantCatalogLeave();
    return 0;
  }
  if( rc==SQLITE_OK ) nTable = tenantAppTableCount();
  if( nTable>=0 && !p->bRetired ){
    rcActive = tenantSessionLimitRead(p, &iLimit, zTier, sizeof(zTier));
  }
  tenantCatalogLeave();
  if( rcActive==SQLITE_NOTFOUND ) rcActive = SQLITE_OK;

  /* A failed read denies this statement only: the next one reads again. */
  if( nTable<0 || rcActive!=SQLITE_OK ) return 1;
  if( nTable==p->iAppGeneration ){
    p->appVersion = v;
    return 0;
  }
  p->bStale = 1;
  sqlite3_log(SQLITE_AUTH, "tenant: application tables changed since "
              "customer \"%s\" bound this connection: reconnect to reach "
              "them; statements are refused until then", p->plan.zCustomer);
  return 1;
}

/*
** True when a statement must be denied as it is prepared: the session is
** stale, a read of the catalog failed, or the session is retired and has a
** dedicated file. Scans and writes of isolation tables fail on their own
** once the session is retired, with an error that names the reason, but a
** dedicated file's tables are plain tables: even "SELECT count(*)", which
** reads no column, must be refused here.
*/
static int tenantStatementIsDenied(TenantSession *p){
  int i;
  if( tenantSessionRecheck(p) ) return 1;
  if( !p->bRetired ) return 0;
  for(i=0; i<p->plan.nFile; i++){
    if( !p->plan.aFile[i].bShared ) return 1;
  }
  return 0;
}

int tenantAuthorize(void *pArg, int eAction, const char *zArg1,
                    const char *zArg2, const char *zDb,
                    const char *zInner){
  TenantSession *p = (TenantSession*)pArg;
  if( !p->bBound ) return SQLITE_OK;
  if( p->nInternal>0 ){
    /* The extension's own statements use no view or trigger. One that
    ** fires inside them was planted by the session, and would otherwise
    ** run unchecked. */
    return zInner ? SQLITE_DENY : SQLITE_OK;
  }
  tenantSessionTraceRestore(p);
  if( p->bDisarmAgain ) tenantSessionDisarmAgain(p);

  switch( eAction ){
    case SQLITE_SELECT:
      return tenantStatementIsDenied(p) ? SQLITE_DENY : SQLITE_OK;

    case SQLITE_RECURSIVE:
    case SQLITE_TRANSACTION:
    case SQLITE_SAVEPOINT:
      return SQLITE_OK;

    case SQLITE_READ:
      if( tenantTableIsIntrospection(zArg1) ) return SQLITE_DENY;
      if( zDb==0 ){
        return tenantTableIsKnown(p, zArg1) ? SQLITE_OK : SQLITE_DENY;
      }
      if( tenantSchemaIsOpen(p, zDb) ) return SQLITE_OK;
      /* An unqualified sqlite_stat1 (made by ANALYZE) finds a shared file's:
      ** read it as NULLs, because a denial's message would name the secret
      ** schema. */
      if( zArg1 && (sqlite3_strnicmp(zArg1, "sqlite_stat", 11)==0
                 || sqlite3_stricmp(zArg1, "sqlite_sequence")==0) ){
        return SQLITE_IGNORE;
      }
      return SQLITE_DENY;

    case SQLITE_INSERT:
    case SQLITE_UPDATE:
      if( tenantTempWriteIsDenied(p, zArg1, zDb) ) return SQLITE_DENY;
      /* fall through */
    case SQLITE_DELETE:
      if( tenantStatementIsDenied(p) ) return SQLITE_DENY;
      return tenantSchemaIsOpen(p, zDb) ? SQLITE_OK : SQLITE_DENY;

    case SQLITE_FUNCTION:
      return tenantFunctionIsDenied(zArg2) ? SQLITE_DENY : SQLITE_OK;

    case SQLITE_PRAGMA:
      /* Only a pragma that touches no schema. */
      if( zArg1 && sqlite3_stricmp(zArg1, "busy_timeout")==0 ) return SQLITE_OK;
      return SQLITE_DENY;

    /* The session's own scratch objects live in temp. */
    case SQLITE_CREATE_TABLE:
      /* "CREATE TABLE temp.t" makes a temp table too. */
      if( zDb==0 || sqlite3_stricmp(zDb, "temp")!=0 ) return SQLITE_DENY;
      /* fall through */
    case SQLITE_CREATE_TEMP_TABLE:
      /* Its definition is checked when the statement finishes
      ** (authdefinition.c), which the trace must then report. */
      if( tenantSessionDefinitionPending(p, zArg1)!=SQLITE_OK ){
        return SQLITE_DENY;
      }
      tenantSessionTraceRestore(p);
      return tenantSessionKnow(p, zArg1)==SQLITE_OK ? SQLITE_OK : SQLITE_DENY;
    case SQLITE_CREATE_TEMP_VIEW:
      return tenantSessionKnow(p, zArg1)==SQLITE_OK ? SQLITE_OK : SQLITE_DENY;
    case SQLITE_CREATE_TEMP_INDEX:
    case SQLITE_DROP_TEMP_INDEX:
    case SQLITE_DROP_TEMP_VIEW:
      return SQLITE_OK;
    case SQLITE_DROP_TEMP_TABLE:
      return tenantTableIsIsolated(p, zArg1) ? SQLITE_DENY : SQLITE_OK;

    default:
      /* ATTACH, DETACH, triggers, virtual tables, persistent schema
      ** changes, ANALYZE, REINDEX, ALTER and any action added later. */
      return SQLITE_DENY;
  }
}
