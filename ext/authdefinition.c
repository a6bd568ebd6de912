/*
** Function calls in the CREATE statements of a bound session.
**
** SQLite resolves the functions in a column's DEFAULT only when an INSERT,
** or a conflict that replaces a NOT NULL column, evaluates it, and it does
** not ask the authorizer about them (SQLite 3.15.2 and 3.40.1). So a temp
** table whose DEFAULT calls a function that the authorizer denies, such as
** the shells' writefile() or SQLCipher's sqlcipher_export(), would call it
** on every row written. The session's trace callback passes each statement
** here as it starts, before it creates anything. When the text of a CREATE
** statement calls a denied function anywhere, the session denies every
** later INSERT and UPDATE of its temp tables, which can then only be read,
** deleted from or dropped.
**
** A temp table that the authorizer has seen prepared, but whose CREATE text
** has not been checked, is read-only too. That happens when the host
** program removes or replaces the trace callback between preparing a
** CREATE statement and running it.
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

/* Read the token at z+*pi, after white space and comments, into *pz and
** *pn, and move *pi past it. Returns 0 at the end of the text. */
static int definitionNextToken(const unsigned char *z, int *pi,
                               const unsigned char **pz, int *pn){
  int i = *pi + tenantSqlSpaceLen(z + *pi);
  int n;
  if( z[i]==0 ) return 0;
  n = definitionNameLen(z+i);
  if( n==0 ) n = 1;
  *pz = z+i;
  *pn = n;
  *pi = i+n;
  return 1;
}

static int definitionTokenIs(const unsigned char *z, int n,
                             const char *zWord){
  return (int)strlen(zWord)==n
      && sqlite3_strnicmp((const char*)z, zWord, n)==0;
}

/*
** Copy into zName the name of the table that CREATE statement z creates,
** without quotes or schema. Returns 0 for any other CREATE statement.
*/
static int definitionTableName(const unsigned char *z, char *zName){
  const unsigned char *zTok;
  int i = 0;
  int n;

  if( !definitionNextToken(z, &i, &zTok, &n) ) return 0;      /* CREATE */
  if( !definitionNextToken(z, &i, &zTok, &n) ) return 0;
  if( definitionTokenIs(zTok, n, "TEMP")
   || definitionTokenIs(zTok, n, "TEMPORARY") ){
    if( !definitionNextToken(z, &i, &zTok, &n) ) return 0;
  }
  if( !definitionTokenIs(zTok, n, "TABLE") ) return 0;
  if( !definitionNextToken(z, &i, &zTok, &n) ) return 0;
  if( definitionTokenIs(zTok, n, "IF") ){
    if( !definitionNextToken(z, &i, &zTok, &n)
     || !definitionTokenIs(zTok, n, "NOT")
     || !definitionNextToken(z, &i, &zTok, &n)
     || !definitionTokenIs(zTok, n, "EXISTS")
     || !definitionNextToken(z, &i, &zTok, &n) ){
      return 0;
    }
  }
  if( definitionNameLen(zTok)!=n ) return 0;
  definitionCopyName(zTok, n, zName);

  /* "schema.name": the name follows the dot. */
  {
    int iAfter = i;
    const unsigned char *zDot;
    int nDot;
    if( definitionNextToken(z, &iAfter, &zDot, &nDot) && zDot[0]=='.' ){
      if( !definitionNextToken(z, &iAfter, &zTok, &n)
       || definitionNameLen(zTok)!=n ){
        return 0;
      }
      definitionCopyName(zTok, n, zName);
    }
  }
  return 1;
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

/* Forget every pending entry for table zTable, whose text was checked. */
static void definitionChecked(TenantSession *p, const char *zTable){
  int i = 0;
  while( i<p->nUnchecked ){
    if( sqlite3_stricmp(p->azUnchecked[i], zTable)==0 ){
      sqlite3_free(p->azUnchecked[i]);
      p->azUnchecked[i] = p->azUnchecked[--p->nUnchecked];
    }else{
      i++;
    }
  }
}

void tenantSessionCheckDefinition(TenantSession *p, const char *zSql){
  const unsigned char *z = (const unsigned char*)zSql;
  char zName[DEFINITION_MAX_NAME];
  char zTable[DEFINITION_MAX_NAME];
  int i;

  if( z==0 ) return;
  i = tenantSqlSpaceLen(z);
  if( sqlite3_strnicmp((const char*)z+i, "CREATE", 6)!=0
   || tenantSqlIsIdChar(z[i+6]) ){
    return;
  }
  if( definitionFindDeniedCall(z+i, zName) ){
    if( !p->bTempWriteDenied ){
      sqlite3_log(SQLITE_AUTH, "tenant: a statement of customer \"%s\" "
                  "creates an object that calls %s(), which sessions may "
                  "not call: its temp tables are read-only from now on",
                  p->plan.zCustomer, zName);
    }
    p->bTempWriteDenied = 1;
    return;
  }
  if( definitionTableName(z+i, zTable) ) definitionChecked(p, zTable);
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
  int i;
  for(i=0; i<p->nUnchecked; i++) sqlite3_free(p->azUnchecked[i]);
  sqlite3_free(p->azUnchecked);
  p->azUnchecked = 0;
  p->nUnchecked = 0;
  p->bTempWriteDenied = 0;
}
