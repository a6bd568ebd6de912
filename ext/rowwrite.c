/*
** The write path of the "tenant_row" isolation virtual table (rowvtab.c).
** It holds xUpdate, the INSERT, UPDATE and DELETE statements that xUpdate
** runs on the real table, and the checks before each write: the storage
** limit, and that the customer is still active in the catalog.
** The transaction methods keep the customer's storage total in step.
**
** Every write is stamped with the bound customer and carries
** "customer_id=?" in its WHERE clause. A customer_id that is not the bound
** customer, or a sapphire_parent_id that is not its parent, is rejected
** with SQLITE_CONSTRAINT. A write to a read-only partition fails with
** SQLITE_READONLY.
**
** LIMITATIONS: the rowid of a row cannot be set on insert or changed on
** update.
*/
#include "rowvtab.h"
SQLITE_EXTENSION_INIT3

#include <assert.h>
#include <string.h>

/* SQL keyword of a conflict mode from sqlite3_vtab_on_conflict(). */
static const char *rowConflictKeyword(int eMode){
  /* ROLLBACK and FAIL run as ABORT: the inner statement undoes its own row
  ** and the outer statement applies its mode to the SQLITE_CONSTRAINT
  ** that xUpdate returns. A nested statement must not end the transaction. */
  switch( eMode ){
    case SQLITE_IGNORE:  return "IGNORE";
    case SQLITE_REPLACE: return "REPLACE";
    default:             return "ABORT";
  }
}

/* Map a conflict mode onto a slot of apInsert/apUpdate. */
static int rowConflictSlot(int eMode){
  if( eMode==SQLITE_IGNORE || eMode==SQLITE_REPLACE ) return eMode;
  return SQLITE_ABORT;
}

/* ---- xUpdate ----------------------------------------------------------- */

/*
** Prepare the write statement of one kind on first use: 'I'nsert,
** 'U'pdate or 'D'elete. Insert binds the columns
** to ?1..?nCol. Update binds the columns to ?1..?nCol (customer_id is
** bound but not assigned), the rowid to ?nCol+1 and the customer to
** ?nCol+2. Delete binds the rowid to ?1 and the customer to ?2.
*/
static int rowWriteStmt(RowVtab *p, int eKind, int eMode,
                        sqlite3_stmt **ppStmt){
  sqlite3_stmt **pp;
  char *zSql = 0;
  char *zList;
  int rc;
  int i;

  if( eKind=='I' ) pp = &p->apInsert[rowConflictSlot(eMode)];
  else if( eKind=='U' ) pp = &p->apUpdate[rowConflictSlot(eMode)];
  else pp = &p->pDelete;
  if( *pp ){
    *ppStmt = *pp;
    return SQLITE_OK;
  }

  zList = sqlite3_mprintf("%s", "");
  if( eKind=='I' ){
    char *zValues = sqlite3_mprintf("%s", "");
    for(i=0; zList && zValues && i<p->nCol; i++){
      zList = sqlite3_mprintf("%z%s\"%w\"", zList, i ? ", " : "", p->azCol[i]);
      if( p->azDflt[i] ){
        zValues = sqlite3_mprintf("%z%scoalesce(?%d, %s)", zValues,
                                  i ? ", " : "", i+1, p->azDflt[i]);
      }else{
        zValues = sqlite3_mprintf("%z%s?%d", zValues, i ? ", " : "", i+1);
      }
    }
    if( zList && zValues ){
      zSql = sqlite3_mprintf("INSERT OR %s INTO \"%w\".\"%w\"(%s)"
                             " VALUES(%s)", rowConflictKeyword(eMode),
                             p->zSchema, p->zTable, zList, zValues);
    }
    sqlite3_free(zValues);
  }else if( eKind=='U' ){
    int bFirst = 1;
    for(i=0; zList && i<p->nCol; i++){
      if( i==p->iCustomer ) continue;
      zList = sqlite3_mprintf("%z%s\"%w\"=?%d", zList, bFirst ? "" : ", ",
                              p->azCol[i], i+1);
      bFirst = 0;
    }
    if( zList && bFirst ){
      /* Only customer_id: nothing to assign, so assign it to itself. */
      zList = sqlite3_mprintf("%z\"%w\"=\"%w\"", zList,
                              p->azCol[p->iCustomer], p->azCol[p->iCustomer]);
    }
    if( zList ){
      zSql = sqlite3_mprintf("UPDATE OR %s \"%w\".\"%w\" SET %s"
                             " WHERE %s=?%d AND \"%w\"=?%d",
                             rowConflictKeyword(eMode), p->zSchema, p->zTable,
                             zList, p->zRowid, p->nCol+1,
                             p->azCol[p->iCustomer], p->nCol+2);
    }
  }else{
    zSql = sqlite3_mprintf("DELETE FROM \"%w\".\"%w\" WHERE %s=?1 AND"
                           " \"%w\"=?2", p->zSchema, p->zTable, p->zRowid,
                           p->azCol[p->iCustomer]);
  }
  sqlite3_free(zList);
  if( zSql==0 ) return SQLITE_NOMEM;

  rc = rowPrepare(p, zSql, pp);
  sqlite3_free(zSql);
  if( rc!=SQLITE_OK ){
    rowCopyInnerError(p);
    *pp = 0;
    return rc;
  }
  *ppStmt = *pp;
  return SQLITE_OK;
}

