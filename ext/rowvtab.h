/*
** Private interface of the "tenant_row" isolation virtual table, shared by
** rowvtab.c (creation, planning), rowscan.c (cursors and scans) and
** rowwrite.c (xUpdate and the transaction methods).
*/
#ifndef TENANT_ROWVTAB_H
#define TENANT_ROWVTAB_H

#include "tenant_int.h"

/* Inner scan statements kept per virtual table, keyed by idxStr. */
#define ROW_CACHE_SIZE 8

/* Bit of idxNum: the plan returns at most one row (SQLITE_INDEX_SCAN_UNIQUE),
** so xNext ends the scan without stepping the inner statement again. */
#define ROW_PLAN_ONE_ROW 0x01

typedef struct RowCachedStmt RowCachedStmt;
typedef struct RowCursor RowCursor;
typedef struct RowShape RowShape;
typedef struct RowVtab RowVtab;

/* One prepared inner scan that no cursor is using now. */
struct RowCachedStmt {
  char *zIdx;                 /* idxStr the statement was built from */
  sqlite3_stmt *pStmt;        /* NULL when the slot is empty */
};

/*
** The columns, keys and rowid alias of one real table, read when a virtual
** table connects and shared through the per-process cache of rowshape.c.
** Immutable once built, except nRef and pNext, which the cache's mutex
** guards.
*/
struct RowShape {
  char *zFile;                /* path of the real file, NULL when not cached */
  char *zTable;               /* table name, NULL when not cached */
  int iCookie;                /* schema cookie of the file when read */
  int nCol;                   /* columns of the real table */
  char **azCol;               /* column names */
  char **azColl;              /* collation of each column, NULL for BINARY */
  char **azDflt;              /* DEFAULT of each NOT NULL column, or NULL */
  int *aiKey;                 /* primary key columns in key order */
  int nKey;                   /* entries in aiKey, 0 when no PRIMARY KEY */
  int iCustomer;              /* index of the customer_id column */
  int iParent;                /* sapphire_parent_id, -1 when absent */
  const char *zRowid;         /* rowid alias not taken by a real column */
  char *zDecl;                /* CREATE TABLE text for declare_vtab */
  int nRef;                   /* the cache's reference and each table's */
  RowShape *pNext;            /* next in the cache, less recently used */
};

/*
** One isolation virtual table. Column i of the virtual table is column i of
** the real table. The column fields are borrowed from pShape, which the
** table holds a reference to. The write statements are prepared on first
** use.
*/
struct RowVtab {
  sqlite3_vtab base;          /* base class: must be first */
  sqlite3 *db;                /* the session's connection */
  TenantSession *pSession;    /* session the module was registered with */
  char *zTable;               /* table name, without quotes */
  char *zSchema;              /* secret schema name of the real table */
  char *zPartition;           /* partition that contains the real table */
  int bReadOnly;              /* the session may not write this partition */
  RowShape *pShape;           /* owner of the fields from zRowid to iParent */
  const char *zRowid;         /* rowid alias not taken by a real column */
  int nCol;                   /* columns of the real table */
  char **azCol;               /* column names */
  char **azColl;              /* collation of each column, NULL for BINARY */
  char **azDflt;              /* DEFAULT of each NOT NULL column, or NULL */
  int *aiKey;                 /* primary key columns in key order */
  int nKey;                   /* entries in aiKey, 0 when no PRIMARY KEY */
  int iCustomer;              /* index of the customer_id column */
  int iParent;                /* sapphire_parent_id, -1 when absent */
  RowCachedStmt aCache[ROW_CACHE_SIZE];
  int iEvict;                 /* next cache slot to reuse when all are full */
  sqlite3_vtab_cursor *pIdle; /* a closed cursor that the next xOpen reuses,
                              ** with its reset inner statement, or NULL */
  sqlite3_stmt *apInsert[6];  /* INSERT OR <mode> ... VALUES, by conflict mode */
  sqlite3_stmt *apUpdate[6];  /* UPDATE OR <mode>, indexed by conflict mode */
  sqlite3_stmt *pDelete;
  sqlite3_stmt *pOpenSavepoint; /* writes nothing, opens a statement
                              ** journal (rowOpenFileSavepoints) */
  sqlite3_stmt *pBeginWrite;  /* writes nothing, begins the file's write
                              ** transaction (rowvtabBegin) */
  int nSavepoint;             /* savepoints open on the connection, as
                              ** xSavepoint, xRelease and xRollbackTo report */
  int nFileSavepoint;         /* how many of them the real file's pager has
                              ** open too (rowwrite.c) */
  int bInnerWrite;            /* an inner write statement is running */
  int bWriting;               /* between xBegin and xEnd, when cursors
                              ** measure the rows they read (rowscan.c) */
  int bQuotaOpen;             /* pQuota was opened on the first write, or
                              ** needs none: read-only, or metering off */
  TenantQuotaTable *pQuota;   /* storage accounting; NULL when read-only,
                              ** metering is off or before the first write */
  int bActiveChecked;         /* without pQuota: this transaction has found
                              ** the customer active (rowCheckActive) */
  RowCursor *pReadCursor;     /* cursor whose last step found a row */
  int bClosedRow;             /* a cursor closed on row iClosedRowid, of
                              ** nClosedBytes, since the last xFilter */
  sqlite3_int64 iClosedRowid;
  sqlite3_int64 nClosedBytes;
};

