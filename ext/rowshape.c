/*
** What the "tenant_row" isolation virtual table (rowvtab.c) learns about
** the real table behind it when it connects, and a per-process cache of it.
**
** A shape contains the real table's column names, declared types,
** collations, the defaults of its NOT NULL columns, its primary key, the
** rowid alias the inner statements use and the CREATE TABLE text that the
** virtual table declares. Reading a shape costs a PRAGMA table_info, one
** sqlite3_table_column_metadata() call per column and a rowid probe. Every
** Opal and Onyx session connects the same dozen tables of the same few
** files, so shapes are cached per process, keyed by
**
**     (path of the real file, table name, schema cookie of the file)
**
** The schema cookie changes with every schema change of the file, so a
** shape read before a change (tenant_add_table, say) is never served after
** it. The cookie is read with PRAGMA schema_version on each connect, but at
** most once per file while a session binds. Only binding runs xCreate,
** because the authorizer rejects CREATE VIRTUAL TABLE from the customer,
** and it creates all its virtual tables inside one transaction. That
** transaction keeps the read transaction on each file, and thus its
** schema, fixed between them.
**
** A shape is immutable once built and is reference counted: the cache holds
** one reference and each virtual table using it another. The cache keeps the
** ROW_SHAPE_CACHE_MAX most recently used shapes. Shapes are not freed when
** the process ends.
**
** LIMITATIONS: a file deleted and created again at the same path with the
** same schema cookie but a different definition of the same table would be
** served the old shape. Provisioning creates the tables of a partition from
** one catalog definition, so the definitions agree in practice.
*/
#include "tenant_int.h"
#include "rowvtab.h"
SQLITE_EXTENSION_INIT3

#include <assert.h>
#include <string.h>

/* Shapes the cache keeps, about 1 KiB each for the default tables. */
#define ROW_SHAPE_CACHE_MAX 256

/* Cookies read while binding, kept per (connection, schema name). */
#define ROW_COOKIE_MEMO_SIZE 8

/* A schema cookie read inside the transaction that creates a session's
** isolation tables. zSchema is "" in an unused slot. */
typedef struct RowCookieMemo RowCookieMemo;
struct RowCookieMemo {
  sqlite3 *db;
  char zSchema[TENANT_MAX_ID + 1];
  int iCookie;
};

/*
** The cache, most recently used first, and the cookie memo. Both are
** guarded by SQLITE_MUTEX_STATIC_APP3, which quota.c and quotadisk.c use
** for their own lists. No code calls SQLite or another part of the
** extension while it has the mutex.
*/
static RowShape *rowShapeList = 0;
static int rowShapeCount = 0;
static RowCookieMemo rowCookieMemo[ROW_COOKIE_MEMO_SIZE];
static int rowCookieMemoNext = 0;

static sqlite3_mutex *rowShapeMutex(void){
  return sqlite3_mutex_alloc(SQLITE_MUTEX_STATIC_APP3);
}

/* Free a shape and everything it owns. Accepts a half-built one. */
static void rowShapeFree(RowShape *pShape){
  int i;

  if( pShape==0 ) return;
  for(i=0; i<pShape->nCol; i++){
    if( pShape->azCol ) sqlite3_free(pShape->azCol[i]);
    if( pShape->azColl ) sqlite3_free(pShape->azColl[i]);
    if( pShape->azDflt ) sqlite3_free(pShape->azDflt[i]);
  }
  sqlite3_free(pShape->azCol);
  sqlite3_free(pShape->azColl);
  sqlite3_free(pShape->azDflt);
  sqlite3_free(pShape->aiKey);
  sqlite3_free(pShape->zFile);
  sqlite3_free(pShape->zTable);
  sqlite3_free(pShape->zDecl);
  sqlite3_free(pShape);
}

void rowShapeRelease(RowShape *pShape){
  int nRef;

  if( pShape==0 ) return;
  sqlite3_mutex_enter(rowShapeMutex());
  nRef = --pShape->nRef;
  sqlite3_mutex_leave(rowShapeMutex());
  assert( nRef>=0 );  /* every release matches an acquire */
  if( nRef==0 ) rowShapeFree(pShape);
}

