/*
** The "tenant_row" isolation virtual table.
**
** A session bound to a customer attaches each placement file under a secret
** schema name. Every table of a shared file (rows of many customers in one
** table) is then hidden behind a virtual table of the same name in the temp
** schema:
**
**     CREATE VIRTUAL TABLE temp."<t>" USING tenant_row("<t>")
**
** The virtual table declares the real table's columns with their declared
** types and collations, and keeps the real rowid as its rowid. Each scan
** runs an inner statement on the same connection,
**
**     SELECT rowid, <columns> FROM "<schema>"."<t>"
**      WHERE customer_id=?1 AND <pushed constraints> [ORDER BY ...]
**
** with ?1 bound to the customer read from the session when the scan starts.
** Each write (rowwrite.c) is stamped with the bound customer and carries
** "customer_id=?" in its WHERE clause, so a session never reads or changes a
** row of another customer. Inner statements join the connection's
** transaction; the module's transaction and savepoint methods only keep
** the customer's storage total (quota.c) in step with it.
**
** LIMITATIONS: the real table must be a rowid table with a customer_id
** column. Renaming the virtual table is rejected. UPSERT is rejected by
** SQLite itself for every virtual table. Inside an explicit transaction, an
** UPDATE of several rows that fails part way keeps the rows it changed
** before the failing one on SQLite 3.40, because the host opens no
** statement journal for a virtual table UPDATE and the module's savepoint
** methods do not roll back data. An INSERT is undone whole: its inner
** INSERT ... SELECT opens a statement journal in the real file.
*/
#include "tenant_int.h"
#include "rowvtab.h"
SQLITE_EXTENSION_INIT3

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* Estimated rows of one customer in a table: the planner's full scan. */
#define ROW_FULL_SCAN_ROWS 1000000.0

/* Bit of idxNum: the plan returns at most one row (SQLITE_INDEX_SCAN_UNIQUE),
** so xNext ends the scan without stepping the inner statement again. */
#define ROW_PLAN_ONE_ROW 0x01

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
};

static int rowvtabCreate(sqlite3*, void*, int, const char *const*,
                         sqlite3_vtab**, char**);
static int rowvtabConnect(sqlite3*, void*, int, const char *const*,
                          sqlite3_vtab**, char**);
static int rowvtabBestIndex(sqlite3_vtab*, sqlite3_index_info*);
static int rowvtabDisconnect(sqlite3_vtab*);
static int rowvtabOpen(sqlite3_vtab*, sqlite3_vtab_cursor**);
static int rowvtabClose(sqlite3_vtab_cursor*);
static int rowvtabFilter(sqlite3_vtab_cursor*, int, const char*,
                         int, sqlite3_value**);
static int rowvtabNext(sqlite3_vtab_cursor*);
static int rowvtabEof(sqlite3_vtab_cursor*);
static int rowvtabColumn(sqlite3_vtab_cursor*, sqlite3_context*, int);
static int rowvtabRowid(sqlite3_vtab_cursor*, sqlite_int64*);
static int rowvtabRename(sqlite3_vtab*, const char*);
static int rowCursorStep(RowVtab*, RowCursor*, int);
static void rowCursorFree(RowVtab*, RowCursor*);

static sqlite3_module rowvtabModule = {
  /* iVersion      */ 2,
  /* xCreate       */ rowvtabCreate,
  /* xConnect      */ rowvtabConnect,
  /* xBestIndex    */ rowvtabBestIndex,
  /* xDisconnect   */ rowvtabDisconnect,
  /* xDestroy      */ rowvtabDisconnect,  /* never drops the real table */
  /* xOpen         */ rowvtabOpen,
  /* xClose        */ rowvtabClose,
  /* xFilter       */ rowvtabFilter,
  /* xNext         */ rowvtabNext,
  /* xEof          */ rowvtabEof,
  /* xColumn       */ rowvtabColumn,
  /* xRowid        */ rowvtabRowid,
  /* xUpdate       */ rowvtabUpdate,
  /* xBegin        */ rowvtabBegin,
  /* xSync         */ rowvtabSync,
  /* xCommit       */ rowvtabEnd,
  /* xRollback     */ rowvtabEnd,
  /* xFindFunction */ 0,
  /* xRename       */ rowvtabRename,
  /* xSavepoint    */ rowvtabSavepoint,
  /* xRelease      */ rowvtabRelease,
  /* xRollbackTo   */ rowvtabRollbackTo,
  /* xShadowName   */ 0
};

