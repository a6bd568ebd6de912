/*
** The cursors of the "tenant_row" isolation virtual table (rowvtab.c): the
** scan path from xOpen to xRowid, the per-table cache of inner scan
** statements and counted scans. A cursor also keeps the size of the row it
** has read, which the write path takes (rowReadRowBytes).
**
** Each scan runs an inner statement on the session's connection, built
** from the idxStr of rowvtabBestIndex() and bound to the customer read from
** the session when the scan starts. The helpers that run inner statements
** inside the internal bracket are here too, because the scan path is
** their hottest user.
*/
#include "tenant_int.h"
#include "rowvtab.h"
SQLITE_EXTENSION_INIT3

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* Maximum bytes of text and blob arguments that a cursor copies into its
** own buffer for one scan. Larger arguments are bound with a copy of their
** own, so that a cursor does not keep a large buffer. */
#define ROW_ARG_BUFFER_MAX 4096

/*
** A cursor owns its inner statement until it is freed. Every run of an
** outer statement opens and closes a cursor. So xClose keeps one closed
** cursor per table (RowVtab.pIdle), with its statement reset and its
** column map, for the next xOpen to take back.
*/
struct RowCursor {
  sqlite3_vtab_cursor base;   /* base class: must be first */
  sqlite3_stmt *pStmt;        /* current inner scan, or NULL */
  char *zIdx;                 /* idxStr of pStmt */
  int bEof;                   /* no current row */
  int bOneRow;                /* the scan returns at most one row */
  int bCount;                 /* pStmt counts the rows: see rowvtabBestIndex */
  sqlite3_int64 nRow;         /* rows counted, when bCount */
  sqlite3_int64 iRow;         /* index of the current row, when bCount */
  int nCol;                   /* entries of aStmtCol */
  int *aStmtCol;              /* inner column of each column, -1: not read */
  const char *zBoundCustomer; /* customer bound to ?1 of pStmt, or NULL */
  char *aArg;                 /* copies of the text and blob arguments of
                              ** the current scan, bound to pStmt */
  int nArgAlloc;              /* bytes allocated at aArg */
  int bMeasure;               /* xColumn sums the current row's size */
  sqlite3_uint64 mMeasured;   /* columns summed into nMeasured */
  sqlite3_int64 nMeasured;    /* their bytes (tenantQuotaColumnBytes) */
};

static int rowCursorStep(RowVtab*, RowCursor*, int);

/*
** Prepare zSql on the session's connection. The authorizer lets the
** statement reach the secret schema only inside the internal bracket.
*/
int rowPrepare(RowVtab *p, const char *zSql, sqlite3_stmt **ppStmt){
  int rc;
  tenantSessionEnterInternal(p->pSession);
  rc = sqlite3_prepare_v2(p->db, zSql, -1, ppStmt, 0);
  tenantSessionLeaveInternal(p->pSession);
  return rc;
}

/* Step an inner statement, which sqlite3_step() may re-prepare. */
int rowStep(RowVtab *p, sqlite3_stmt *pStmt){
  int rc;
  tenantSessionEnterInternal(p->pSession);
  rc = sqlite3_step(pStmt);
  tenantSessionLeaveInternal(p->pSession);
  return rc;
}

/* Copy the connection's current error message to the virtual table. */
void rowCopyInnerError(RowVtab *p){
  sqlite3_free(p->base.zErrMsg);
  p->base.zErrMsg = sqlite3_mprintf("%s", sqlite3_errmsg(p->db));
}

/*
** Return the extended code of the inner statement's error rc. SQLite masks
** what sqlite3_reset() returns, and the outer statement then records the
** masked code, so without this sqlite3_extended_errcode() would report
** SQLITE_BUSY where plain SQLite reports SQLITE_BUSY_SNAPSHOT.
*/
int rowInnerErrorCode(RowVtab *p, int rc){
  int rcExtended = sqlite3_extended_errcode(p->db);
  return (rcExtended & 0xff)==(rc & 0xff) ? rcExtended : rc;
}

int rowvtabOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCursor){
  RowVtab *p = (RowVtab*)pVtab;
  RowCursor *pCur = (RowCursor*)p->pIdle;

  if( pCur ){
    p->pIdle = 0;
  }else{
    pCur = sqlite3_malloc64(sizeof(*pCur));
    if( pCur==0 ) return SQLITE_NOMEM;
    memset(pCur, 0, sizeof(*pCur));
  }
  pCur->bEof = 1;
  *ppCursor = &pCur->base;
  return SQLITE_OK;
}

/*
** Hand the cursor's statement back to the cache, reset and without
** bindings, which may point into the cursor's argument buffer. When the
** cache is full the statement in slot iEvict is finalized to make room.
*/
static void rowCursorRelease(RowVtab *p, RowCursor *pCur){
  RowCachedStmt *pSlot = 0;
  int i;

  pCur->zBoundCustomer = 0;
  if( pCur->pStmt==0 ) return;
  sqlite3_reset(pCur->pStmt);
  sqlite3_clear_bindings(pCur->pStmt);
  for(i=0; i<ROW_CACHE_SIZE; i++){
    if( p->aCache[i].pStmt==0 ){ pSlot = &p->aCache[i]; break; }
  }
  if( pSlot==0 ){
    pSlot = &p->aCache[p->iEvict];
    p->iEvict = (p->iEvict+1) % ROW_CACHE_SIZE;
    sqlite3_finalize(pSlot->pStmt);
    sqlite3_free(pSlot->zIdx);
  }
  pSlot->pStmt = pCur->pStmt;
  pSlot->zIdx = pCur->zIdx;
  pCur->pStmt = 0;
  pCur->zIdx = 0;
  pCur->bEof = 1;
}

/*
** The size of the row a write replaces, without a query of its own. An
** UPDATE that finds its one row through a unique key (one pass) reads the
** row's columns through a cursor, then calls xUpdate for that row: SQLite
** 3.15 with the cursor still on the row, SQLite 3.40 after closing it. The
** cursor's row is therefore taken when xUpdate names the row the last step
** found, or the row a cursor closed on, and the inner statement read every
** column. Neither is used past the next write, and every xFilter clears
** the closed row. An UPDATE or DELETE scans the table before it writes, so
** a row read by an earlier statement is never used, and within the
** statement nothing writes between the read and the write.
*/
static sqlite3_int64 rowCursorRowBytes(RowVtab *p, RowCursor *pCur){
  if( pCur->bEof || pCur->pStmt==0 || p->pQuota==0 ) return -1;
  if( pCur->bMeasure ){
    /* xColumn summed the columns that an UPDATE keeps, and the inner
    ** statement gives the old values of the ones it changes. */
    int nCol, i;
    sqlite3_int64 n = tenantQuotaFixedBytes(p->pQuota, &nCol);

    n += pCur->nMeasured;
    if( nCol!=pCur->nCol ) return -1;
    for(i=0; i<nCol; i++){
      if( pCur->mMeasured & (((sqlite3_uint64)1)<<i) ) continue;
      if( pCur->aStmtCol[i]<0 ) return -1;
      n += tenantQuotaColumnBytes(p->pQuota, i,
               sqlite3_column_value(pCur->pStmt, pCur->aStmtCol[i]));
    }
    return n;
  }
  return tenantQuotaStmtRowBytes(p->pQuota, pCur->nCol, pCur->pStmt,
                                 pCur->aStmtCol);
}

int rowReadRowBytes(RowVtab *p, sqlite3_int64 iRowid, sqlite3_int64 *pnByte){
  RowCursor *pCur = p->pReadCursor;
  int bFound = 0;
  if( pCur && !pCur->bEof
   && sqlite3_column_int64(pCur->pStmt, 0)==iRowid ){
    *pnByte = rowCursorRowBytes(p, pCur);
    bFound = *pnByte>=0;
  }else if( p->bClosedRow && p->iClosedRowid==iRowid ){
    *pnByte = p->nClosedBytes;
    bFound = 1;
  }
  p->pReadCursor = 0;
  p->bClosedRow = 0;
  return bFound;
}

