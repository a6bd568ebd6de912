/*
** Verification of the physical DDL of an application table before
** tenant_add_table() stores it in the catalog and runs it in the files of
** a partition, now and at every later provisioning.
**
** The DDL runs in a fresh in-memory connection whose authorizer allows
** only creating that table and its automatic indexes. The schema it
** leaves must hold the declared columns in order, with their types,
** collations, NOT NULL and defaults, and then customer_id. The PRIMARY
** KEY and every UNIQUE key must start with customer_id. There must be no
** other table, index, trigger or view, and no CHECK, REFERENCES,
** generated column or WITHOUT ROWID in the stored SQL. The DDL is built
** from checked parts (tabledef.c), so a failure here means that a check
** there has a gap.
*/
#include "tabledef.h"
SQLITE_EXTENSION_INIT3

#include <stdarg.h>
#include <string.h>

/* Keywords that the physical DDL never writes, outside strings and
** quoted names. */
static const char *const azNeverWritten[] = {
  "CHECK", "REFERENCES", "FOREIGN", "GENERATED", "AS", "AUTOINCREMENT",
  "WITHOUT", "CONSTRAINT", 0
};

/* Set *pzWhat to the formatted description of what is wrong with the
** physical DDL. Returns SQLITE_ERROR. */
static int provCheckFail(char **pzWhat, const char *zFormat, ...){
  va_list ap;
  sqlite3_free(*pzWhat);
  va_start(ap, zFormat);
  *pzWhat = sqlite3_vmprintf(zFormat, ap);
  va_end(ap);
  return SQLITE_ERROR;
}

/* State of the authorizer of the verification connection. */
typedef struct ProvCheckAuth ProvCheckAuth;
struct ProvCheckAuth {
  const char *zTable;
  int bDenied;
};

/*
** Authorizer of the verification connection: creating table zTable in
** main, its automatic indexes, and the writes and reads of sqlite_master
** and of the table's columns that go with them.
*/
static int provCheckAuthorize(void *pArg, int eAction, const char *z1,
                              const char *z2, const char *z3,
                              const char *z4){
  ProvCheckAuth *pAuth = (ProvCheckAuth*)pArg;
  int bMain = z3 && strcmp(z3, "main")==0;
  int bSchema = z1 && strcmp(z1, "sqlite_master")==0;
  int bAllowed = 0;
  (void)z4;
  switch( eAction ){
    case SQLITE_CREATE_TABLE:
      bAllowed = bMain && z1 && strcmp(z1, pAuth->zTable)==0;
      break;
    case SQLITE_CREATE_INDEX:
      bAllowed = bMain && z1 && z2 && strcmp(z2, pAuth->zTable)==0
              && strncmp(z1, "sqlite_autoindex_", 17)==0;
      break;
    case SQLITE_INSERT:
    case SQLITE_UPDATE:
      bAllowed = bMain && bSchema;
      break;
    case SQLITE_READ:
      bAllowed = bMain && z1 && (bSchema || strcmp(z1, pAuth->zTable)==0);
      break;
  }
  if( !bAllowed ) pAuth->bDenied = 1;
  return bAllowed ? SQLITE_OK : SQLITE_DENY;
}

/* True when zSql has a comment outside strings and quoted names. */
static int provHasComment(const char *zSql){
  const char *z = zSql;
  while( *z ){
    if( (z[0]=='-' && z[1]=='-') || (z[0]=='/' && z[1]=='*') ) return 1;
    if( *z=='\'' || *z=='"' || *z=='`' || *z=='[' ){
      char cClose = *z=='[' ? ']' : *z;
      z++;
      while( *z && *z!=cClose ) z++;
      if( *z ) z++;
    }else{
      z++;
    }
  }
  return 0;
}

/* Run zDdl in db as exactly one statement under the authorizer. The DDL
** is built without comments, and a comment in it could hide text from
** the checks below. */
static int provCheckRun(sqlite3 *db, const ProvTable *p, const char *zDdl,
                        char **pzWhat){
  ProvCheckAuth auth;
  sqlite3_stmt *pStmt = 0;
  const char *zTail = 0;
  int rc;

  if( provHasComment(zDdl) ){
    return provCheckFail(pzWhat, "contains a comment");
  }
  auth.zTable = p->zName;
  auth.bDenied = 0;
  sqlite3_set_authorizer(db, provCheckAuthorize, &auth);
  rc = sqlite3_prepare_v2(db, zDdl, -1, &pStmt, &zTail);
  if( rc==SQLITE_OK && (pStmt==0 || zTail==0 || *zTail!=0) ){
    provCheckFail(pzWhat, "is not exactly one statement");
    rc = SQLITE_ERROR;
  }else if( rc==SQLITE_OK ){
    rc = sqlite3_step(pStmt);
    if( rc==SQLITE_DONE ) rc = SQLITE_OK;
  }
  if( rc!=SQLITE_OK && *pzWhat==0 ){
    provCheckFail(pzWhat, auth.bDenied ? "performs an action other than "
        "creating the table: %s" : "is invalid: %s", sqlite3_errmsg(db));
  }
  sqlite3_finalize(pStmt);
  sqlite3_set_authorizer(db, 0, 0);
  return rc;
}

