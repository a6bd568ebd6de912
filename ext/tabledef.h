/*
** Private interface of the application-table definitions that
** tenant_add_table() accepts. tabledef.c runs a definition in a scratch
** connection, reads the table back and builds its physical DDL.
** tabledefsql.c checks the text of column types and DEFAULT clauses, and
** tabledefcheck.c verifies a physical DDL before it is stored.
*/
#ifndef TENANT_TABLEDEF_H
#define TENANT_TABLEDEF_H

#include "tenant_int.h"

typedef struct ProvColumn ProvColumn;
typedef struct ProvKey ProvKey;
typedef struct ProvTable ProvTable;

/* A declared column of an application table. */
struct ProvColumn {
  char *zName;          /* name as declared */
  char *zType;          /* type: words and an optional size, "" for none */
  char *zColl;          /* collation as declared, NULL for BINARY */
  char *zDefault;       /* text after DEFAULT in the physical DDL, or NULL */
  char *zDefaultInfo;   /* dflt_value that PRAGMA table_info reports for it */
  int bNotNull;
  int iPk;              /* position in the PRIMARY KEY from 1, 0 for none */
};

/* A UNIQUE key: indexes into ProvTable.aCol, in key order. */
struct ProvKey {
  int nCol;
  int *aiCol;
};

/*
** An application table as declared, without customer_id. Its physical DDL
** adds customer_id as the last column and puts it first in the PRIMARY
** KEY and in every UNIQUE key.
*/
struct ProvTable {
  char *zName;
  int nCol;
  ProvColumn *aCol;
  int nPk;              /* columns of the declared PRIMARY KEY */
  int nUnique;
  ProvKey *aUnique;
};

/* ---- tabledef.c ------------------------------------------------------- */

/* Validate zDdl, one CREATE TABLE statement, and return the table's name
** and its verified physical DDL. */
int provParseTable(const char *zDdl, char **pzName, char **pzPhysical,
                   char **pzErr);

/* Run zDdl in a scratch connection and read the table back into *p. */
int provTableParse(const char *zDdl, ProvTable *p, char **pzErr);

/* The physical DDL of p, or NULL when out of memory. */
char *provTableDdl(const ProvTable *p);

void provTableFree(ProvTable *p);

/* Find in zSql, outside strings, quoted names and comments, one of the
** keywords of the NULL-terminated azWord. Returns it or NULL. */
const char *provFindKeyword(const char *zSql, const char *const *azWord);

/* ---- tabledefsql.c ---------------------------------------------------- */

/* Results of provTypeCheck(). */
#define PROV_TYPE_OK       0
#define PROV_TYPE_INVALID  1   /* not words and an optional size */
#define PROV_TYPE_KEYWORD  2   /* a word is an SQL keyword */

int provTypeCheck(const char *zType, const char **pzWord, int *pnWord);

/* Results of provDefaultClause() other than SQLITE_OK and SQLITE_NOMEM. */
#define PROV_DEFAULT_COMMENT   101   /* the text contains a comment */
#define PROV_DEFAULT_INVALID   102   /* not a single expression */

int provDefaultClause(sqlite3 *db, const char *zDflt, char **pzClause,
                      char **pzInfo);

/* ---- tabledefcheck.c -------------------------------------------------- */

/* Check that zDdl creates exactly the physical table of p. */
int provTableVerify(const ProvTable *p, const char *zDdl, char **pzErr);

#endif /* TENANT_TABLEDEF_H */