/* Free a cursor that no statement uses, handing its statement back to the
** cache. Accepts NULL. */
void rowCursorFree(RowVtab *p, RowCursor *pCur){
  if( pCur==0 ) return;
  rowCursorRelease(p, pCur);
  sqlite3_free(pCur->aStmtCol);
  sqlite3_free(pCur->aArg);
  sqlite3_free(pCur);
}

/*
** Keep the cursor as the table's idle cursor unless there is one already.
** The inner statement is reset either way, so that it stops reading the
** real table when the outer statement ends.
*/
int rowvtabClose(sqlite3_vtab_cursor *pCursor){
  RowCursor *pCur = (RowCursor*)pCursor;
  RowVtab *p = (RowVtab*)pCursor->pVtab;

  if( p->pReadCursor==pCur ){
    sqlite3_int64 n = rowCursorRowBytes(p, pCur);
    p->pReadCursor = 0;
    p->bClosedRow = n>=0;
    if( n>=0 ){
      p->iClosedRowid = sqlite3_column_int64(pCur->pStmt, 0);
      p->nClosedBytes = n;
    }
  }
  if( p->pIdle==0 ){
    if( pCur->pStmt ) sqlite3_reset(pCur->pStmt);
    pCur->bEof = 1;
    p->pIdle = pCursor;
  }else{
    rowCursorFree(p, pCur);
  }
  return SQLITE_OK;
}

/* True when column iCol is read under the colUsed mask m. */
static int rowColumnUsed(sqlite3_uint64 m, int iCol){
  return (int)((m >> (iCol<63 ? iCol : 63)) & 1);
}

/*
** Give the cursor an inner statement for zIdx: its own when it already
** scans with zIdx (the inner loop of a join calls xFilter once per outer
** row), else one from the cache, else a new one. Also map the columns the
** statement selects.
*/

static int rowCursorAcquire(RowVtab *p, RowCursor *pCur, const char *zIdx){
  sqlite3_uint64 mUsed;
  const char *zTail;
  char *zSql;
  int rc;
  int i;

  /* The same plan again keeps the statement and its column map. */
  if( pCur->pStmt && strcmp(pCur->zIdx, zIdx)==0 ){
    sqlite3_reset(pCur->pStmt);
    return SQLITE_OK;
  }

  pCur->bCount = zIdx[0]=='#';
  mUsed = strtoull(zIdx + pCur->bCount, 0, 16);
  zTail = strchr(zIdx, ':');
  assert( zTail!=0 );  /* rowvtabBestIndex always writes the mask */

  if( pCur->aStmtCol==0 ){
    pCur->aStmtCol = sqlite3_malloc64(sizeof(int)*(p->nCol>0 ? p->nCol : 1));
    if( pCur->aStmtCol==0 ) return SQLITE_NOMEM;
    pCur->nCol = p->nCol;
  }
  for(i=0, rc=1; i<p->nCol; i++){
    pCur->aStmtCol[i] = rowColumnUsed(mUsed, i) ? rc++ : -1;
  }
  rowCursorRelease(p, pCur);

  for(i=0; i<ROW_CACHE_SIZE; i++){
    if( p->aCache[i].pStmt && strcmp(p->aCache[i].zIdx, zIdx)==0 ){
      pCur->pStmt = p->aCache[i].pStmt;
      pCur->zIdx = p->aCache[i].zIdx;
      p->aCache[i].pStmt = 0;
      p->aCache[i].zIdx = 0;
      return SQLITE_OK;
    }
  }

  pCur->zIdx = sqlite3_mprintf("%s", zIdx);
  if( pCur->zIdx==0 ) return SQLITE_NOMEM;
  zSql = sqlite3_mprintf("SELECT %s", pCur->bCount ? "count(*)" : p->zRowid);
  for(i=0; zSql && i<p->nCol; i++){
    if( pCur->aStmtCol[i]<0 ) continue;
    zSql = sqlite3_mprintf("%z, \"%w\"", zSql, p->azCol[i]);
  }
  if( zSql ){
    zSql = sqlite3_mprintf("%z FROM \"%w\".\"%w\" WHERE \"%w\"=?1%s", zSql,
                           p->zSchema, p->zTable,
                           p->azCol[p->iCustomer], zTail+1);
  }
  if( zSql==0 ) return SQLITE_NOMEM;
  rc = rowPrepare(p, zSql, &pCur->pStmt);
  sqlite3_free(zSql);
  if( rc!=SQLITE_OK ){
    rowCopyInnerError(p);
    sqlite3_free(pCur->zIdx);
    pCur->zIdx = 0;
    pCur->pStmt = 0;
  }
  return rc;
}

