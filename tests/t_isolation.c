/*
** Tests of the tenant_row isolation virtual table through real sessions.
**
** Two Onyx customers A and B share the regional database of their Sapphire
** parent S in eu-west1. Each query runs twice: through A's session, and on
** the raw shared file with "customer_id='A'" written into the query by
** hand. The two results must be equal row for row. The write cases check
** that A's session stamps its own customer_id, rejects any other, and
** changes or deletes only A's rows.
**
** The tiers are marked unencrypted in both hosts, so that the raw file
** opens without a key.
*/
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One query of A's session and the hand-filtered query on the raw file. */
typedef struct IsolationCase IsolationCase;
struct IsolationCase {
  const char *zName;
  const char *zSession;
  const char *zRaw;
  int bSort;      /* results have no defined order: compare sorted rows */
  int bNonEmpty;  /* the raw result must have rows, or the case is weak */
};

static const IsolationCase aCase[] = {
  { "point lookup",
    "SELECT id, data, customer_id FROM basic_communications WHERE id='a2'",
    "SELECT id, data, customer_id FROM basic_communications"
    " WHERE customer_id='A' AND id='a2'", 0, 1 },
  { "point lookup of id both customers use",
    "SELECT id, data FROM basic_communications WHERE id='x'",
    "SELECT id, data FROM basic_communications"
    " WHERE customer_id='A' AND id='x'", 0, 1 },
  { "point lookup of id only B uses",
    "SELECT id, data FROM basic_communications WHERE id='b1'",
    "SELECT id, data FROM basic_communications"
    " WHERE customer_id='A' AND id='b1'", 0, 0 },
  { "range on key",
    "SELECT id FROM basic_communications WHERE id>='a2' AND id<'a5'"
    " ORDER BY id",
    "SELECT id FROM basic_communications WHERE customer_id='A'"
    " AND id>='a2' AND id<'a5' ORDER BY id", 0, 1 },
  { "range on rowid",
    "SELECT rowid, id FROM basic_communications WHERE rowid>2 ORDER BY rowid",
    "SELECT rowid, id FROM basic_communications WHERE customer_id='A'"
    " AND rowid>2 ORDER BY rowid", 0, 1 },
  { "IN list",
    "SELECT id, data FROM basic_communications"
    " WHERE id IN ('a1','b1','x','a4') ORDER BY id",
    "SELECT id, data FROM basic_communications WHERE customer_id='A'"
    " AND id IN ('a1','b1','x','a4') ORDER BY id", 0, 1 },
  { "IN list ORDER BY DESC",
    "SELECT k FROM notes WHERE k IN (5,1,4,2) ORDER BY k DESC",
    "SELECT k FROM notes WHERE customer_id='A' AND k IN (5,1,4,2)"
    " ORDER BY k DESC", 0, 1 },
  { "ORDER BY ascending",
    "SELECT id, created_at IS NOT NULL FROM basic_communications ORDER BY id",
    "SELECT id, created_at IS NOT NULL FROM basic_communications"
    " WHERE customer_id='A' ORDER BY id", 0, 1 },
  { "ORDER BY descending",
    "SELECT id FROM basic_communications ORDER BY id DESC",
    "SELECT id FROM basic_communications WHERE customer_id='A'"
    " ORDER BY id DESC", 0, 1 },
  { "ORDER BY NOCASE column then key",
    "SELECT name, k FROM notes ORDER BY name DESC, k",
    "SELECT name, k FROM notes WHERE customer_id='A'"
    " ORDER BY name DESC, k", 0, 1 },
  { "ORDER BY with LIMIT and OFFSET",
    "SELECT id FROM basic_communications ORDER BY id LIMIT 2 OFFSET 1",
    "SELECT id FROM basic_communications WHERE customer_id='A'"
    " ORDER BY id LIMIT 2 OFFSET 1", 0, 1 },
  { "NOCASE equality",
    "SELECT k, name FROM notes WHERE name='ALPHA' ORDER BY k",
    "SELECT k, name FROM notes WHERE customer_id='A' AND name='ALPHA'"
    " ORDER BY k", 0, 1 },
  { "explicit COLLATE BINARY on NOCASE column",
    "SELECT k FROM notes WHERE name='Alpha' COLLATE BINARY ORDER BY k",
    "SELECT k FROM notes WHERE customer_id='A'"
    " AND name='Alpha' COLLATE BINARY ORDER BY k", 0, 1 },
  { "integer column against text value",
    "SELECT k FROM notes WHERE k='2'",
    "SELECT k FROM notes WHERE customer_id='A' AND k='2'", 0, 1 },
  { "real column range",
    "SELECT k FROM notes WHERE score>1.5 AND score<=10 ORDER BY k",
    "SELECT k FROM notes WHERE customer_id='A' AND score>1.5"
    " AND score<=10 ORDER BY k", 0, 1 },
  { "IS NULL",
    "SELECT k FROM notes WHERE score IS NULL",
    "SELECT k FROM notes WHERE customer_id='A' AND score IS NULL", 0, 1 },
  { "IS NOT NULL and not equal",
    "SELECT k FROM notes WHERE score IS NOT NULL AND k<>1 ORDER BY k",
    "SELECT k FROM notes WHERE customer_id='A' AND score IS NOT NULL"
    " AND k<>1 ORDER BY k", 0, 1 },
  { "LIKE",
    "SELECT k FROM notes WHERE name LIKE 'al%' ORDER BY k",
    "SELECT k FROM notes WHERE customer_id='A' AND name LIKE 'al%'"
    " ORDER BY k", 0, 1 },
  { "join, communications first",
    "SELECT c.id, n.k FROM basic_communications c CROSS JOIN notes n"
    " ON n.name=c.data ORDER BY 1, 2",
    "SELECT c.id, n.k FROM basic_communications c CROSS JOIN notes n"
    " ON n.name=c.data WHERE c.customer_id='A' AND n.customer_id='A'"
    " ORDER BY 1, 2", 0, 1 },
  { "join, notes first",
    "SELECT c.id, n.k FROM notes n CROSS JOIN basic_communications c"
    " ON c.data=n.name ORDER BY 1, 2",
    "SELECT c.id, n.k FROM notes n CROSS JOIN basic_communications c"
    " ON c.data=n.name WHERE c.customer_id='A' AND n.customer_id='A'"
    " ORDER BY 1, 2", 0, 1 },
  { "join chosen by the planner",
    "SELECT c.id, n.k FROM basic_communications c JOIN notes n"
    " ON n.k=c.rowid",
    "SELECT c.id, n.k FROM basic_communications c JOIN notes n"
    " ON n.k=c.rowid WHERE c.customer_id='A' AND n.customer_id='A'", 1, 1 },
  { "join on the key, one row per outer row",
    "SELECT a.id, b.id, b.data FROM basic_communications a"
    " CROSS JOIN basic_communications b ON b.id=a.id ORDER BY 1",
    "SELECT a.id, b.id, b.data FROM basic_communications a"
    " CROSS JOIN basic_communications b ON b.id=a.id"
    " WHERE a.customer_id='A' AND b.customer_id='A' ORDER BY 1", 0, 1 },
  { "join on a key range bound by two outer columns",
    "SELECT a.id, b.id FROM basic_communications a"
    " CROSS JOIN basic_communications b ON b.id>a.id AND b.id<=a.data"
    " ORDER BY 1, 2",
    "SELECT a.id, b.id FROM basic_communications a"
    " CROSS JOIN basic_communications b ON b.id>a.id AND b.id<=a.data"
    " WHERE a.customer_id='A' AND b.customer_id='A' ORDER BY 1, 2", 0, 1 },
  { "LEFT JOIN",
    "SELECT n.k, c.id FROM notes n LEFT JOIN basic_communications c"
    " ON c.data=n.name ORDER BY 1, 2",
    "SELECT n.k, c.id FROM notes n LEFT JOIN basic_communications c"
    " ON c.data=n.name AND c.customer_id='A' WHERE n.customer_id='A'"
    " ORDER BY 1, 2", 0, 1 },
  { "self-join",
    "SELECT a.id, b.id FROM basic_communications a"
    " JOIN basic_communications b ON a.data=b.data AND a.id<b.id",
    "SELECT a.id, b.id FROM basic_communications a"
    " JOIN basic_communications b ON a.data=b.data AND a.id<b.id"
    " WHERE a.customer_id='A' AND b.customer_id='A'", 1, 1 },
  { "correlated subquery",
    "SELECT k, (SELECT count(*) FROM basic_communications c"
    " WHERE c.data=n.name) FROM notes n ORDER BY k",
    "SELECT k, (SELECT count(*) FROM basic_communications c"
    " WHERE c.data=n.name AND c.customer_id='A') FROM notes n"
    " WHERE n.customer_id='A' ORDER BY k", 0, 1 },
  { "IN subquery",
    "SELECT id FROM basic_communications"
    " WHERE data IN (SELECT name FROM notes) ORDER BY id",
    "SELECT id FROM basic_communications WHERE customer_id='A'"
    " AND data IN (SELECT name FROM notes WHERE customer_id='A')"
    " ORDER BY id", 0, 1 },
  { "count(*)",
    "SELECT count(*) FROM basic_communications",
    "SELECT count(*) FROM basic_communications WHERE customer_id='A'", 0, 1 },
  { "GROUP BY NOCASE column",
    "SELECT name, count(*), total(score) FROM notes GROUP BY name"
    " ORDER BY 1",
    "SELECT name, count(*), total(score) FROM notes WHERE customer_id='A'"
    " GROUP BY name ORDER BY 1", 0, 1 },
  { "GROUP BY customer_id",
    "SELECT customer_id, count(*) FROM basic_communications GROUP BY 1",
    "SELECT customer_id, count(*) FROM basic_communications"
    " WHERE customer_id='A' GROUP BY 1", 0, 1 },
  { "full scan without order",
    "SELECT rowid, * FROM basic_communications",
    "SELECT rowid, * FROM basic_communications WHERE customer_id='A'", 1, 1 },
  { "constraint on customer_id of B",
    "SELECT id FROM basic_communications WHERE customer_id='B'",
    "SELECT id FROM basic_communications WHERE customer_id='A'"
    " AND customer_id='B'", 0, 0 },
};