/* ---- helpers ---------------------------------------------------------- */

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

/* Copy zIn without one level of surrounding quotes ("x", 'x', `x`, [x]). */
static char *rowUnquote(const char *zIn){
  size_t n = strlen(zIn);
  char cClose;
  char *zOut;
  size_t i, j;

  if( n<2 ) return sqlite3_mprintf("%s", zIn);
  switch( zIn[0] ){
    case '"':  cClose = '"';  break;
    case '\'': cClose = '\''; break;
    case '`':  cClose = '`';  break;
    case '[':  cClose = ']';  break;
    default:   return sqlite3_mprintf("%s", zIn);
  }
  if( zIn[n-1]!=cClose ) return sqlite3_mprintf("%s", zIn);

  zOut = sqlite3_malloc64(n);
  if( zOut==0 ) return 0;
  for(i=1, j=0; i<n-1; i++){
    zOut[j++] = zIn[i];
    /* A doubled closing quote inside stands for one ("a""b" is a"b). */
    if( zIn[i]==cClose && cClose!=']' && zIn[i+1]==cClose ) i++;
  }
  zOut[j] = 0;
  return zOut;
}

/* Free a virtual table and everything it owns. Accepts a half-built one. */
static void rowFree(RowVtab *p){
  int i;

  if( p==0 ) return;
  rowCursorFree(p, (RowCursor*)p->pIdle);
  for(i=0; i<ROW_CACHE_SIZE; i++){
    sqlite3_finalize(p->aCache[i].pStmt);
    sqlite3_free(p->aCache[i].zIdx);
  }
  for(i=0; i<6; i++){
    sqlite3_finalize(p->apInsert[i]);
    sqlite3_finalize(p->apUpdate[i]);
  }
  sqlite3_finalize(p->pDelete);
  sqlite3_finalize(p->pOpenSavepoint);
  tenantQuotaTableClose(p->pQuota);
  rowShapeRelease(p->pShape);
  sqlite3_free(p->zTable);
  sqlite3_free(p->zSchema);
  sqlite3_free(p->zPartition);
  sqlite3_free(p->base.zErrMsg);
  sqlite3_free(p);
}

/* ---- xCreate, xConnect ------------------------------------------------- */

/*
** argv[3] names the table. The real table's schema and partition come from
** the session, which returns an error for a table it does not reach.
** bCreate is true when called from xCreate or tenantRowCheck(), which only
** a session's binding runs. With bDeclare false nothing is declared, so
** the call may run outside xCreate and xConnect.
*/
static int rowConnectTable(
  sqlite3 *db,
  TenantSession *pSession,
  int bCreate,
  int bDeclare,
  int argc, const char *const*argv,
  sqlite3_vtab **ppVtab,
  char **pzErr
){
  RowVtab *p;
  RowShape *pShape;
  const char *zSchema = 0;
  const char *zPartition = 0;
  int bReadOnly = 0;
  int rc;

  *ppVtab = 0;
  if( argc!=4 ){
    tenantSetError(pzErr, "tenant_row takes one argument, the table name,"
                   " not %d: use CREATE VIRTUAL TABLE temp.t USING"
                   " tenant_row(t)", argc-3);
    return SQLITE_ERROR;
  }
  if( pSession==0 ){
    tenantSetError(pzErr, "tenant_row needs a bound session: bind the"
                   " connection to a customer first");
    return SQLITE_ERROR;
  }

  p = sqlite3_malloc64(sizeof(*p));
  if( p==0 ) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->db = db;
  p->pSession = pSession;
  p->iCustomer = -1;
  p->zTable = rowUnquote(argv[3]);
  if( p->zTable==0 ){ rc = SQLITE_NOMEM; goto connect_failed; }

  rc = tenantSessionLookupTable(pSession, p->zTable, &zSchema, &zPartition,
                                &bReadOnly);
  if( rc!=SQLITE_OK ){
    tenantSetError(pzErr, "table \"%s\" is not in a partition that customer"
                   " \"%s\" reaches: check the table name", p->zTable,
                   tenantSessionCustomer(pSession));
    rc = SQLITE_ERROR;
    goto connect_failed;
  }
  p->zSchema = sqlite3_mprintf("%s", zSchema);
  p->zPartition = sqlite3_mprintf("%s", zPartition ? zPartition : "");
  p->bReadOnly = bReadOnly;
  if( p->zSchema==0 || p->zPartition==0 ){ rc = SQLITE_NOMEM; goto connect_failed; }

  rc = rowShapeAcquire(p, bCreate, &p->pShape, pzErr);
  if( rc!=SQLITE_OK ) goto connect_failed;
  pShape = p->pShape;
  p->zRowid = pShape->zRowid;
  p->nCol = pShape->nCol;
  p->azCol = pShape->azCol;
  p->azColl = pShape->azColl;
  p->azDflt = pShape->azDflt;
  p->aiKey = pShape->aiKey;
  p->nKey = pShape->nKey;
  p->iCustomer = pShape->iCustomer;
  p->iParent = pShape->iParent;

  /* The storage accounting (pQuota) starts on the first write, but whether
  ** there is any was decided when the session was bound, as metering was. */
  if( p->bReadOnly || !tenantSessionIsMetered(pSession) ) p->bQuotaOpen = 1;
  if( !bDeclare ){
    rowFree(p);
    return SQLITE_OK;
  }
  rc = sqlite3_declare_vtab(db, pShape->zDecl);
  if( rc!=SQLITE_OK ){
    tenantSetError(pzErr, "cannot declare the columns of table \"%s\": %s",
                   p->zTable, sqlite3_errmsg(db));
    goto connect_failed;
  }

  /* xUpdate may return SQLITE_CONSTRAINT and let the statement's ON
  ** CONFLICT mode act on it. */
  sqlite3_vtab_config(db, SQLITE_VTAB_CONSTRAINT_SUPPORT, 1);

  *ppVtab = &p->base;
  return SQLITE_OK;

connect_failed:
  rowFree(p);
  return rc;
}

