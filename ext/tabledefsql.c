/*
** The text of a column's type and DEFAULT clause, as the physical DDL of
** an application table writes them.
**
** PRAGMA table_info reports both as text: the type without the quotes of
** a quoted type, and the DEFAULT as the span of the definition's text,
** which in SQLite 3.40 can end in a comment. Copied as they are, either
** could add constraints or statements to the physical DDL. A type is
** therefore limited to words that are not SQL keywords and an optional
** size, and a DEFAULT to one literal token or one expression without
** comments, written in parentheses.
*/
#include "tabledef.h"
#include "sqltoken.h"
SQLITE_EXTENSION_INIT3

#include <string.h>

/*
** The keywords of SQLite 3.40.1, as its sqlite3_keyword_name() lists
** them. A keyword in a type name may start a column constraint, or parse
** as part of the type in one SQLite version and as a constraint in
** another, as GENERATED does in 3.15.2 and 3.40.
*/
static const char *const azKeyword[] = {
  "ABORT", "ACTION", "ADD", "AFTER", "ALL", "ALTER", "ALWAYS", "ANALYZE",
  "AND", "AS", "ASC", "ATTACH", "AUTOINCREMENT", "BEFORE", "BEGIN",
  "BETWEEN", "BY", "CASCADE", "CASE", "CAST", "CHECK", "COLLATE", "COLUMN",
  "COMMIT", "CONFLICT", "CONSTRAINT", "CREATE", "CROSS", "CURRENT",
  "CURRENT_DATE", "CURRENT_TIME", "CURRENT_TIMESTAMP", "DATABASE",
  "DEFAULT", "DEFERRABLE", "DEFERRED", "DELETE", "DESC", "DETACH",
  "DISTINCT", "DO", "DROP", "EACH", "ELSE", "END", "ESCAPE", "EXCEPT",
  "EXCLUDE", "EXCLUSIVE", "EXISTS", "EXPLAIN", "FAIL", "FILTER", "FIRST",
  "FOLLOWING", "FOR", "FOREIGN", "FROM", "FULL", "GENERATED", "GLOB",
  "GROUP", "GROUPS", "HAVING", "IF", "IGNORE", "IMMEDIATE", "IN", "INDEX",
  "INDEXED", "INITIALLY", "INNER", "INSERT", "INSTEAD", "INTERSECT", "INTO",
  "IS", "ISNULL", "JOIN", "KEY", "LAST", "LEFT", "LIKE", "LIMIT", "MATCH",
  "MATERIALIZED", "NATURAL", "NO", "NOT", "NOTHING", "NOTNULL", "NULL",
  "NULLS", "OF", "OFFSET", "ON", "OR", "ORDER", "OTHERS", "OUTER", "OVER",
  "PARTITION", "PLAN", "PRAGMA", "PRECEDING", "PRIMARY", "QUERY", "RAISE",
  "RANGE", "RECURSIVE", "REFERENCES", "REGEXP", "REINDEX", "RELEASE",
  "RENAME", "REPLACE", "RESTRICT", "RETURNING", "RIGHT", "ROLLBACK", "ROW",
  "ROWS", "SAVEPOINT", "SELECT", "SET", "TABLE", "TEMP", "TEMPORARY",
  "THEN", "TIES", "TO", "TRANSACTION", "TRIGGER", "UNBOUNDED", "UNION",
  "UNIQUE", "UPDATE", "USING", "VACUUM", "VALUES", "VIEW", "VIRTUAL",
  "WHEN", "WHERE", "WINDOW", "WITH", "WITHOUT", 0
};

static int sqlIsKeyword(const char *z, int n){
  int i;
  for(i=0; azKeyword[i]; i++){
    if( (int)strlen(azKeyword[i])==n
     && sqlite3_strnicmp(z, azKeyword[i], n)==0 ){
      return 1;
    }
  }
  return 0;
}

/* Length of the signed number "[+-]digits[.digits]" at z, or 0. */
static int sqlSizeLen(const unsigned char *z){
  int i = (z[0]=='+' || z[0]=='-') ? 1 : 0;
  int nDigit = 0;
  while( tenantSqlIsDigit(z[i]) ){ i++; nDigit++; }
  if( nDigit==0 ) return 0;
  if( z[i]=='.' ){
    i++;
    while( tenantSqlIsDigit(z[i]) ) i++;
  }
  return i;
}

