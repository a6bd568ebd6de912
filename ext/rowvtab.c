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
** the customer's storage total (quota.c) in step with it. The cursors and
** the scans they run are in rowscan.c.
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
#include <string.h>

/* Estimated rows of one customer in a table: the planner's full scan. */
#define ROW_FULL_SCAN_ROWS 1000000.0

static int rowvtabCreate(sqlite3*, void*, int, const char *const*,
                         sqlite3_vtab**, char**);
static int rowvtabConnect(sqlite3*, void*, int, const char *const*,
                          sqlite3_vtab**, char**);
static int rowvtabBestIndex(sqlite3_vtab*, sqlite3_index_info*);
static int rowvtabDisconnect(sqlite3_vtab*);
static int rowvtabRename(sqlite3_vtab*, const char*);

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
  sqlite3_finalize(p->pBeginWrite);
  tenantQuotaTableClose(p->pQuota);
  rowShapeRelease(p->pShape);
  sqlite3_free(p->zTable);
  sqlite3_free(p->zSchema);
  sqlite3_free(p->zPartition);
  sqlite3_free(p->base.zErrMsg);
  sqlite3_free(p);
}

/* ---- xCreate, xConnect ------------------------------------------------- */

/* Set the error of a table that no partition of the session contains. */
static int rowReportUnreached(TenantSession *pSession, const char *zTable,
                              char **pzErr){
  tenantSetError(pzErr, "table \"%s\" is not in a partition that customer"
                 " \"%s\" reaches: check the table name", zTable,
                 tenantSessionCustomer(pSession));
  return SQLITE_ERROR;
}

/*
** argv[3] names the table. The real table's schema and partition come from
** the session, which returns an error for a table it does not reach.
** bCreate is true when called from xCreate, which only a session's
** binding runs.
*/
static int rowConnectTable(
  sqlite3 *db,
  TenantSession *pSession,
  int bCreate,
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
    rc = rowReportUnreached(pSession, p->zTable, pzErr);
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
  return rowConnectTable(db, (TenantSession*)pAux, 1, argc, argv, ppVtab,
                         pzErr);
}

static int rowvtabConnect(
  sqlite3 *db,
  void *pAux,
  int argc, const char *const*argv,
  sqlite3_vtab **ppVtab,
  char **pzErr
){
  return rowConnectTable(db, (TenantSession*)pAux, 0, argc, argv, ppVtab,
                         pzErr);
}

/*
** The checks that can fail xCreate are the session's lookup of the table
** and reading its shape (rowShapeAcquire), which also keeps the shape in
** the per-process cache. They run here on a table on the stack, for about
** a third of the instructions of building and freeing a whole one
** (callgrind, SQLite 3.40.1).
*/
int tenantRowCheck(sqlite3 *db, TenantSession *pSession, const char *zTable,
                   char **pzErr){
  RowVtab t;
  RowShape *pShape = 0;
  const char *zSchema = 0;
  const char *zPartition = 0;
  int bReadOnly = 0;
  int rc;

  if( tenantSessionLookupTable(pSession, zTable, &zSchema, &zPartition,
                               &bReadOnly)!=SQLITE_OK ){
    return rowReportUnreached(pSession, zTable, pzErr);
  }
  memset(&t, 0, sizeof(t));
  t.db = db;
  t.pSession = pSession;
  t.zTable = (char*)zTable;
  t.zSchema = (char*)zSchema;
  t.zPartition = (char*)(zPartition ? zPartition : "");
  t.bReadOnly = bReadOnly;
  rc = rowShapeAcquire(&t, 1, &pShape, pzErr);
  rowShapeRelease(pShape);
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
