/*
** Parsing of the application-table definitions that tenant_add_table()
** accepts. provision.c calls provParseTable() before it changes anything.
**
** A definition runs in a scratch in-memory connection whose authorizer
** allows only creating a table and its schema writes, and it must leave
** exactly one table behind. That table is then read back
** through PRAGMA table_info and index_list to build its physical DDL: the
** declared columns, then customer_id, with customer_id leading every
** PRIMARY KEY and UNIQUE constraint so that keys are unique per customer.
**
** LIMITATIONS: only columns, PRIMARY KEY and UNIQUE survive the rebuild,
** so CHECK, REFERENCES, FOREIGN KEY, generated columns, AUTOINCREMENT and
** WITHOUT ROWID are rejected as not supported.
*/
#include "tenant_int.h"
SQLITE_EXTENSION_INIT3

#include <string.h>

/*
** Authorizer of the scratch connection that validates a table definition:
** it allows creating one table and the schema writes that go with it, so
** a definition cannot attach files, run pragmas or select data.
*/
static int provScratchAuth(void *pArg, int eAction, const char *z1,
                           const char *z2, const char *z3, const char *z4){
  switch( eAction ){
    case SQLITE_CREATE_TABLE:
    case SQLITE_CREATE_INDEX:     /* the indexes of UNIQUE constraints */
    case SQLITE_INSERT:
    case SQLITE_UPDATE:
    case SQLITE_DELETE:
    case SQLITE_READ:
    case SQLITE_FUNCTION:
      return SQLITE_OK;
  }
  return SQLITE_DENY;
}

/*
** Find a keyword of zDdl outside strings, quoted identifiers and comments
** that names a feature the rebuilt table cannot keep. Returns it or NULL.
*/
static const char *provUnsupportedKeyword(const char *zDdl){
  static const char *const azWord[] = {
    "CHECK", "REFERENCES", "FOREIGN", "GENERATED", "AS", "AUTOINCREMENT", 0
  };
  const char *z = zDdl;
  while( *z ){
    char c = *z;
    if( c=='-' && z[1]=='-' ){
      while( *z && *z!='\n' ) z++;
    }else if( c=='/' && z[1]=='*' ){
      z += 2;
      while( *z && !(z[0]=='*' && z[1]=='/') ) z++;
      if( *z ) z += 2;
    }else if( c=='\'' || c=='"' || c=='`' || c=='[' ){
      char cEnd = c=='[' ? ']' : c;
      z++;
      while( *z && *z!=cEnd ) z++;
      if( *z ) z++;
    }else if( (c>='a' && c<='z') || (c>='A' && c<='Z') || c=='_' ){
      const char *zStart = z;
      int i;
      while( (*z>='a' && *z<='z') || (*z>='A' && *z<='Z') || *z=='_'
          || (*z>='0' && *z<='9') || *z=='$' ){
        z++;
      }
      for(i=0; azWord[i]; i++){
        if( (int)strlen(azWord[i])==(int)(z-zStart)
         && sqlite3_strnicmp(zStart, azWord[i], (int)(z-zStart))==0 ){
          return azWord[i];
        }
      }
    }else{
      z++;
    }
  }
  return 0;
}

/* Skip white space and comments at z. */
static const char *provSkipSpace(const char *z){
  for(;;){
    while( *z==' ' || *z=='\t' || *z=='\n' || *z=='\r' || *z=='\f' ) z++;
    if( z[0]=='-' && z[1]=='-' ){
      while( *z && *z!='\n' ) z++;
    }else if( z[0]=='/' && z[1]=='*' ){
      z += 2;
      while( *z && !(z[0]=='*' && z[1]=='/') ) z++;
      if( *z ) z += 2;
    }else{
      return z;
    }
  }
}

/* True when zDdl starts with the keywords CREATE TABLE. */
static int provIsCreateTable(const char *zDdl){
  const char *z = provSkipSpace(zDdl);
  if( sqlite3_strnicmp(z, "CREATE", 6)!=0 ) return 0;
  if( z[6]!=' ' && z[6]!='\t' && z[6]!='\n' && z[6]!='\r' && z[6]!='-'
   && z[6]!='/' ){
    return 0;
  }
  z = provSkipSpace(z+6);
  return sqlite3_strnicmp(z, "TABLE", 5)==0;
}