/*
** Check zType, a declared type as PRAGMA table_info reports it. It must be
** ASCII words that are not SQL keywords, separated by white space, and
** optionally one or two signed numbers in parentheses, as in "VARCHAR(255)"
** or "DECIMAL(10, 2)". Returns PROV_TYPE_OK, PROV_TYPE_INVALID, or
** PROV_TYPE_KEYWORD with the keyword in *pzWord and *pnWord.
*/
int provTypeCheck(const char *zType, const char **pzWord, int *pnWord){
  const unsigned char *z = (const unsigned char*)zType;
  int nNumber = 0;
  int nWord = 0;

  while( tenantSqlIsSpace(*z) ) z++;
  while( tenantSqlIsAlpha(*z) || *z=='_' ){
    const unsigned char *zStart = z;
    while( tenantSqlIsAlpha(*z) || tenantSqlIsDigit(*z) || *z=='_' ) z++;
    if( sqlIsKeyword((const char*)zStart, (int)(z-zStart)) ){
      *pzWord = (const char*)zStart;
      *pnWord = (int)(z-zStart);
      return PROV_TYPE_KEYWORD;
    }
    nWord++;
    if( !tenantSqlIsSpace(*z) ) break;
    while( tenantSqlIsSpace(*z) ) z++;
  }
  if( *z==0 ) return PROV_TYPE_OK;
  if( *z!='(' || nWord==0 ) return PROV_TYPE_INVALID;
  z++;
  while( nNumber<2 ){
    int n;
    while( tenantSqlIsSpace(*z) ) z++;
    n = sqlSizeLen(z);
    if( n==0 ) return PROV_TYPE_INVALID;
    z += n;
    while( tenantSqlIsSpace(*z) ) z++;
    nNumber++;
    if( *z!=',' ) break;
    z++;
  }
  if( *z!=')' ) return PROV_TYPE_INVALID;
  z++;
  while( tenantSqlIsSpace(*z) ) z++;
  return *z==0 ? PROV_TYPE_OK : PROV_TYPE_INVALID;
}

/* ---- DEFAULT clauses ---------------------------------------------------- */

/* The value of the quoted identifier z of n bytes, without its quotes,
** as a string literal of the physical DDL. */
static char *sqlIdentifierAsString(const char *z, int n){
  char cClose = z[0]=='[' ? ']' : z[0];
  char *zValue = sqlite3_malloc64(n);
  char *zOut;
  int i, j = 0;
  if( zValue==0 ) return 0;
  for(i=1; i<n-1; i++){
    zValue[j++] = z[i];
    if( z[i]==cClose && cClose!=']' ) i++;
  }
  zValue[j] = 0;
  zOut = sqlite3_mprintf("'%q'", zValue);
  sqlite3_free(zValue);
  return zOut;
}

/*
** Check that zText, n bytes, is one expression: no comment, no ';',
** closed quotes and balanced parentheses, and "SELECT (<zText>)" compiles
** in db as one statement. Returns SQLITE_OK, PROV_DEFAULT_COMMENT or
** PROV_DEFAULT_INVALID.
*/
static int sqlCheckExpression(sqlite3 *db, const char *zText, int n){
  const unsigned char *z = (const unsigned char*)zText;
  sqlite3_stmt *pStmt = 0;
  const char *zTail = 0;
  char *zSql;
  int nDepth = 0;
  int i = 0;
  int rc;

  while( i<n ){
    unsigned char c = z[i];
    if( (c=='-' && z[i+1]=='-') || (c=='/' && z[i+1]=='*') ){
      return PROV_DEFAULT_COMMENT;
    }
    if( c=='\'' || c=='"' || c=='`' || c=='[' ){
      int nQuoted = tenantSqlQuotedLen(z+i);
      if( nQuoted==0 || i+nQuoted>n ) return PROV_DEFAULT_INVALID;
      i += nQuoted;
      continue;
    }
    if( c==';' ) return PROV_DEFAULT_INVALID;
    if( c=='(' ) nDepth++;
    if( c==')' && nDepth--==0 ) return PROV_DEFAULT_INVALID;
    i++;
  }
  if( nDepth!=0 ) return PROV_DEFAULT_INVALID;

  zSql = sqlite3_mprintf("SELECT (%.*s)", n, zText);
  if( zSql==0 ) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, &zTail);
  if( rc!=SQLITE_NOMEM
   && (rc!=SQLITE_OK || pStmt==0 || zTail==0 || *zTail!=0) ){
    rc = PROV_DEFAULT_INVALID;
  }
  sqlite3_finalize(pStmt);
  sqlite3_free(zSql);
  return rc;
}