/*
** Bind argument pArg of xUpdate to parameter iParam without a copy. This is
** safe because rowRunWrite() clears the bindings before xUpdate returns.
** An empty blob is bound as a zero-length blob, because a NULL pointer
** would bind NULL.
*/
static int rowBindArgument(sqlite3_stmt *pStmt, int iParam, sqlite3_value *pArg){
  const void *z;
  int n;

  switch( sqlite3_value_type(pArg) ){
    case SQLITE_TEXT:
      z = sqlite3_value_text(pArg);  /* before _bytes(): the UTF-8 size */
      if( z==0 ) return SQLITE_NOMEM;
      n = sqlite3_value_bytes(pArg);
      return sqlite3_bind_text(pStmt, iParam, (const char*)z, n,
                               SQLITE_STATIC);
    case SQLITE_BLOB:
      n = sqlite3_value_bytes(pArg);
      if( n==0 ) return sqlite3_bind_zeroblob(pStmt, iParam, 0);
      z = sqlite3_value_blob(pArg);
      if( z==0 ) return SQLITE_NOMEM;
      return sqlite3_bind_blob(pStmt, iParam, z, n, SQLITE_STATIC);
    default:
      return sqlite3_bind_value(pStmt, iParam, pArg);
  }
}

/* Run a bound write statement, reset it and copy any error text. */
static int rowRunWrite(RowVtab *p, sqlite3_stmt *pStmt){
  int rc;

  p->bInnerWrite = 1;
  rc = rowStep(p, pStmt);
  p->bInnerWrite = 0;
  if( rc==SQLITE_DONE ){
    sqlite3_reset(pStmt);
    sqlite3_clear_bindings(pStmt);
    return SQLITE_OK;
  }
  rc = rowInnerErrorCode(p, sqlite3_reset(pStmt));
  rowCopyInnerError(p);
  sqlite3_clear_bindings(pStmt);
  return rc==SQLITE_OK ? SQLITE_ERROR : rc;
}

/* Run a write statement if its binding ended with SQLITE_OK in rc.
** Otherwise clear the bindings and report the failure. */
static int rowRunBound(RowVtab *p, sqlite3_stmt *pStmt, int rc){
  if( rc==SQLITE_OK ) return rowRunWrite(p, pStmt);
  sqlite3_clear_bindings(pStmt);
  tenantSetError(&p->base.zErrMsg, "binding a value for table \"%s\""
                 " failed: %s", p->zTable, sqlite3_errstr(rc));
  return rc;
}