/*
** Bind the customer to ?1 and argv[i] to ?(i+2) of the cursor's statement.
**
** The customer is bound without a copy: the text lives in the session,
** which the connection frees only after every virtual table has
** disconnected and finalized its statements, and a session is never bound
** to another customer. A binding survives sqlite3_reset(), so ?1 is bound
** again only when the statement is new to the cursor (zBoundCustomer is
** cleared whenever pStmt changes) or the session returns another pointer.
**
** Every argument the statement uses is bound again on each scan, so
** bindings left from an earlier scan need no clearing. IS NULL and IS NOT
** NULL leave their parameter out of the statement, so the last ones may be
** past the statement's parameter count. Text and blob arguments are copied
** into the cursor's buffer and bound from there, which saves the
** allocation and free of sqlite3_bind_value() on every scan. The copy is
** needed because the inner statement reads a range bound again on each
** step, after xFilter has returned and the outer statement may have
** reused the register that held it.
*/
static int rowCursorBind(RowCursor *pCur, const char *zCustomer,
                         int argc, sqlite3_value **argv){
  sqlite3_stmt *pStmt = pCur->pStmt;
  int nParam = sqlite3_bind_parameter_count(pStmt);
  sqlite3_int64 nCopy = 0;
  char *zCopy;
  int rc = SQLITE_OK;
  int i;

  if( pCur->zBoundCustomer!=zCustomer ){
    rc = sqlite3_bind_text(pStmt, 1, zCustomer, -1, SQLITE_STATIC);
    if( rc!=SQLITE_OK ) return rc;
    pCur->zBoundCustomer = zCustomer;
  }
  if( argc>nParam-1 ) argc = nParam>1 ? nParam-1 : 0;

  /* 1. Size the copies. sqlite3_value_text() comes before
  ** sqlite3_value_bytes(), so that the size is the one of the UTF-8 text. */
  for(i=0; i<argc; i++){
    int eType = sqlite3_value_type(argv[i]);
    if( eType==SQLITE_TEXT ){
      if( sqlite3_value_text(argv[i])==0 ) return SQLITE_NOMEM;
      nCopy += sqlite3_value_bytes(argv[i]);
    }else if( eType==SQLITE_BLOB ){
      nCopy += sqlite3_value_bytes(argv[i]);
    }
  }

  /* 2. Large arguments get a copy of their own each, made by SQLite. */
  if( nCopy>ROW_ARG_BUFFER_MAX ){
    for(i=0; rc==SQLITE_OK && i<argc; i++){
      rc = sqlite3_bind_value(pStmt, i+2, argv[i]);
    }
    return rc;
  }
  if( nCopy>pCur->nArgAlloc ){
    int nAlloc = nCopy<256 ? 256 : (int)nCopy;
    char *aNew = sqlite3_realloc64(pCur->aArg, nAlloc);
    if( aNew==0 ) return SQLITE_NOMEM;
    pCur->aArg = aNew;
    pCur->nArgAlloc = nAlloc;
  }

  /* 3. Copy and bind. An empty blob is bound as a zero-length blob,
  ** because a blob with a NULL pointer would bind NULL. */
  zCopy = pCur->aArg;
  for(i=0; rc==SQLITE_OK && i<argc; i++){
    sqlite3_value *pArg = argv[i];
    const void *z;
    int n;

    switch( sqlite3_value_type(pArg) ){
      case SQLITE_TEXT:
        z = sqlite3_value_text(pArg);
        n = sqlite3_value_bytes(pArg);
        if( n==0 ){
          /* No buffer may exist yet, and a NULL pointer would bind NULL. */
          rc = sqlite3_bind_text(pStmt, i+2, "", 0, SQLITE_STATIC);
          break;
        }
        memcpy(zCopy, z, n);
        rc = sqlite3_bind_text(pStmt, i+2, zCopy, n, SQLITE_STATIC);
        zCopy += n;
        break;
      case SQLITE_BLOB:
        z = sqlite3_value_blob(pArg);
        n = sqlite3_value_bytes(pArg);
        if( n==0 ){
          rc = sqlite3_bind_zeroblob(pStmt, i+2, 0);
        }else if( z==0 ){
          rc = SQLITE_NOMEM;
        }else{
          memcpy(zCopy, z, n);
          rc = sqlite3_bind_blob(pStmt, i+2, zCopy, n, SQLITE_STATIC);
          zCopy += n;
        }
        break;
      default:
        rc = sqlite3_bind_value(pStmt, i+2, pArg);
        break;
    }
  }
  return rc;
}