/* ---- helpers ----------------------------------------------------------- */

static int compareLines(const void *a, const void *b){
  return strcmp(*(char *const*)a, *(char *const*)b);
}

/*
** Run zSql and return every row as one line of text, values separated by
** '|' and shown with their type (12, 1.5, 'text', NULL). An error becomes
** the text "error: <message>". Sets *pnRow to the rows read. The caller
** frees the result with sqlite3_free().
*/
static char *dumpRows(sqlite3 *db, const char *zSql, int bSort, int *pnRow){
  sqlite3_stmt *pStmt = 0;
  char **azLine = 0;
  int nLine = 0;
  char *zOut;
  int rc;
  int i;

  *pnRow = 0;
  rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  if( rc!=SQLITE_OK ) return sqlite3_mprintf("error: %s", sqlite3_errmsg(db));

  while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
    char *zLine = sqlite3_mprintf("%s", "");
    for(i=0; i<sqlite3_column_count(pStmt); i++){
      const char *zSep = i ? "|" : "";
      switch( sqlite3_column_type(pStmt, i) ){
        case SQLITE_NULL:
          zLine = sqlite3_mprintf("%z%sNULL", zLine, zSep);
          break;
        case SQLITE_INTEGER:
          zLine = sqlite3_mprintf("%z%s%lld", zLine, zSep,
                                  sqlite3_column_int64(pStmt, i));
          break;
        case SQLITE_FLOAT:
          zLine = sqlite3_mprintf("%z%s%!.15g", zLine, zSep,
                                  sqlite3_column_double(pStmt, i));
          break;
        default:
          zLine = sqlite3_mprintf("%z%s%Q", zLine, zSep,
                                  (const char*)sqlite3_column_text(pStmt, i));
          break;
      }
    }
    azLine = realloc(azLine, (nLine+1)*sizeof(char*));
    azLine[nLine++] = zLine;
  }
  if( rc!=SQLITE_DONE ){
    zOut = sqlite3_mprintf("error: %s", sqlite3_errmsg(db));
  }else{
    zOut = sqlite3_mprintf("%s", "");
  }
  sqlite3_finalize(pStmt);

  if( bSort && nLine>1 ) qsort(azLine, nLine, sizeof(char*), compareLines);
  for(i=0; i<nLine; i++){
    zOut = sqlite3_mprintf("%z%s\n", zOut, azLine[i]);
    sqlite3_free(azLine[i]);
  }
  free(azLine);
  *pnRow = nLine;
  return zOut;
}

/* Run zSql; returns its result code and sets *pzMsg to a copy of the error
** message (NULL on success), freed by the caller with sqlite3_free(). */
static int execCode(sqlite3 *db, const char *zSql, char **pzMsg){
  char *zErr = 0;
  int rc = sqlite3_exec(db, zSql, 0, 0, &zErr);
  *pzMsg = zErr ? sqlite3_mprintf("%s", zErr) : 0;
  sqlite3_free(zErr);
  return rc;
}

