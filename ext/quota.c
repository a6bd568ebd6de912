/*
** Storage accounting and storage limits.
**
** Shared placements (Opal and Onyx owner files) keep, in each file, a table
**
**     tenant_usage(customer_id TEXT PRIMARY KEY, bytes INTEGER)
**
** with the estimated bytes of each customer's rows and index entries. The
** isolation virtual table (rowvtab.c) measures every row it inserts,
** changes or deletes, checks the change against the customer's limit before
** it writes, and adds it to a running total per file and connection. The
** total is written to tenant_usage from the virtual table's xSync, inside
** the transaction that wrote the rows, so a crash or a rollback can never
** leave tenant_usage out of step with the rows. Savepoints, and statement
** rollbacks that reach the virtual table through xRollbackTo, restore the
** running total with the rows.
**
** The estimate of one row is deterministic and computed the same way from
** the values being written and, by tenant_storage_check(), from the stored
** rows:
**
**     bytes = 24 + 12 * (number of indexes of the table)
**           + sum over columns of (1 + indexes containing the column)
**                                * length(CAST(value AS BLOB))
**
** where length(CAST(value AS BLOB)) is 0 for NULL, the byte length of text
** and blobs, and the length of the text SQLite renders for a number. The
** values are taken after the column's affinity, and a NULL written into a
** NOT NULL column with a DEFAULT counts as that default.
**
** Dedicated placements (Sapphire) are measured by the size of their files
** (quotameasure.c), and the VFS stops their databases from growing past
** the limit (quotadisk.c).
**
** LIMITATIONS: a numeric text written into a numeric column is converted
** as SQLite does, but text with surrounding spaces or hexadecimal integers
** may be counted with a few bytes of difference, which
** tenant_storage_check() then reports. A write in conflict mode REPLACE
** subtracts the rows it replaces on the primary key and the UNIQUE
** indexes, but not on a partial or expression index. Files of fleets
** provisioned before tenant_usage existed get an empty tenant_usage on the
** first binding, so their rows written earlier are not counted.
** tenant_storage_repair() sets a customer's total to the recomputed one.
*/
#include "tenant_int.h"
SQLITE_EXTENSION_INIT3

#include <assert.h>
#include <string.h>
#include <time.h>

#define QUOTA_ROW_OVERHEAD   24   /* bytes per row: cell, header, rowid */
#define QUOTA_INDEX_OVERHEAD 12   /* bytes per index entry besides keys */
#define QUOTA_LIMIT_TTL      1.0  /* seconds a limit read from the catalog
                                  ** is used before it is read again */

/* Column affinities, as SQLite derives them from the declared type. */
#define QUOTA_AFF_BLOB    'A'
#define QUOTA_AFF_TEXT    'B'
#define QUOTA_AFF_NUMERIC 'C'
#define QUOTA_AFF_INTEGER 'D'
#define QUOTA_AFF_REAL    'E'

/*
** The running storage total of one shared file on one connection. Every
** isolation table of that file on that connection points to it. Members
** below nRef are set at creation; the others belong to the transaction.
*/
typedef struct QuotaFile QuotaFile;
struct QuotaFile {
  sqlite3 *db;                  /* session connection */
  TenantSession *pSession;
  char *zSchema;                /* secret schema name of the file */
  int nRef;                     /* isolation tables using this state */
  int bInTxn;                   /* limit and base read in this transaction */
  int bLimitRead;               /* iLimit and zTier were read at tLimitRead */
  double tLimitRead;            /* monotonic seconds */
  sqlite3_int64 nLimitWrites;   /* tenantCatalogWrites() at tLimitRead */
  sqlite3_int64 iLimit;         /* limit of the customer's tier, -1: none */
  sqlite3_int64 iBase;          /* tenant_usage.bytes at transaction start */
  sqlite3_int64 iDelta;         /* change not yet written to tenant_usage */
  char zTier[16];               /* tier of the customer, for messages */
  int nSave;                    /* savepoint levels in aSave */
  int nSaveAlloc;
  sqlite3_int64 *aSave;         /* iDelta when each savepoint opened */
  sqlite3_stmt *pRead;          /* SELECT bytes of one customer */
  sqlite3_stmt *pInit;          /* INSERT the customer's first row */
  sqlite3_stmt *pAdd;           /* UPDATE bytes=bytes+? */
  QuotaFile *pNext;
};

/* One isolation table's view of its real table: how to measure a row. */
struct TenantQuotaTable {
  QuotaFile *pFile;
  int nCol;
  char *aAff;                   /* affinity of each column */
  int *aWeight;                 /* 1 + indexes that contain the column */
  sqlite3_int64 *aDefault;      /* bytes of the DEFAULT, -1 when none */
  sqlite3_int64 nFixed;         /* row and index overhead */
  int iCustomer;                /* the customer_id column */
  int iParent;                  /* sapphire_parent_id, or -1 */
  char *zTable;
  sqlite3_stmt *pOld;           /* estimate of one stored row */
  char *azReplaceSql[2];        /* rows a REPLACE removes: [0] for an
                                ** UPDATE, [1] for an INSERT; NULL when
                                ** the table has no usable unique key */
  sqlite3_stmt *apReplace[2];   /* azReplaceSql[], prepared on first use */
};

/* Every QuotaFile of the process, guarded by SQLITE_MUTEX_STATIC_APP3. */
static QuotaFile *quotaFileList = 0;

static sqlite3_mutex *quotaMutex(void){
  return sqlite3_mutex_alloc(SQLITE_MUTEX_STATIC_APP3);
}

