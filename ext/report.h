/*
** Private interface of the fleet reports, shared by report.c (the rows of
** each report) and reportvtab.c (the table-valued functions that serve
** them).
*/
#ifndef TENANT_REPORT_H
#define TENANT_REPORT_H

#include "tenant_int.h"

/* One value of a report row. */
typedef struct ReportCell ReportCell;
struct ReportCell {
  int eType;                  /* SQLITE_NULL, _INTEGER, _FLOAT or _TEXT */
  sqlite3_int64 i;
  double r;
  char *z;                    /* sqlite3_malloc'd text */
};

/* The rows of one report: nRow rows of nCol cells. */
typedef struct ReportRows ReportRows;
struct ReportRows {
  int nCol;
  int nRow;
  int nAlloc;                 /* rows allocated */
  ReportCell *aCell;          /* nRow*nCol cells, row by row */
  int iNext;                  /* next cell of the row being built */
  int rc;                     /* SQLITE_NOMEM once an allocation failed */
};

/* Free every cell of p and leave it empty, with no error. */
void reportRowsClear(ReportRows *p);

/*
** Compute the rows of one report into pRows, whose nCol is set and which
** is empty. On an error other than SQLITE_NOMEM, set *pzErr to the reason.
**   reportStorageCheck  tenant_storage_check([customer]): zArg is the
**                       customer, or NULL for every active one
**   reportFleet         tenant_upgrade_candidates, or with bUsage
**                       tenant_usage_report
**   reportCost          tenant_cost_report
*/
int reportStorageCheck(ReportRows *pRows, const char *zArg, char **pzErr);
int reportFleet(ReportRows *pRows, int bUsage, char **pzErr);
int reportCost(ReportRows *pRows, char **pzErr);

#endif /* TENANT_REPORT_H */