/* The first column of the first row of zSql as a whole number, or -1. */
static long long queryInt(sqlite3 *db, const char *zSql){
  sqlite3_stmt *pStmt = 0;
  long long v = -1;
  if( sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0)==SQLITE_OK
   && sqlite3_step(pStmt)==SQLITE_ROW ){
    v = sqlite3_column_int64(pStmt, 0);
  }else{
    tap_diag("query failed: %s: %s", zSql, sqlite3_errmsg(db));
  }
  sqlite3_finalize(pStmt);
  return v;
}

/* Open a session bound to zCustomer through the tenant VFS. */
static sqlite3 *openSession(const char *zCustomer){
  sqlite3 *db = 0;
  char zUri[128];
  int rc;

  snprintf(zUri, sizeof(zUri), "file:%s?vfs=tenant", zCustomer);
  rc = sqlite3_open_v2(zUri, &db,
                       SQLITE_OPEN_READWRITE|SQLITE_OPEN_CREATE|SQLITE_OPEN_URI,
                       0);
  if( rc!=SQLITE_OK ){
    tap_diag("opening %s failed: %s", zUri, db ? sqlite3_errmsg(db) : "");
    sqlite3_close(db);
    return 0;
  }
  return db;
}

/* Check that zSql fails with exactly zExpected and result code rcExpected. */
static void checkError(sqlite3 *db, const char *zSql, int rcExpected,
                       const char *zExpected, const char *zName){
  char *zMsg = 0;
  int rc = execCode(db, zSql, &zMsg);
  tap_is_int(rc, rcExpected, zName);
  tap_is_str(zMsg, zExpected, zName);
  sqlite3_free(zMsg);
}

/* ---- fleet ------------------------------------------------------------- */

static void setUpFleet(sqlite3 *pAdmin){
  static const char *const azSql[] = {
    "SELECT tenant_policy_set('sapphire','encrypted',0)",
    "SELECT tenant_policy_set('opal','encrypted',0)",
    "SELECT tenant_policy_set('onyx','encrypted',0)",
    "SELECT tenant_provision('S','sapphire','eu-west1')",
    "SELECT tenant_provision('A','onyx','eu-west1','S')",
    "SELECT tenant_provision('B','onyx','eu-west1','S')",
    "SELECT tenant_add_table('basic_communications','CREATE TABLE notes("
    "k INTEGER NOT NULL, name TEXT COLLATE NOCASE, score REAL,"
    " PRIMARY KEY(k))')",
  };
  size_t i;
  for(i=0; i<sizeof(azSql)/sizeof(azSql[0]); i++){
    const char *zErr = tap_exec_error(pAdmin, azSql[i]);
    tap_ok(zErr==0, "fleet: %s", azSql[i]);
    if( zErr ) tap_diag("%s", zErr);
  }
}

static void fillRows(sqlite3 *pA, sqlite3 *pB){
  const char *zErr;

  zErr = tap_exec_error(pA,
    "INSERT INTO basic_communications(id, data) VALUES"
    " ('a1','alpha'), ('a2','Beta'), ('a3','gamma'), ('a4',NULL),"
    " ('a5','alpha'), ('x','ax'), ('a6','delta');"
    "INSERT INTO notes(k, name, score) VALUES"
    " (1,'Alpha',1.5), (2,'beta',2), (3,'gamma',NULL), (4,'ALPHA',4),"
    " (10,'delta',10)");
  tap_ok(zErr==0, "rows of A inserted through A's session");
  if( zErr ) tap_diag("%s", zErr);

  zErr = tap_exec_error(pB,
    "INSERT INTO basic_communications(id, data) VALUES"
    " ('b1','alpha'), ('x','bx'), ('b2','beta'), ('a2','Beta');"
    "INSERT INTO notes(k, name, score) VALUES"
    " (1,'alpha',100), (2,'Beta',7), (5,'gamma',5)");
  tap_ok(zErr==0, "rows of B inserted through B's session");
  if( zErr ) tap_diag("%s", zErr);
}

/* ---- cases ------------------------------------------------------------- */

static void testQueries(sqlite3 *pA, sqlite3 *pRaw){
  size_t i;
  for(i=0; i<sizeof(aCase)/sizeof(aCase[0]); i++){
    const IsolationCase *p = &aCase[i];
    int nSession, nRaw;
    char *zSession = dumpRows(pA, p->zSession, p->bSort, &nSession);
    char *zRaw = dumpRows(pRaw, p->zRaw, p->bSort, &nRaw);
    char zName[160];

    snprintf(zName, sizeof(zName), "query %d %s: session equals raw",
             (int)i+1, p->zName);
    tap_is_str(zSession, zRaw, zName);
    if( p->bNonEmpty ){
      tap_ok(nRaw>0, "query %d %s: raw result has rows", (int)i+1, p->zName);
    }
    sqlite3_free(zSession);
    sqlite3_free(zRaw);
  }
}

/* Queries whose result depends on the host. */
static void testHostQueries(sqlite3 *pA, sqlite3 *pRaw){
  static const char zSession[] =
    "SELECT id FROM basic_communications WHERE data='ALPHA' COLLATE NOCASE"
    " ORDER BY id";
  static const char zRaw[] =
    "SELECT id FROM basic_communications WHERE customer_id='A'"
    " AND data='ALPHA' COLLATE NOCASE ORDER BY id";
  int nSession, nRaw;
  char *zGot, *zExpected;

  /* Before 3.22.0 the host cannot tell the module about an explicit
  ** COLLATE, so the inner scan compares with the column's own collation. */
  if( sqlite3_libversion_number()<3022000 ){
    tap_skip(1, "explicit COLLATE NOCASE on a BINARY column needs 3.22.0");
    return;
  }
  zGot = dumpRows(pA, zSession, 0, &nSession);
  zExpected = dumpRows(pRaw, zRaw, 0, &nRaw);
  tap_is_str(zGot, zExpected, "explicit COLLATE NOCASE on BINARY column");
  sqlite3_free(zGot);
  sqlite3_free(zExpected);
}

/* seq(): 0, 1, 2, ... per connection, restarted by seq(-1). It lets a
** query read the rowid only from a given row on, with no column read. */
static void seqFunc(sqlite3_context *pCtx, int argc, sqlite3_value **argv){
  int *pNext = (int*)sqlite3_user_data(pCtx);
  if( argc==1 ) *pNext = 0;
  sqlite3_result_int(pCtx, (*pNext)++);
}

