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
** No text of the definition reaches the physical DDL unchecked: names are
** quoted, types and DEFAULT clauses pass the checks of tabledefsql.c, and
** tabledefcheck.c verifies the result before provision.c stores or runs
** it.
**
** LIMITATIONS: only columns, PRIMARY KEY and UNIQUE survive the rebuild,
** so CHECK, REFERENCES, FOREIGN KEY, generated columns, AUTOINCREMENT and
** WITHOUT ROWID are rejected as not supported.
*/
#include "tabledef.h"
SQLITE_EXTENSION_INIT3

#include <stdarg.h>
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
** Keywords of features that the rebuilt table cannot keep. provParseTable()
** rejects a definition that contains one outside strings, quoted names
** and comments.
*/
static const char *const azUnsupported[] = {
  "CHECK", "REFERENCES", "FOREIGN", "GENERATED", "AS", "AUTOINCREMENT", 0
};

const char *provFindKeyword(const char *zDdl, const char *const *azWord){
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


void provTableFree(ProvTable *p){
  int i;
  for(i=0; i<p->nCol; i++){
    sqlite3_free(p->aCol[i].zName);
    sqlite3_free(p->aCol[i].zType);
    sqlite3_free(p->aCol[i].zColl);
    sqlite3_free(p->aCol[i].zDefault);
    sqlite3_free(p->aCol[i].zDefaultInfo);
  }
  for(i=0; i<p->nUnique; i++) sqlite3_free(p->aUnique[i].aiCol);
  sqlite3_free(p->aCol);
  sqlite3_free(p->aUnique);
  sqlite3_free(p->zName);
  memset(p, 0, sizeof(*p));
}

/*
** Check the type, collation and DEFAULT of column pCol of table zTable in
** db, and set the fields of pCol that the physical DDL writes from them.
*/
static int provColumnCheck(sqlite3 *db, const char *zTable, const char *zType,
                           const char *zDflt, ProvColumn *pCol,
                           char **pzErr){
  const char *zCol = pCol->zName;
  const char *zColl = 0;
  const char *zWord = 0;
  int nWord = 0;
  int rc;

  switch( provTypeCheck(zType, &zWord, &nWord) ){
    case PROV_TYPE_INVALID:
      tenantSetError(pzErr, "column \"%s\" of table \"%s\" has invalid "
          "type \"%s\": use words and an optional size, as in "
          "VARCHAR(255)", zCol, zTable, zType);
      return SQLITE_ERROR;
    case PROV_TYPE_KEYWORD:
      tenantSetError(pzErr, "column \"%s\" of table \"%s\" has type \"%s\", "
          "which contains the SQL keyword %.*s: use words that are not SQL "
          "keywords and an optional size, as in VARCHAR(255)", zCol, zTable,
          zType, nWord, zWord);
      return SQLITE_ERROR;
  }
  pCol->zType = sqlite3_mprintf("%s", zType);
  if( pCol->zType==0 ) return SQLITE_NOMEM;

  /* Only the built-in collations exist in the scratch connection, and the
  ** name is written without quotes. */
  if( sqlite3_api->table_column_metadata!=0
   && sqlite3_table_column_metadata(db, "main", zTable, zCol, 0, &zColl,
                                    0, 0, 0)==SQLITE_OK
   && zColl && sqlite3_stricmp(zColl, "BINARY")!=0 ){
    if( sqlite3_stricmp(zColl, "NOCASE")!=0
     && sqlite3_stricmp(zColl, "RTRIM")!=0 ){
      tenantSetError(pzErr, "column \"%s\" of table \"%s\" has collation "
          "\"%s\": use BINARY, NOCASE or RTRIM", zCol, zTable, zColl);
      return SQLITE_ERROR;
    }
    pCol->zColl = sqlite3_mprintf("%s", zColl);
    if( pCol->zColl==0 ) return SQLITE_NOMEM;
  }

  if( zDflt==0 ) return SQLITE_OK;
  rc = provDefaultClause(db, zDflt, &pCol->zDefault, &pCol->zDefaultInfo);
  if( rc==PROV_DEFAULT_COMMENT ){
    tenantSetError(pzErr, "column \"%s\" of table \"%s\" has DEFAULT \"%s\", "
        "which contains a comment: remove the comment", zCol, zTable, zDflt);
    rc = SQLITE_ERROR;
  }else if( rc==PROV_DEFAULT_INVALID ){
    tenantSetError(pzErr, "column \"%s\" of table \"%s\" has DEFAULT \"%s\", "
        "which is not a single expression: write one literal or one "
        "expression in parentheses", zCol, zTable, zDflt);
    rc = SQLITE_ERROR;
  }
  return rc;
}

/* Read the columns of table p->zName in db into p. */
static int provTableColumns(sqlite3 *db, ProvTable *p, char **pzErr){
  sqlite3_stmt *pStmt = 0;
  char *zSql = sqlite3_mprintf("PRAGMA table_info(\"%w\")", p->zName);
  int rc = zSql ? sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0) : SQLITE_NOMEM;
  sqlite3_free(zSql);
  while( rc==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
    const char *zCol = (const char*)sqlite3_column_text(pStmt, 1);
    const char *zType = (const char*)sqlite3_column_text(pStmt, 2);
    ProvColumn *aNew;
    ProvColumn *pCol;
    if( zCol==0 ){
      rc = SQLITE_NOMEM;
      break;
    }
    if( sqlite3_stricmp(zCol, "customer_id")==0 ){
      tenantSetError(pzErr, "table \"%s\" declares column \"customer_id\", "
          "which the extension adds itself: remove it", p->zName);
      rc = SQLITE_ERROR;
      break;
    }
    aNew = sqlite3_realloc64(p->aCol, sizeof(ProvColumn)*(p->nCol+1));
    if( aNew==0 ){
      rc = SQLITE_NOMEM;
      break;
    }
    p->aCol = aNew;
    pCol = &p->aCol[p->nCol++];
    memset(pCol, 0, sizeof(*pCol));
    pCol->zName = sqlite3_mprintf("%s", zCol);
    if( pCol->zName==0 ){
      rc = SQLITE_NOMEM;
      break;
    }
    pCol->bNotNull = sqlite3_column_int(pStmt, 3)!=0;
    pCol->iPk = sqlite3_column_int(pStmt, 5);
    if( pCol->iPk>p->nPk ) p->nPk = pCol->iPk;
    rc = provColumnCheck(db, p->zName, zType ? zType : "",
                         (const char*)sqlite3_column_text(pStmt, 4), pCol,
                         pzErr);
  }
  sqlite3_finalize(pStmt);
  return rc;
}

