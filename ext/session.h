/*
** Private interface of sessions, shared by session.c (binding),
** sessiontemp.c and sessiontempwrite.c (the temp schema of a bound
** connection), authorizer.c and authdefinition.c (the authorizer of a
** bound connection).
*/
#ifndef TENANT_SESSION_H
#define TENANT_SESSION_H

#include "tenant_int.h"
#include "catalog.h"

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
  int aCookie[TENANT_MAX_FILES];     /* schema cookie of each file at binding */
  int abCookie[TENANT_MAX_FILES];    /* aCookie[i] was read */
  int nInternal;                     /* depth of internal statements */
  int bBinding;                      /* attach keys may be handed out */
  int bBound;                        /* plan and schemas are in force */
  int bDedicated;                    /* the plan reaches a dedicated file */
  int bInCommitHook;                 /* tenantSessionCommitHook() runs */
  int bExpirePending;                /* retired in the commit hook: expire
                                     ** the statements at the next one */
  int bMetered;                      /* TENANT_METER was on at binding */
  int nTable;
  TenantSessionTable *aTable;
  int nKnown;                        /* other names an unqualified read */
  char **azKnown;                    /*   with no schema may resolve to */
  int nKnownAlloc;                   /* slots allocated in azKnown */
  char *zModules;                    /* module names at binding, each ending
                                     ** in a NUL */
  int nModules;                      /* bytes used in zModules */
  sqlite3_int64 iAppGeneration;      /* application tables at binding */
  CatalogVersion appVersion;         /* catalog version they were seen at */
  int bStale;                        /* tables were added: deny everything */
  int bRetired;                      /* the catalog no longer lists the
                                     ** customer as active under
                                     ** plan.iGeneration (permanent) */
  int bAgentRemoved;                 /* retired because the bound agent
                                     ** left the catalog, or is listed
                                     ** under another generation */
  int bActiveRead;                   /* activeVersion is set */
  CatalogVersion activeVersion;      /* catalog version at which an unmetered
                                     ** write or a scan last found the
                                     ** customer active */
  int bEpochRead;                    /* iEpoch is set */
  sqlite3_uint64 iEpoch;             /* change counter read before the last
                                     ** full check that found the customer
                                     ** and agent current (catalogepoch.c) */
  TenantMeter *pMeter;               /* API call count, NULL when off */
  int nUnchecked;                    /* temp tables prepared whose stored */
  char **azUnchecked;                /*   definition has not been checked */
  int bTempWriteDenied;              /* a definition calls a denied
                                     ** function: temp tables are read-only
                                     ** (permanent) */
  int bTempCreated;                  /* the session prepared a temp table */
  int bDisarmAgain;                  /* turn extension loading off at the
                                     ** next prepare */
  int bTxnAtStart;                   /* a transaction was open as the last
                                     ** statement started */
  TenantSession *pNext;              /* list of all sessions */
};

/* A temp virtual table that binding creates: an isolation table (module
** tenant_row) or a placeholder (module tenant_hidden). */
typedef struct TenantTempTable TenantTempTable;
struct TenantTempTable {
  const char *zName;           /* table name, owned by the session or list */
  const char *zModule;         /* TENANT_ROW_MODULE or TENANT_HIDDEN_MODULE */
};

/* The temp virtual tables of one binding, in creation order. */
typedef struct TenantTempList TenantTempList;
struct TenantTempList {
  int nTable;
  TenantTempTable *aTable;
  int nOwned;                  /* placeholder names the list allocated */
  char **azOwned;
};

void tenantTempListFree(TenantTempList *pList);

/* The mutex of the list of sessions and of the table names of each shared
** file (session.c). */
sqlite3_mutex *tenantSessionMutex(void);

/* Run one internal statement with up to two text parameters (session.c). */
int tenantSessionExec(TenantSession *p, const char *zSql,
                      const char *zP1, const char *zP2, int iP3,
                      char **pzErr);

/* The steps of a binding that build the temp schema (sessiontemp.c). */
int tenantSessionListTables(TenantSession *p, char **pzErr);
int tenantSessionPrewrite(TenantSession *p, TenantTempList *pList,
                          char **pzErr);
int tenantSessionIsolate(TenantSession *p, int bAtOpen,
                         TenantTempList *pEarly, char **pzErr);
void tenantSessionDropTemp(TenantSession *p);

/* Writing a binding's temp tables straight into the temp schema
** (sessiontempwrite.c). tenantSessionTempReload() returns how this host
** reads the temp schema again: 0 not known yet, 1 at a new schema cookie,
** 2 only once every schema is discarded. */
int tenantSessionTempReload(void);
int tenantSessionCanWriteTemp(TenantSession *p, int *pbCookie,
                              int *piCookie);
int tenantSessionCreateAll(TenantSession *p, TenantTempList *pList,
                           int bCookie, int iCookie, char **pzErr);

/* Record zName as a table an unqualified read may resolve to. */
int tenantSessionKnow(TenantSession *p, const char *zName);

/* Record the catalog's number of application tables, which the
** authorizer compares against to find a stale session (authorizer.c). */
int tenantSessionMarkAppTables(TenantSession *p, char **pzErr);

/* Whether a bound session may not call function zName (authorizer.c). */
int tenantFunctionIsDenied(const char *zName);

/* The checks of the temp table definitions of a session
** (authdefinition.c). They record a temp table as it is prepared, note
** each statement's start, and check the definitions as a statement that
** may have changed them finishes. tenantSessionTempWriteIsDenied()
** returns whether the session may not write temp table zTable. */
int tenantSessionDefinitionPending(TenantSession *p, const char *zTable);
void tenantSessionStatementStarts(TenantSession *p);
void tenantSessionCheckDefinitions(TenantSession *p, sqlite3_stmt *pStmt);
int tenantSessionTempWriteIsDenied(TenantSession *p, const char *zTable);
void tenantSessionDefinitionsFree(TenantSession *p);

/* Turn extension loading off on a connection as it binds, and again at
** the session's first prepare (sessionload.c). */
void tenantSessionDisarm(sqlite3 *db);
void tenantSessionDisarmAgain(TenantSession *p);

/* The authorizer of a bound connection; pArg is its TenantSession. */
int tenantAuthorize(void *pArg, int eAction, const char *zArg1,
                    const char *zArg2, const char *zDb, const char *zInner);

#endif /* TENANT_SESSION_H */