/* Index of column zName, or -1. Column names compare case-insensitively. */
static int rowShapeFindColumn(const RowShape *pShape, const char *zName){
  int i;
  for(i=0; i<pShape->nCol; i++){
    if( sqlite3_stricmp(pShape->azCol[i], zName)==0 ) return i;
  }
  return -1;
}

/*
** Turn aiKey from the PRIMARY KEY position of each column (0 for none) into
** the list of key columns in key order, and set nKey.
*/
static int rowShapeOrderKey(RowShape *pShape){
  int *aiPos = sqlite3_malloc64(pShape->nCol*sizeof(int));
  int i;

  if( aiPos==0 ) return SQLITE_NOMEM;
  memcpy(aiPos, pShape->aiKey, pShape->nCol*sizeof(int));
  pShape->nKey = 0;
  for(i=0; i<pShape->nCol; i++){
    int iPk = aiPos[i];
    if( iPk>0 && iPk<=pShape->nCol ){
      pShape->aiKey[iPk-1] = i;
      if( iPk>pShape->nKey ) pShape->nKey = iPk;
    }
  }
  sqlite3_free(aiPos);
  return SQLITE_OK;
}

/* Grow the per-column arrays of pShape to nNew entries. */
static int rowShapeGrow(RowShape *pShape, int nNew){
  char **azCol;
  char **azColl;
  char **azDflt;
  int *aiKey;

  azCol = sqlite3_realloc64(pShape->azCol, nNew*sizeof(char*));
  if( azCol==0 ) return SQLITE_NOMEM;
  pShape->azCol = azCol;
  azColl = sqlite3_realloc64(pShape->azColl, nNew*sizeof(char*));
  if( azColl==0 ) return SQLITE_NOMEM;
  pShape->azColl = azColl;
  azDflt = sqlite3_realloc64(pShape->azDflt, nNew*sizeof(char*));
  if( azDflt==0 ) return SQLITE_NOMEM;
  pShape->azDflt = azDflt;
  aiKey = sqlite3_realloc64(pShape->aiKey, nNew*sizeof(int));
  if( aiKey==0 ) return SQLITE_NOMEM;
  pShape->aiKey = aiKey;
  return SQLITE_OK;
}