/*
** Scans that read no column count the rows instead of stepping through
** them, until the query reads a rowid. Each case checks that the rows,
** and the rowids from the row where the first one is read, equal the
** hand-filtered query's.
*/
static void testCountingScan(sqlite3 *pA, sqlite3 *pRaw){
  static const struct { const char *zName, *zSession, *zRaw; } aScan[] = {
    { "counting scan: count(*) then rowid of each row",
      "SELECT count(*), total(rowid) FROM basic_communications",
      "SELECT count(*), total(rowid) FROM basic_communications"
      " WHERE customer_id='A'" },
    { "counting scan: constant per row",
      "SELECT 1 FROM basic_communications",
      "SELECT 1 FROM basic_communications WHERE customer_id='A'" },
    { "counting scan: rowid first read on row 3",
      "SELECT seq(-1)",
      "SELECT seq(-1)" },
    { "counting scan: rowid first read on row 3, rows",
      "SELECT CASE WHEN seq()>=3 THEN rowid END FROM basic_communications",
      "SELECT CASE WHEN seq()>=3 THEN rowid END FROM basic_communications"
      " WHERE customer_id='A' ORDER BY id" },
    { "counting scan: EXISTS",
      "SELECT EXISTS (SELECT 1 FROM notes)",
      "SELECT EXISTS (SELECT 1 FROM notes WHERE customer_id='A')" },
  };
  static int iSessionSeq = 0;
  static int iRawSeq = 0;
  size_t i;

  tap_is_int(sqlite3_create_function(pA, "seq", -1, SQLITE_UTF8, &iSessionSeq,
                                     seqFunc, 0, 0), SQLITE_OK,
             "counting scan: seq() on the session");
  tap_is_int(sqlite3_create_function(pRaw, "seq", -1, SQLITE_UTF8, &iRawSeq,
                                     seqFunc, 0, 0), SQLITE_OK,
             "counting scan: seq() on the raw file");
  for(i=0; i<sizeof(aScan)/sizeof(aScan[0]); i++){
    int nSession, nRaw;
    char *zSession = dumpRows(pA, aScan[i].zSession, 0, &nSession);
    char *zRaw = dumpRows(pRaw, aScan[i].zRaw, 0, &nRaw);
    tap_is_str(zSession, zRaw, aScan[i].zName);
    tap_ok(nRaw>0, "%s: raw result has rows", aScan[i].zName);
    sqlite3_free(zSession);
    sqlite3_free(zRaw);
  }

  /* DELETE reads no column either, and takes the rowids of the counted
  ** rows. It is rolled back here, and testUpdateDelete() checks that a
  ** committed one leaves the rows of B. */
  tap_is_int(sqlite3_exec(pA, "BEGIN; DELETE FROM basic_communications",
                          0, 0, 0), SQLITE_OK,
             "counting scan: DELETE of every row");
  tap_is_int(queryInt(pA, "SELECT count(*) FROM basic_communications"), 0,
             "counting scan: DELETE leaves A no rows");
  tap_is_int(sqlite3_exec(pA, "ROLLBACK", 0, 0, 0), SQLITE_OK,
             "counting scan: DELETE rolled back");
  tap_is_int(queryInt(pA, "SELECT count(*) FROM basic_communications"),
             queryInt(pRaw, "SELECT count(*) FROM basic_communications"
                            " WHERE customer_id='A'"),
             "counting scan: rows of A back after ROLLBACK");
}

/*
** Constraint values that the scan copies before binding them, and text
** results with the bytes of the stored value. Each case runs in A's
** session and by hand on the raw file. The extra rows of A are deleted
** again at the end.
*/
static void testValueCopies(sqlite3 *pA, sqlite3 *pRaw){
  static const struct { const char *zName, *zSession, *zRaw; } aCopy[] = {
    { "value copies: text longer than the argument buffer",
      "SELECT id FROM basic_communications"
      " WHERE data>substr(hex(zeroblob(3000)),1,5000) ORDER BY id",
      "SELECT id FROM basic_communications WHERE customer_id='A'"
      " AND data>substr(hex(zeroblob(3000)),1,5000) ORDER BY id" },
    { "value copies: long and short text in one scan",
      "SELECT id FROM basic_communications"
      " WHERE data>substr(hex(zeroblob(3000)),1,5000) AND id>'a' ORDER BY id",
      "SELECT id FROM basic_communications WHERE customer_id='A'"
      " AND data>substr(hex(zeroblob(3000)),1,5000) AND id>'a' ORDER BY id" },
    { "value copies: blob bound",
      "SELECT id FROM basic_communications WHERE data<x'0102' ORDER BY id",
      "SELECT id FROM basic_communications WHERE customer_id='A'"
      " AND data<x'0102' ORDER BY id" },
    { "value copies: empty blob bound",
      "SELECT id FROM basic_communications WHERE data<x'' ORDER BY id",
      "SELECT id FROM basic_communications WHERE customer_id='A'"
      " AND data<x'' ORDER BY id" },
    { "value copies: blob key found",
      "SELECT id, hex(data) FROM basic_communications WHERE id=x'00ff'",
      "SELECT id, hex(data) FROM basic_communications WHERE customer_id='A'"
      " AND id=x'00ff'" },
    { "value copies: text with NUL keeps its bytes",
      "SELECT id, length(CAST(data AS BLOB)), hex(data)"
      " FROM basic_communications WHERE id='n1'",
      "SELECT id, length(CAST(data AS BLOB)), hex(data)"
      " FROM basic_communications WHERE customer_id='A' AND id='n1'" },
    { "value copies: join on text with NUL",
      "SELECT a.id, b.id FROM basic_communications a"
      " CROSS JOIN basic_communications b ON b.data=a.data"
      " WHERE a.id='n1'",
      "SELECT a.id, b.id FROM basic_communications a"
      " CROSS JOIN basic_communications b ON b.data=a.data"
      " WHERE a.id='n1' AND a.customer_id='A' AND b.customer_id='A'" },
  };
  const char *zErr;
  size_t i;

  zErr = tap_exec_error(pA,
    "INSERT INTO basic_communications(id, data) VALUES"
    " (x'00ff', x'0a0b'), ('n1', CAST(x'61006200' AS TEXT)),"
    " ('n2', CAST(x'610063' AS TEXT))");
  tap_ok(zErr==0, "value copies: rows of A inserted");
  if( zErr ) tap_diag("%s", zErr);

  for(i=0; i<sizeof(aCopy)/sizeof(aCopy[0]); i++){
    int nSession, nRaw;
    char *zSession = dumpRows(pA, aCopy[i].zSession, 0, &nSession);
    char *zRaw = dumpRows(pRaw, aCopy[i].zRaw, 0, &nRaw);
    tap_is_str(zSession, zRaw, aCopy[i].zName);
    tap_ok(nRaw>0, "%s: raw result has rows", aCopy[i].zName);
    sqlite3_free(zSession);
    sqlite3_free(zRaw);
  }

  zErr = tap_exec_error(pA, "DELETE FROM basic_communications"
                            " WHERE id IN (x'00ff', 'n1', 'n2')");
  tap_ok(zErr==0, "value copies: rows of A deleted");
  if( zErr ) tap_diag("%s", zErr);
}