/*
** A statement that writes several rows through the virtual table (INSERT
** ... SELECT, a multi-row VALUES, an UPDATE or DELETE of several rows) runs
** in a statement savepoint inside a transaction, and SQLite reports that
** savepoint to xSavepoint. If the statement fails part way, SQLite rolls
** every file back to it, but a file's pager rolls back only the savepoints
** it has open, and the savepoint was opened before any row reached the
** real file.
**
** An inner INSERT ... SELECT in conflict mode ABORT counts as a multi-row
** write that may abort, so SQLite gives it a statement journal of its own.
** Its pager then opens every savepoint below the inner one, the outer
** statement's among them, and keeps them after the inner statement ends.
** The inner writes themselves (INSERT ... VALUES, UPDATE and DELETE of one
** row) open none: they are atomic on their own and cheaper, since a
** statement journal copies each page it changes, which SQLCipher also
** encrypts.
**
** So before the first write after a new savepoint, rowOpenFileSavepoints()
** runs an INSERT ... SELECT that selects no row; it writes nothing, and the
** open savepoints then cover the writes that follow. nFileSavepoint counts
** the savepoints that the real file's pager has open. rowvtabSavepoint
** sets it when an inner statement that opens its statement journal calls
** it, and xRelease and xRollbackTo lower it. Both hosts (SQLite 3.15.2 and
** 3.40) behave so: t_isolation.c, t_limits.c and t_quota.c fail statements
** part way in several contexts and conflict modes and check that no row
** stays. The statement is always in mode ABORT, because in mode IGNORE
** SQLite 3.15.2 opens no statement journal for it.
*/
static int rowNeedsFileSavepoint(RowVtab *p){
  return p->nSavepoint>p->nFileSavepoint;
}

/*
** Run a statement of the real table that writes no row, prepared on first
** use. Both begin a write transaction on the real file. With bJournal, an
** INSERT OR ABORT ... SELECT of no row also opens the savepoints that
** SQLite has reported; rowOpenFileSavepoints() runs it before a write that
** needs them (see rowNeedsFileSavepoint). Without it, a multi-row statement
** that failed part way inside a transaction kept the rows written before
** the failing one, while the storage total rolled back. Without bJournal, a
** DELETE ... WHERE 0 opens no statement journal, which makes it about
** 25,000 instructions cheaper, for rowvtabBegin.
*/
static int rowRunNoRow(RowVtab *p, int bJournal){
  sqlite3_stmt **pp = bJournal ? &p->pOpenSavepoint : &p->pBeginWrite;
  if( *pp==0 ){
    char *zSql;
    int rc;
    if( bJournal ){
      zSql = sqlite3_mprintf("INSERT OR ABORT INTO \"%w\".\"%w\" SELECT * FROM"
                             " \"%w\".\"%w\" WHERE 0", p->zSchema, p->zTable,
                             p->zSchema, p->zTable);
    }else{
      zSql = sqlite3_mprintf("DELETE FROM \"%w\".\"%w\" WHERE 0", p->zSchema,
                             p->zTable);
    }
    if( zSql==0 ) return SQLITE_NOMEM;
    rc = rowPrepare(p, zSql, pp);
    sqlite3_free(zSql);
    if( rc!=SQLITE_OK ){
      rowCopyInnerError(p);
      return rc;
    }
  }
  return rowRunWrite(p, *pp);
}

static int rowOpenFileSavepoints(RowVtab *p){
  if( !rowNeedsFileSavepoint(p) ) return SQLITE_OK;
  return rowRunNoRow(p, 1);
}

/* True when v is the text zCustomer exactly. */
static int rowIsCustomer(sqlite3_value *v, const char *zCustomer){
  const unsigned char *z;
  if( sqlite3_value_type(v)!=SQLITE_TEXT ) return 0;
  z = sqlite3_value_text(v);
  return z && strcmp((const char*)z, zCustomer)==0;
}