/*
** xCreate is a separate function from xConnect so that tenant_row is not
** an eponymous virtual table that a session could query by module name.
*/
static int rowvtabCreate(
  sqlite3 *db,
  void *pAux,
  int argc, const char *const*argv,
  sqlite3_vtab **ppVtab,
  char **pzErr
){
  return rowConnectTable(db, (TenantSession*)pAux, 1, 1, argc, argv, ppVtab,
                         pzErr);
}

static int rowvtabConnect(
  sqlite3 *db,
  void *pAux,
  int argc, const char *const*argv,
  sqlite3_vtab **ppVtab,
  char **pzErr
){
  return rowConnectTable(db, (TenantSession*)pAux, 0, 1, argc, argv, ppVtab,
                         pzErr);
}

int tenantRowCheck(sqlite3 *db, TenantSession *pSession, const char *zTable,
                   char **pzErr){
  const char *azArg[4];
  sqlite3_vtab *pUnused = 0;
  char *zQuoted = sqlite3_mprintf("\"%w\"", zTable);
  int rc;

  if( zQuoted==0 ) return SQLITE_NOMEM;
  azArg[0] = TENANT_ROW_MODULE;
  azArg[1] = "temp";
  azArg[2] = zTable;
  azArg[3] = zQuoted;
  rc = rowConnectTable(db, pSession, 1, 0, 4, azArg, &pUnused, pzErr);
  sqlite3_free(zQuoted);
  return rc;
}

/* ---- xBestIndex -------------------------------------------------------- */

/* The SQL operator of a constraint that can be pushed down, or NULL. */
static const char *rowOperator(int op){
  switch( op ){
    case SQLITE_INDEX_CONSTRAINT_EQ: return "=";
    case SQLITE_INDEX_CONSTRAINT_GT: return ">";
    case SQLITE_INDEX_CONSTRAINT_GE: return ">=";
    case SQLITE_INDEX_CONSTRAINT_LT: return "<";
    case SQLITE_INDEX_CONSTRAINT_LE: return "<=";
  }
  /* These operators reach xBestIndex from SQLite 3.21.0 on. */
  if( tenantHostVersion()>=3021000 ){
    switch( op ){
      case SQLITE_INDEX_CONSTRAINT_NE:        return "<>";
      case SQLITE_INDEX_CONSTRAINT_IS:        return "IS";
      case SQLITE_INDEX_CONSTRAINT_ISNOT:     return "IS NOT";
      case SQLITE_INDEX_CONSTRAINT_ISNULL:    return "IS NULL";
      case SQLITE_INDEX_CONSTRAINT_ISNOTNULL: return "IS NOT NULL";
    }
  }
  return 0;
}

/* True when column iCol is part of the PRIMARY KEY. */
static int rowIsKeyColumn(RowVtab *p, int iCol){
  int i;
  for(i=0; i<p->nKey; i++){
    if( p->aiKey[i]==iCol ) return 1;
  }
  return 0;
}