/* ---- the estimate ----------------------------------------------------- */

/* Affinity of a declared type, by the rules of SQLite's datatype page. */
static char quotaAffinity(const char *zType){
  char zUp[64];
  int i;
  if( zType==0 || zType[0]==0 ) return QUOTA_AFF_BLOB;
  for(i=0; zType[i] && i<(int)sizeof(zUp)-1; i++){
    char c = zType[i];
    zUp[i] = (c>='a' && c<='z') ? (char)(c-'a'+'A') : c;
  }
  zUp[i] = 0;
  if( strstr(zUp, "INT") ) return QUOTA_AFF_INTEGER;
  if( strstr(zUp, "CHAR") || strstr(zUp, "CLOB") || strstr(zUp, "TEXT") ){
    return QUOTA_AFF_TEXT;
  }
  if( strstr(zUp, "BLOB") ) return QUOTA_AFF_BLOB;
  if( strstr(zUp, "REAL") || strstr(zUp, "FLOA") || strstr(zUp, "DOUB") ){
    return QUOTA_AFF_REAL;
  }
  return QUOTA_AFF_NUMERIC;
}

/* Length of the text SQLite renders for an integer or a real. */
static sqlite3_int64 quotaIntBytes(sqlite3_int64 i){
  sqlite3_uint64 u = i<0 ? (sqlite3_uint64)0 - (sqlite3_uint64)i
                         : (sqlite3_uint64)i;
  sqlite3_int64 n = i<0 ? 2 : 1;
  while( u>=10 ){
    u /= 10;
    n++;
  }
  return n;
}
static sqlite3_int64 quotaRealBytes(double r){
  char z[64];
  sqlite3_snprintf(sizeof(z), z, "%!.15g", r);
  return (sqlite3_int64)strlen(z);
}

/* Bytes of a REAL r stored under affinity eAff: NUMERIC and INTEGER
** columns store an integral real as an integer. */
static sqlite3_int64 quotaStoredRealBytes(double r, char eAff){
  if( (eAff==QUOTA_AFF_INTEGER || eAff==QUOTA_AFF_NUMERIC)
   && r>-9.2e18 && r<9.2e18 && r==(double)(sqlite3_int64)r ){
    return quotaIntBytes((sqlite3_int64)r);
  }
  return quotaRealBytes(r);
}

/* length(CAST(v AS BLOB)) of v once stored under affinity eAff. */
static sqlite3_int64 quotaValueBytes(sqlite3_value *v, char eAff){
  switch( sqlite3_value_type(v) ){
    case SQLITE_NULL:
      return 0;
    case SQLITE_INTEGER:
      if( eAff==QUOTA_AFF_REAL ){
        return quotaRealBytes((double)sqlite3_value_int64(v));
      }
      return quotaIntBytes(sqlite3_value_int64(v));
    case SQLITE_FLOAT:
      return quotaStoredRealBytes(sqlite3_value_double(v), eAff);
    case SQLITE_TEXT:
      if( eAff==QUOTA_AFF_INTEGER || eAff==QUOTA_AFF_NUMERIC
       || eAff==QUOTA_AFF_REAL ){
        /* A numeric text becomes a number: convert a copy, because
        ** sqlite3_value_numeric_type() changes the value it is given. */
        sqlite3_value *pCopy = sqlite3_value_dup(v);
        sqlite3_int64 n = sqlite3_value_bytes(v);
        if( pCopy ){
          int eType = sqlite3_value_numeric_type(pCopy);
          if( eType==SQLITE_INTEGER ){
            n = eAff==QUOTA_AFF_REAL
              ? quotaRealBytes((double)sqlite3_value_int64(pCopy))
              : quotaIntBytes(sqlite3_value_int64(pCopy));
          }else if( eType==SQLITE_FLOAT ){
            n = quotaStoredRealBytes(sqlite3_value_double(pCopy), eAff);
          }
          sqlite3_value_free(pCopy);
        }
        return n;
      }
      return sqlite3_value_bytes(v);
    default:
      return sqlite3_value_bytes(v);
  }
}

sqlite3_int64 tenantQuotaRowBytes(TenantQuotaTable *p, sqlite3_value **apVal,
                                  int bDefault){
  sqlite3_int64 n = p->nFixed;
  int i;
  for(i=0; i<p->nCol; i++){
    sqlite3_int64 nVal;
    if( i==p->iCustomer ){
      /* The isolation table stamps the bound customer on every row. */
      nVal = (sqlite3_int64)strlen(tenantSessionCustomer(p->pFile->pSession));
    }else if( i==p->iParent && sqlite3_value_type(apVal[i])==SQLITE_NULL ){
      /* ... and the customer's parent where the row names none. */
      nVal = (sqlite3_int64)strlen(tenantSessionParent(p->pFile->pSession));
    }else if( bDefault && p->aDefault[i]>=0
     && sqlite3_value_type(apVal[i])==SQLITE_NULL ){
      nVal = p->aDefault[i];
    }else{
      nVal = quotaValueBytes(apVal[i], p->aAff[i]);
    }
    n += p->aWeight[i]*nVal;
  }
  return n;
}

/* length(CAST(v AS BLOB)) of a value read back from the file, where the
** column's affinity has already been applied. */
static sqlite3_int64 quotaStoredValueBytes(sqlite3_value *v){
  switch( sqlite3_value_type(v) ){
    case SQLITE_NULL:    return 0;
    case SQLITE_INTEGER: return quotaIntBytes(sqlite3_value_int64(v));
    case SQLITE_FLOAT:   return quotaRealBytes(sqlite3_value_double(v));
    default:             return sqlite3_value_bytes(v);
  }
}