/*
** Start the storage accounting of p on its first write rather than when the
** table connects. A session creates a dozen isolation tables and writes few
** of them. Reading a table's indexes and defaults for the accounting took
** about half the time of connecting it (perf, Opal session opens).
*/
static int rowQuotaOpen(RowVtab *p){
  int rc;

  if( p->bQuotaOpen ) return SQLITE_OK;
  rc = tenantQuotaTableOpen(p->db, p->pSession, p->zSchema, p->zTable,
                            &p->pQuota, &p->base.zErrMsg);
  if( rc==SQLITE_OK ) p->bQuotaOpen = 1;
  return rc;
}

/*
** Check, once per transaction, that the customer is still active, in a
** session bound with TENANT_METER=off. A metered session makes this check
** as it reads the limit (tenantQuotaCheck). Without it, a session left
** open across tenant_decommission() could write rows that the customer,
** provisioned again, would find.
*/
static int rowCheckActive(RowVtab *p){
  int rc;

  if( p->bActiveChecked ) return SQLITE_OK;
  rc = tenantSessionCheckActive(p->pSession, &p->base.zErrMsg);
  if( rc==SQLITE_OK ) p->bActiveChecked = 1;
  return rc;
}

/*
** Measure the change in the customer's storage that a write makes and
** check it against the limit, before the write. eKind is 'I'nsert,
** 'U'pdate or 'D'elete, and eMode the conflict mode. Sets *pnDelta for
** rowQuotaRecord(). The change is the new row, less the row it updates,
** less in mode REPLACE the rows that conflict with it, which the write
** deletes. Without storage accounting, only check that the customer is
** still active.
*/
static int rowQuotaCheck(RowVtab *p, int eKind, int eMode,
                         sqlite3_value **argv, const char *zCustomer,
                         sqlite3_int64 *pnDelta){
  sqlite3_int64 nOld = 0;
  sqlite3_int64 nNew = 0;
  sqlite3_int64 nReplaced = 0;
  int rc;

  *pnDelta = 0;
  rc = rowQuotaOpen(p);
  if( rc!=SQLITE_OK ) return rc;
  if( p->pQuota==0 ){
    rowReadRowBytes(p, 0, &nOld);   /* clears the row read before */
    return rowCheckActive(p);
  }
  if( eKind!='I'
   && !rowReadRowBytes(p, sqlite3_value_int64(argv[0]), &nOld) ){
    rc = tenantQuotaStoredRowBytes(p->pQuota, argv[0], zCustomer, &nOld);
    if( rc!=SQLITE_OK ){
      rowCopyInnerError(p);
      return rc;
    }
  }
  if( eKind!='D' && eMode==SQLITE_REPLACE ){
    rc = tenantQuotaReplacedBytes(p->pQuota, eKind=='I' ? 0 : argv[0],
                                  &argv[2], zCustomer, &nReplaced);
    if( rc!=SQLITE_OK ){
      rowCopyInnerError(p);
      return rc;
    }
    nOld += nReplaced;
  }
  if( eKind!='D' ){
    /* A NULL in a NOT NULL column with a DEFAULT is stored as the default
    ** by an insert, and by an update in conflict mode REPLACE. */
    nNew = tenantQuotaRowBytes(p->pQuota, &argv[2],
                               eKind=='I' || eMode==SQLITE_REPLACE);
  }
  rc = tenantQuotaCheck(p->pQuota, zCustomer, nNew-nOld, &p->base.zErrMsg);
  if( rc==SQLITE_OK ) *pnDelta = nNew-nOld;
  return rc;
}