/*
** Check that the schema holds only the table and automatic indexes, that
** the SQL it stores for the table is zDdl, with nothing after the
** statement, and that this SQL names no feature the physical DDL never
** writes.
*/
static int provCheckSchema(sqlite3 *db, const ProvTable *p, const char *zDdl,
                           char **pzWhat){
  sqlite3_stmt *pStmt = 0;
  int rc = sqlite3_prepare_v2(db, "SELECT type, name, tbl_name, sql"
                              " FROM sqlite_master", -1, &pStmt, 0);
  while( rc==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
    const char *zType = (const char*)sqlite3_column_text(pStmt, 0);
    const char *zName = (const char*)sqlite3_column_text(pStmt, 1);
    const char *zTbl = (const char*)sqlite3_column_text(pStmt, 2);
    const char *zSql = (const char*)sqlite3_column_text(pStmt, 3);
    if( !zType || !zName || !zTbl || strcmp(zTbl, p->zName)!=0
     || (strcmp(zType, "table")==0 ? strcmp(zName, p->zName)!=0 || !zSql
         : strcmp(zType, "index")!=0 || zSql!=0) ){
      provCheckFail(pzWhat, "creates %s \"%s\" besides the table",
          zType ? zType : "an object", zName ? zName : "");
      rc = SQLITE_ERROR;
    }else if( zSql && strcmp(zSql, zDdl)!=0 ){
      rc = provCheckFail(pzWhat, "differs from the SQL that the schema "
          "stores for it");
    }else if( zSql ){
      const char *zWord = provFindKeyword(zSql, azNeverWritten);
      if( zWord ){
        provCheckFail(pzWhat, "contains the keyword %s", zWord);
        rc = SQLITE_ERROR;
      }
    }
  }
  sqlite3_finalize(pStmt);
  return rc;
}

/* Describe a column as "\"name\" TYPE NOT NULL DEFAULT x". */
static char *provDescribe(const char *zName, const char *zType, int bNotNull,
                          const char *zDefault){
  return sqlite3_mprintf("\"%s\"%s%s%s%s%s", zName, zType[0] ? " " : "",
      zType, bNotNull ? " NOT NULL" : "", zDefault ? " DEFAULT " : "",
      zDefault ? zDefault : "");
}

/* Check the columns, from PRAGMA table_info, and their collations, and
** count the columns of the primary key in *pnPk. */
static int provCheckColumns(sqlite3 *db, const ProvTable *p, int *pnPk,
                            char **pzWhat){
  sqlite3_stmt *pStmt = 0;
  char *zSql = sqlite3_mprintf("PRAGMA table_info(\"%w\")", p->zName);
  int rc = zSql ? sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0) : SQLITE_NOMEM;
  int i = 0;
  sqlite3_free(zSql);
  *pnPk = 0;
  while( rc==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
    const char *zName = (const char*)sqlite3_column_text(pStmt, 1);
    const char *zType = (const char*)sqlite3_column_text(pStmt, 2);
    const char *zDflt = (const char*)sqlite3_column_text(pStmt, 4);
    int bNotNull = sqlite3_column_int(pStmt, 3)!=0;
    const char *zWantName = i<p->nCol ? p->aCol[i].zName : "customer_id";
    const char *zWantType = i<p->nCol ? p->aCol[i].zType : "TEXT";
    const char *zWantDflt = i<p->nCol ? p->aCol[i].zDefaultInfo : 0;
    int bWantNotNull = i<p->nCol ? p->aCol[i].bNotNull : 1;
    const char *zColl = 0;
    const char *zWantColl = i<p->nCol && p->aCol[i].zColl
                          ? p->aCol[i].zColl : "BINARY";

    if( sqlite3_column_int(pStmt, 5)>0 ) (*pnPk)++;
    if( i>p->nCol ){
      i++;
      continue;
    }
    if( !zName || !zType || strcmp(zName, zWantName)!=0
     || strcmp(zType, zWantType)!=0 || bNotNull!=bWantNotNull
     || (zDflt==0)!=(zWantDflt==0)
     || (zDflt && strcmp(zDflt, zWantDflt)!=0) ){
      char *zGot = provDescribe(zName ? zName : "", zType ? zType : "",
                                bNotNull, zDflt);
      char *zWant = provDescribe(zWantName, zWantType, bWantNotNull,
                                 zWantDflt);
      provCheckFail(pzWhat, "has column %d %s, expected %s", i+1,
          zGot ? zGot : "", zWant ? zWant : "");
      sqlite3_free(zGot);
      sqlite3_free(zWant);
      rc = SQLITE_ERROR;
      break;
    }
    if( sqlite3_api->table_column_metadata!=0
     && sqlite3_table_column_metadata(db, "main", p->zName, zName, 0, &zColl,
                                      0, 0, 0)==SQLITE_OK
     && sqlite3_stricmp(zColl ? zColl : "BINARY", zWantColl)!=0 ){
      provCheckFail(pzWhat, "has collation %s on column \"%s\", expected %s",
          zColl ? zColl : "BINARY", zName, zWantColl);
      rc = SQLITE_ERROR;
      break;
    }
    i++;
  }
  sqlite3_finalize(pStmt);
  if( rc==SQLITE_OK && i!=p->nCol+1 ){
    provCheckFail(pzWhat, "has %d columns, expected %d", i, p->nCol+1);
    rc = SQLITE_ERROR;
  }
  return rc;
}