/* Dump the rows of zValues, "('id', value), ...", written by the raw
** connection into a temp table with the columns of the real one. */
static char *expectedRows(sqlite3 *pRaw, const char *zValues){
  char *zSql = sqlite3_mprintf(
      "DROP TABLE IF EXISTS temp.want;"
      "CREATE TEMP TABLE want AS SELECT id, data FROM basic_communications"
      " WHERE 0;"
      "INSERT INTO temp.want(id, data) VALUES %s", zValues);
  const char *zErr = tap_exec_error(pRaw, zSql);
  int nRow;

  sqlite3_free(zSql);
  if( zErr ) return sqlite3_mprintf("error: %s", zErr);
  return dumpRows(pRaw, "SELECT id, typeof(data), length(CAST(data AS BLOB)),"
                        " hex(data) FROM temp.want ORDER BY id", 0, &nRow);
}

/* Check that inserts and updates write every kind of value unchanged,
** because text and blobs are bound without a copy. */
static void testWrittenValues(sqlite3 *pA, sqlite3 *pRaw){
  static const char *const azValue[] = {
    "''", "x''", "zeroblob(3)", "x'00ff00'", "CAST(x'61006200' AS TEXT)",
    "printf('%.5000c', 'w')", "42", "3.5", "NULL", "'plain'",
  };
  const int nValue = (int)(sizeof(azValue)/sizeof(azValue[0]));
  const char *zDump = "SELECT id, typeof(data), length(CAST(data AS BLOB)),"
                      " hex(data) FROM basic_communications"
                      " WHERE customer_id='A' AND id GLOB 'w*' ORDER BY id";
  char *zValues = 0;
  char *zGot, *zExpected;
  int nRow;
  int i;

  for(i=0; i<nValue; i++){
    char *zSql = sqlite3_mprintf("INSERT INTO basic_communications(id, data)"
                                 " VALUES('w%02d', %s)", i, azValue[i]);
    const char *zErr = tap_exec_error(pA, zSql);
    if( !tap_ok(zErr==0, "written values: insert of %s", azValue[i]) ){
      tap_diag("%s", zErr);
    }
    zValues = sqlite3_mprintf("%z%s('w%02d', %s)", zValues,
                              zValues ? "," : "", i, azValue[i]);
    sqlite3_free(zSql);
  }
  zGot = dumpRows(pRaw, zDump, 0, &nRow);
  zExpected = expectedRows(pRaw, zValues);
  tap_is_str(zGot, zExpected, "written values: inserted rows hold the values"
             " given");
  tap_is_int(nRow, nValue, "written values: one row per value");
  sqlite3_free(zGot);
  sqlite3_free(zExpected);
  sqlite3_free(zValues);

  /* Update each row to the value of the next one. */
  zValues = 0;
  for(i=0; i<nValue; i++){
    int iNext = (i+1)%nValue;
    char *zSql = sqlite3_mprintf("UPDATE basic_communications SET data=%s"
                                 " WHERE id='w%02d'", azValue[iNext], i);
    const char *zErr = tap_exec_error(pA, zSql);
    if( !tap_ok(zErr==0, "written values: update to %s", azValue[iNext]) ){
      tap_diag("%s", zErr);
    }
    zValues = sqlite3_mprintf("%z%s('w%02d', %s)", zValues,
                              zValues ? "," : "", i, azValue[iNext]);
    sqlite3_free(zSql);
  }
  zGot = dumpRows(pRaw, zDump, 0, &nRow);
  zExpected = expectedRows(pRaw, zValues);
  tap_is_str(zGot, zExpected, "written values: updated rows hold the values"
             " given");
  sqlite3_free(zGot);
  sqlite3_free(zExpected);
  sqlite3_free(zValues);
  tap_exec_error(pRaw, "DROP TABLE temp.want");
  tap_exec_error(pA, "DELETE FROM basic_communications WHERE id GLOB 'w*'");
}

/*
** An empty text argument is a value like any other. Each check runs on a
** new session, so that the scan's cursor is new and has copied no argument
** before.
*/
static void testEmptyTextArgument(sqlite3 *pRaw){
  static const struct { const char *zName, *zSession, *zRaw; } aEmpty[] = {
    { "empty text: data = ''",
      "SELECT id FROM basic_communications WHERE data='' ORDER BY id",
      "SELECT id FROM basic_communications WHERE customer_id='A'"
      " AND data='' ORDER BY id" },
    { "empty text: data >= ''",
      "SELECT id FROM basic_communications WHERE data>='' ORDER BY id",
      "SELECT id FROM basic_communications WHERE customer_id='A'"
      " AND data>='' ORDER BY id" },
    { "empty text: key = ''",
      "SELECT id, data FROM basic_communications WHERE id=''",
      "SELECT id, data FROM basic_communications WHERE customer_id='A'"
      " AND id=''" },
  };
  sqlite3 *pA = openSession("A");
  const char *zErr;
  size_t i;

  if( pA==0 ) return;
  zErr = tap_exec_error(pA, "INSERT INTO basic_communications(id, data)"
                            " VALUES ('e1', ''), ('', 'empty key')");
  tap_ok(zErr==0, "empty text: rows of A inserted");
  if( zErr ) tap_diag("%s", zErr);
  sqlite3_close(pA);

  for(i=0; i<sizeof(aEmpty)/sizeof(aEmpty[0]); i++){
    int nSession, nRaw;
    char *zSession, *zRaw;
    pA = openSession("A");
    if( pA==0 ) return;
    zSession = dumpRows(pA, aEmpty[i].zSession, 0, &nSession);
    zRaw = dumpRows(pRaw, aEmpty[i].zRaw, 0, &nRaw);
    tap_is_str(zSession, zRaw, aEmpty[i].zName);
    tap_ok(nRaw>0, "%s: raw result has rows", aEmpty[i].zName);
    sqlite3_free(zSession);
    sqlite3_free(zRaw);
    sqlite3_close(pA);
  }

  /* An UPDATE that finds its row by an empty key changes it. */
  pA = openSession("A");
  if( pA==0 ) return;
  zErr = tap_exec_error(pA, "UPDATE basic_communications SET data='found'"
                            " WHERE id=''");
  tap_ok(zErr==0, "empty text: update by empty key runs");
  tap_is_int(sqlite3_changes(pA), 1, "empty text: update by empty key"
             " changes its row");
  zErr = tap_exec_error(pA, "DELETE FROM basic_communications"
                            " WHERE id IN ('e1', '')");
  tap_ok(zErr==0, "empty text: rows of A deleted");
  sqlite3_close(pA);
}