/* Read the columns of UNIQUE index zIndex of db into a new key of p. */
static int provTableKey(sqlite3 *db, ProvTable *p, const char *zIndex){
  sqlite3_stmt *pStmt = 0;
  char *zSql = sqlite3_mprintf("PRAGMA index_info(\"%w\")", zIndex);
  ProvKey *aNew;
  ProvKey *pKey;
  int rc = zSql ? sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0) : SQLITE_NOMEM;
  sqlite3_free(zSql);
  aNew = rc==SQLITE_OK
       ? sqlite3_realloc64(p->aUnique, sizeof(ProvKey)*(p->nUnique+1)) : 0;
  if( aNew==0 ){
    sqlite3_finalize(pStmt);
    return rc==SQLITE_OK ? SQLITE_NOMEM : rc;
  }
  p->aUnique = aNew;
  pKey = &p->aUnique[p->nUnique++];
  memset(pKey, 0, sizeof(*pKey));
  while( sqlite3_step(pStmt)==SQLITE_ROW ){
    int *aiNew = sqlite3_realloc64(pKey->aiCol, sizeof(int)*(pKey->nCol+1));
    if( aiNew==0 ){
      rc = SQLITE_NOMEM;
      break;
    }
    pKey->aiCol = aiNew;
    pKey->aiCol[pKey->nCol++] = sqlite3_column_int(pStmt, 1);
  }
  if( rc==SQLITE_OK ) rc = sqlite3_finalize(pStmt);
  else sqlite3_finalize(pStmt);
  return rc;
}

/* Read the UNIQUE constraints (indexes of origin 'u') of db into p. */
static int provTableKeys(sqlite3 *db, ProvTable *p){
  sqlite3_stmt *pStmt = 0;
  char *zSql = sqlite3_mprintf("PRAGMA index_list(\"%w\")", p->zName);
  int rc = zSql ? sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0) : SQLITE_NOMEM;
  sqlite3_free(zSql);
  while( rc==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
    const char *zOrigin = (const char*)sqlite3_column_text(pStmt, 3);
    if( zOrigin && strcmp(zOrigin, "u")==0 ){
      rc = provTableKey(db, p, (const char*)sqlite3_column_text(pStmt, 1));
    }
  }
  sqlite3_finalize(pStmt);
  return rc;
}