/*
** Check a write of kind eKind against the storage limit and the
** customer's state, open the real file's savepoints and return its
** statement in *ppStmt, in that order, so that a rejected write opens
** nothing.
*/
static int rowWriteBegin(RowVtab *p, int eKind, int eMode,
                         sqlite3_value **argv, const char *zCustomer,
                         sqlite3_int64 *pnDelta, sqlite3_stmt **ppStmt){
  int rc = rowQuotaCheck(p, eKind, eMode, argv, zCustomer, pnDelta);
  if( rc==SQLITE_OK ) rc = rowOpenFileSavepoints(p);
  if( rc==SQLITE_OK ) rc = rowWriteStmt(p, eKind, eMode, ppStmt);
  return rc;
}

/* Count a write's change once it has succeeded, unless it changed no row
** (a delete of a missing row, INSERT OR IGNORE that ignored). */
static void rowQuotaRecord(RowVtab *p, sqlite3_int64 nDelta){
  if( p->pQuota && sqlite3_changes(p->db)>0 ){
    tenantQuotaRecord(p->pQuota, nDelta);
  }
}

/*
** Write one row of the bound customer. argc==1: delete argv[0]. argv[0]
** NULL: insert. Otherwise update row argv[0] to the values argv[2..].
*/
int rowvtabUpdate(
  sqlite3_vtab *pVtab,
  int argc, sqlite3_value **argv,
  sqlite_int64 *pRowid
){
  RowVtab *p = (RowVtab*)pVtab;
  const char *zCustomer = tenantSessionCustomer(p->pSession);
  const char *zParent = tenantSessionParent(p->pSession);
  int eMode = sqlite3_vtab_on_conflict(p->db);
  sqlite3_stmt *pStmt = 0;
  sqlite3_int64 nDelta = 0;
  int rc;
  int i;

  if( zCustomer==0 || zCustomer[0]==0 ){
    tenantSetError(&p->base.zErrMsg, "table \"%s\" cannot be written without"
                   " a bound customer: bind the connection first", p->zTable);
    return SQLITE_ERROR;
  }
  if( p->bReadOnly ){
    /* Only an Opal or Onyx customer reaches a read-only partition: one
    ** that lives in its parent's database, which the parent writes. */
    tenantSetError(&p->base.zErrMsg, "partition \"%s\" is read-only for"
                   " customer \"%s\": it lives in the database of its parent"
                   " \"%s\", which writes it", p->zPartition, zCustomer,
                   tenantSessionParent(p->pSession));
    return SQLITE_READONLY;
  }

  /* Delete. */
  if( argc==1 ){
    rc = rowWriteBegin(p, 'D', eMode, argv, zCustomer, &nDelta, &pStmt);
    if( rc!=SQLITE_OK ) return rc;
    rc = sqlite3_bind_value(pStmt, 1, argv[0]);
    if( rc==SQLITE_OK ){
      rc = sqlite3_bind_text(pStmt, 2, zCustomer, -1, SQLITE_STATIC);
    }
    rc = rowRunBound(p, pStmt, rc);
    if( rc==SQLITE_OK ) rowQuotaRecord(p, nDelta);
    return rc;
  }
  assert( argc==p->nCol+2 );  /* old rowid, new rowid, then every column */

  /* The customer_id of a new or changed row must be the bound customer. A
  ** new row may leave it NULL to have it stamped. */
  if( !rowIsCustomer(argv[2+p->iCustomer], zCustomer)
   && (sqlite3_value_type(argv[0])!=SQLITE_NULL
       || sqlite3_value_type(argv[2+p->iCustomer])!=SQLITE_NULL) ){
    sqlite3_value *pGiven = argv[2+p->iCustomer];
    int bBlob = sqlite3_value_type(pGiven)==SQLITE_BLOB;  /* before _text() */
    const char *zGiven = (const char*)sqlite3_value_text(pGiven);
    if( bBlob ){
      /* A blob may hold the customer's bytes, but it is not text. */
      tenantSetError(&p->base.zErrMsg, "customer_id is a blob, not the text"
                     " of the bound customer \"%s\": leave customer_id out"
                     " or set it to \"%s\"", zCustomer, zCustomer);
    }else{
      tenantSetError(&p->base.zErrMsg, "customer_id \"%s\" is not the bound"
                     " customer \"%s\": leave customer_id out or set it to"
                     " \"%s\"", zGiven ? zGiven : "NULL", zCustomer,
                     zCustomer);
    }
    sqlite3_log(SQLITE_AUTH, "tenant: customer \"%s\" tried to write"
                " customer_id \"%s\" into table \"%s\"", zCustomer,
                zGiven ? zGiven : "NULL", p->zTable);
    return SQLITE_CONSTRAINT;
  }

  /* sapphire_parent_id names the customer's parent: a row may leave it
  ** NULL to have it stamped, and may not name another Sapphire. */
  if( p->iParent>=0
   && sqlite3_value_type(argv[2+p->iParent])!=SQLITE_NULL
   && !rowIsCustomer(argv[2+p->iParent], zParent) ){
    const char *zGiven = (const char*)sqlite3_value_text(argv[2+p->iParent]);
    tenantSetError(&p->base.zErrMsg, "sapphire_parent_id \"%s\" is not the"
                   " parent of customer \"%s\": leave it out or set it to"
                   " \"%s\"", zGiven ? zGiven : "", zCustomer, zParent);
    return SQLITE_CONSTRAINT;
  }

  /* Insert. */
  if( sqlite3_value_type(argv[0])==SQLITE_NULL ){
    if( sqlite3_value_type(argv[1])!=SQLITE_NULL ){
      tenantSetError(&p->base.zErrMsg, "rowid cannot be set on an insert into"
                     " table \"%s\": leave the rowid out", p->zTable);
      return SQLITE_CONSTRAINT;
    }
    rc = rowWriteBegin(p, 'I', eMode, argv, zCustomer, &nDelta, &pStmt);
    if( rc!=SQLITE_OK ) return rc;
    /* The session's strings outlive this call, and rowRunWrite clears the
    ** bindings before it returns, so they are bound without a copy. */
    for(i=0; rc==SQLITE_OK && i<p->nCol; i++){
      if( i==p->iCustomer ){
        rc = sqlite3_bind_text(pStmt, i+1, zCustomer, -1, SQLITE_STATIC);
      }else if( i==p->iParent
             && sqlite3_value_type(argv[2+i])==SQLITE_NULL ){
        rc = sqlite3_bind_text(pStmt, i+1, zParent, -1, SQLITE_STATIC);
      }else{
        rc = rowBindArgument(pStmt, i+1, argv[2+i]);
      }
    }
    rc = rowRunBound(p, pStmt, rc);
    if( rc==SQLITE_OK ){
      rowQuotaRecord(p, nDelta);
      *pRowid = sqlite3_last_insert_rowid(p->db);
    }
    return rc;
  }

  /* Update. */
  if( sqlite3_value_type(argv[1])!=SQLITE_INTEGER
   || sqlite3_value_int64(argv[0])!=sqlite3_value_int64(argv[1]) ){
    tenantSetError(&p->base.zErrMsg, "rowid cannot be changed in table"
                   " \"%s\": insert a new row instead", p->zTable);
    return SQLITE_CONSTRAINT;
  }
  rc = rowWriteBegin(p, 'U', eMode, argv, zCustomer, &nDelta,
                     &pStmt);
  if( rc!=SQLITE_OK ) return rc;
  for(i=0; rc==SQLITE_OK && i<p->nCol; i++){
    if( i==p->iCustomer ) continue;
    if( i==p->iParent && sqlite3_value_type(argv[2+i])==SQLITE_NULL ){
      rc = sqlite3_bind_text(pStmt, i+1, zParent, -1, SQLITE_STATIC);
    }else{
      rc = rowBindArgument(pStmt, i+1, argv[2+i]);
    }
  }
  if( rc==SQLITE_OK ) rc = sqlite3_bind_value(pStmt, p->nCol+1, argv[0]);
  if( rc==SQLITE_OK ){
    rc = sqlite3_bind_text(pStmt, p->nCol+2, zCustomer, -1, SQLITE_STATIC);
  }
  rc = rowRunBound(p, pStmt, rc);
  if( rc==SQLITE_OK ) rowQuotaRecord(p, nDelta);
  return rc;
}

