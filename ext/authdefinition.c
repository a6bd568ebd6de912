/*
** Function calls in the definitions of a bound session's temp tables.
**
** SQLite resolves the functions in a column's DEFAULT only when an INSERT,
** or a conflict that replaces a NOT NULL column, evaluates it, and it does
** not ask the authorizer about them (SQLite 3.15.2 and 3.40.1). So a temp
** table whose DEFAULT calls a function that the authorizer denies, such as
** the shells' writefile() or SQLCipher's sqlcipher_export(), would call it
** on every row written.
**
** The authorizer therefore records the name of every temp table a session
** prepares to create, and denies writes to it while it is recorded. When a
** CREATE statement of the session finishes, its SQLITE_TRACE_PROFILE
** callback reads the definition that sqlite_temp_master stores for each
** recorded name, which is the text SQLite itself parses. A definition that
** calls a denied function anywhere makes every temp table of the session
** read-only for good. A clean definition ends the record. A name with no
** table yet stays recorded, because the statement that creates it may
** still run. So a CREATE that ran without the check, because the host
** program had removed the trace callback, leaves its table read-only until
** the next CREATE of the session finishes with the callback in place.
*/
#include "session.h"
#include "sqltoken.h"
SQLITE_EXTENSION_INIT3

#include <string.h>

#define DEFINITION_MAX_NAME 64

/* Copy the name of the token z, n bytes, into zName without its quotes.
** A name longer than the buffer is cut, which keeps its prefix. */
static void definitionCopyName(const unsigned char *z, int n, char *zName){
  int bQuoted = z[0]=='"' || z[0]=='`' || z[0]=='[' || z[0]=='\'';
  unsigned char cClose = z[0]=='[' ? ']' : z[0];
  int i = bQuoted ? 1 : 0;
  int iEnd = bQuoted ? n-1 : n;
  int j = 0;

  for(; i<iEnd && j<DEFINITION_MAX_NAME-1; i++){
    zName[j++] = (char)z[i];
    if( bQuoted && cClose!=']' && z[i]==cClose ) i++;
  }
  zName[j] = 0;
}

/* Length of the token at z that can name a function: an identifier, or a
** quoted token. A string literal counts too, which can only deny more.
** Returns 0 for any other token. */
static int definitionNameLen(const unsigned char *z){
  int n;
  if( z[0]=='"' || z[0]=='`' || z[0]=='[' || z[0]=='\'' ){
    return tenantSqlQuotedLen(z);
  }
  if( tenantSqlBlobLen(z)>0 ) return 0;
  if( !tenantSqlIsAlpha(z[0]) && z[0]!='_' && z[0]<0x80 ) return 0;
  for(n=1; tenantSqlIsIdChar(z[n]); n++){}
  return n;
}

/*
** Find the first name in z followed by "(" that tenantFunctionIsDenied()
** denies, and copy it into zName. Returns 1 when there is one. Text that
** SQLite would not parse is read as far as it goes.
*/
static int definitionFindDeniedCall(const unsigned char *z, char *zName){
  int i = 0;
  while( z[i] ){
    int n;
    i += tenantSqlSpaceLen(z+i);
    if( z[i]==0 ) break;
    n = definitionNameLen(z+i);
    if( n>0 ){
      int j = i + n;
      j += tenantSqlSpaceLen(z+j);
      if( z[j]=='(' ){
        definitionCopyName(z+i, n, zName);
        if( tenantFunctionIsDenied(zName) ) return 1;
      }
      i += n;
      continue;
    }
    if( z[i]=='"' || z[i]=='`' || z[i]=='[' || z[i]=='\'' ){
      return 0;                 /* a quote that is never closed */
    }
    n = tenantSqlBlobLen(z+i);
    if( n==0 ) n = tenantSqlNumberLen(z+i);
    if( n==0 && (z[i]=='$' || z[i]==':' || z[i]=='@' || z[i]=='#') ){
      /* A parameter name is not a call: "$x(" does not parse. */
      for(n=1; tenantSqlIsIdChar(z[i+n]); n++){}
    }
    i += n>0 ? n : 1;
  }
  return 0;
}