static void testSessionB(sqlite3 *pB, sqlite3 *pRaw){
  tap_is_int(queryInt(pB, "SELECT count(*) FROM basic_communications"),
             queryInt(pRaw, "SELECT count(*) FROM basic_communications"
                            " WHERE customer_id='B'"),
             "session of B counts only rows of B");
  tap_is_int(queryInt(pB, "SELECT count(*) FROM basic_communications"
                          " WHERE customer_id<>'B'"), 0,
             "session of B sees no row of another customer");
  tap_is_int(queryInt(pB, "SELECT count(*) FROM notes WHERE k=10"), 0,
             "session of B does not find key of A");
}

static void testInsert(sqlite3 *pA, sqlite3 *pRaw){
  static const char *const azBad[][2] = {
    { "'B'",  "tenant: customer_id \"B\" is not the bound customer \"A\":"
              " leave customer_id out or set it to \"A\"" },
    { "'a'",  "tenant: customer_id \"a\" is not the bound customer \"A\":"
              " leave customer_id out or set it to \"A\"" },
    { "''",   "tenant: customer_id \"\" is not the bound customer \"A\":"
              " leave customer_id out or set it to \"A\"" },
    { "42",   "tenant: customer_id \"42\" is not the bound customer \"A\":"
              " leave customer_id out or set it to \"A\"" },
    { "CAST('A' AS BLOB)",
              "tenant: customer_id is a blob, not the text of the bound"
              " customer \"A\": leave customer_id out or set it to \"A\"" },
  };
  long long nBefore;
  size_t i;
  char *zMsg = 0;
  int rc;

  /* Stamping. */
  rc = execCode(pA, "INSERT INTO basic_communications(id, data)"
                    " VALUES('s1','stamped')", &zMsg);
  tap_is_int(rc, SQLITE_OK, "insert without customer_id succeeds");
  sqlite3_free(zMsg);
  tap_is_str(tap_query_text(pRaw, "SELECT customer_id FROM"
                                  " basic_communications WHERE id='s1'"),
             "A", "insert without customer_id is stamped with A");
  tap_ok(tap_query_text(pRaw, "SELECT created_at FROM basic_communications"
                              " WHERE id='s1'") != 0,
         "insert without created_at gets its default");
  rc = execCode(pA, "INSERT INTO basic_communications(id, customer_id)"
                    " VALUES('s2','A')", &zMsg);
  tap_is_int(rc, SQLITE_OK, "insert with customer_id A succeeds");
  sqlite3_free(zMsg);
  tap_is_int(sqlite3_last_insert_rowid(pA),
             queryInt(pRaw, "SELECT rowid FROM basic_communications"
                            " WHERE customer_id='A' AND id='s2'"),
             "insert sets last_insert_rowid to the real rowid");

  /* Rejected customer_id values write nothing. */
  nBefore = queryInt(pRaw, "SELECT count(*) FROM basic_communications");
  for(i=0; i<sizeof(azBad)/sizeof(azBad[0]); i++){
    char *zSql = sqlite3_mprintf("INSERT INTO basic_communications(id,"
                                 " customer_id) VALUES('r%d', %s)",
                                 (int)i, azBad[i][0]);
    char zName[96];
    snprintf(zName, sizeof(zName), "insert with customer_id %s rejected",
             azBad[i][0]);
    checkError(pA, zSql, SQLITE_CONSTRAINT, azBad[i][1], zName);
    sqlite3_free(zSql);
  }
  tap_is_int(queryInt(pRaw, "SELECT count(*) FROM basic_communications"),
             nBefore, "rejected inserts write nothing");

  /* A statement that fails on its second row keeps neither row, also
  ** inside an explicit transaction. */
  tap_ok(tap_exec_error(pA, "BEGIN")==0, "BEGIN in session of A");
  checkError(pA, "INSERT INTO basic_communications(id, customer_id)"
                 " VALUES('m1',NULL), ('m2','B')", SQLITE_CONSTRAINT,
             "tenant: customer_id \"B\" is not the bound customer \"A\":"
             " leave customer_id out or set it to \"A\"",
             "multi-row insert with customer_id B rejected");
  tap_is_int(queryInt(pA, "SELECT count(*) FROM basic_communications"
                          " WHERE id='m1'"), 0,
             "multi-row insert undoes its first row");
  tap_ok(tap_exec_error(pA, "COMMIT")==0, "COMMIT in session of A");

  /* The same when the failing row comes after rows that went in, after a
  ** single-row insert, in a savepoint, and after a statement that
  ** succeeded: every row of the failing statement is undone, every row of
  ** the others stays. */
  tap_ok(tap_exec_error(pA, "BEGIN")==0, "BEGIN before multi-row cases");
  tap_ok(tap_exec_error(pA, "INSERT INTO basic_communications(id)"
                            " VALUES('u0')")==0,
         "single-row insert before a failing statement");
  checkError(pA, "INSERT INTO basic_communications(id, customer_id)"
                 " VALUES('u1',NULL), ('u2','A'), ('u3','B')",
             SQLITE_CONSTRAINT,
             "tenant: customer_id \"B\" is not the bound customer \"A\":"
             " leave customer_id out or set it to \"A\"",
             "insert failing at its third row rejected");
  tap_is_int(queryInt(pA, "SELECT count(*) FROM basic_communications"
                          " WHERE id IN ('u1','u2','u3')"), 0,
             "insert failing at its third row undoes the first two");
  tap_ok(tap_exec_error(pA, "INSERT INTO basic_communications(id)"
                            " VALUES('u4'), ('u5'), ('u6')")==0,
         "multi-row insert after a failing one");
  checkError(pA, "INSERT INTO basic_communications(id)"
                 " VALUES('u7'), ('u8'), ('u4')", SQLITE_CONSTRAINT,
             "UNIQUE constraint failed: basic_communications.customer_id,"
             " basic_communications.id",
             "insert after a multi-row insert fails at its third row");
  tap_is_int(queryInt(pA, "SELECT count(*) FROM basic_communications"
                          " WHERE id IN ('u7','u8')"), 0,
             "insert after a multi-row insert undoes its first two rows");
  tap_ok(tap_exec_error(pA, "SAVEPOINT sp1")==0, "SAVEPOINT in session of A");
  checkError(pA, "INSERT INTO basic_communications(id)"
                 " SELECT 'u7' UNION ALL SELECT 'u8' UNION ALL SELECT 'u4'",
             SQLITE_CONSTRAINT,
             "UNIQUE constraint failed: basic_communications.customer_id,"
             " basic_communications.id",
             "INSERT ... SELECT failing at its third row rejected");
  tap_is_int(queryInt(pA, "SELECT count(*) FROM basic_communications"
                          " WHERE id IN ('u7','u8')"), 0,
             "INSERT ... SELECT in a savepoint undoes its first two rows");
  tap_ok(tap_exec_error(pA, "RELEASE sp1")==0, "RELEASE in session of A");
  tap_ok(tap_exec_error(pA, "COMMIT")==0, "COMMIT after multi-row cases");
  tap_is_int(queryInt(pRaw, "SELECT count(*) FROM basic_communications"
                            " WHERE id IN ('u0','u4','u5','u6')"
                            " AND customer_id='A'"), 4,
             "rows of the statements that succeeded are committed");
  tap_is_int(queryInt(pRaw, "SELECT count(*) FROM basic_communications"
                            " WHERE id IN ('u1','u2','u3','u7','u8')"), 0,
             "rows of the failing statements are not in the file");
  tap_exec_error(pA, "DELETE FROM basic_communications WHERE id>='u'"
                     " AND id<'v'");

  checkError(pA, "INSERT INTO basic_communications(rowid, id)"
                 " VALUES(12345, 'r9')", SQLITE_CONSTRAINT,
             "tenant: rowid cannot be set on an insert into table"
             " \"basic_communications\": leave the rowid out",
             "insert with rowid rejected");
  tap_is_int(queryInt(pRaw, "SELECT count(*) FROM basic_communications"),
             nBefore, "insert with rowid writes nothing");
}