sqlite3_int64 tenantQuotaStmtRowBytes(TenantQuotaTable *p, int nCol,
                                      sqlite3_stmt *pStmt,
                                      const int *aStmtCol){
  sqlite3_int64 n = p->nFixed;
  int i;
  if( nCol!=p->nCol ) return -1;
  for(i=0; i<nCol; i++){
    if( aStmtCol[i]<0 ) return -1;
    n += p->aWeight[i]
         * quotaStoredValueBytes(sqlite3_column_value(pStmt, aStmtCol[i]));
  }
  return n;
}

/*
** The shape of a real table: its columns' names, affinities, weights and
** defaults. Read with PRAGMA table_info, index_list and index_info on db,
** where zSchema.zTable is the table.
*/
typedef struct QuotaShape QuotaShape;
struct QuotaShape {
  int nCol;
  char **azCol;
  char *aAff;
  int *aWeight;
  char **azDefault;             /* DEFAULT text of NOT NULL columns */
  int nIndex;
  int nUnique;                  /* unique keys in azUnique */
  char **azUnique;              /* two conflict terms per unique key: for
                                ** an UPDATE, then for an INSERT */
};

static void quotaShapeFree(QuotaShape *p){
  int i;
  for(i=0; i<p->nCol; i++){
    sqlite3_free(p->azCol[i]);
    sqlite3_free(p->azDefault[i]);
  }
  for(i=0; i<2*p->nUnique; i++) sqlite3_free(p->azUnique[i]);
  sqlite3_free(p->azUnique);
  sqlite3_free(p->azCol);
  sqlite3_free(p->azDefault);
  sqlite3_free(p->aAff);
  sqlite3_free(p->aWeight);
  memset(p, 0, sizeof(*p));
}