/* True for an operator that selects at most one value of its column. */
static int rowIsEquality(int op){
  return op==SQLITE_INDEX_CONSTRAINT_EQ
      || (op==SQLITE_INDEX_CONSTRAINT_IS && tenantHostVersion()>=3021000);
}

/*
** True when constraint i of pInfo matches at most one value of its column
** as the real table's key compares it: "=" with the column's own
** collation. IS is left out because it also matches NULL, and a key column
** of a rowid table may hold NULL more than once. Hosts before 3.22.0 do not
** report the collation, but there the inner statement compares with the
** column's collation anyway.
*/
static int rowIsKeyEquality(RowVtab *p, sqlite3_index_info *pInfo, int i){
  const struct sqlite3_index_constraint *pCons = &pInfo->aConstraint[i];
  if( pCons->op!=SQLITE_INDEX_CONSTRAINT_EQ ) return 0;
  if( pCons->iColumn>=0 && tenantHostVersion()>=3022000 ){
    const char *zWant = sqlite3_vtab_collation(pInfo, i);
    const char *zHave = p->azColl[pCons->iColumn];
    if( zWant && sqlite3_stricmp(zWant, zHave ? zHave : "BINARY")!=0 ){
      return 0;
    }
  }
  return 1;
}

/* True for an operator that bounds a range of its column. */
static int rowIsRange(int op){
  return op==SQLITE_INDEX_CONSTRAINT_GT || op==SQLITE_INDEX_CONSTRAINT_GE
      || op==SQLITE_INDEX_CONSTRAINT_LT || op==SQLITE_INDEX_CONSTRAINT_LE;
}