/*
** Turn zDflt, the dflt_value that PRAGMA table_info reports for a column,
** into *pzClause, the text after DEFAULT in the physical DDL, and *pzInfo,
** the dflt_value that the physical table then reports.
**
** A literal keeps its text: a number with an optional sign, a string, a
** blob, NULL, CURRENT_TIME, CURRENT_DATE or CURRENT_TIMESTAMP. TRUE and
** FALSE become 1 and 0: SQLite 3.23 and later read them so, while 3.15.2
** reads them as the identifier default below, the text 'TRUE'. An
** identifier, as in "DEFAULT abc" or "DEFAULT \"two words\"", is a string
** default in both versions and becomes that string literal. Any other
** text must be one expression, checked in db, and goes in parentheses,
** which table_info leaves out of dflt_value. Returns SQLITE_OK,
** SQLITE_NOMEM, PROV_DEFAULT_COMMENT or PROV_DEFAULT_INVALID.
**
** NOTE: the expression is checked by the host's own parser only. Syntax
** newer than SQLite 3.15.2, such as IS DISTINCT FROM (3.39), passes in a
** 3.40 host and leaves a schema that 3.15.2 hosts cannot read.
*/
int provDefaultClause(sqlite3 *db, const char *zDflt, char **pzClause,
                      char **pzInfo){
  const unsigned char *z = (const unsigned char*)zDflt;
  int n = (int)strlen(zDflt);
  int nSign;
  int rc;

  *pzClause = 0;
  *pzInfo = 0;
  while( n>0 && tenantSqlIsSpace(z[0]) ){ z++; n--; }
  while( n>0 && tenantSqlIsSpace(z[n-1]) ) n--;
  if( n==0 ) return PROV_DEFAULT_INVALID;
  nSign = (z[0]=='+' || z[0]=='-') ? 1 : 0;

  if( (n>nSign && tenantSqlNumberLen(z+nSign)==n-nSign)
   || (z[0]=='\'' && tenantSqlQuotedLen(z)==n)
   || tenantSqlBlobLen(z)==n ){
    *pzClause = sqlite3_mprintf("%.*s", n, z);
  }else if( tenantSqlIsAlpha(z[0]) || z[0]=='_' || z[0]>=0x80 ){
    int i = 1;
    while( i<n && tenantSqlIsIdChar(z[i]) ) i++;
    if( i==n ){
      const char *zWord = (const char*)z;
      if( (n==4 && sqlite3_strnicmp(zWord, "NULL", 4)==0)
       || (n==12 && sqlite3_strnicmp(zWord, "CURRENT_TIME", 12)==0)
       || (n==12 && sqlite3_strnicmp(zWord, "CURRENT_DATE", 12)==0)
       || (n==17 && sqlite3_strnicmp(zWord, "CURRENT_TIMESTAMP", 17)==0) ){
        *pzClause = sqlite3_mprintf("%.*s", n, zWord);
      }else if( n==4 && sqlite3_strnicmp(zWord, "TRUE", 4)==0 ){
        *pzClause = sqlite3_mprintf("1");
      }else if( n==5 && sqlite3_strnicmp(zWord, "FALSE", 5)==0 ){
        *pzClause = sqlite3_mprintf("0");
      }else{
        char *zCopy = sqlite3_mprintf("%.*s", n, zWord);
        *pzClause = zCopy ? sqlite3_mprintf("'%q'", zCopy) : 0;
        sqlite3_free(zCopy);
        if( *pzClause==0 ) return SQLITE_NOMEM;
      }
    }
  }else if( (z[0]=='"' || z[0]=='`' || z[0]=='[') && tenantSqlQuotedLen(z)==n ){
    *pzClause = sqlIdentifierAsString((const char*)z, n);
    if( *pzClause==0 ) return SQLITE_NOMEM;
  }

  if( *pzClause ){
    *pzInfo = sqlite3_mprintf("%s", *pzClause);
  }else{
    rc = sqlCheckExpression(db, (const char*)z, n);
    if( rc!=SQLITE_OK ) return rc;
    *pzClause = sqlite3_mprintf("(%.*s)", n, z);
    *pzInfo = sqlite3_mprintf("%.*s", n, z);
  }
  if( *pzClause==0 || *pzInfo==0 ){
    sqlite3_free(*pzClause);
    sqlite3_free(*pzInfo);
    *pzClause = 0;
    *pzInfo = 0;
    return SQLITE_NOMEM;
  }
  return SQLITE_OK;
}
