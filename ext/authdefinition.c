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
** The authorizer records the name of every temp table a session prepares
** to create, and denies writes to it while it is recorded. Once the
** session has prepared a temp table, its SQLITE_TRACE_PROFILE callback
** reads the definitions that sqlite_temp_master stores, which are the text
** SQLite itself parses, as each statement that may have changed them
** finishes. A definition that calls a denied function anywhere makes every
** temp table of the session read-only for good. Otherwise the records end.
**
** NOTE: the check runs from the trace callback. A host program that
** removes it while a CREATE runs delays the check to the session's next
** statement that runs with the callback in place.
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

/* Length of the bytes at z that can separate a name from its "(": any
** control character or space, which is more than SQLite's white space,
** and comments. Reading more as white space can only find more calls. */
static int definitionGapLen(const unsigned char *z){
  int i = 0;
  for(;;){
    int n = tenantSqlSpaceLen(z+i);
    if( n>0 ){
      i += n;
    }else if( z[i]>0 && z[i]<=0x20 ){
      i++;
    }else{
      return i;
    }
  }
}

/*
** Find the first name in z followed by "(" that tenantFunctionIsDenied()
** denies, and copy it into zName. Returns 1 when there is one. The table
** that REFERENCES names is not a call. Text that SQLite would not parse is
** read as far as it goes.
*/
static int definitionFindDeniedCall(const unsigned char *z, char *zName){
  int bReferences = 0;         /* the previous name was REFERENCES */
  int i = 0;
  while( z[i] ){
    int n;
    i += definitionGapLen(z+i);
    if( z[i]==0 ) break;
    n = definitionNameLen(z+i);
    if( n>0 ){
      int j = i + n;
      j += definitionGapLen(z+j);
      if( z[j]=='(' && !bReferences ){
        definitionCopyName(z+i, n, zName);
        if( tenantFunctionIsDenied(zName) ) return 1;
      }
      bReferences = n==10
          && sqlite3_strnicmp((const char*)z+i, "REFERENCES", 10)==0;
      i += n;
      continue;
    }
    bReferences = 0;
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

/* Maximum number of temp table names a session keeps recorded. */
#define DEFINITION_MAX_RECORDS 64

int tenantSessionDefinitionPending(TenantSession *p, const char *zTable){
  char **azNew;
  int i;
  if( zTable==0 ) return SQLITE_OK;
  p->bTempCreated = 1;
  for(i=0; i<p->nUnchecked; i++){
    if( sqlite3_stricmp(p->azUnchecked[i], zTable)==0 ) return SQLITE_OK;
  }
  if( p->nUnchecked>=DEFINITION_MAX_RECORDS ){
    sqlite3_log(SQLITE_AUTH, "tenant: customer \"%s\" prepared %d temp "
                "tables that have not been created: the next is denied",
                p->plan.zCustomer, p->nUnchecked);
    return SQLITE_FULL;
  }
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

/* Length of the stored definition's start, "CREATE TABLE <name>", which
** names the table rather than calling a function. */
static int definitionNameEnd(const unsigned char *z){
  int i = 0;
  int iWord;
  for(iWord=0; iWord<3; iWord++){
    int n;
    i += tenantSqlSpaceLen(z+i);
    n = definitionNameLen(z+i);
    if( n==0 ) return i;
    i += n;
  }
  return i;
}

/*
** Check the stored definition of every temp table of the session. Returns
** 1 and names the table and function in the log when one calls a denied
** function, 0 when none does, or -1 when the definitions cannot be read.
*/
static int definitionCheckAll(TenantSession *p){
  sqlite3_stmt *pStmt = 0;
  char zName[DEFINITION_MAX_NAME];
  int bDenied = 0;
  int rc;

  tenantSessionEnterInternal(p);
  /* Virtual tables are the isolation tables and placeholders: sessions
  ** cannot create any. */
  rc = sqlite3_prepare_v2(p->db, "SELECT name, sql FROM sqlite_temp_master "
                          "WHERE type='table' AND sql NOT LIKE "
                          "'CREATE VIRTUAL TABLE %'", -1, &pStmt, 0);
  while( rc==SQLITE_OK && !bDenied && sqlite3_step(pStmt)==SQLITE_ROW ){
    const unsigned char *zTable = sqlite3_column_text(pStmt, 0);
    const unsigned char *zSql = sqlite3_column_text(pStmt, 1);
    if( zSql==0 ) continue;
    zName[0] = 0;
    if( definitionFindDeniedCall(zSql + definitionNameEnd(zSql), zName) ){
      sqlite3_log(SQLITE_AUTH, "tenant: temp table \"%s\" of customer "
                  "\"%s\" calls %s() in its definition, which sessions may "
                  "not call: the session's temp tables are read-only from "
                  "now on", zTable ? (const char*)zTable : "", 
                  p->plan.zCustomer, zName);
      bDenied = 1;
    }
  }
  if( rc==SQLITE_OK ) rc = sqlite3_finalize(pStmt);
  else sqlite3_finalize(pStmt);
  tenantSessionLeaveInternal(p);
  if( bDenied ) return 1;
  return rc==SQLITE_OK ? 0 : -1;
}

void tenantSessionStatementStarts(TenantSession *p){
  if( p->bTempCreated ) p->bTxnAtStart = !sqlite3_get_autocommit(p->db);
}

/*
** Check the session's temp table definitions as statement pStmt finishes,
** when it may have changed them. That is a CREATE, a ROLLBACK (also
** ROLLBACK TO), or a statement that ended the transaction it started in,
** which an error can do. While a name is recorded, it is every statement.
*/
void tenantSessionCheckDefinitions(TenantSession *p, sqlite3_stmt *pStmt){
  const char *zSql;
  int bEnded;
  int rc;

  if( !p->bTempCreated || p->bTempWriteDenied ) return;
  zSql = sqlite3_sql(pStmt);
  bEnded = p->bTxnAtStart && sqlite3_get_autocommit(p->db);
  if( p->nUnchecked==0 && !bEnded
   && !tenantSqlStartsWith(zSql, "CREATE")
   && !tenantSqlStartsWith(zSql, "ROLLBACK") ){
    return;
  }
  rc = definitionCheckAll(p);
  if( rc==1 ) p->bTempWriteDenied = 1;
  if( rc>=0 ) tenantSessionDefinitionsForget(p);
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
  p->bTempCreated = 0;
  p->bTxnAtStart = 0;
}
