/*
** Writing the isolation tables and placeholders of a binding straight into
** the temp schema (sqlite_temp_master) of a connection as it opens, in
** place of one CREATE VIRTUAL TABLE statement each (sessiontemp.c), and
** making the host read the temp schema again.
*/
#include "tenant_int.h"
#include "session.h"
SQLITE_EXTENSION_INIT3

#include <limits.h>
#include <string.h>

/*
** The way this host reads the temp schema again after
** tenantSessionCreateAll() wrote its rows. 0: not known yet. 1: a new temp schema cookie is enough,
** as in SQLite 3.40, which reads the temp schema again at the next
** statement that checks the cookie. 2: a savepoint rollback must discard
** every schema, as in SQLite 3.15.2, which keeps its stale temp schema.
** The first binding of the process learns it, and a race only repeats it.
*/
static int tenantTempReload = 0;

int tenantSessionTempReload(void){
  return tenantTempReload;
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
int tenantSessionCanWriteTemp(TenantSession *p, int *pbCookie,
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
int tenantSessionCreateAll(TenantSession *p, TenantTempList *pList,
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