/* ---- transactions ------------------------------------------------------ */

/*
** The module keeps no transaction state of its own: the inner statements
** join the connection's transaction. These methods keep the storage total
** of the customer (quota.c) in step with it, and write it to the file's
** tenant_usage table in xSync, before the commit. They also count the
** open savepoints for rowNeedsFileSavepoint. SQLite numbers savepoints
** from 0, and xSavepoint(i) opens savepoint i when the table joins a
** transaction late.
*/
/*
** Begin the write transaction of the real file before the statement reads
** it. A connection that holds a read transaction and then requests the
** write lock gets SQLITE_BUSY at once, without its busy handler, whenever
** another connection writes the file. The scan of an UPDATE and the
** storage check of every write read the file first. A write transaction
** begun first waits for the lock up to the busy timeout, as a plain INSERT
** does.
*/
int rowvtabBegin(sqlite3_vtab *pVtab){
  RowVtab *p = (RowVtab*)pVtab;
  int rc;
  p->nSavepoint = 0;
  p->nFileSavepoint = 0;
  p->bWriting = 1;
  rc = p->bReadOnly ? SQLITE_OK : rowRunNoRow(p, 0);
  if( rc==SQLITE_OK ) rc = rowQuotaOpen(p);
  return rc;
}

int rowvtabSync(sqlite3_vtab *pVtab){
  RowVtab *p = (RowVtab*)pVtab;
  if( p->pQuota==0 ) return SQLITE_OK;
  return tenantQuotaSync(p->pQuota, &p->base.zErrMsg);
}