static void testConflicts(sqlite3 *pA, sqlite3 *pRaw){
  char *zMsg = 0;
  int rc;

  /* b1 and b2 are keys of B only: the real key starts with customer_id,
  ** so A's rows never meet them. */
  rc = execCode(pA, "INSERT OR REPLACE INTO basic_communications(id, data)"
                    " VALUES('b1','a-replace')", &zMsg);
  tap_is_int(rc, SQLITE_OK, "OR REPLACE with key of B succeeds");
  sqlite3_free(zMsg);
  tap_is_str(tap_query_text(pRaw, "SELECT data FROM basic_communications"
                                  " WHERE customer_id='B' AND id='b1'"),
             "alpha", "OR REPLACE leaves row of B unchanged");
  tap_is_str(tap_query_text(pRaw, "SELECT data FROM basic_communications"
                                  " WHERE customer_id='A' AND id='b1'"),
             "a-replace", "OR REPLACE inserts row of A");

  rc = execCode(pA, "INSERT OR IGNORE INTO basic_communications(id, data)"
                    " VALUES('b2','a-ignore')", &zMsg);
  tap_is_int(rc, SQLITE_OK, "OR IGNORE with key of B succeeds");
  sqlite3_free(zMsg);
  tap_is_str(tap_query_text(pRaw, "SELECT data FROM basic_communications"
                                  " WHERE customer_id='B' AND id='b2'"),
             "beta", "OR IGNORE leaves row of B unchanged");
  tap_is_str(tap_query_text(pRaw, "SELECT data FROM basic_communications"
                                  " WHERE customer_id='A' AND id='b2'"),
             "a-ignore", "OR IGNORE inserts row of A");

  /* Conflicts with A's own rows. */
  rc = execCode(pA, "INSERT OR IGNORE INTO basic_communications(id, data)"
                    " VALUES('a1','ignored')", &zMsg);
  tap_is_int(rc, SQLITE_OK, "OR IGNORE with own key succeeds");
  sqlite3_free(zMsg);
  tap_is_str(tap_query_text(pRaw, "SELECT data FROM basic_communications"
                                  " WHERE customer_id='A' AND id='a1'"),
             "alpha", "OR IGNORE keeps own row");
  rc = execCode(pA, "INSERT OR REPLACE INTO basic_communications(id, data)"
                    " VALUES('a1','replaced')", &zMsg);
  tap_is_int(rc, SQLITE_OK, "OR REPLACE with own key succeeds");
  sqlite3_free(zMsg);
  tap_is_str(tap_query_text(pRaw, "SELECT data FROM basic_communications"
                                  " WHERE customer_id='A' AND id='a1'"),
             "replaced", "OR REPLACE replaces own row");
  checkError(pA, "INSERT INTO basic_communications(id) VALUES('a1')",
             SQLITE_CONSTRAINT,
             "UNIQUE constraint failed: basic_communications.customer_id,"
             " basic_communications.id",
             "duplicate own key reports the inner error");
}

