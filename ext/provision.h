/*
** Private interface of the administrative SQL functions, shared by
** provision.c (provisioning, agents, application tables, registration),
** placement.c (catalog helpers and placement files), decommission.c and
** policy.c. Each function is documented where placement.c defines it.
*/
#ifndef TENANT_PROVISION_H
#define TENANT_PROVISION_H

#include "tenant_int.h"

/* ---- placement.c: arguments, catalog statements, errors --------------- */

const char *provShow(const char *z, char *zOut, int nOut);
int provCheckId(const char *zWhat, const char *z, char **pzErr);
const char *provArgText(sqlite3_value *v);
int provQuery(sqlite3 *db, sqlite3_stmt **ppStmt, char **pzErr,
              const char *zSql, int nArg, const char **azArg);
int provExec(sqlite3 *db, char **pzErr, const char *zSql,
             int nArg, const char **azArg);
sqlite3 *provEnter(char **pzErr);
void provResultError(sqlite3_context *pCtx, int rc, char *zErr);

/* ---- placement.c: files of placements --------------------------------- */

int provOpenFile(const char *zPath, const char *zKeyId, int bEncrypted,
                 int bCreate, sqlite3 **pDb, char **pzErr);
char *provOwnDdl(const char *zDdl, const char *zOwner);
int provExecOne(sqlite3 *db, const char *zTable, const char *zSql,
                char **pzErr);
int provBuildFile(sqlite3 *dbCatalog, const char *zFolder,
                  const char *zDatabase, const char *zName,
                  const char *zScheme, const char *zOwner, int bEncrypted,
                  int bWal, char **pzErr);
int provMkdirs(const char *zPath, char **pzErr);
void provRemoveFile(const char *zFolder, const char *zName);

/* ---- the SQL functions that provision.c registers --------------------- */

/* tenant_decommission(customer), in decommission.c */
void provisionDecommission(sqlite3_context *pCtx, int argc,
                           sqlite3_value **argv);

/* tenant_policy_set(tier, setting, value), in policy.c */
void provisionPolicySet(sqlite3_context *pCtx, int argc,
                        sqlite3_value **argv);

#endif /* TENANT_PROVISION_H */