/*
** Read the real table's columns into pShape and build the CREATE TABLE
** text for sqlite3_declare_vtab() in zDecl.
*/
static int rowShapeReadColumns(RowVtab *p, RowShape *pShape, char **pzErr){
  sqlite3_stmt *pInfo = 0;
  char *zSql;
  char *zDecl = 0;
  int nAlloc = 0;
  int rc;

  zSql = sqlite3_mprintf("PRAGMA \"%w\".table_info(\"%w\")",
                         p->zSchema, p->zTable);
  if( zSql==0 ) return SQLITE_NOMEM;
  rc = rowPrepare(p, zSql, &pInfo);
  sqlite3_free(zSql);
  if( rc!=SQLITE_OK ){
    tenantSetError(pzErr, "cannot read the columns of table \"%s\": %s",
                   p->zTable, sqlite3_errmsg(p->db));
    return rc;
  }

  /* Columns come in cid order: name, type, notnull, dflt_value, pk. */
  while( (rc = rowStep(p, pInfo))==SQLITE_ROW ){
    const char *zName = (const char*)sqlite3_column_text(pInfo, 1);
    const char *zType = (const char*)sqlite3_column_text(pInfo, 2);
    int bNotNull = sqlite3_column_int(pInfo, 3);
    const char *zDflt = (const char*)sqlite3_column_text(pInfo, 4);
    int iPk = sqlite3_column_int(pInfo, 5);
    const char *zColl = 0;
    int i = pShape->nCol;

    if( zName==0 ){ rc = SQLITE_NOMEM; break; }
    if( i>=nAlloc ){
      int nNew = nAlloc ? nAlloc*2 : 16;
      rc = rowShapeGrow(pShape, nNew);
      if( rc!=SQLITE_OK ) break;
      nAlloc = nNew;
    }
    pShape->azCol[i] = sqlite3_mprintf("%s", zName);
    pShape->azColl[i] = 0;
    pShape->azDflt[i] = 0;
    pShape->nCol++;
    if( pShape->azCol[i]==0 ){ rc = SQLITE_NOMEM; break; }

    /* SQLite hands xUpdate a NULL for every column an INSERT leaves out,
    ** because virtual tables have no defaults. The insert statement turns
    ** that NULL into the default of a NOT NULL column (such as created_at),
    ** where a NULL could only fail.
    ** NOTE: a nullable column with a DEFAULT gets NULL when an INSERT
    ** through the session leaves it out. */
    if( bNotNull && zDflt ){
      pShape->azDflt[i] = sqlite3_mprintf("%s", zDflt);
      if( pShape->azDflt[i]==0 ){ rc = SQLITE_NOMEM; break; }
    }

    /* The collation is not in table_info. table_column_metadata needs
    ** SQLITE_ENABLE_COLUMN_METADATA; without it the column is BINARY. */
    if( sqlite3_api->table_column_metadata ){
      tenantSessionEnterInternal(p->pSession);
      if( sqlite3_table_column_metadata(p->db, p->zSchema, p->zTable, zName,
                                        0, &zColl, 0, 0, 0)!=SQLITE_OK ){
        zColl = 0;
      }
      tenantSessionLeaveInternal(p->pSession);
      if( zColl && sqlite3_stricmp(zColl, "BINARY")!=0 ){
        pShape->azColl[i] = sqlite3_mprintf("%s", zColl);
        if( pShape->azColl[i]==0 ){ rc = SQLITE_NOMEM; break; }
      }
    }

    /* pk is the 1-based position of the column in the PRIMARY KEY, 0 for
    ** other columns. aiKey stores it per column until the loop ends. */
    pShape->aiKey[i] = iPk;

    zDecl = sqlite3_mprintf("%z%s\"%w\" %s", zDecl, i ? ", " : "",
                            zName, zType ? zType : "");
    if( zDecl && pShape->azColl[i] ){
      zDecl = sqlite3_mprintf("%z COLLATE \"%w\"", zDecl, pShape->azColl[i]);
    }
    if( zDecl==0 ){ rc = SQLITE_NOMEM; break; }
  }
  sqlite3_finalize(pInfo);

  if( rc!=SQLITE_DONE ){
    sqlite3_free(zDecl);
    if( rc==SQLITE_NOMEM ) return rc;
    tenantSetError(pzErr, "cannot read the columns of table \"%s\": %s",
                   p->zTable, sqlite3_errmsg(p->db));
    return rc;
  }
  if( pShape->nCol==0 ){
    sqlite3_free(zDecl);
    tenantSetError(pzErr, "table \"%s\" not found in its partition \"%s\":"
                   " provision the partition again", p->zTable, p->zPartition);
    return SQLITE_ERROR;
  }

  rc = rowShapeOrderKey(pShape);
  if( rc!=SQLITE_OK ){
    sqlite3_free(zDecl);
    return rc;
  }

  pShape->zDecl = sqlite3_mprintf("CREATE TABLE x(%z)", zDecl);
  return pShape->zDecl ? SQLITE_OK : SQLITE_NOMEM;
}

/*
** Choose the name the inner statements use for the rowid: the first of
** rowid, _rowid_ and oid that no real column takes. Then check that the
** real table has a rowid at all.
*/
static int rowShapeCheckRowid(RowVtab *p, RowShape *pShape, char **pzErr){
  static const char *const azAlias[] = { "rowid", "_rowid_", "oid" };
  sqlite3_stmt *pProbe = 0;
  char *zSql;
  int rc;
  int i;

  for(i=0; i<3 && rowShapeFindColumn(pShape, azAlias[i])>=0; i++){}
  if( i==3 ){
    tenantSetError(pzErr, "table \"%s\" has columns named rowid, _rowid_ and"
                   " oid, so its rowid cannot be reached: rename one of them",
                   p->zTable);
    return SQLITE_ERROR;
  }
  pShape->zRowid = azAlias[i];

  zSql = sqlite3_mprintf("SELECT %s FROM \"%w\".\"%w\"",
                         pShape->zRowid, p->zSchema, p->zTable);
  if( zSql==0 ) return SQLITE_NOMEM;
  rc = rowPrepare(p, zSql, &pProbe);
  sqlite3_free(zSql);
  sqlite3_finalize(pProbe);
  if( rc!=SQLITE_OK ){
    tenantSetError(pzErr, "table \"%s\" is a WITHOUT ROWID table, which"
                   " tenant_row does not support: declare it with a rowid",
                   p->zTable);
    return SQLITE_ERROR;
  }
  return SQLITE_OK;
}