static void testUpdateDelete(sqlite3 *pA, sqlite3 *pRaw){
  long long nB = queryInt(pRaw, "SELECT count(*) FROM basic_communications"
                                " WHERE customer_id='B'");
  long long nA = queryInt(pRaw, "SELECT count(*) FROM basic_communications"
                                " WHERE customer_id='A'");
  char *zMsg = 0;
  int rc;

  rc = execCode(pA, "UPDATE basic_communications SET data='upd'"
                    " WHERE id='x'", &zMsg);
  tap_is_int(rc, SQLITE_OK, "update of shared id succeeds");
  sqlite3_free(zMsg);
  tap_is_str(tap_query_text(pRaw, "SELECT data FROM basic_communications"
                                  " WHERE customer_id='A' AND id='x'"),
             "upd", "update changes row of A");
  tap_is_str(tap_query_text(pRaw, "SELECT data FROM basic_communications"
                                  " WHERE customer_id='B' AND id='x'"),
             "bx", "update leaves row of B");

  rc = execCode(pA, "UPDATE notes SET score=score+1", &zMsg);
  tap_is_int(rc, SQLITE_OK, "update of every row succeeds");
  sqlite3_free(zMsg);
  tap_is_int(sqlite3_changes(pA),
             queryInt(pRaw, "SELECT count(*) FROM notes"
                            " WHERE customer_id='A'"),
             "update of every row changes only rows of A");
  tap_is_str(tap_query_text(pRaw, "SELECT group_concat(score) FROM"
                                  " (SELECT score FROM notes WHERE"
                                  " customer_id='B' ORDER BY k)"),
             "100.0,7.0,5.0", "update of every row leaves rows of B");

  checkError(pA, "UPDATE basic_communications SET customer_id='B'"
                 " WHERE id='a2'", SQLITE_CONSTRAINT,
             "tenant: customer_id \"B\" is not the bound customer \"A\":"
             " leave customer_id out or set it to \"A\"",
             "update of customer_id rejected");
  checkError(pA, "UPDATE basic_communications SET rowid=rowid+1000"
                 " WHERE id='a2'", SQLITE_CONSTRAINT,
             "tenant: rowid cannot be changed in table"
             " \"basic_communications\": insert a new row instead",
             "update of rowid rejected");
  tap_is_int(queryInt(pRaw, "SELECT count(*) FROM basic_communications"
                            " WHERE customer_id='A' AND id='a2'"), 1,
             "rejected updates keep row of A");

  /* A key compared with another collation may match several rows, so the
  ** write must not take the one-row path. Hosts before 3.22.0 compare with
  ** the column's collation (see the README). */
  rc = execCode(pA, "INSERT INTO basic_communications(id, data) VALUES"
                    "('c1', 'lower'), ('C1', 'upper')", &zMsg);
  tap_is_int(rc, SQLITE_OK, "collation: two ids equal under NOCASE");
  sqlite3_free(zMsg);
  rc = execCode(pA, "UPDATE basic_communications SET data='nocase'"
                    " WHERE id='c1' COLLATE NOCASE", &zMsg);
  tap_is_int(rc, SQLITE_OK, "collation: update under NOCASE succeeds");
  sqlite3_free(zMsg);
  tap_is_int(queryInt(pRaw, "SELECT count(*) FROM basic_communications"
                            " WHERE customer_id='A' AND data='nocase'"),
             sqlite3_libversion_number()>=3022000 ? 2 : 1,
             "collation: update under NOCASE changes every match");
  rc = execCode(pA, "DELETE FROM basic_communications"
                    " WHERE id='C1' COLLATE NOCASE", &zMsg);
  tap_is_int(rc, SQLITE_OK, "collation: delete under NOCASE succeeds");
  sqlite3_free(zMsg);
  tap_is_int(queryInt(pRaw, "SELECT count(*) FROM basic_communications"
                            " WHERE customer_id='A' AND id IN ('c1','C1')"),
             sqlite3_libversion_number()>=3022000 ? 0 : 1,
             "collation: delete under NOCASE removes every match");
  rc = execCode(pA, "DELETE FROM basic_communications"
                    " WHERE id IN ('c1','C1')", &zMsg);
  tap_is_int(rc, SQLITE_OK, "collation: rows removed");
  sqlite3_free(zMsg);

  rc = execCode(pA, "DELETE FROM basic_communications WHERE id='a2'", &zMsg);
  tap_is_int(rc, SQLITE_OK, "delete of id both customers use succeeds");
  sqlite3_free(zMsg);
  tap_is_int(queryInt(pRaw, "SELECT count(*) FROM basic_communications"
                            " WHERE id='a2'"), 1,
             "delete leaves row of B with the same id");
  tap_is_int(queryInt(pRaw, "SELECT count(*) FROM basic_communications"
                            " WHERE customer_id='A'"), nA-1,
             "delete removes one row of A");

  rc = execCode(pA, "DELETE FROM notes", &zMsg);
  tap_is_int(rc, SQLITE_OK, "delete of every row succeeds");
  sqlite3_free(zMsg);
  tap_is_int(queryInt(pRaw, "SELECT count(*) FROM notes"
                            " WHERE customer_id='A'"), 0,
             "delete of every row empties rows of A");
  tap_is_int(queryInt(pRaw, "SELECT count(*) FROM notes"
                            " WHERE customer_id='B'"), 3,
             "delete of every row leaves rows of B");
  tap_is_int(queryInt(pRaw, "SELECT count(*) FROM basic_communications"
                            " WHERE customer_id='B'"), nB,
             "rows of B in communications unchanged");
}

static void testUnsupported(sqlite3 *pA){
  /* workflow_automations lives in the parent's file, read-only to Onyx. */
  checkError(pA, "INSERT INTO workflow_automations(id) VALUES('w1')",
             SQLITE_READONLY,
             "tenant: partition \"workflow_automations\" is read-only for"
             " customer \"A\": it lives in the database of its parent \"S\","
             " which writes it", "insert into read-only partition rejected");
  checkError(pA, "DELETE FROM workflow_automations", SQLITE_OK, 0,
             "delete from empty read-only partition has no row to reject");
  tap_is_int(queryInt(pA, "SELECT count(*) FROM workflow_automations"), 0,
             "read-only partition reads");

  /* The authorizer stops the rename before the module's xRename. */
  checkError(pA, "ALTER TABLE basic_communications RENAME TO bc2",
             SQLITE_AUTH, "not authorized", "rename rejected");

  if( sqlite3_libversion_number()>=3024000 ){
    checkError(pA, "INSERT INTO basic_communications(id) VALUES('u1')"
                   " ON CONFLICT DO NOTHING", SQLITE_ERROR,
               "UPSERT not implemented for virtual table"
               " \"basic_communications\"", "UPSERT rejected");
  }else{
    tap_skip(2, "UPSERT syntax needs SQLite 3.24.0");
  }
}

int main(void){
  sqlite3 *pAdmin = 0;
  sqlite3 *pA, *pB, *pRaw = 0;
  const char *zRoot;
  char *zPath;

  tap_open(&pAdmin);
  zRoot = tap_fresh_root("isolation");
  setUpFleet(pAdmin);

  pA = openSession("A");
  pB = openSession("B");
  tap_ok(pA!=0, "session of A opens");
  tap_ok(pB!=0, "session of B opens");
  if( pA==0 || pB==0 ) tap_done();
  fillRows(pA, pB);

  zPath = sqlite3_mprintf("%s/shared-onyx-eu-west1/d1-onyx-shared-eu-west1/"
                          "owner.db", zRoot);
  tap_is_int(sqlite3_open_v2(zPath, &pRaw, SQLITE_OPEN_READWRITE, 0),
             SQLITE_OK, "raw shared file opens");
  sqlite3_free(zPath);

  testQueries(pA, pRaw);
  testHostQueries(pA, pRaw);
  testCountingScan(pA, pRaw);
  testValueCopies(pA, pRaw);
  testEmptyTextArgument(pRaw);
  testWrittenValues(pA, pRaw);
  testSessionB(pB, pRaw);
  testInsert(pA, pRaw);
  testConflicts(pA, pRaw);
  testUpdateDelete(pA, pRaw);
  testUnsupported(pA);

  sqlite3_close(pRaw);
  sqlite3_close(pA);
  sqlite3_close(pB);
  sqlite3_close(pAdmin);
  tap_done();
  return 0;
}
