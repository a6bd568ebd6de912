/*
** The "tenant_hidden" virtual table: a temp placeholder that shadows a
** table of an attached shared file which the bound customer does not reach.
**
** A session attaches whole files, and a shared file can contain tables the
** customer may not see (an Onyx customer attaches its parent's owner file
** for partitions 4-6, which also contains partitions 1-3). An unqualified name
** would find such a raw table. The authorizer denies reading its columns,
** but SQLite 3.15.2 does not consult the authorizer at all for
** "SELECT count(*) FROM t", which reads no column, so the row count of every
** customer would leak. A temp table of the same name is found first, and
** this module makes every use of it fail at prepare time, with the same
** words as a missing table.
*/
#include "tenant_int.h"
SQLITE_EXTENSION_INIT3

#include <string.h>

typedef struct HiddenVtab HiddenVtab;
struct HiddenVtab {
  sqlite3_vtab base;   /* base class: must be first */
  char *zName;         /* the shadowed table's name */
};

static int hiddenConnect(sqlite3 *db, void *pAux, int argc,
                         const char *const *argv, sqlite3_vtab **ppVtab,
                         char **pzErr){
  HiddenVtab *p;
  int rc;
  (void)pAux;
  if( argc<3 ){
    tenantSetError(pzErr, "tenant_hidden needs a table name");
    return SQLITE_ERROR;
  }
  rc = sqlite3_declare_vtab(db, "CREATE TABLE x(unreachable)");
  if( rc!=SQLITE_OK ) return rc;
  p = sqlite3_malloc64(sizeof(*p));
  if( p==0 ) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->zName = sqlite3_mprintf("%s", argv[2]);
  if( p->zName==0 ){
    sqlite3_free(p);
    return SQLITE_NOMEM;
  }
  *ppVtab = &p->base;
  return SQLITE_OK;
}

static int hiddenDisconnect(sqlite3_vtab *pVtab){
  HiddenVtab *p = (HiddenVtab*)pVtab;
  sqlite3_free(p->zName);
  sqlite3_free(p);
  return SQLITE_OK;
}

/* Every query plan fails here, so no statement over the table prepares. */
static int hiddenBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo){
  HiddenVtab *p = (HiddenVtab*)pVtab;
  (void)pInfo;
  sqlite3_free(pVtab->zErrMsg);
  pVtab->zErrMsg = sqlite3_mprintf("no such table: %s", p->zName);
  return SQLITE_ERROR;
}

static int hiddenOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCursor){
  (void)pVtab; (void)ppCursor;
  return SQLITE_ERROR;
}

static int hiddenClose(sqlite3_vtab_cursor *pCursor){
  (void)pCursor;
  return SQLITE_OK;
}

static int hiddenFilter(sqlite3_vtab_cursor *pCursor, int idxNum,
                        const char *idxStr, int argc, sqlite3_value **argv){
  (void)pCursor; (void)idxNum; (void)idxStr; (void)argc; (void)argv;
  return SQLITE_ERROR;
}

static int hiddenNext(sqlite3_vtab_cursor *pCursor){
  (void)pCursor;
  return SQLITE_ERROR;
}

static int hiddenEof(sqlite3_vtab_cursor *pCursor){
  (void)pCursor;
  return 1;
}

static int hiddenColumn(sqlite3_vtab_cursor *pCursor, sqlite3_context *pCtx,
                        int i){
  (void)pCursor; (void)pCtx; (void)i;
  return SQLITE_ERROR;
}

static int hiddenRowid(sqlite3_vtab_cursor *pCursor, sqlite3_int64 *pRowid){
  (void)pCursor; (void)pRowid;
  return SQLITE_ERROR;
}

/* Writes plan no scan when they have no WHERE clause: refuse them here. */
static int hiddenUpdate(sqlite3_vtab *pVtab, int argc, sqlite3_value **argv,
                        sqlite3_int64 *pRowid){
  HiddenVtab *p = (HiddenVtab*)pVtab;
  (void)argc; (void)argv; (void)pRowid;
  sqlite3_free(pVtab->zErrMsg);
  pVtab->zErrMsg = sqlite3_mprintf("no such table: %s", p->zName);
  return SQLITE_ERROR;
}

static sqlite3_module hiddenModule = {
  0,                  /* iVersion */
  hiddenConnect,      /* xCreate */
  hiddenConnect,      /* xConnect */
  hiddenBestIndex,    /* xBestIndex */
  hiddenDisconnect,   /* xDisconnect */
  hiddenDisconnect,   /* xDestroy */
  hiddenOpen,         /* xOpen */
  hiddenClose,        /* xClose */
  hiddenFilter,       /* xFilter */
  hiddenNext,         /* xNext */
  hiddenEof,          /* xEof */
  hiddenColumn,       /* xColumn */
  hiddenRowid,        /* xRowid */
  hiddenUpdate,       /* xUpdate */
  0,                  /* xBegin */
  0,                  /* xSync */
  0,                  /* xCommit */
  0,                  /* xRollback */
  0,                  /* xFindFunction */
  0,                  /* xRename */
  0, 0, 0, 0          /* xSavepoint, xRelease, xRollbackTo, xShadowName */
};

int tenantPlaceholderRegister(sqlite3 *db){
  return sqlite3_create_module(db, TENANT_HIDDEN_MODULE, &hiddenModule, 0);
}