/*
** Return true when zType is safe to copy into the physical DDL: words,
** then optionally one or two signed numbers in parentheses, as in
** "DECIMAL(10, 2)". PRAGMA table_info drops the quotes of a quoted type,
** so other text could inject SQL into the physical table.
*/
static int provIsDigit(unsigned char c){ return c>='0' && c<='9'; }
static int provIsSpace(unsigned char c){
  return c==' ' || c=='\t' || c=='\n' || c=='\r';
}
static int provIsWordChar(unsigned char c){
  return provIsDigit(c) || c=='_' || (c>='A' && c<='Z') || (c>='a' && c<='z');
}

static int provTypeIsPlain(const char *zType){
  const unsigned char *z = (const unsigned char*)zType;
  int nNumber = 0;

  while( *z && *z!='(' ){
    if( !provIsWordChar(*z) && !provIsSpace(*z) ) return 0;
    z++;
  }
  if( *z==0 ) return 1;
  z++;
  while( nNumber<2 ){
    while( provIsSpace(*z) ) z++;
    if( *z=='+' || *z=='-' ) z++;
    if( !provIsDigit(*z) ) return 0;
    while( provIsDigit(*z) || *z=='.' ) z++;
    while( provIsSpace(*z) ) z++;
    nNumber++;
    if( *z!=',' ) break;
    z++;
  }
  return z[0]==')' && z[1]==0;
}

/* Append to *pzOut the quoted column list of index zIndex of dbScratch,
** after "customer_id". */
static int provIndexColumns(sqlite3 *db, const char *zIndex, char **pzOut){
  sqlite3_stmt *pStmt = 0;
  char *zSql = sqlite3_mprintf("PRAGMA index_info(\"%w\")", zIndex);
  int rc = zSql ? sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0) : SQLITE_NOMEM;
  sqlite3_free(zSql);
  *pzOut = sqlite3_mprintf("%z(customer_id", *pzOut);
  while( rc==SQLITE_OK && *pzOut && sqlite3_step(pStmt)==SQLITE_ROW ){
    *pzOut = sqlite3_mprintf("%z, \"%w\"", *pzOut,
        (const char*)sqlite3_column_text(pStmt, 2));
  }
  if( rc==SQLITE_OK ) rc = sqlite3_finalize(pStmt);
  *pzOut = sqlite3_mprintf("%z)", *pzOut);
  if( rc==SQLITE_OK && *pzOut==0 ) rc = SQLITE_NOMEM;
  return rc;
}

