/*
** Private interface of the catalog, shared by catalog.c (connection,
** schema, hot statements), catalogplan.c (routing plans) and
** catalogcache.c (the per-process cache of plans and table lists).
** Everything declared here requires the catalog mutex (tenantCatalogEnter).
*/
#ifndef TENANT_CATALOG_H
#define TENANT_CATALOG_H

#include "tenant_int.h"

/* The statements prepared once per catalog open, by index. */
#define CATALOG_STMT_CUSTOMER   0
#define CATALOG_STMT_PLACEMENT  1
#define CATALOG_STMT_ENCRYPTED  2
#define CATALOG_STMT_SCHEME     3
#define CATALOG_STMT_AGENT      4
#define CATALOG_STMT_APPTABLES  5
#define CATALOG_STMT_PARTITION  6
#define CATALOG_STMT_LIMIT      7
#define CATALOG_STMT_FOLDER     8
#define CATALOG_STMT_VERSION    9
#define CATALOG_STMT_ADD_CALLS  10
#define CATALOG_STMT_APP_COUNT  11
#define CATALOG_N_STMT          12

/* Return the hot statement iStmt, reset and with its bindings cleared, or
** NULL with *pzErr set (catalog.c). */
sqlite3_stmt *catalogStmt(int iStmt, char **pzErr);

/* Record an error of the catalog connection after a failed step. */
int catalogStepError(sqlite3_stmt *pStmt, char **pzErr);

/* Return SQLITE_OK when agent zAgent of zCustomer is in the catalog, with
** the generation of its addition in *piGeneration (agent_generations, 0
** when it has no row there), SQLITE_NOTFOUND when it is not, or an error.
** Requires the catalog mutex. */
int catalogAgentRead(const char *zCustomer, const char *zAgent,
                     sqlite3_int64 *piGeneration, char **pzErr);

/* tenantCatalogLimit() for a caller that holds the catalog mutex. */
int catalogLimitRead(const char *zCustomer, sqlite3_int64 iGeneration,
                     sqlite3_int64 *piLimit, char *zTier, int nTier);

/*
** The state of the catalog as one read saw it. PRAGMA data_version changes
** when any other connection, of this process or another, commits to
** catalog.db. sqlite3_total_changes() counts the rows that this process's
** own catalog connection writes, and the meter's usage rows are taken off.
** A plan or table list read at one version is used again only while both
** numbers are the same.
*/
typedef struct CatalogVersion CatalogVersion;
struct CatalogVersion {
  sqlite3_int64 iData;                 /* PRAGMA data_version */
  sqlite3_int64 nWrite;                /* sqlite3_total_changes() */
};

/* The cache of plans and table lists (catalogcache.c). */
int catalogVersionRead(CatalogVersion *pV);
void catalogCacheClear(void);
const TenantPlan *catalogPlanFind(const char *zCustomer, const char *zAgent,
                                  const CatalogVersion *pV);
void catalogPlanKeep(const TenantPlan *pPlan, const CatalogVersion *pV);
char *catalogTablesKey(int nPartition, const char *const *azPartition);
int catalogTablesFind(const char *zKey, const CatalogVersion *pV,
                      int *pnName, char ***pazName, int **paiPartition);
void catalogTablesKeep(char *zKey, int nName, char **azName,
                       int *aiPartition, const CatalogVersion *pV);

#endif /* TENANT_CATALOG_H */