/*
** Push every usable constraint on a real column into the inner statement.
**
** idxStr is the tail of the inner statement after "WHERE customer_id=?1",
** for example ' AND "id" = ?2 ORDER BY "created_at" DESC', where ?N+1 takes
** the value of argvIndex N. Equal idxStr values therefore mean equal
** statements, which is what the statement cache relies on.
**
** Costs model an index on the primary key, which the real tables start
** with customer_id: each equality on the next key column divides the rows
** scanned by 100, and a range on the key column after them by 4. Other
** pushed constraints only shrink the rows returned.
*/
static int rowvtabBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo){
  RowVtab *p = (RowVtab*)pVtab;
  char *zIdx = sqlite3_mprintf("%s", "");
  int nArg = 0;
  int bRowidEq = 0;
  int bUnique = 1;              /* every key column so far matched by "=" */
  int bOneRow = 0;              /* the scan returns at most one row */
  int bLimit = 0;
  int nOther = 0;
  double nScan = ROW_FULL_SCAN_ROWS;
  double nRow;
  int iKey;
  int i;

  if( zIdx==0 ) return SQLITE_NOMEM;

  /* 1. Constraints, in the order SQLite lists them. */
  for(i=0; i<pInfo->nConstraint; i++){
    const struct sqlite3_index_constraint *pCons = &pInfo->aConstraint[i];
    const char *zOp;
    const char *zCol;
    const char *zCollate = 0;
    int iCol = pCons->iColumn;

    if( pCons->op==SQLITE_INDEX_CONSTRAINT_LIMIT
     || pCons->op==SQLITE_INDEX_CONSTRAINT_OFFSET ){
      bLimit = 1;
    }
    if( !pCons->usable ) continue;
    zOp = rowOperator(pCons->op);
    if( zOp==0 ) continue;
    if( iCol<-1 || iCol>=p->nCol ) continue;
    zCol = iCol<0 ? p->zRowid : p->azCol[iCol];

    /* The comparison uses the column's collation unless the query names
    ** another one. From 3.22.0 on the host reports which one. */
    if( iCol>=0 && tenantHostVersion()>=3022000 ){
      const char *zWant = sqlite3_vtab_collation(pInfo, i);
      const char *zHave = p->azColl[iCol] ? p->azColl[iCol] : "BINARY";
      if( zWant && sqlite3_stricmp(zWant, zHave)!=0 ) zCollate = zWant;
    }

    nArg++;
    pInfo->aConstraintUsage[i].argvIndex = nArg;
    /* NOTE: hosts before 3.22.0 cannot report an explicit COLLATE in the
    ** query, so the inner statement compares with the column's collation.
    ** There SQLite checks the constraint again, which keeps every row
    ** returned correct, but a row that only the other collation would
    ** accept is still missed. */
    pInfo->aConstraintUsage[i].omit = tenantHostVersion()>=3022000;

    if( pCons->op==SQLITE_INDEX_CONSTRAINT_ISNULL
     || pCons->op==SQLITE_INDEX_CONSTRAINT_ISNOTNULL ){
      /* No right-hand value: the parameter stays unused. */
      zIdx = sqlite3_mprintf("%z AND \"%w\" %s", zIdx, zCol, zOp);
    }else if( zCollate ){
      zIdx = sqlite3_mprintf("%z AND \"%w\" %s ?%d COLLATE \"%w\"",
                             zIdx, zCol, zOp, nArg+1, zCollate);
    }else{
      zIdx = sqlite3_mprintf("%z AND \"%w\" %s ?%d", zIdx, zCol, zOp, nArg+1);
    }
    if( zIdx==0 ) return SQLITE_NOMEM;

    if( iCol<0 && pCons->op==SQLITE_INDEX_CONSTRAINT_EQ ) bRowidEq = 1;
    if( iCol>=0 && !rowIsKeyColumn(p, iCol) ) nOther++;
  }

  /* 2. Walk the primary key: customer_id is always bound, equalities on
  ** the next columns narrow the scan, a range on the column after them
  ** narrows it less. */
  for(iKey=0; iKey<p->nKey; iKey++){
    int iCol = p->aiKey[iKey];
    int bEq = iCol==p->iCustomer;
    int bKeyEq = bEq;
    int nRange = 0;
    for(i=0; i<pInfo->nConstraint && !bKeyEq; i++){
      const struct sqlite3_index_constraint *pCons = &pInfo->aConstraint[i];
      if( !pCons->usable || pCons->iColumn!=iCol ) continue;
      if( rowIsEquality(pCons->op) ) bEq = 1;
      else if( rowIsRange(pCons->op) ) nRange++;
      if( rowIsKeyEquality(p, pInfo, i) ) bKeyEq = 1;
    }
    if( !bKeyEq ) bUnique = 0;
    if( bEq ){
      if( iCol!=p->iCustomer ) nScan /= 100.0;
      continue;
    }
    if( nRange>0 ) nScan /= (nRange>1 ? 16.0 : 4.0);
    break;
  }
  if( (p->nKey>0 && iKey==p->nKey && bUnique) || bRowidEq ){
    nScan = 1.0;
    bOneRow = 1;
    pInfo->idxFlags |= SQLITE_INDEX_SCAN_UNIQUE;
  }
  if( nScan<1.0 ) nScan = 1.0;
  nRow = nScan;
  for(i=0; i<nOther && nRow>1.0; i++) nRow /= 2.0;

  /* 3. ORDER BY: consumed when every term is a column of this table.
  ** SQLite passes only terms with the column's own collation. */
  if( pInfo->nOrderBy>0 ){
    int bAll = 1;
    for(i=0; i<pInfo->nOrderBy; i++){
      int iCol = pInfo->aOrderBy[i].iColumn;
      if( iCol<-1 || iCol>=p->nCol ){ bAll = 0; break; }
    }
    if( bAll ){
      for(i=0; i<pInfo->nOrderBy; i++){
        int iCol = pInfo->aOrderBy[i].iColumn;
        zIdx = sqlite3_mprintf("%z%s\"%w\"%s", zIdx,
                               i ? ", " : " ORDER BY ",
                               iCol<0 ? p->zRowid : p->azCol[iCol],
                               pInfo->aOrderBy[i].desc ? " DESC" : "");
        if( zIdx==0 ) return SQLITE_NOMEM;
      }
      pInfo->orderByConsumed = 1;
    }
  }

  /* 4. Columns: the inner statement selects only those the query may read
  ** (colUsed, 3.10.0, with bit 63 standing for every column from 63 on),
  ** so that COUNT(*) is answered from an index alone. The mask leads
  ** idxStr: "<16 hex digits>:<tail of the inner statement>". */
  zIdx = sqlite3_mprintf("%016llx:%z", (unsigned long long)pInfo->colUsed,
                         zIdx);
  if( zIdx==0 ) return SQLITE_NOMEM;

  /* 5. Counting: a scan that reads no column and binds no value, as the
  ** one of SELECT count(*) does, needs only the number of its rows. A '#'
  ** before idxStr makes the inner statement a count(*), which xNext then
  ** turns into that many rows without stepping anything. A LIMIT that
  ** SQLite passes down (3.38.0 and later) keeps the scan, which stops
  ** early.
  ** NOTE: older hosts pass no LIMIT, so there EXISTS (SELECT 1 FROM t)
  ** counts all of the customer's rows of t instead of reading one. */
  if( pInfo->colUsed==0 && nArg==0 && !bLimit ){
    zIdx = sqlite3_mprintf("#%z", zIdx);
    if( zIdx==0 ) return SQLITE_NOMEM;
  }

  pInfo->idxNum = bOneRow ? ROW_PLAN_ONE_ROW : 0;
  pInfo->idxStr = zIdx;
  pInfo->needToFreeIdxStr = 1;
  pInfo->estimatedCost = nScan + 10.0;
  pInfo->estimatedRows = (sqlite3_int64)nRow;
  return SQLITE_OK;
}