/*
** Start a scan. The customer is read from the session now, so a scan
** never mixes the rows of two customers, and a retired session
** (tenantSessionRetire) reads nothing more.
**
** The first inner step chooses the scan's snapshot of the shared file.
** Only then is the session checked (tenantSessionScanCheck), so that a
** statement prepared before its customer's id was decommissioned and
** provisioned again, and run again, fails before it returns a row of the
** new customer. The check is one load of the change counter unless the
** counter moved since the session's last full check.
*/
int rowvtabFilter(
  sqlite3_vtab_cursor *pCursor,
  int idxNum, const char *idxStr,
  int argc, sqlite3_value **argv
){
  RowCursor *pCur = (RowCursor*)pCursor;
  RowVtab *p = (RowVtab*)pCursor->pVtab;
  const char *zCustomer = tenantSessionScanCustomer(p->pSession);
  int rc;

  pCur->bEof = 1;
  pCur->bOneRow = (idxNum & ROW_PLAN_ONE_ROW)!=0;
  p->bClosedRow = 0;
  if( zCustomer==0 ){
    return tenantSessionRejectInactive(p->pSession, &p->base.zErrMsg);
  }
  if( zCustomer[0]==0 ){
    tenantSetError(&p->base.zErrMsg, "table \"%s\" cannot be read without a"
                   " bound customer: bind the connection first", p->zTable);
    return SQLITE_ERROR;
  }

  if( idxStr==0 ){
    tenantSetError(&p->base.zErrMsg, "table \"%s\" was scanned without a "
                   "plan from xBestIndex", p->zTable);
    return SQLITE_INTERNAL;
  }
  rc = rowCursorAcquire(p, pCur, idxStr);
  if( rc!=SQLITE_OK ) return rc;

  rc = rowCursorBind(pCur, zCustomer, argc, argv);
  if( rc!=SQLITE_OK ){
    rowCopyInnerError(p);
    return rc;
  }

  rc = rowCursorStep(p, pCur, 1);
  if( rc!=SQLITE_OK ) return rc;
  rc = tenantSessionScanCheck(p->pSession, &p->base.zErrMsg);
  if( rc!=SQLITE_OK ){
    sqlite3_reset(pCur->pStmt);
    pCur->bEof = 1;
    if( p->pReadCursor==pCur ) p->pReadCursor = 0;
    return rc;
  }
  if( !pCur->bCount ) return SQLITE_OK;

  /* The count statement stays on its row until the scan ends, so that its
  ** read keeps the snapshot that rowCursorLeaveCount() scans again. */
  assert( pCur->bEof==0 );  /* count(*) always returns one row */
  pCur->nRow = sqlite3_column_int64(pCur->pStmt, 0);
  pCur->iRow = 0;
  pCur->bEof = pCur->nRow==0;
  return SQLITE_OK;
}

