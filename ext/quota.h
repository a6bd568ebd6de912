/*
** Private interface of storage accounting, shared by quota.c (the running
** total of each shared file and the transaction methods) and quotarow.c
** (the estimate of one row).
*/
#ifndef TENANT_QUOTA_H
#define TENANT_QUOTA_H

#include "tenant_int.h"

#define QUOTA_ROW_OVERHEAD   24   /* bytes per row: cell, header, rowid */
#define QUOTA_INDEX_OVERHEAD 12   /* bytes per index entry besides keys */

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
  int bLimitRead;               /* iLimit and zTier were read at the
                                ** catalog version below */
  sqlite3_int64 iLimitData;     /* tenantCatalogVersion() then */
  sqlite3_int64 nLimitWrites;
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

/* Read the shape of zSchema.zTable on db into *p, which quotaShapeFree()
** frees. On error *p is left empty. */
int quotaShapeRead(sqlite3 *db, const char *zSchema, const char *zTable,
                   QuotaShape *p);
void quotaShapeFree(QuotaShape *p);

/* The SQL expression of the estimate of one stored row of the shape. */
char *quotaShapeSql(const QuotaShape *p);

/* The statement that sums zExpr over the rows a REPLACE of one row
** removes, or NULL when the table has no usable unique key (quotarow.c). */
char *quotaConflictSql(const QuotaShape *p, const char *zSchema,
                       const char *zTable, const char *zRowid,
                       const char *zExpr, int bInsert, int *pRc);

#endif /* TENANT_QUOTA_H */