/* Read the column numbers of index zIndex into a new array *paiCol of
** *pnCol entries, which the caller frees. */
static int provCheckIndexColumns(sqlite3 *db, const char *zIndex,
                                 int **paiCol, int *pnCol){
  sqlite3_stmt *pStmt = 0;
  char *zSql = sqlite3_mprintf("PRAGMA index_info(\"%w\")", zIndex);
  int rc = zSql ? sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0) : SQLITE_NOMEM;
  sqlite3_free(zSql);
  *paiCol = 0;
  *pnCol = 0;
  while( rc==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
    int *aiNew = sqlite3_realloc64(*paiCol, sizeof(int)*(*pnCol+1));
    if( aiNew==0 ){
      rc = SQLITE_NOMEM;
      break;
    }
    *paiCol = aiNew;
    aiNew[(*pnCol)++] = sqlite3_column_int(pStmt, 1);
  }
  sqlite3_finalize(pStmt);
  return rc;
}

/* True when aiCol (nCol entries) is customer_id, then the columns of the
** declared primary key in order. */
static int provIsPrimaryKey(const ProvTable *p, const int *aiCol, int nCol){
  int i;
  if( nCol!=p->nPk+1 ) return 0;
  for(i=1; i<nCol; i++){
    if( aiCol[i]<0 || aiCol[i]>=p->nCol || p->aCol[aiCol[i]].iPk!=i ){
      return 0;
    }
  }
  return 1;
}

/* Index of the first UNIQUE key of p not marked in abUsed that is
** customer_id then aiCol[1..], or -1. */
static int provFindUnique(const ProvTable *p, const int *aiCol, int nCol,
                          const char *abUsed){
  int i;
  for(i=0; i<p->nUnique; i++){
    if( !abUsed[i] && p->aUnique[i].nCol==nCol-1
     && memcmp(p->aUnique[i].aiCol, aiCol+1, sizeof(int)*(nCol-1))==0 ){
      return i;
    }
  }
  return -1;
}

/* Check the PRIMARY KEY and UNIQUE keys, from PRAGMA index_list. nPk is
** the number of columns that table_info marks as part of the primary key. */
static int provCheckKeys(sqlite3 *db, const ProvTable *p, int nPk,
                         char **pzWhat){
  sqlite3_stmt *pStmt = 0;
  char *zSql = sqlite3_mprintf("PRAGMA index_list(\"%w\")", p->zName);
  char *abUsed = sqlite3_malloc64(p->nUnique+1);
  int nPkIndex = 0, nUnique = 0;
  int bPkOther = 0, bUniqueOther = 0;
  int rc = zSql && abUsed ? sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0)
                          : SQLITE_NOMEM;
  sqlite3_free(zSql);
  if( abUsed ) memset(abUsed, 0, p->nUnique+1);

  while( rc==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
    const char *zIndex = (const char*)sqlite3_column_text(pStmt, 1);
    const char *zOrigin = (const char*)sqlite3_column_text(pStmt, 3);
    int bPk = zOrigin && strcmp(zOrigin, "pk")==0;
    int *aiCol = 0;
    int nCol = 0;
    if( !zIndex || !zOrigin || (!bPk && strcmp(zOrigin, "u")!=0)
     || sqlite3_column_int(pStmt, 2)==0 || sqlite3_column_int(pStmt, 4)!=0 ){
      rc = provCheckFail(pzWhat, "has index \"%s\" that is not a PRIMARY KEY "
          "or UNIQUE constraint", zIndex ? zIndex : "");
      break;
    }
    rc = provCheckIndexColumns(db, zIndex, &aiCol, &nCol);
    if( rc==SQLITE_OK && (nCol<2 || aiCol[0]!=p->nCol) ){
      rc = provCheckFail(pzWhat, "has a %s that does not start with "
          "customer_id", bPk ? "PRIMARY KEY" : "UNIQUE key");
    }else if( rc==SQLITE_OK && bPk ){
      nPkIndex++;
      if( !provIsPrimaryKey(p, aiCol, nCol) ) bPkOther = 1;
    }else if( rc==SQLITE_OK ){
      int iKey = provFindUnique(p, aiCol, nCol, abUsed);
      nUnique++;
      if( iKey<0 ){
        bUniqueOther = 1;
      }else{
        abUsed[iKey] = 1;
      }
    }
    sqlite3_free(aiCol);
  }
  sqlite3_finalize(pStmt);
  sqlite3_free(abUsed);

  if( rc!=SQLITE_OK ) return rc;
  if( bPkOther || nPkIndex!=(p->nPk>0 ? 1 : 0)
   || nPk!=(p->nPk>0 ? p->nPk+1 : 0) ){
    return provCheckFail(pzWhat, "has a PRIMARY KEY on other columns than "
        "declared");
  }
  if( nUnique!=p->nUnique ){
    return provCheckFail(pzWhat, "has %d UNIQUE keys, expected %d", nUnique,
        p->nUnique);
  }
  if( bUniqueOther ){
    return provCheckFail(pzWhat, "has a UNIQUE key on other columns than "
        "declared");
  }
  return SQLITE_OK;
}

