/*
** The tenant_codec() table-valued function, which reports the codec that
** protects each database of a connection: the VFS codec of vfscodec.c,
** SQLCipher's codec, or none.
*/
#include "vfscodec.h"
SQLITE_EXTENSION_INIT3

#include <string.h>

/*
** SELECT partition, codec, schema FROM tenant_codec: which codec protects
** each database of the connection: 'vfs' (this VFS), 'sqlcipher'
** (SQLCipher's codec: the file does not start with the SQLite header) or
** 'none'. On a bound connection there is one row per partition the session
** reaches and the schema column is NULL, because schema names of a session
** are secret. On any other connection there is one row per schema and the
** partition column is NULL.
*/
typedef struct CodecRow CodecRow;
struct CodecRow {
  char *zPartition;
  const char *zCodec;      /* static text */
  char *zSchema;
};

typedef struct CodecCursor CodecCursor;
struct CodecCursor {
  sqlite3_vtab_cursor base;
  CodecRow *aRow;
  int nRow;
  int iRow;
};

typedef struct CodecTable CodecTable;
struct CodecTable {
  sqlite3_vtab base;
  sqlite3 *db;
};

static int codecVtabConnect(sqlite3 *db, void *pAux, int argc,
                            const char *const *argv, sqlite3_vtab **ppVtab,
                            char **pzErr){
  CodecTable *p;
  int rc;
  (void)pAux; (void)argc; (void)argv; (void)pzErr;
  rc = sqlite3_declare_vtab(db,
      "CREATE TABLE x(partition TEXT, codec TEXT, schema TEXT)");
  if( rc!=SQLITE_OK ) return rc;
  p = sqlite3_malloc64(sizeof(*p));
  if( p==0 ) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->db = db;
  *ppVtab = &p->base;
  return SQLITE_OK;
}

static int codecVtabDisconnect(sqlite3_vtab *pVtab){
  sqlite3_free(pVtab);
  return SQLITE_OK;
}

static int codecVtabBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo){
  (void)pVtab;
  pInfo->estimatedCost = 10;
  return SQLITE_OK;
}

static void codecCursorReset(CodecCursor *p){
  int i;
  for(i=0; i<p->nRow; i++){
    sqlite3_free(p->aRow[i].zPartition);
    sqlite3_free(p->aRow[i].zSchema);
  }
  sqlite3_free(p->aRow);
  p->aRow = 0;
  p->nRow = 0;
  p->iRow = 0;
}

static int codecVtabOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCur){
  CodecCursor *p = sqlite3_malloc64(sizeof(*p));
  (void)pVtab;
  if( p==0 ) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  *ppCur = &p->base;
  return SQLITE_OK;
}

static int codecVtabClose(sqlite3_vtab_cursor *pCur){
  codecCursorReset((CodecCursor*)pCur);
  sqlite3_free(pCur);
  return SQLITE_OK;
}

/* The codec that protects schema zSchema of db. */
static const char *codecOfSchema(sqlite3 *db, const char *zSchema){
  sqlite3_file *pFile = 0;
  unsigned char aHead[16];
  sqlite3_int64 nSize = 0;

  if( sqlite3_file_control(db, zSchema, SQLITE_FCNTL_FILE_POINTER, &pFile)
      !=SQLITE_OK || pFile==0 || pFile->pMethods==0 ){
    return "none";
  }
  if( tenantVfsCodecName(pFile) ) return tenantVfsCodecName(pFile);
  if( !tenantHostHasCodec() ) return "none";
  if( pFile->pMethods->xFileSize(pFile, &nSize)!=SQLITE_OK || nSize<16 ){
    return "none";
  }
  if( pFile->pMethods->xRead(pFile, aHead, 16, 0)!=SQLITE_OK ) return "none";
  return memcmp(aHead, "SQLite format 3", 16)==0 ? "none" : "sqlcipher";
}

static int codecAddRow(CodecCursor *p, const char *zPartition,
                       const char *zCodec, const char *zSchema){
  CodecRow *aNew = sqlite3_realloc64(p->aRow, sizeof(CodecRow)*(p->nRow+1));
  if( aNew==0 ) return SQLITE_NOMEM;
  p->aRow = aNew;
  aNew[p->nRow].zPartition = zPartition ? sqlite3_mprintf("%s", zPartition) : 0;
  aNew[p->nRow].zCodec = zCodec;
  aNew[p->nRow].zSchema = zSchema ? sqlite3_mprintf("%s", zSchema) : 0;
  p->nRow++;
  return SQLITE_OK;
}