/*
** Build the physical DDL of table zTable that dbScratch holds: its columns
** (declared type, collation, NOT NULL, DEFAULT) then customer_id, with
** every PRIMARY KEY and UNIQUE constraint led by customer_id.
*/
static int provPhysicalDdl(sqlite3 *db, const char *zTable, char **pzDdl,
                           char **pzErr){
  sqlite3_stmt *pStmt = 0;
  char *zSql;
  char *zOut;
  int nPk = 0;
  int rc;
  int i;

  zOut = sqlite3_mprintf("CREATE TABLE \"%w\"(", zTable);
  zSql = sqlite3_mprintf("PRAGMA table_info(\"%w\")", zTable);
  rc = zSql ? sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0) : SQLITE_NOMEM;
  sqlite3_free(zSql);
  while( rc==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
    const char *zCol = (const char*)sqlite3_column_text(pStmt, 1);
    const char *zType = (const char*)sqlite3_column_text(pStmt, 2);
    const char *zDflt = (const char*)sqlite3_column_text(pStmt, 4);
    const char *zColl = 0;
    if( sqlite3_stricmp(zCol, "customer_id")==0 ){
      tenantSetError(pzErr, "table \"%s\" declares column \"customer_id\", "
          "which the extension adds itself: remove it", zTable);
      rc = SQLITE_ERROR;
      break;
    }
    if( zType && !provTypeIsPlain(zType) ){
      tenantSetError(pzErr, "column \"%s\" of table \"%s\" has invalid "
          "type \"%s\": use words and an optional size, as in "
          "VARCHAR(255)", zCol, zTable, zType);
      rc = SQLITE_ERROR;
      break;
    }
    if( sqlite3_api->table_column_metadata==0
     || sqlite3_table_column_metadata(db, "main", zTable, zCol, 0, &zColl,
                                      0, 0, 0)!=SQLITE_OK
     || (zColl && sqlite3_stricmp(zColl, "BINARY")==0) ){
      zColl = 0;
    }
    zOut = sqlite3_mprintf("%z\"%w\"%s%s%s%s%s%s%s, ", zOut, zCol,
        zType && zType[0] ? " " : "", zType ? zType : "",
        zColl ? " COLLATE " : "", zColl ? zColl : "",
        sqlite3_column_int(pStmt, 3) ? " NOT NULL" : "",
        zDflt ? " DEFAULT " : "", zDflt ? zDflt : "");
    if( sqlite3_column_int(pStmt, 5)>nPk ) nPk = sqlite3_column_int(pStmt, 5);
  }
  sqlite3_finalize(pStmt);
  pStmt = 0;
  zOut = sqlite3_mprintf("%zcustomer_id TEXT NOT NULL", zOut);

  /* The primary key, in its declared column order. */
  if( nPk>0 ){
    zOut = sqlite3_mprintf("%z, PRIMARY KEY(customer_id", zOut);
  }
  for(i=1; rc==SQLITE_OK && i<=nPk; i++){
    zSql = sqlite3_mprintf("PRAGMA table_info(\"%w\")", zTable);
    rc = zSql ? sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0) : SQLITE_NOMEM;
    sqlite3_free(zSql);
    while( rc==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
      if( sqlite3_column_int(pStmt, 5)==i ){
        zOut = sqlite3_mprintf("%z, \"%w\"", zOut,
            (const char*)sqlite3_column_text(pStmt, 1));
      }
    }
    sqlite3_finalize(pStmt);
    pStmt = 0;
  }
  if( nPk>0 ){
    zOut = sqlite3_mprintf("%z)", zOut);
  }

  /* UNIQUE constraints: indexes of origin 'u'. */
  if( rc==SQLITE_OK ){
    zSql = sqlite3_mprintf("PRAGMA index_list(\"%w\")", zTable);
    rc = zSql ? sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0) : SQLITE_NOMEM;
    sqlite3_free(zSql);
  }
  while( rc==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
    const char *zOrigin = (const char*)sqlite3_column_text(pStmt, 3);
    if( zOrigin && strcmp(zOrigin, "u")==0 ){
      zOut = sqlite3_mprintf("%z, UNIQUE", zOut);
      rc = provIndexColumns(db, (const char*)sqlite3_column_text(pStmt, 1),
                            &zOut);
    }
  }
  sqlite3_finalize(pStmt);
  zOut = sqlite3_mprintf("%z)", zOut);

  if( rc==SQLITE_OK && zOut==0 ) rc = SQLITE_NOMEM;
  if( rc!=SQLITE_OK ){
    sqlite3_free(zOut);
    zOut = 0;
    if( pzErr && *pzErr==0 ){
      tenantSetError(pzErr, "cannot read back table \"%s\": %s", zTable,
          sqlite3_errmsg(db));
    }
  }
  *pzDdl = zOut;
  return rc;
}