/* Run zSql (sqlite3_mprintf'd, freed here) and hand each row to xRow,
** which returns SQLITE_OK to go on. */
static int quotaEachRow(sqlite3 *db, char *zSql,
                        int (*xRow)(void*, sqlite3_stmt*), void *pArg){
  sqlite3_stmt *pStmt = 0;
  int rc;
  if( zSql==0 ) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  sqlite3_free(zSql);
  while( rc==SQLITE_OK && (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
    rc = xRow(pArg, pStmt);
  }
  if( rc==SQLITE_DONE ) rc = SQLITE_OK;
  sqlite3_finalize(pStmt);
  return rc;
}

/* table_info row: cid, name, type, notnull, dflt_value, pk. */
static int quotaShapeColumn(void *pArg, sqlite3_stmt *pStmt){
  QuotaShape *p = (QuotaShape*)pArg;
  int i = p->nCol;
  const char *zName = (const char*)sqlite3_column_text(pStmt, 1);
  const char *zDflt = (const char*)sqlite3_column_text(pStmt, 4);
  char **azCol = sqlite3_realloc64(p->azCol, sizeof(char*)*(i+1));
  char **azDefault;
  char *aAff;
  int *aWeight;

  /* Grow the four arrays by one column. */
  if( azCol==0 ) return SQLITE_NOMEM;
  p->azCol = azCol;
  azDefault = sqlite3_realloc64(p->azDefault, sizeof(char*)*(i+1));
  if( azDefault==0 ) return SQLITE_NOMEM;
  p->azDefault = azDefault;
  aAff = sqlite3_realloc64(p->aAff, i+1);
  if( aAff==0 ) return SQLITE_NOMEM;
  p->aAff = aAff;
  aWeight = sqlite3_realloc64(p->aWeight, sizeof(int)*(i+1));
  if( aWeight==0 ) return SQLITE_NOMEM;
  p->aWeight = aWeight;

  azCol[i] = sqlite3_mprintf("%s", zName ? zName : "");
  azDefault[i] = (sqlite3_column_int(pStmt, 3) && zDflt)
               ? sqlite3_mprintf("%s", zDflt) : 0;
  aAff[i] = quotaAffinity((const char*)sqlite3_column_text(pStmt, 2));
  aWeight[i] = 1;
  p->nCol++;
  if( azCol[i]==0 || (zDflt && sqlite3_column_int(pStmt, 3)
                      && azDefault[i]==0) ){
    return SQLITE_NOMEM;
  }
  return SQLITE_OK;
}

/* index_info row: seqno, cid, name. */
static int quotaShapeIndexColumn(void *pArg, sqlite3_stmt *pStmt){
  QuotaShape *p = (QuotaShape*)pArg;
  int iCol = sqlite3_column_int(pStmt, 1);
  if( iCol>=0 && iCol<p->nCol ) p->aWeight[iCol]++;
  return SQLITE_OK;
}

/* State of quotaShapeIndex: the shape and where to read index_info. */
typedef struct QuotaIndexWalk QuotaIndexWalk;
struct QuotaIndexWalk {
  QuotaShape *pShape;
  sqlite3 *db;
  const char *zSchema;
};

/*
** The conflict terms of one unique index, built from its index_xinfo rows:
** "(col1=(<v1>) COLLATE c1 AND col2=(<v2>) COLLATE c2 ...)", where <vN> is
** the value the write stores in the column (see quotaConflictSql).
*/
typedef struct QuotaTerm QuotaTerm;
struct QuotaTerm {
  QuotaShape *pShape;
  char *az[2];                  /* the term for an UPDATE, for an INSERT */
  int bUnusable;                /* an expression or rowid key column */
};

/* index_xinfo row: seqno, cid, name, desc, coll, key. */
static int quotaShapeTermColumn(void *pArg, sqlite3_stmt *pStmt){
  QuotaTerm *pTerm = (QuotaTerm*)pArg;
  QuotaShape *pShape = pTerm->pShape;
  int iCol = sqlite3_column_int(pStmt, 1);
  const char *zColl = (const char*)sqlite3_column_text(pStmt, 4);
  int i;
  if( sqlite3_column_int(pStmt, 5)==0 ) return SQLITE_OK;   /* not a key */
  if( iCol<0 || iCol>=pShape->nCol ){
    pTerm->bUnusable = 1;
    return SQLITE_OK;
  }
  for(i=0; i<2; i++){
    char *zValue = (i==1 && pShape->azDefault[iCol])
        ? sqlite3_mprintf("coalesce(?%d, %s)", iCol+1, pShape->azDefault[iCol])
        : sqlite3_mprintf("?%d", iCol+1);
    if( zValue==0 ) return SQLITE_NOMEM;
    pTerm->az[i] = sqlite3_mprintf("%z%s\"%w\"=(%z) COLLATE \"%w\"",
                                   pTerm->az[i], pTerm->az[i][0] ? " AND " : "",
                                   pShape->azCol[iCol], zValue,
                                   zColl ? zColl : "BINARY");
    if( pTerm->az[i]==0 ) return SQLITE_NOMEM;
  }
  return SQLITE_OK;
}

/* index_list row: seq, name, unique, origin, partial. */
static int quotaShapeIndex(void *pArg, sqlite3_stmt *pStmt){
  QuotaIndexWalk *pWalk = (QuotaIndexWalk*)pArg;
  QuotaShape *pShape = pWalk->pShape;
  const char *zIndex = (const char*)sqlite3_column_text(pStmt, 1);
  QuotaTerm term;
  char **azNew;
  int rc;

  pShape->nIndex++;
  rc = quotaEachRow(pWalk->db, sqlite3_mprintf(
      "PRAGMA \"%w\".index_info(\"%w\")", pWalk->zSchema, zIndex),
      quotaShapeIndexColumn, pShape);
  if( rc!=SQLITE_OK || sqlite3_column_int(pStmt, 2)==0 ) return rc;

  /* A unique key. A partial index conflicts only on the rows its WHERE
  ** clause selects, which this term cannot express.
  ** NOTE: a REPLACE that removes a row through a partial unique index or
  ** an expression key is not subtracted; tenant_storage_check() shows it. */
  if( sqlite3_column_int(pStmt, 4)!=0 ) return SQLITE_OK;
  memset(&term, 0, sizeof(term));
  term.pShape = pShape;
  term.az[0] = sqlite3_mprintf("%s", "");
  term.az[1] = sqlite3_mprintf("%s", "");
  rc = (term.az[0] && term.az[1]) ? SQLITE_OK : SQLITE_NOMEM;
  if( rc==SQLITE_OK ){
    rc = quotaEachRow(pWalk->db, sqlite3_mprintf(
        "PRAGMA \"%w\".index_xinfo(\"%w\")", pWalk->zSchema, zIndex),
        quotaShapeTermColumn, &term);
  }
  if( rc==SQLITE_OK && !term.bUnusable && term.az[0][0] ){
    azNew = sqlite3_realloc64(pShape->azUnique,
                              sizeof(char*)*2*(pShape->nUnique+1));
    if( azNew==0 ){
      rc = SQLITE_NOMEM;
    }else{
      pShape->azUnique = azNew;
      azNew[2*pShape->nUnique] = term.az[0];
      azNew[2*pShape->nUnique+1] = term.az[1];
      pShape->nUnique++;
      return SQLITE_OK;
    }
  }
  sqlite3_free(term.az[0]);
  sqlite3_free(term.az[1]);
  return rc;
}

static int quotaShapeRead(sqlite3 *db, const char *zSchema,
                          const char *zTable, QuotaShape *p){
  QuotaIndexWalk walk;
  int rc;
  memset(p, 0, sizeof(*p));
  rc = quotaEachRow(db, sqlite3_mprintf("PRAGMA \"%w\".table_info(\"%w\")",
                                        zSchema, zTable),
                    quotaShapeColumn, p);
  if( rc==SQLITE_OK && p->nCol==0 ) rc = SQLITE_ERROR;
  if( rc==SQLITE_OK ){
    walk.pShape = p;
    walk.db = db;
    walk.zSchema = zSchema;
    rc = quotaEachRow(db, sqlite3_mprintf("PRAGMA \"%w\".index_list(\"%w\")",
                                          zSchema, zTable),
                      quotaShapeIndex, &walk);
  }
  if( rc!=SQLITE_OK ) quotaShapeFree(p);
  return rc;
}

/* The SQL expression of the estimate of one stored row of the shape. */
static char *quotaShapeSql(const QuotaShape *p){
  char *z = sqlite3_mprintf("(%d", QUOTA_ROW_OVERHEAD
                                   + QUOTA_INDEX_OVERHEAD*p->nIndex);
  int i;
  for(i=0; z && i<p->nCol; i++){
    z = sqlite3_mprintf("%z+%d*coalesce(length(CAST(\"%w\" AS BLOB)),0)",
                        z, p->aWeight[i], p->azCol[i]);
  }
  return z ? sqlite3_mprintf("%z)", z) : 0;
}

/*
** The statement that sums the estimate zExpr over the rows of the bound
** customer that a REPLACE of one row removes: the rows, other than the row
** being updated, that equal the new row on any unique key. Every key of a
** shared table starts with customer_id, so those rows are the customer's
** own. Column i's new value is ?i+1, the customer ?nCol+1 and the rowid
** of the updated row ?nCol+2 (NULL for an insert). bInsert turns a NULL in
** a NOT NULL column with a DEFAULT into that default, as the insert of the
** isolation table does. Returns NULL, with *pRc untouched, when the table
** has no usable unique key.
*/
static char *quotaConflictSql(const QuotaShape *p, const char *zSchema,
                              const char *zTable, const char *zRowid,
                              const char *zExpr, int bInsert, int *pRc){
  char *zWhere = sqlite3_mprintf("%s", "");
  char *zSql = 0;
  int i;

  if( p->nUnique==0 ){
    sqlite3_free(zWhere);
    return 0;
  }
  for(i=0; zWhere && i<p->nUnique; i++){
    zWhere = sqlite3_mprintf("%z%s(%s)", zWhere, i ? " OR " : "",
                             p->azUnique[2*i+(bInsert ? 1 : 0)]);
  }
  if( zWhere ){
    zSql = sqlite3_mprintf("SELECT total(%s) FROM \"%w\".\"%w\" WHERE "
                           "customer_id=?%d AND %s IS NOT ?%d AND (%s)",
                           zExpr, zSchema, zTable, p->nCol+1, zRowid,
                           p->nCol+2, zWhere);
  }
  sqlite3_free(zWhere);
  if( zSql==0 ) *pRc = SQLITE_NOMEM;
  return zSql;
}

/* ---- per-file state --------------------------------------------------- */

int tenantQuotaPrepareFile(sqlite3 *db, const char *zSchema, char **pzErr){
  char *zSql = sqlite3_mprintf(
      "CREATE TABLE IF NOT EXISTS \"%w\"." TENANT_USAGE_TABLE "("
      "customer_id TEXT PRIMARY KEY, bytes INTEGER NOT NULL DEFAULT 0)"
      " WITHOUT ROWID",
      zSchema);
  char *zMsg = 0;
  int rc;
  if( zSql==0 ) return SQLITE_NOMEM;
  rc = sqlite3_exec(db, zSql, 0, 0, &zMsg);
  sqlite3_free(zSql);
  if( rc!=SQLITE_OK ){
    tenantSetError(pzErr, "cannot create the " TENANT_USAGE_TABLE " table of "
        "a shared placement file: %s", zMsg ? zMsg : sqlite3_errstr(rc));
  }
  sqlite3_free(zMsg);
  return rc;
}

static void quotaFileRelease(QuotaFile *p){
  QuotaFile **pp;
  if( p==0 ) return;
  sqlite3_mutex_enter(quotaMutex());
  if( --p->nRef>0 ){
    sqlite3_mutex_leave(quotaMutex());
    return;
  }
  for(pp=&quotaFileList; *pp; pp=&(*pp)->pNext){
    if( *pp==p ){
      *pp = p->pNext;
      break;
    }
  }
  sqlite3_mutex_leave(quotaMutex());
  sqlite3_finalize(p->pRead);
  sqlite3_finalize(p->pInit);
  sqlite3_finalize(p->pAdd);
  sqlite3_free(p->aSave);
  sqlite3_free(p->zSchema);
  sqlite3_free(p);
}

/* Find or create the state of zSchema on db. */
static QuotaFile *quotaFileAcquire(sqlite3 *db, TenantSession *pSession,
                                   const char *zSchema){
  QuotaFile *p;
  sqlite3_mutex_enter(quotaMutex());
  for(p=quotaFileList; p; p=p->pNext){
    if( p->db==db && strcmp(p->zSchema, zSchema)==0 ) break;
  }
  if( p==0 ){
    p = sqlite3_malloc64(sizeof(*p));
    if( p ){
      memset(p, 0, sizeof(*p));
      p->zSchema = sqlite3_mprintf("%s", zSchema);
      if( p->zSchema==0 ){
        sqlite3_free(p);
        p = 0;
      }else{
        p->db = db;
        p->pSession = pSession;
        p->pNext = quotaFileList;
        quotaFileList = p;
      }
    }
  }
  if( p ) p->nRef++;
  sqlite3_mutex_leave(quotaMutex());
  return p;
}

/* Prepare (once) and reset an internal statement of the file state. */
static int quotaFileStmt(QuotaFile *p, sqlite3_stmt **pp, const char *zFormat){
  int rc = SQLITE_OK;
  if( *pp==0 ){
    char *zSql = sqlite3_mprintf(zFormat, p->zSchema);
    if( zSql==0 ) return SQLITE_NOMEM;
    tenantSessionEnterInternal(p->pSession);
    rc = sqlite3_prepare_v2(p->db, zSql, -1, pp, 0);
    tenantSessionLeaveInternal(p->pSession);
    sqlite3_free(zSql);
  }else{
    sqlite3_reset(*pp);
  }
  return rc;
}

/* Step an internal statement once; returns its first column in *piOut. */
static int quotaFileRun(QuotaFile *p, sqlite3_stmt *pStmt,
                        sqlite3_int64 *piOut){
  int rc;
  tenantSessionEnterInternal(p->pSession);
  rc = sqlite3_step(pStmt);
  tenantSessionLeaveInternal(p->pSession);
  if( rc==SQLITE_ROW ){
    if( piOut ) *piOut = sqlite3_column_int64(pStmt, 0);
    rc = SQLITE_OK;
  }else if( rc==SQLITE_DONE ){
    rc = SQLITE_OK;
  }else{
    rc = sqlite3_reset(pStmt);
    if( rc==SQLITE_OK ) rc = SQLITE_ERROR;
  }
  sqlite3_reset(pStmt);
  return rc;
}

/* Seconds on the monotonic clock. */
static double quotaNow(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec/1e9;
}

/*
** Read the customer's limit from the catalog, unless it was read less than
** QUOTA_LIMIT_TTL seconds ago and this process has not written the catalog
** since. A limit lowered by another process applies within that time.
*/
static int quotaFileLimit(QuotaFile *p, const char *zCustomer){
  double tNow = quotaNow();
  sqlite3_int64 nWrites = tenantCatalogWrites();
  int rc;
  if( p->bLimitRead && nWrites==p->nLimitWrites
   && tNow>=p->tLimitRead && tNow-p->tLimitRead<QUOTA_LIMIT_TTL ){
    return SQLITE_OK;
  }
  p->bLimitRead = 0;
  rc = tenantCatalogLimit(zCustomer, &p->iLimit, p->zTier, sizeof(p->zTier));
  if( rc==SQLITE_OK ){
    p->bLimitRead = 1;
    p->tLimitRead = tNow;
    p->nLimitWrites = nWrites;
  }
  return rc;
}

/*
** Read the limit, and the stored usage when there is a limit, once per
** transaction. The running change and the savepoints stay as they are:
** tenantQuotaEnd() cleared them when the last transaction ended, and
** SQLite may have reported savepoints of this one before its first write.
*/
static int quotaFileBegin(QuotaFile *p, const char *zCustomer, char **pzErr){
  int rc;
  if( p->bInTxn ) return SQLITE_OK;
  p->iBase = 0;
  rc = quotaFileLimit(p, zCustomer);
  if( rc==SQLITE_OK && p->iLimit>=0 ){
    rc = quotaFileStmt(p, &p->pRead, "SELECT bytes FROM \"%w\"."
                       TENANT_USAGE_TABLE " WHERE customer_id=?1");
    if( rc==SQLITE_OK ){
      sqlite3_bind_text(p->pRead, 1, zCustomer, -1, SQLITE_TRANSIENT);
      rc = quotaFileRun(p, p->pRead, &p->iBase);
    }
  }
  if( rc!=SQLITE_OK ){
    tenantSetError(pzErr, "cannot read the storage usage of customer \"%s\":"
        " %s", zCustomer, sqlite3_errmsg(p->db));
    return rc;
  }
  p->bInTxn = 1;
  return SQLITE_OK;
}

/* ---- isolation table interface ---------------------------------------- */

int tenantQuotaTableOpen(sqlite3 *db, TenantSession *pSession,
                         const char *zSchema, const char *zTable,
                         TenantQuotaTable **pp, char **pzErr){
  static const char *const azAlias[] = { "rowid", "_rowid_", "oid" };
  TenantQuotaTable *p;
  QuotaShape shape;
  char *zExpr = 0;
  char *zSql = 0;
  const char *zRowid = 0;
  int iCustomer = -1;
  int iParent = -1;
  int rc;
  int i, j;

  *pp = 0;
  if( !tenantMeterEnabled() ) return SQLITE_OK;

  tenantSessionEnterInternal(pSession);
  rc = quotaShapeRead(db, zSchema, zTable, &shape);
  tenantSessionLeaveInternal(pSession);
  if( rc!=SQLITE_OK ){
    tenantSetError(pzErr, "cannot read the shape of table \"%s\" for "
        "storage accounting: %s", zTable, sqlite3_errmsg(db));
    return rc;
  }

  zExpr = quotaShapeSql(&shape);
  p = sqlite3_malloc64(sizeof(*p));
  if( p==0 || zExpr==0 ){
    sqlite3_free(p);
    sqlite3_free(zExpr);
    quotaShapeFree(&shape);
    return SQLITE_NOMEM;
  }
  memset(p, 0, sizeof(*p));
  p->nCol = shape.nCol;
  p->aAff = shape.aAff;
  p->aWeight = shape.aWeight;
  shape.aAff = 0;
  shape.aWeight = 0;
  p->nFixed = QUOTA_ROW_OVERHEAD + QUOTA_INDEX_OVERHEAD*shape.nIndex;
  p->zTable = sqlite3_mprintf("%s", zTable);
  p->aDefault = sqlite3_malloc64(sizeof(sqlite3_int64)*shape.nCol);
  p->pFile = quotaFileAcquire(db, pSession, zSchema);
  if( p->zTable==0 || p->aDefault==0 || p->pFile==0 ) rc = SQLITE_NOMEM;

  /* Each default is measured once: a default such as CURRENT_TIMESTAMP
  ** has the same length every time. */
  for(i=0; rc==SQLITE_OK && i<shape.nCol; i++){
    p->aDefault[i] = -1;
    if( sqlite3_stricmp(shape.azCol[i], "customer_id")==0 ) iCustomer = i;
    if( sqlite3_stricmp(shape.azCol[i], "sapphire_parent_id")==0 ) iParent = i;
    if( shape.azDefault[i] ){
      sqlite3_stmt *pStmt = 0;
      zSql = sqlite3_mprintf("SELECT length(CAST((%s) AS BLOB))",
                             shape.azDefault[i]);
      if( zSql==0 ){
        rc = SQLITE_NOMEM;
        break;
      }
      tenantSessionEnterInternal(pSession);
      rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
      if( rc==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
        p->aDefault[i] = sqlite3_column_int64(pStmt, 0);
      }
      tenantSessionLeaveInternal(pSession);
      sqlite3_finalize(pStmt);
      sqlite3_free(zSql);
      zSql = 0;
    }
  }

  /* The statement that measures a stored row, for updates and deletes. */
  for(i=0; i<3 && zRowid==0; i++){
    zRowid = azAlias[i];
    for(j=0; j<shape.nCol; j++){
      if( sqlite3_stricmp(shape.azCol[j], azAlias[i])==0 ) zRowid = 0;
    }
  }
  p->iCustomer = iCustomer;
  p->iParent = iParent;
  if( rc==SQLITE_OK && (zRowid==0 || iCustomer<0) ){
    tenantSetError(pzErr, "table \"%s\" has no reachable rowid or no "
        "customer_id column, so its storage cannot be counted", zTable);
    rc = SQLITE_ERROR;
  }
  if( rc==SQLITE_OK ){
    zSql = sqlite3_mprintf("SELECT %s FROM \"%w\".\"%w\" WHERE %s=?1"
                                   " AND customer_id=?2", zExpr, zSchema,
                                   zTable, zRowid);
    if( zSql==0 ) rc = SQLITE_NOMEM;
  }
  if( rc==SQLITE_OK ){
    tenantSessionEnterInternal(pSession);
    rc = sqlite3_prepare_v2(db, zSql, -1, &p->pOld, 0);
    tenantSessionLeaveInternal(pSession);
    if( rc!=SQLITE_OK ){
      tenantSetError(pzErr, "cannot prepare the storage estimate of table "
          "\"%s\": %s", zTable, sqlite3_errmsg(db));
    }
  }
  for(i=0; rc==SQLITE_OK && i<2; i++){
    p->azReplaceSql[i] = quotaConflictSql(&shape, zSchema, zTable, zRowid,
                                          zExpr, i, &rc);
  }
  sqlite3_free(zExpr);
  sqlite3_free(zSql);
  quotaShapeFree(&shape);
  if( rc!=SQLITE_OK ){
    tenantQuotaTableClose(p);
    return rc;
  }
  *pp = p;
  return SQLITE_OK;
}

void tenantQuotaTableClose(TenantQuotaTable *p){
  if( p==0 ) return;
  sqlite3_finalize(p->pOld);
  sqlite3_finalize(p->apReplace[0]);
  sqlite3_finalize(p->apReplace[1]);
  sqlite3_free(p->azReplaceSql[0]);
  sqlite3_free(p->azReplaceSql[1]);
  quotaFileRelease(p->pFile);
  sqlite3_free(p->aAff);
  sqlite3_free(p->aWeight);
  sqlite3_free(p->aDefault);
  sqlite3_free(p->zTable);
  sqlite3_free(p);
}

int tenantQuotaStoredRowBytes(TenantQuotaTable *p, sqlite3_value *pRowid,
                              const char *zCustomer, sqlite3_int64 *pnByte){
  *pnByte = 0;
  sqlite3_reset(p->pOld);
  sqlite3_bind_value(p->pOld, 1, pRowid);
  sqlite3_bind_text(p->pOld, 2, zCustomer, -1, SQLITE_TRANSIENT);
  return quotaFileRun(p->pFile, p->pOld, pnByte);
}

/*
** Set *pnByte to the estimate of the stored rows of zCustomer that a write
** in conflict mode REPLACE removes before it stores the row apVal[0..nCol-1]:
** an insert when pRowid is NULL, else the update of row pRowid. Only rows
** that conflict on the primary key or a UNIQUE index of the real table are
** removed, and every such key starts with customer_id. SQLite may delete
** them as the write runs, so the caller subtracts *pnByte from the write's
** growth before the check, which keeps the stored total exact.
*/
int tenantQuotaReplacedBytes(TenantQuotaTable *p, sqlite3_value *pRowid,
                             sqlite3_value **apVal, const char *zCustomer,
                             sqlite3_int64 *pnByte){
  TenantSession *pSession = p->pFile->pSession;
  int bInsert = pRowid==0 || sqlite3_value_type(pRowid)==SQLITE_NULL;
  sqlite3_stmt *pStmt;
  int rc = SQLITE_OK;
  int i;

  *pnByte = 0;
  if( p->azReplaceSql[bInsert]==0 ) return SQLITE_OK;
  if( p->apReplace[bInsert]==0 ){
    tenantSessionEnterInternal(pSession);
    rc = sqlite3_prepare_v2(p->pFile->db, p->azReplaceSql[bInsert], -1,
                            &p->apReplace[bInsert], 0);
    tenantSessionLeaveInternal(pSession);
    if( rc!=SQLITE_OK ) return rc;
  }
  pStmt = p->apReplace[bInsert];
  sqlite3_reset(pStmt);

  /* The values the write stores: the isolation table stamps the customer,
  ** and the parent where the row names none. */
  for(i=0; i<p->nCol; i++){
    if( i==p->iCustomer ){
      sqlite3_bind_text(pStmt, i+1, zCustomer, -1, SQLITE_TRANSIENT);
    }else if( i==p->iParent && sqlite3_value_type(apVal[i])==SQLITE_NULL ){
      sqlite3_bind_text(pStmt, i+1, tenantSessionParent(pSession), -1,
                        SQLITE_TRANSIENT);
    }else{
      sqlite3_bind_value(pStmt, i+1, apVal[i]);
    }
  }
  sqlite3_bind_text(pStmt, p->nCol+1, zCustomer, -1, SQLITE_TRANSIENT);
  if( bInsert ){
    sqlite3_bind_null(pStmt, p->nCol+2);
  }else{
    sqlite3_bind_value(pStmt, p->nCol+2, pRowid);
  }
  rc = quotaFileRun(p->pFile, pStmt, pnByte);
  sqlite3_clear_bindings(pStmt);
  return rc;
}

int tenantQuotaCheck(TenantQuotaTable *pTab, const char *zCustomer,
                     sqlite3_int64 nDelta, char **pzErr){
  QuotaFile *p = pTab->pFile;
  int rc = quotaFileBegin(p, zCustomer, pzErr);
  if( rc!=SQLITE_OK ) return rc;

  /* Only growth is checked, so a customer over its limit can still
  ** delete and shrink rows. */
  if( nDelta>0 && p->iLimit>=0 ){
    sqlite3_int64 iUsed = p->iBase + p->iDelta;
    if( iUsed + nDelta > p->iLimit ){
      tenantSetError(pzErr, "storage limit reached for customer \"%s\": "
          "the write needs %lld more bytes, %lld of the %lld bytes that tier "
          "\"%s\" allows are used; delete rows or move the customer to a "
          "larger tier", zCustomer, nDelta, iUsed, p->iLimit, p->zTier);
      sqlite3_log(SQLITE_FULL, "tenant: customer %s over its storage limit "
          "in table %s: %lld + %lld bytes > %lld", zCustomer, pTab->zTable,
          iUsed, nDelta, p->iLimit);
      return SQLITE_FULL;
    }
  }
  return SQLITE_OK;
}

void tenantQuotaRecord(TenantQuotaTable *pTab, sqlite3_int64 nDelta){
  pTab->pFile->iDelta += nDelta;
}

int tenantQuotaSync(TenantQuotaTable *pTab, char **pzErr){
  QuotaFile *p = pTab->pFile;
  const char *zCustomer = tenantSessionCustomer(p->pSession);
  int rc;
  if( !p->bInTxn || p->iDelta==0 ) return SQLITE_OK;

  /* Add to the customer's row, or create it on its first commit. */
  rc = quotaFileStmt(p, &p->pAdd, "UPDATE \"%w\"." TENANT_USAGE_TABLE
                     " SET bytes=bytes+?2 WHERE customer_id=?1");
  if( rc==SQLITE_OK ){
    sqlite3_bind_text(p->pAdd, 1, zCustomer, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(p->pAdd, 2, p->iDelta);
    rc = quotaFileRun(p, p->pAdd, 0);
  }
  if( rc==SQLITE_OK && sqlite3_changes(p->db)==0 ){
    rc = quotaFileStmt(p, &p->pInit, "INSERT INTO \"%w\"."
                       TENANT_USAGE_TABLE "(customer_id, bytes) VALUES(?1, ?2)");
    if( rc==SQLITE_OK ){
      sqlite3_bind_text(p->pInit, 1, zCustomer, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(p->pInit, 2, p->iDelta);
      rc = quotaFileRun(p, p->pInit, 0);
    }
  }
  if( rc!=SQLITE_OK ){
    tenantSetError(pzErr, "cannot record the storage usage of customer "
        "\"%s\": %s", zCustomer, sqlite3_errmsg(p->db));
    return rc;
  }

  /* Written: a second xSync of the same commit (another table of this
  ** file, or COMMIT retried after SQLITE_BUSY) adds nothing again. */
  p->iBase += p->iDelta;
  p->iDelta = 0;
  return SQLITE_OK;
}

void tenantQuotaEnd(TenantQuotaTable *pTab){
  QuotaFile *p = pTab->pFile;
  p->bInTxn = 0;
  p->iDelta = 0;
  p->nSave = 0;
}

void tenantQuotaSavepoint(TenantQuotaTable *pTab, int iSavepoint){
  QuotaFile *p = pTab->pFile;
  int i;
  if( iSavepoint<0 ) return;
  if( iSavepoint>=p->nSaveAlloc ){
    int nNew = iSavepoint+8;
    sqlite3_int64 *aNew = sqlite3_realloc64(p->aSave,
                                            sizeof(sqlite3_int64)*nNew);
    if( aNew==0 ) return;   /* NOTE: a later ROLLBACK TO keeps the total */
    p->aSave = aNew;
    p->nSaveAlloc = nNew;
  }
  for(i=p->nSave; i<=iSavepoint; i++) p->aSave[i] = p->iDelta;
  if( p->nSave<=iSavepoint ) p->nSave = iSavepoint+1;
}

void tenantQuotaRelease(TenantQuotaTable *pTab, int iSavepoint){
  QuotaFile *p = pTab->pFile;
  if( iSavepoint>=0 && iSavepoint<p->nSave ) p->nSave = iSavepoint;
}

void tenantQuotaRollbackTo(TenantQuotaTable *pTab, int iSavepoint){
  QuotaFile *p = pTab->pFile;
  if( iSavepoint<0 ){
    /* ROLLBACK TO the SAVEPOINT that began the transaction: SQLite passes
    ** -1, and every change of the transaction is undone. */
    p->iDelta = 0;
    p->nSave = 0;
  }else if( iSavepoint<p->nSave ){
    p->iDelta = p->aSave[iSavepoint];
    p->nSave = iSavepoint+1;
  }
}

int tenantQuotaRowSql(sqlite3 *db, const char *zSchema, const char *zTable,
                      char **pzExpr){
  QuotaShape shape;
  int rc = quotaShapeRead(db, zSchema, zTable, &shape);
  *pzExpr = 0;
  if( rc!=SQLITE_OK ) return rc;
  *pzExpr = quotaShapeSql(&shape);
  quotaShapeFree(&shape);
  return *pzExpr ? SQLITE_OK : SQLITE_NOMEM;
}