static int codecVtabFilter(sqlite3_vtab_cursor *pCur, int idxNum,
                           const char *idxStr, int argc,
                           sqlite3_value **argv){
  CodecCursor *p = (CodecCursor*)pCur;
  sqlite3 *db = ((CodecTable*)pCur->pVtab)->db;
  TenantSession *pSession = tenantSessionOf(db);
  TenantPlan *pPlan = 0;
  sqlite3_stmt *pStmt = 0;
  char *zErr = 0;
  int rc;
  (void)idxNum; (void)idxStr; (void)argc; (void)argv;

  codecCursorReset(p);
  if( pSession ){
    pPlan = sqlite3_malloc64(sizeof(*pPlan));
    if( pPlan==0 ) return SQLITE_NOMEM;
    rc = tenantPlanLoad(tenantSessionCustomer(pSession), 0, pPlan, &zErr);
    if( rc!=SQLITE_OK ){
      sqlite3_free(pCur->pVtab->zErrMsg);
      pCur->pVtab->zErrMsg = zErr;
      sqlite3_free(pPlan);
      return rc;
    }
    tenantSessionEnterInternal(pSession);
  }

  rc = sqlite3_prepare_v2(db, "PRAGMA database_list", -1, &pStmt, 0);
  while( rc==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
    const char *zSchema = (const char*)sqlite3_column_text(pStmt, 1);
    const char *zPath = (const char*)sqlite3_column_text(pStmt, 2);
    const char *zCodec;
    int i;
    if( zSchema==0 ) continue;
    zCodec = codecOfSchema(db, zSchema);
    if( pPlan==0 ){
      rc = codecAddRow(p, 0, zCodec, zSchema);
      continue;
    }
    for(i=0; i<pPlan->nReach && rc==SQLITE_OK; i++){
      const char *zFile = pPlan->aFile[pPlan->aReach[i].iFile].zPath;
      if( zPath && strcmp(zPath, zFile)==0 ){
        rc = codecAddRow(p, pPlan->aReach[i].zPartition, zCodec, 0);
      }
    }
  }
  if( pStmt ){
    int rc2 = sqlite3_finalize(pStmt);
    if( rc==SQLITE_OK ) rc = rc2;
  }
  if( pSession ) tenantSessionLeaveInternal(pSession);
  sqlite3_free(pPlan);
  return rc;
}

static int codecVtabNext(sqlite3_vtab_cursor *pCur){
  ((CodecCursor*)pCur)->iRow++;
  return SQLITE_OK;
}

static int codecVtabEof(sqlite3_vtab_cursor *pCur){
  CodecCursor *p = (CodecCursor*)pCur;
  return p->iRow>=p->nRow;
}

static int codecVtabColumn(sqlite3_vtab_cursor *pCur, sqlite3_context *pCtx,
                           int iCol){
  CodecCursor *p = (CodecCursor*)pCur;
  CodecRow *pRow = &p->aRow[p->iRow];
  const char *z = iCol==0 ? pRow->zPartition
                : iCol==1 ? pRow->zCodec : pRow->zSchema;
  if( z ) sqlite3_result_text(pCtx, z, -1, SQLITE_TRANSIENT);
  return SQLITE_OK;
}

static int codecVtabRowid(sqlite3_vtab_cursor *pCur, sqlite3_int64 *pRowid){
  *pRowid = ((CodecCursor*)pCur)->iRow + 1;
  return SQLITE_OK;
}

static sqlite3_module codecModule = {
  0,                      /* iVersion */
  0,                      /* xCreate: eponymous only */
  codecVtabConnect,       /* xConnect */
  codecVtabBestIndex,     /* xBestIndex */
  codecVtabDisconnect,    /* xDisconnect */
  0,                      /* xDestroy */
  codecVtabOpen,          /* xOpen */
  codecVtabClose,         /* xClose */
  codecVtabFilter,        /* xFilter */
  codecVtabNext,          /* xNext */
  codecVtabEof,           /* xEof */
  codecVtabColumn,        /* xColumn */
  codecVtabRowid,         /* xRowid */
  0,                      /* xUpdate */
  0,                      /* xBegin */
  0,                      /* xSync */
  0,                      /* xCommit */
  0,                      /* xRollback */
  0,                      /* xFindFunction */
  0,                      /* xRename */
  0,                      /* xSavepoint */
  0,                      /* xRelease */
  0,                      /* xRollbackTo */
  0                       /* xShadowName */
};

int tenantCodecRegister(sqlite3 *db){
  return sqlite3_create_module(db, "tenant_codec", &codecModule, 0);
}