/*
** Turn a counting scan into a real one positioned on the same row, for
** xRowid, which the count statement cannot return. The real scan is the
** inner statement of the same plan without the '#', which selects the
** rowid. It runs before the count statement is reset, in the snapshot of
** the count, and so returns the same rows in the same order.
*/
static int rowCursorLeaveCount(RowVtab *p, RowCursor *pCur){
  const char *zCustomer = tenantSessionCustomer(p->pSession);
  sqlite3_int64 iRow = pCur->iRow;
  sqlite3_int64 i;
  RowCursor count;
  char *zIdx;
  int rc;

  assert( pCur->bCount );
  assert( pCur->zIdx[0]=='#' );  /* the plan of a counting scan */
  zIdx = sqlite3_mprintf("%s", pCur->zIdx+1);
  if( zIdx==0 ) return SQLITE_NOMEM;

  /* Detach the count statement, so that rowCursorAcquire() keeps it
  ** running while the real scan starts. */
  memset(&count, 0, sizeof(count));
  count.pStmt = pCur->pStmt;
  count.zIdx = pCur->zIdx;
  pCur->pStmt = 0;
  pCur->zIdx = 0;
  rc = rowCursorAcquire(p, pCur, zIdx);
  sqlite3_free(zIdx);
  if( rc==SQLITE_OK ){
    rc = sqlite3_bind_text(pCur->pStmt, 1, zCustomer, -1, SQLITE_STATIC);
    if( rc!=SQLITE_OK ) rowCopyInnerError(p);
  }
  if( rc==SQLITE_OK ) rc = rowCursorStep(p, pCur, 1);
  for(i=0; rc==SQLITE_OK && !pCur->bEof && i<iRow; i++){
    rc = rowCursorStep(p, pCur, 0);
  }
  rowCursorRelease(p, &count);

  if( rc==SQLITE_OK && pCur->bEof ){
    tenantSetError(&p->base.zErrMsg, "table \"%s\" changed during a scan"
                   " of it on the same connection: run the statement"
                   " again", p->zTable);
    rc = SQLITE_ERROR;
  }
  return rc;
}

int rowvtabNext(sqlite3_vtab_cursor *pCursor){
  RowCursor *pCur = (RowCursor*)pCursor;
  RowVtab *p = (RowVtab*)pCursor->pVtab;

  if( pCur->bCount ){
    pCur->iRow++;
    pCur->bEof = pCur->iRow>=pCur->nRow;
    return SQLITE_OK;
  }

  /* A one-row scan ends after its row, without the step that would return
  ** SQLITE_DONE. The inner statement stays on the row until xClose or the
  ** next xFilter resets it. Like that step, this ends the row that
  ** rowReadRowBytes() may take. */
  if( pCur->bOneRow ){
    pCur->bEof = 1;
    if( p->pReadCursor==pCur ) p->pReadCursor = 0;
    return SQLITE_OK;
  }
  return rowCursorStep(p, pCur, 0);
}

int rowvtabEof(sqlite3_vtab_cursor *pCursor){
  return ((RowCursor*)pCursor)->bEof;
}

