/*
** Whether a bound session's customer and agent are still current: the
** checks that retire a session whose customer was decommissioned or
** provisioned again, or whose agent was removed, and the errors of a
** retired session. The catalog is read again only when its version has
** changed (session.c binds, authorizer.c and quota.c call these), and a
** scan reads it only when the change counter of the root has moved
** (catalogepoch.c).
*/
#include "tenant_int.h"
#include "session.h"
#include "sqltoken.h"
SQLITE_EXTENSION_INIT3

/*
** A dedicated file's tables are plain tables, which no scan check guards.
** So a retired session that reaches one expires its prepared statements,
** which setting the authorizer again does in SQLite 3.15.2 and 3.40. At
** its next run, a statement prepared with sqlite3_prepare_v2() or later is
** prepared again, and the authorizer (tenantStatementIsDenied) then fails
** it with SQLITE_AUTH. One prepared with the legacy sqlite3_prepare()
** fails with SQLITE_SCHEMA.
*/
void tenantSessionRetire(TenantSession *p){
  const char *zRejects = p->bDedicated
      ? "rejects every statement, also those prepared earlier,"
      : "rejects every write and every read of a shared table";
  if( p->bRetired ) return;
  p->bRetired = 1;
  if( p->bBound && p->bDedicated ){
    /* A commit hook must not change its connection, so the statements
    ** are expired as the next statement starts (tenantSessionRunCheck). */
    if( p->bInCommitHook ){
      p->bExpirePending = 1;
    }else{
      sqlite3_set_authorizer(p->db, tenantAuthorize, p);
    }
  }
  if( p->bAgentRemoved ){
    sqlite3_log(SQLITE_AUTH, "tenant: agent %s of customer %s of generation"
        " %lld was removed from the catalog: its session %s from now on",
        p->plan.zAgent, p->plan.zCustomer, p->plan.iAgentGeneration,
        zRejects);
    return;
  }
  sqlite3_log(SQLITE_AUTH, "tenant: customer %s of generation %lld is no"
      " longer active in the catalog: its session %s from now on",
      p->plan.zCustomer, p->plan.iGeneration, zRejects);
}

int tenantSessionRejectInactive(TenantSession *p, char **pzErr){
  tenantSessionRetire(p);
  if( p->bAgentRemoved ){
    tenantSetError(pzErr, "agent \"%s\" of customer \"%s\" was removed"
        " from the catalog since this session bound (adding it again does"
        " not restore this session): close this session and open a new one",
        p->plan.zAgent, p->plan.zCustomer);
  }else{
    tenantSetError(pzErr, "customer \"%s\" is no longer active in the"
        " catalog (decommissioned, or provisioned again since this session"
        " bound): close this session and open a new one", p->plan.zCustomer);
  }
  return SQLITE_AUTH;
}

int tenantSessionLimitRead(TenantSession *p, sqlite3_int64 *piLimit,
                           char *zTier, int nTier){
  int rc;
  if( p->bRetired ) return SQLITE_NOTFOUND;
  rc = catalogLimitRead(p->plan.zCustomer, p->plan.iGeneration, piLimit,
                        zTier, nTier);
  if( rc==SQLITE_OK && p->plan.zAgent[0] ){
    sqlite3_int64 iAgentGeneration = 0;
    rc = catalogAgentRead(p->plan.zCustomer, p->plan.zAgent,
                          &iAgentGeneration, 0);
    /* An agent removed and added again has a new generation: it is
    ** another agent, and this session's agent stays removed. */
    if( rc==SQLITE_OK && iAgentGeneration!=p->plan.iAgentGeneration ){
      rc = SQLITE_NOTFOUND;
    }
    if( rc==SQLITE_NOTFOUND ) p->bAgentRemoved = 1;
  }
  if( rc==SQLITE_NOTFOUND ) tenantSessionRetire(p);
  return rc;
}

int tenantSessionLimit(TenantSession *p, sqlite3_int64 *piLimit,
                       char *zTier, int nTier){
  int rc;
  *piLimit = -1;
  if( tenantCatalogEnter()==0 ) return SQLITE_MISUSE;
  rc = tenantSessionLimitRead(p, piLimit, zTier, nTier);
  tenantCatalogLeave();
  return rc;
}

/*
** The customer's row is read only when the catalog's version has changed
** since the last check, as quota.c reads a metered session's limit. It is
** read with the limit query, which finds the customer only while it is
** active under the generation the session bound, so both modes agree on
** which customer is active.
*/
int tenantSessionCheckActive(TenantSession *p, char **pzErr){
  sqlite3_int64 iData = 0;
  sqlite3_int64 nWrite = 0;
  sqlite3_int64 iLimit = 0;
  char zTier[16];
  int bVersion;
  int rc;

  if( p->bRetired ) return tenantSessionRejectInactive(p, pzErr);
  bVersion = tenantCatalogVersion(&iData, &nWrite)==SQLITE_OK;
  if( bVersion && p->bActiveRead && iData==p->activeVersion.iData
   && nWrite==p->activeVersion.nWrite ){
    return SQLITE_OK;
  }
  p->bActiveRead = 0;
  rc = tenantSessionLimit(p, &iLimit, zTier, sizeof(zTier));
  if( rc==SQLITE_NOTFOUND ) return tenantSessionRejectInactive(p, pzErr);
  if( rc!=SQLITE_OK ){
    tenantSetError(pzErr, "cannot read the state of customer \"%s\" from"
        " the catalog: %s", p->plan.zCustomer, sqlite3_errstr(rc));
    return rc;
  }
  if( bVersion ){
    p->bActiveRead = 1;
    p->activeVersion.iData = iData;
    p->activeVersion.nWrite = nWrite;
  }
  return SQLITE_OK;
}