/*
** Validate zDdl, one CREATE TABLE statement, in a scratch in-memory
** connection, and return the table's name and physical DDL.
*/
int provParseTable(const char *zDdl, char **pzName, char **pzPhysical,
                   char **pzErr){
  sqlite3 *db = 0;
  sqlite3_stmt *pStmt = 0;
  const char *zTail = 0;
  const char *zWord;
  char *zName = 0;
  int nTable = 0, nOther = 0;
  int rc;

  *pzName = 0;
  *pzPhysical = 0;
  if( !provIsCreateTable(zDdl) ){
    tenantSetError(pzErr, "table definition is not a CREATE TABLE "
        "statement: pass a single CREATE TABLE statement");
    return SQLITE_ERROR;
  }
  zWord = provUnsupportedKeyword(zDdl);
  if( zWord ){
    tenantSetError(pzErr, "%s in a table definition is not supported: "
        "define the table with columns, PRIMARY KEY and UNIQUE only", zWord);
    return SQLITE_ERROR;
  }

  rc = sqlite3_open_v2(":memory:", &db,
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 0);
  if( rc!=SQLITE_OK ){
    sqlite3_close(db);
    return rc;
  }
  sqlite3_set_authorizer(db, provScratchAuth, 0);

  /* Exactly one statement: the text after it holds only comments. */
  rc = sqlite3_prepare_v2(db, zDdl, -1, &pStmt, &zTail);
  if( rc==SQLITE_OK && pStmt ){
    sqlite3_stmt *pNext = 0;
    if( sqlite3_prepare_v2(db, zTail, -1, &pNext, 0)!=SQLITE_OK || pNext ){
      tenantSetError(pzErr, "table definition contains more than one "
          "statement: pass a single CREATE TABLE statement");
      rc = SQLITE_ERROR;
    }
    sqlite3_finalize(pNext);
  }
  if( rc==SQLITE_OK && pStmt==0 ){
    tenantSetError(pzErr, "table definition is empty: pass a single CREATE "
        "TABLE statement");
    rc = SQLITE_ERROR;
  }
  if( rc==SQLITE_OK ){
    rc = sqlite3_step(pStmt);
    if( rc==SQLITE_DONE ) rc = SQLITE_OK;
  }
  sqlite3_finalize(pStmt);
  pStmt = 0;
  if( rc!=SQLITE_OK && *pzErr==0 ){
    tenantSetError(pzErr, "invalid table definition: %s: pass a single "
        "CREATE TABLE statement", sqlite3_errmsg(db));
  }
  sqlite3_set_authorizer(db, 0, 0);

  /* It must have created one ordinary table and no other object. */
  if( rc==SQLITE_OK ){
    rc = sqlite3_prepare_v2(db, "SELECT type, name, sql FROM sqlite_master",
                            -1, &pStmt, 0);
  }
  while( rc==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
    const char *zType = (const char*)sqlite3_column_text(pStmt, 0);
    const char *zSql = (const char*)sqlite3_column_text(pStmt, 2);
    if( strcmp(zType, "table")==0 && zSql
     && sqlite3_strnicmp(zSql, "CREATE TABLE", 12)==0 ){
      nTable++;
      sqlite3_free(zName);
      zName = sqlite3_mprintf("%s", sqlite3_column_text(pStmt, 1));
    }else if( zSql!=0 ){
      nOther++;   /* an automatic index has no sql */
    }
  }
  sqlite3_finalize(pStmt);
  pStmt = 0;
  if( rc==SQLITE_OK && (nTable!=1 || nOther!=0 || zName==0) ){
    tenantSetError(pzErr, "table definition is not a CREATE TABLE "
        "statement: pass a single CREATE TABLE statement");
    rc = SQLITE_ERROR;
  }

  if( rc==SQLITE_OK && (sqlite3_strnicmp(zName, "tenant_", 7)==0
                        || sqlite3_strnicmp(zName, "sqlite_", 7)==0) ){
    tenantSetError(pzErr, "table name \"%s\" is reserved: choose a name "
        "that starts with neither tenant_ nor sqlite_", zName);
    rc = SQLITE_ERROR;
  }

  /* The isolation virtual table keys rows by rowid. */
  if( rc==SQLITE_OK ){
    char *zSql = sqlite3_mprintf("SELECT rowid FROM \"%w\"", zName);
    if( zSql && sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0)!=SQLITE_OK ){
      tenantSetError(pzErr, "table \"%s\" has no rowid, which is not "
          "supported: remove WITHOUT ROWID", zName);
      rc = SQLITE_ERROR;
    }
    sqlite3_finalize(pStmt);
    pStmt = 0;
    sqlite3_free(zSql);
  }

  if( rc==SQLITE_OK ) rc = provPhysicalDdl(db, zName, pzPhysical, pzErr);
  sqlite3_close(db);
  if( rc!=SQLITE_OK ){
    sqlite3_free(zName);
    zName = 0;
  }
  *pzName = zName;
  return rc;
}
