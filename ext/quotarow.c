/*
** The storage estimate of one row of a shared table (quota.c): column
** affinities, the sizes of values, the shape of the real table, and the
** SQL that measures stored rows and the rows a REPLACE removes.
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
** LIMITATIONS: a numeric text written into a numeric column is converted
** as SQLite does, but text with surrounding spaces or hexadecimal integers
** may be counted with a few bytes of difference, which
** tenant_storage_check() then reports. A write in conflict mode REPLACE
** subtracts the rows it replaces on the primary key and the UNIQUE
** indexes, but not on a partial or expression index.
*/
#include "tenant_int.h"
#include "quota.h"
SQLITE_EXTENSION_INIT3

#include <string.h>

/* Column affinities, as SQLite derives them from the declared type. */
#define QUOTA_AFF_BLOB    'A'
#define QUOTA_AFF_TEXT    'B'
#define QUOTA_AFF_NUMERIC 'C'
#define QUOTA_AFF_INTEGER 'D'
#define QUOTA_AFF_REAL    'E'

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

sqlite3_int64 tenantQuotaFixedBytes(TenantQuotaTable *p, int *pnCol){
  *pnCol = p->nCol;
  return p->nFixed;
}

sqlite3_int64 tenantQuotaColumnBytes(TenantQuotaTable *p, int iCol,
                                     sqlite3_value *v){
  return p->aWeight[iCol]*quotaStoredValueBytes(v);
}

void quotaShapeFree(QuotaShape *p){
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

int quotaShapeRead(sqlite3 *db, const char *zSchema,
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
char *quotaShapeSql(const QuotaShape *p){
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
char *quotaConflictSql(const QuotaShape *p, const char *zSchema,
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