/* Append the formatted text to *pzOut. Out of memory frees *pzOut and
** sets it to NULL, and later calls then do nothing. */
static void provAppend(char **pzOut, const char *zFormat, ...){
  va_list ap;
  char *zMore;
  char *zNew;
  if( *pzOut==0 ) return;
  va_start(ap, zFormat);
  zMore = sqlite3_vmprintf(zFormat, ap);
  va_end(ap);
  zNew = zMore ? sqlite3_mprintf("%s%s", *pzOut, zMore) : 0;
  sqlite3_free(*pzOut);
  sqlite3_free(zMore);
  *pzOut = zNew;
}

char *provTableDdl(const ProvTable *p){
  char *zOut = sqlite3_mprintf("CREATE TABLE \"%w\"(", p->zName);
  int i, j;

  for(i=0; i<p->nCol; i++){
    const ProvColumn *pCol = &p->aCol[i];
    provAppend(&zOut, "\"%w\"%s%s", pCol->zName,
               pCol->zType[0] ? " " : "", pCol->zType);
    if( pCol->zColl ) provAppend(&zOut, " COLLATE %s", pCol->zColl);
    if( pCol->bNotNull ) provAppend(&zOut, " NOT NULL");
    if( pCol->zDefault ) provAppend(&zOut, " DEFAULT %s", pCol->zDefault);
    provAppend(&zOut, ", ");
  }
  provAppend(&zOut, "customer_id TEXT NOT NULL");

  /* The primary key, in its declared column order. */
  if( p->nPk>0 ){
    provAppend(&zOut, ", PRIMARY KEY(customer_id");
    for(i=1; i<=p->nPk; i++){
      for(j=0; j<p->nCol; j++){
        if( p->aCol[j].iPk==i ){
          provAppend(&zOut, ", \"%w\"", p->aCol[j].zName);
        }
      }
    }
    provAppend(&zOut, ")");
  }
  for(i=0; i<p->nUnique; i++){
    provAppend(&zOut, ", UNIQUE(customer_id");
    for(j=0; j<p->aUnique[i].nCol; j++){
      provAppend(&zOut, ", \"%w\"", p->aCol[p->aUnique[i].aiCol[j]].zName);
    }
    provAppend(&zOut, ")");
  }
  provAppend(&zOut, ")");
  return zOut;
}

/*
** Run zDdl, one CREATE TABLE statement, in a scratch in-memory connection
** and read the table it creates into *p, which provTableFree() frees.
*/
int provTableParse(const char *zDdl, ProvTable *p, char **pzErr){
  sqlite3 *db = 0;
  sqlite3_stmt *pStmt = 0;
  const char *zTail = 0;
  const char *zWord;
  char *zName = 0;
  int nTable = 0, nOther = 0;
  int rc;

  memset(p, 0, sizeof(*p));
  if( !provIsCreateTable(zDdl) ){
    tenantSetError(pzErr, "table definition is not a CREATE TABLE "
        "statement: pass a single CREATE TABLE statement");
    return SQLITE_ERROR;
  }
  zWord = provFindKeyword(zDdl, azUnsupported);
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

  /* Read it back. */
  p->zName = zName;
  if( rc==SQLITE_OK ) rc = provTableColumns(db, p, pzErr);
  if( rc==SQLITE_OK ) rc = provTableKeys(db, p);
  if( rc!=SQLITE_OK && *pzErr==0 ){
    tenantSetError(pzErr, "cannot read back table \"%s\": %s",
        zName ? zName : "", sqlite3_errmsg(db));
  }
  sqlite3_close(db);
  if( rc!=SQLITE_OK ) provTableFree(p);
  return rc;
}

/*
** Validate zDdl, one CREATE TABLE statement, and return the table's name
** and its physical DDL, verified by provTableVerify().
*/
int provParseTable(const char *zDdl, char **pzName, char **pzPhysical,
                   char **pzErr){
  ProvTable table;
  char *zPhysical = 0;
  int rc;

  *pzName = 0;
  *pzPhysical = 0;
  rc = provTableParse(zDdl, &table, pzErr);
  if( rc!=SQLITE_OK ) return rc;
  zPhysical = provTableDdl(&table);
  rc = zPhysical ? provTableVerify(&table, zPhysical, pzErr) : SQLITE_NOMEM;
  if( rc==SQLITE_OK ){
    *pzName = table.zName;
    *pzPhysical = zPhysical;
    table.zName = 0;
  }else{
    sqlite3_free(zPhysical);
  }
  provTableFree(&table);
  return rc;
}