/* Check that the table has a rowid, which the isolation table keys rows
** by, and, from SQLite 3.26 on, that no column is hidden or generated. */
static int provCheckRowid(sqlite3 *db, const ProvTable *p, char **pzWhat){
  sqlite3_stmt *pStmt = 0;
  char *zSql = sqlite3_mprintf("SELECT rowid FROM \"%w\"", p->zName);
  int rc = zSql ? sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0) : SQLITE_NOMEM;
  sqlite3_free(zSql);
  sqlite3_finalize(pStmt);
  pStmt = 0;
  if( rc!=SQLITE_OK && rc!=SQLITE_NOMEM ){
    provCheckFail(pzWhat, "has no rowid");
    return SQLITE_ERROR;
  }
  if( rc!=SQLITE_OK || tenantHostVersion()<3026000 ) return rc;

  zSql = sqlite3_mprintf("PRAGMA table_xinfo(\"%w\")", p->zName);
  rc = zSql ? sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0) : SQLITE_NOMEM;
  sqlite3_free(zSql);
  while( rc==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
    if( sqlite3_column_int(pStmt, 6)!=0 ){
      provCheckFail(pzWhat, "has hidden or generated column \"%s\"",
          sqlite3_column_text(pStmt, 1));
      rc = SQLITE_ERROR;
    }
  }
  sqlite3_finalize(pStmt);
  return rc;
}

int provTableVerify(const ProvTable *p, const char *zDdl, char **pzErr){
  sqlite3 *db = 0;
  char *zWhat = 0;
  int nPk = 0;
  int rc = sqlite3_open_v2(":memory:", &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 0);
  if( rc==SQLITE_OK ) rc = provCheckRun(db, p, zDdl, &zWhat);
  if( rc==SQLITE_OK ) rc = provCheckSchema(db, p, zDdl, &zWhat);
  if( rc==SQLITE_OK ) rc = provCheckColumns(db, p, &nPk, &zWhat);
  if( rc==SQLITE_OK ) rc = provCheckKeys(db, p, nPk, &zWhat);
  if( rc==SQLITE_OK ) rc = provCheckRowid(db, p, &zWhat);
  if( rc!=SQLITE_OK && rc!=SQLITE_NOMEM ) rc = SQLITE_ERROR;
  if( rc!=SQLITE_OK && zWhat ){
    tenantSetError(pzErr, "physical DDL of table \"%s\" %s", p->zName,
        zWhat);
  }else if( rc!=SQLITE_OK ){
    tenantSetError(pzErr, "physical DDL of table \"%s\" cannot be "
        "verified: %s", p->zName, db ? sqlite3_errmsg(db) : "out of memory");
  }
  sqlite3_free(zWhat);
  sqlite3_close(db);
  return rc;
}

/*
** Parse zDefinition as tenant_add_table() does, then verify zPhysical
** against it in place of the physical DDL built from it. Lets tests
** check the verification with hand-written DDL.
*/
TENANT_TEST_API int tenantTableVerifyDdl(const char *zDefinition,
                                         const char *zPhysical,
                                         char **pzErr){
  ProvTable table;
  int rc = provTableParse(zDefinition, &table, pzErr);
  if( rc!=SQLITE_OK ) return rc;
  rc = provTableVerify(&table, zPhysical, pzErr);
  provTableFree(&table);
  return rc;
}