/* Run an inner statement on the session's connection, inside the internal
** bracket that lets it reach the secret schema (rowscan.c). */
int rowPrepare(RowVtab *p, const char *zSql, sqlite3_stmt **ppStmt);
int rowStep(RowVtab *p, sqlite3_stmt *pStmt);

/* If a cursor of p has just read row iRowid, set *pnByte to the estimate of
** that stored row and return 1; else return 0 (rowscan.c). */
int rowReadRowBytes(RowVtab *p, sqlite3_int64 iRowid, sqlite3_int64 *pnByte);

/* Copy the connection's current error message to the virtual table. */
void rowCopyInnerError(RowVtab *p);
int rowInnerErrorCode(RowVtab *p, int rc);

/* Set *ppShape to a reference to the shape of the real table of p, from
** the cache or read from the file (rowshape.c). bCreate is true in xCreate.
** On error *pzErr explains why. */
int rowShapeAcquire(RowVtab *p, int bCreate, RowShape **ppShape,
                    char **pzErr);
void rowShapeRelease(RowShape *pShape);

/* Free a cursor that no statement uses, handing its statement back to the
** cache. Accepts NULL (rowscan.c). */
void rowCursorFree(RowVtab *p, RowCursor *pCur);

/* The scan path (rowscan.c), in the module's method table. */
int rowvtabOpen(sqlite3_vtab*, sqlite3_vtab_cursor**);
int rowvtabClose(sqlite3_vtab_cursor*);
int rowvtabFilter(sqlite3_vtab_cursor*, int, const char*,
                  int, sqlite3_value**);
int rowvtabNext(sqlite3_vtab_cursor*);
int rowvtabEof(sqlite3_vtab_cursor*);
int rowvtabColumn(sqlite3_vtab_cursor*, sqlite3_context*, int);
int rowvtabRowid(sqlite3_vtab_cursor*, sqlite_int64*);

/* The write path (rowwrite.c), in the module's method table. */
int rowvtabUpdate(sqlite3_vtab*, int, sqlite3_value**, sqlite_int64*);
int rowvtabBegin(sqlite3_vtab*);
int rowvtabSync(sqlite3_vtab*);
int rowvtabEnd(sqlite3_vtab*);
int rowvtabSavepoint(sqlite3_vtab*, int);
int rowvtabRelease(sqlite3_vtab*, int);
int rowvtabRollbackTo(sqlite3_vtab*, int);

#endif /* TENANT_ROWVTAB_H */