int rowvtabEnd(sqlite3_vtab *pVtab){
  RowVtab *p = (RowVtab*)pVtab;
  p->pReadCursor = 0;
  p->bClosedRow = 0;
  p->nSavepoint = 0;
  p->nFileSavepoint = 0;
  p->bActiveChecked = 0;
  p->bWriting = 0;
  if( p->pQuota ) tenantQuotaEnd(p->pQuota);
  return SQLITE_OK;
}

int rowvtabSavepoint(sqlite3_vtab *pVtab, int iSavepoint){
  RowVtab *p = (RowVtab*)pVtab;

  /* An inner write that opens a statement journal reports it here before
  ** its pager opens savepoints 0..iSavepoint. When the inner statement
  ** ends, the savepoints below its own stay open. */
  if( p->bInnerWrite && iSavepoint>=p->nSavepoint ){
    p->nFileSavepoint = iSavepoint;
  }
  p->nSavepoint = iSavepoint+1;
  if( p->pQuota ) tenantQuotaSavepoint(p->pQuota, iSavepoint);
  return SQLITE_OK;
}

int rowvtabRelease(sqlite3_vtab *pVtab, int iSavepoint){
  RowVtab *p = (RowVtab*)pVtab;
  if( p->nSavepoint>iSavepoint ) p->nSavepoint = iSavepoint;
  if( p->nFileSavepoint>iSavepoint ) p->nFileSavepoint = iSavepoint;
  if( p->pQuota ) tenantQuotaRelease(p->pQuota, iSavepoint);
  return SQLITE_OK;
}

int rowvtabRollbackTo(sqlite3_vtab *pVtab, int iSavepoint){
  RowVtab *p = (RowVtab*)pVtab;

  /* ROLLBACK TO keeps savepoint iSavepoint open, and with it the pager's. */
  p->nSavepoint = iSavepoint+1;
  if( p->nFileSavepoint>iSavepoint+1 ) p->nFileSavepoint = iSavepoint+1;
  if( p->pQuota ) tenantQuotaRollbackTo(p->pQuota, iSavepoint);
  return SQLITE_OK;
}