/* Read the shape of the real table of p from its file. */
static int rowShapeRead(RowVtab *p, RowShape **ppShape, char **pzErr){
  RowShape *pShape;
  int rc;

  *ppShape = 0;
  pShape = sqlite3_malloc64(sizeof(*pShape));
  if( pShape==0 ) return SQLITE_NOMEM;
  memset(pShape, 0, sizeof(*pShape));
  pShape->nRef = 1;
  pShape->iCustomer = -1;
  pShape->iParent = -1;

  rc = rowShapeReadColumns(p, pShape, pzErr);
  if( rc!=SQLITE_OK ) goto read_failed;

  pShape->iCustomer = rowShapeFindColumn(pShape, "customer_id");
  pShape->iParent = rowShapeFindColumn(pShape, "sapphire_parent_id");
  if( pShape->iCustomer<0 ){
    tenantSetError(pzErr, "table \"%s\" has no customer_id column, so its"
                   " rows cannot be isolated: add the column", p->zTable);
    rc = SQLITE_ERROR;
    goto read_failed;
  }

  rc = rowShapeCheckRowid(p, pShape, pzErr);
  if( rc!=SQLITE_OK ) goto read_failed;

  *ppShape = pShape;
  return SQLITE_OK;

read_failed:
  rowShapeFree(pShape);
  return rc;
}

/*
** Read the schema cookie of the real table's file into *piCookie. While a
** session binds (bCreate in a transaction), a cookie already read for the
** same connection and schema is reused: see the header. A cookie that the
** session read at binding comes first, because reading the file inside the
** application's transaction would take a read lock there.
*/
static int rowShapeCookie(RowVtab *p, int bCreate, int *piCookie){
  sqlite3_stmt *pStmt = 0;
  int bMemo = bCreate && sqlite3_get_autocommit(p->db)==0
           && strlen(p->zSchema)<sizeof(rowCookieMemo[0].zSchema);
  char *zSql;
  int rc;
  int i;

  if( p->pSession && tenantSessionFileCookie(p->pSession, p->zSchema,
                                             piCookie) ){
    return SQLITE_OK;
  }
  if( bMemo ){
    int bFound = 0;
    sqlite3_mutex_enter(rowShapeMutex());
    for(i=0; i<ROW_COOKIE_MEMO_SIZE; i++){
      if( rowCookieMemo[i].db==p->db
       && strcmp(rowCookieMemo[i].zSchema, p->zSchema)==0 ){
        *piCookie = rowCookieMemo[i].iCookie;
        bFound = 1;
        break;
      }
    }
    sqlite3_mutex_leave(rowShapeMutex());
    if( bFound ) return SQLITE_OK;
  }

  zSql = sqlite3_mprintf("PRAGMA \"%w\".schema_version", p->zSchema);
  if( zSql==0 ) return SQLITE_NOMEM;
  rc = rowPrepare(p, zSql, &pStmt);
  sqlite3_free(zSql);
  if( rc==SQLITE_OK ){
    rc = rowStep(p, pStmt);
    if( rc==SQLITE_ROW ){
      *piCookie = sqlite3_column_int(pStmt, 0);
      rc = SQLITE_OK;
    }else if( rc==SQLITE_DONE ){
      rc = SQLITE_ERROR;
    }
  }
  sqlite3_finalize(pStmt);
  if( rc!=SQLITE_OK || !bMemo ) return rc;

  /* The random schema names of a binding never repeat, so an old entry of
  ** the same connection can only be from an earlier binding: overwrite the
  ** oldest slot. */
  sqlite3_mutex_enter(rowShapeMutex());
  i = rowCookieMemoNext;
  rowCookieMemoNext = (rowCookieMemoNext+1) % ROW_COOKIE_MEMO_SIZE;
  rowCookieMemo[i].db = p->db;
  memcpy(rowCookieMemo[i].zSchema, p->zSchema, strlen(p->zSchema)+1);
  rowCookieMemo[i].iCookie = *piCookie;
  sqlite3_mutex_leave(rowShapeMutex());
  return SQLITE_OK;
}

