/*
** Private interface of sessions, shared by session.c (binding) and
** authorizer.c (the authorizer of a bound connection).
*/
#ifndef TENANT_SESSION_H
#define TENANT_SESSION_H

#include "tenant_int.h"

#define TENANT_SCHEMA_NAME_LEN 33   /* "t" and 32 hex digits */

/* One table a session reaches through an isolation virtual table. */
typedef struct TenantSessionTable TenantSessionTable;
struct TenantSessionTable {
  char *zName;         /* table name, also the temp virtual table's name */
  int iReach;          /* index into TenantPlan.aReach */
};

struct TenantSession {
  sqlite3 *db;                       /* the bound connection */
  TenantPlan plan;                   /* what the customer reaches */
  char azSchema[TENANT_MAX_FILES][TENANT_SCHEMA_NAME_LEN + 1];
  int nInternal;                     /* depth of internal statements */
  int bBinding;                      /* attach keys may be handed out */
  int bBound;                        /* plan and schemas are in force */
  int bMetered;                      /* TENANT_METER was on at binding */
  int nTable;
  TenantSessionTable *aTable;
  int nKnown;                        /* other names an unqualified read */
  char **azKnown;                    /*   with no schema may resolve to */
  sqlite3_int64 iAppGeneration;      /* application tables at binding, or */
                                     /*   -1 when the host needs no check */
  TenantMeter *pMeter;               /* API call count, NULL when off */
  TenantSession *pNext;              /* list of all sessions */
};

/* Record zName as a table an unqualified read may resolve to. */
int tenantSessionKnow(TenantSession *p, const char *zName);

/* Whether the host reports a read of no column to the authorizer. */
int tenantHostReportsCountRead(void);

/* The number of application tables in the catalog, or -1 on error. */
sqlite3_int64 tenantAppTableGeneration(void);

/* The authorizer of a bound connection; pArg is its TenantSession. */
int tenantAuthorize(void *pArg, int eAction, const char *zArg1,
                    const char *zArg2, const char *zDb, const char *zInner);

#endif /* TENANT_SESSION_H */