int tenantSessionDefinitionPending(TenantSession *p, const char *zTable){
  char **azNew;
  if( zTable==0 ) return SQLITE_OK;
  azNew = sqlite3_realloc64(p->azUnchecked,
                            sizeof(char*)*(p->nUnchecked+1));
  if( azNew==0 ) return SQLITE_NOMEM;
  p->azUnchecked = azNew;
  p->azUnchecked[p->nUnchecked] = sqlite3_mprintf("%s", zTable);
  if( p->azUnchecked[p->nUnchecked]==0 ) return SQLITE_NOMEM;
  p->nUnchecked++;
  return SQLITE_OK;
}

/* Forget the recorded names. */
static void tenantSessionDefinitionsForget(TenantSession *p){
  int i;
  for(i=0; i<p->nUnchecked; i++) sqlite3_free(p->azUnchecked[i]);
  sqlite3_free(p->azUnchecked);
  p->azUnchecked = 0;
  p->nUnchecked = 0;
}

/* Whether statement text zSql starts with CREATE, after white space,
** comments and the empty statements that SQLite skips. */
static int definitionIsCreate(const char *zSql){
  const unsigned char *z = (const unsigned char*)zSql;
  int i = 0;
  for(;;){
    i += tenantSqlSpaceLen(z+i);
    if( z[i]!=';' ) break;
    i++;
  }
  return sqlite3_strnicmp((const char*)z+i, "CREATE", 6)==0
      && !tenantSqlIsIdChar(z[i+6]);
}

/*
** Read the stored definition of recorded table zTable. Returns SQLITE_ROW
** with *pbDenied set when the table exists, SQLITE_DONE when it does not,
** or an error code.
*/
static int definitionReadTable(TenantSession *p, const char *zTable,
                               int *pbDenied, char *zName){
  sqlite3_stmt *pStmt = 0;
  int rc;

  *pbDenied = 0;
  tenantSessionEnterInternal(p);
  rc = sqlite3_prepare_v2(p->db, "SELECT sql FROM sqlite_temp_master WHERE "
                          "type='table' AND name=?1 COLLATE NOCASE", -1,
                          &pStmt, 0);
  if( rc==SQLITE_OK ){
    sqlite3_bind_text(pStmt, 1, zTable, -1, SQLITE_STATIC);
    rc = sqlite3_step(pStmt);
    if( rc==SQLITE_ROW ){
      const unsigned char *zSql = sqlite3_column_text(pStmt, 0);
      *pbDenied = zSql==0 || definitionFindDeniedCall(zSql, zName);
    }
  }
  sqlite3_finalize(pStmt);
  tenantSessionLeaveInternal(p);
  return rc;
}

void tenantSessionCheckDefinitions(TenantSession *p, sqlite3_stmt *pStmt){
  char zName[DEFINITION_MAX_NAME];
  int i = 0;

  if( p->nUnchecked==0 || !definitionIsCreate(sqlite3_sql(pStmt)) ) return;
  zName[0] = 0;
  while( i<p->nUnchecked ){
    int bDenied = 0;
    int rc = definitionReadTable(p, p->azUnchecked[i], &bDenied, zName);
    if( rc==SQLITE_ROW && bDenied ){
      sqlite3_log(SQLITE_AUTH, "tenant: temp table \"%s\" of customer "
                  "\"%s\" calls %s() in its definition, which sessions may "
                  "not call: the session's temp tables are read-only from "
                  "now on", p->azUnchecked[i], p->plan.zCustomer,
                  zName[0] ? zName : "a function");
      p->bTempWriteDenied = 1;
      tenantSessionDefinitionsForget(p);
      return;
    }
    if( rc==SQLITE_ROW ){
      sqlite3_free(p->azUnchecked[i]);
      p->azUnchecked[i] = p->azUnchecked[--p->nUnchecked];
    }else{
      i++;
    }
  }
}

int tenantSessionTempWriteIsDenied(TenantSession *p, const char *zTable){
  int i;
  if( p->bTempWriteDenied ) return 1;
  for(i=0; i<p->nUnchecked; i++){
    if( sqlite3_stricmp(p->azUnchecked[i], zTable)==0 ) return 1;
  }
  return 0;
}

void tenantSessionDefinitionsFree(TenantSession *p){
  tenantSessionDefinitionsForget(p);
  p->bTempWriteDenied = 0;
}