/*
** Unlink pShape from the cache list. The caller holds the mutex and takes
** over the cache's reference.
*/
static void rowShapeUnlink(RowShape *pShape){
  RowShape **pp;
  for(pp=&rowShapeList; *pp && *pp!=pShape; pp=&(*pp)->pNext){}
  assert( *pp==pShape );  /* only shapes on the list are unlinked */
  *pp = pShape->pNext;
  pShape->pNext = 0;
  rowShapeCount--;
}

int rowShapeAcquire(RowVtab *p, int bCreate, RowShape **ppShape,
                    char **pzErr){
  const char *zFile = sqlite3_db_filename(p->db, p->zSchema);
  RowShape *pShape = 0;
  RowShape *pStale = 0;
  RowShape *pEvict = 0;
  int iCookie = 0;
  int rc;

  *ppShape = 0;

  /* A file with no name (temporary or in memory) is read every time. */
  if( zFile==0 || zFile[0]==0 ) return rowShapeRead(p, ppShape, pzErr);

  rc = rowShapeCookie(p, bCreate, &iCookie);
  if( rc!=SQLITE_OK ){
    tenantSetError(pzErr, "cannot read the schema version of the file of"
                   " table \"%s\": %s", p->zTable, sqlite3_errmsg(p->db));
    return rc;
  }

  /* 1. A cached shape of the same file, table and cookie. A shape of an
  ** older cookie is dropped: the schema changed since it was read. */
  sqlite3_mutex_enter(rowShapeMutex());
  for(pShape=rowShapeList; pShape; pShape=pShape->pNext){
    if( strcmp(pShape->zFile, zFile)==0
     && sqlite3_stricmp(pShape->zTable, p->zTable)==0 ){
      break;
    }
  }
  if( pShape && pShape->iCookie==iCookie ){
    rowShapeUnlink(pShape);
    pShape->pNext = rowShapeList;
    rowShapeList = pShape;
    rowShapeCount++;
    pShape->nRef++;
  }else if( pShape ){
    rowShapeUnlink(pShape);
    pStale = pShape;
    pShape = 0;
  }
  sqlite3_mutex_leave(rowShapeMutex());
  rowShapeRelease(pStale);
  if( pShape ){
    *ppShape = pShape;
    return SQLITE_OK;
  }

  /* 2. Read it, and cache it unless a shape of the same key arrived from
  ** another connection meanwhile. */
  rc = rowShapeRead(p, &pShape, pzErr);
  if( rc!=SQLITE_OK ) return rc;
  pShape->zFile = sqlite3_mprintf("%s", zFile);
  pShape->zTable = sqlite3_mprintf("%s", p->zTable);
  pShape->iCookie = iCookie;
  if( pShape->zFile==0 || pShape->zTable==0 ){
    rowShapeFree(pShape);
    return SQLITE_NOMEM;
  }

  sqlite3_mutex_enter(rowShapeMutex());
  for(pStale=rowShapeList; pStale; pStale=pStale->pNext){
    if( strcmp(pStale->zFile, zFile)==0
     && sqlite3_stricmp(pStale->zTable, p->zTable)==0 ){
      break;
    }
  }
  if( pStale ) rowShapeUnlink(pStale);
  pShape->nRef++;
  pShape->pNext = rowShapeList;
  rowShapeList = pShape;
  rowShapeCount++;
  if( rowShapeCount>ROW_SHAPE_CACHE_MAX ){
    RowShape *pLast = rowShapeList;
    while( pLast->pNext ) pLast = pLast->pNext;
    rowShapeUnlink(pLast);
    pEvict = pLast;
  }
  sqlite3_mutex_leave(rowShapeMutex());
  rowShapeRelease(pStale);
  rowShapeRelease(pEvict);

  *ppShape = pShape;
  return SQLITE_OK;
}