/*
** Copy the value of inner column iStmtCol to the result. Text and blobs go
** through sqlite3_result_text() and sqlite3_result_blob(), which reuse the
** buffer of the outer statement's register, where sqlite3_result_value()
** frees and allocates it again for every row.
**
** The value from sqlite3_column_value() is unprotected, and SQLite's
** documentation calls reading it with sqlite3_value_*() unsafe across
** threads. It is safe here: the inner statement runs on the connection of
** the outer one, which no other thread uses while xColumn runs.
*/
static void rowResultColumn(sqlite3_context *pCtx, sqlite3_value *pVal){
  const void *z;
  int n;

  switch( sqlite3_value_type(pVal) ){
    case SQLITE_INTEGER:
      sqlite3_result_int64(pCtx, sqlite3_value_int64(pVal));
      break;
    case SQLITE_FLOAT:
      sqlite3_result_double(pCtx, sqlite3_value_double(pVal));
      break;
    case SQLITE_TEXT:
      z = sqlite3_value_text(pVal);
      n = sqlite3_value_bytes(pVal);
      if( z==0 ){
        sqlite3_result_error_nomem(pCtx);
      }else if( strlen((const char*)z)==(size_t)n ){
        /* Passing no length marks the copy NUL-terminated, so that a
        ** later sqlite3_value_text() of it, as sqlite3_column_text() or
        ** the xFilter of a join makes, needs no reallocation. */
        sqlite3_result_text(pCtx, (const char*)z, -1, SQLITE_TRANSIENT);
      }else{
        sqlite3_result_text(pCtx, (const char*)z, n, SQLITE_TRANSIENT);
      }
      break;
    case SQLITE_BLOB:
      z = sqlite3_value_blob(pVal);
      n = sqlite3_value_bytes(pVal);
      /* An empty blob has no pointer, and a NULL pointer would make the
      ** result NULL. */
      if( n==0 ){
        sqlite3_result_zeroblob(pCtx, 0);
      }else if( z==0 ){
        sqlite3_result_error_nomem(pCtx);
      }else{
        sqlite3_result_blob(pCtx, z, n, SQLITE_TRANSIENT);
      }
      break;
    default:
      sqlite3_result_null(pCtx);
      break;
  }
}

/*
** Step the inner statement to the next row. Only the first step of a scan
** (bFirst) runs inside the internal bracket: sqlite3_step() re-prepares a
** statement, which the authorizer checks, only before it has started.
*/
static int rowCursorStep(RowVtab *p, RowCursor *pCur, int bFirst){
  int rc;

  rc = bFirst ? rowStep(p, pCur->pStmt) : sqlite3_step(pCur->pStmt);
  if( rc==SQLITE_ROW ){
    pCur->bEof = 0;
    p->pReadCursor = pCur;
    pCur->bMeasure = p->bWriting && p->pQuota!=0 && pCur->nCol<=64;
    pCur->mMeasured = 0;
    pCur->nMeasured = 0;
    return SQLITE_OK;
  }
  pCur->bEof = 1;
  if( p->pReadCursor==pCur ) p->pReadCursor = 0;
  if( rc==SQLITE_DONE ) return SQLITE_OK;
  rc = rowInnerErrorCode(p, sqlite3_reset(pCur->pStmt));
  rowCopyInnerError(p);
  return rc;
}

/* Column i of the virtual table is inner column aStmtCol[i]. A column the
** scan does not select stays NULL: colUsed shows that the query never reads it. */
int rowvtabColumn(
  sqlite3_vtab_cursor *pCursor,
  sqlite3_context *pCtx,
  int i
){
  RowCursor *pCur = (RowCursor*)pCursor;
  assert( pCur->bEof==0 );  /* SQLite reads columns only on a row */
  assert( i>=0 );
  assert( i<pCur->nCol );
  if( pCur->aStmtCol[i]>0 ){
    sqlite3_value *pVal = sqlite3_column_value(pCur->pStmt, pCur->aStmtCol[i]);
    rowResultColumn(pCtx, pVal);
    if( pCur->bMeasure && (pCur->mMeasured & (((sqlite3_uint64)1)<<i))==0 ){
      RowVtab *p = (RowVtab*)pCursor->pVtab;
      pCur->mMeasured |= ((sqlite3_uint64)1)<<i;
      pCur->nMeasured += tenantQuotaColumnBytes(p->pQuota, i, pVal);
    }
  }
  return SQLITE_OK;
}

int rowvtabRowid(sqlite3_vtab_cursor *pCursor, sqlite_int64 *pRowid){
  RowCursor *pCur = (RowCursor*)pCursor;
  assert( pCur->bEof==0 );
  if( pCur->bCount ){
    int rc = rowCursorLeaveCount((RowVtab*)pCursor->pVtab, pCur);
    if( rc!=SQLITE_OK ) return rc;
  }
  *pRowid = sqlite3_column_int64(pCur->pStmt, 0);
  return SQLITE_OK;
}