/* The part of tenantSessionScanCheck() that reads the catalog, out of
** line so that a scan whose counter has not moved needs no stack frame. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static int tenantSessionScanCheckFull(TenantSession *p, int bMapped,
                                      sqlite3_uint64 iEpoch, char **pzErr){
  int rc = tenantSessionCheckActive(p, pzErr);
  if( rc==SQLITE_OK && bMapped ){
    p->iEpoch = iEpoch;
    p->bEpochRead = 1;
  }
  return rc;
}

/*
** The counter is read after the scan's first inner step. The value kept
** was read before the catalog read of a full check that found the
** customer current. catalogepoch.c explains why this order keeps a scan
** from returning the rows of a customer provisioned again under the same
** id. When the counter is not mapped, every scan runs the full check.
*/
int tenantSessionScanCheck(TenantSession *p, char **pzErr){
  sqlite3_uint64 iEpoch = 0;
  int bMapped = tenantEpochLoad(&iEpoch);

  if( bMapped && iEpoch==p->iEpoch && p->bEpochRead ) return SQLITE_OK;
  return tenantSessionScanCheckFull(p, bMapped, iEpoch, pzErr);
}

/* The part of tenantSessionRunCheck() that reads the catalog or stops the
** statement, out of line for the same reason as
** tenantSessionScanCheckFull(). */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void tenantSessionRunCheckFull(TenantSession *p, const char *zSql){
  char *zErr = 0;
  int rc;

  if( p->bExpirePending ){
    p->bExpirePending = 0;
    sqlite3_set_authorizer(p->db, tenantAuthorize, p);
  }
  if( !p->bRetired ){
    rc = tenantSessionScanCheck(p, &zErr);
    if( rc==SQLITE_OK ) return;
    if( !p->bRetired ){
      sqlite3_log(rc, "tenant: a statement of customer %s was interrupted"
          " because the check of its session failed: %s", p->plan.zCustomer,
          zErr ? zErr : sqlite3_errstr(rc));
    }
    sqlite3_free(zErr);
  }

  /* A retired session may still end its transaction and so release its
  ** locks, which other sessions of the customer wait for: ROLLBACK runs,
  ** and a commit becomes a rollback in the commit hook
  ** (tenantSessionCommitHook). SQLite 3.15.2 does not check an interrupt
  ** in these statements anyway. */
  if( tenantSqlStartsWith(zSql, "ROLLBACK")
   || tenantSqlStartsWith(zSql, "COMMIT")
   || tenantSqlStartsWith(zSql, "END")
   || tenantSqlStartsWith(zSql, "RELEASE") ){
    return;
  }
  sqlite3_interrupt(p->db);
}

/*
** Turn a commit of a retired session into a rollback. The session is
** checked here too, because a statement that started before the change
** (a long INSERT, or one whose rows are read one at a time) commits after
** it. A check that cannot read the catalog rolls back as well.
*/
int tenantSessionCommitHook(void *pArg){
  TenantSession *p = (TenantSession*)pArg;
  char *zErr = 0;
  int rc;

  if( p->nInternal>0 ) return 0;
  if( p->bRetired ) return 1;
  p->bInCommitHook = 1;
  rc = tenantSessionScanCheck(p, &zErr);
  p->bInCommitHook = 0;
  if( rc!=SQLITE_OK && !p->bRetired ){
    sqlite3_log(rc, "tenant: a commit of customer %s was rolled back"
        " because the check of its session failed: %s", p->plan.zCustomer,
        zErr ? zErr : sqlite3_errstr(rc));
  }
  sqlite3_free(zErr);
  return rc!=SQLITE_OK;
}

/*
** Check the session from the trace as each application statement starts,
** because SQLite calls the authorizer only as a statement is prepared.
** The statement has then run only OP_Init, so sqlite3_interrupt() stops it
** at its first jump, before it reads or writes a row, and SQLite returns
** SQLITE_INTERRUPT ("interrupted"). Retiring the session expired its
** other statements, so their next run fails with SQLITE_AUTH instead
** (tenantSessionRetire). NOTE: a program that removes the trace
** (sqlite3_trace_v2(db, 0, 0, 0)) skips this check until its next prepare
** restores the trace, as it skips the meter.
*/
void tenantSessionRunCheck(TenantSession *p, const char *zSql){
  sqlite3_uint64 iEpoch = 0;
  int bMapped = tenantEpochLoad(&iEpoch);

  if( bMapped && iEpoch==p->iEpoch && p->bEpochRead && !p->bRetired ){
    return;
  }
  tenantSessionRunCheckFull(p, zSql);
}