/* ---- xDisconnect, xDestroy --------------------------------------------- */

static int rowvtabDisconnect(sqlite3_vtab *pVtab){
  rowFree((RowVtab*)pVtab);
  return SQLITE_OK;
}

/* ---- cursors ----------------------------------------------------------- */

static int rowvtabOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCursor){
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
static void rowCursorFree(RowVtab *p, RowCursor *pCur){
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
static int rowvtabClose(sqlite3_vtab_cursor *pCursor){
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
** never mixes the rows of two customers.
*/
static int rowvtabFilter(
  sqlite3_vtab_cursor *pCursor,
  int idxNum, const char *idxStr,
  int argc, sqlite3_value **argv
){
  RowCursor *pCur = (RowCursor*)pCursor;
  RowVtab *p = (RowVtab*)pCursor->pVtab;
  const char *zCustomer = tenantSessionCustomer(p->pSession);
  int rc;

  pCur->bEof = 1;
  pCur->bOneRow = (idxNum & ROW_PLAN_ONE_ROW)!=0;
  p->bClosedRow = 0;
  if( zCustomer==0 || zCustomer[0]==0 ){
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
  if( rc!=SQLITE_OK || !pCur->bCount ) return rc;

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

static int rowvtabNext(sqlite3_vtab_cursor *pCursor){
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

static int rowvtabEof(sqlite3_vtab_cursor *pCursor){
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
static void rowResultColumn(sqlite3_context *pCtx, sqlite3_stmt *pStmt,
                            int iStmtCol){
  sqlite3_value *pVal = sqlite3_column_value(pStmt, iStmtCol);
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
    return SQLITE_OK;
  }
  pCur->bEof = 1;
  if( p->pReadCursor==pCur ) p->pReadCursor = 0;
  if( rc==SQLITE_DONE ) return SQLITE_OK;
  rc = sqlite3_reset(pCur->pStmt);
  rowCopyInnerError(p);
  return rc;
}

/* Column i of the virtual table is inner column aStmtCol[i]. A column the
** scan does not select stays NULL: colUsed shows that the query never reads it. */
static int rowvtabColumn(
  sqlite3_vtab_cursor *pCursor,
  sqlite3_context *pCtx,
  int i
){
  RowCursor *pCur = (RowCursor*)pCursor;
  assert( pCur->bEof==0 );  /* SQLite reads columns only on a row */
  assert( i>=0 );
  assert( i<pCur->nCol );
  if( pCur->aStmtCol[i]>0 ){
    rowResultColumn(pCtx, pCur->pStmt, pCur->aStmtCol[i]);
  }
  return SQLITE_OK;
}

static int rowvtabRowid(sqlite3_vtab_cursor *pCursor, sqlite_int64 *pRowid){
  RowCursor *pCur = (RowCursor*)pCursor;
  assert( pCur->bEof==0 );
  if( pCur->bCount ){
    int rc = rowCursorLeaveCount((RowVtab*)pCursor->pVtab, pCur);
    if( rc!=SQLITE_OK ) return rc;
  }
  *pRowid = sqlite3_column_int64(pCur->pStmt, 0);
  return SQLITE_OK;
}

/* ---- xRename ----------------------------------------------------------- */

static int rowvtabRename(sqlite3_vtab *pVtab, const char *zNew){
  RowVtab *p = (RowVtab*)pVtab;
  tenantSetError(&p->base.zErrMsg, "table \"%s\" cannot be renamed to \"%s\""
                 " in a session: rename it in every placement instead",
                 p->zTable, zNew);
  return SQLITE_ERROR;
}

/* ---- registration ------------------------------------------------------ */

int tenantRowRegister(sqlite3 *db, TenantSession *pSession){
  return sqlite3_create_module(db, TENANT_ROW_MODULE, &rowvtabModule,
                               pSession);
}
