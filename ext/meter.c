/*
** API call metering: one call per statement that a bound connection
** executes, counted per customer and calendar month (UTC).
**
** A session counts in memory, from a SQLITE_TRACE_STMT callback that
** session.c installs (the extension's own inner statements are not
** counted), and adds its count to the catalog table
**
**     usage_monthly(customer, month 'YYYY-MM', api_calls)
**
** every TENANT_METER_FLUSH_STATEMENTS statements (default 1000), at the
** first statement after TENANT_METER_FLUSH_SECONDS seconds (default 10)
** since the last flush, when the month changes, and when the connection
** closes. So the catalog gets one small write per flush, never one per
** statement. A crash of the process loses the calls counted since the
** session's last flush: fewer than TENANT_METER_FLUSH_STATEMENTS per open
** session. A flush skips the fsync (see meterFlush), so a crash of the
** operating system can also lose the flushes since the catalog's last
** synced commit or checkpoint.
**
** Setting the environment variable TENANT_METER to "off" before a session
** binds turns metering, storage accounting and storage limits off for that
** session. It exists to measure their cost; usage drifts while it is off.
** The session's writes still fail once the customer is no longer active
** (rowwrite.c).
**
** LIMITATIONS: the trace callback is the connection's only one. Binding
** installs it, and the session installs it again as each statement is
** prepared (from the authorizer) and after the extension's own
** statements. A trace that an application installs on a bound connection
** (the shell's .trace) lasts only until then; statements prepared before
** it and run while it is in place are not counted. Agents are not counted
** here: they are the rows of the catalog's agents table.
*/
#include "tenant_int.h"
SQLITE_EXTENSION_INIT3

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define METER_DEFAULT_STATEMENTS 1000
#define METER_DEFAULT_SECONDS    10

struct TenantMeter {
  char zCustomer[TENANT_MAX_ID + 1];
  sqlite3_int64 nPending;       /* statements counted, not yet flushed */
  char zMonth[8];               /* "YYYY-MM" the pending calls belong to */
  time_t tMonthEnd;             /* first second of the next month */
  time_t tLastFlush;
  int nFlushStatements;         /* flush when nPending reaches this */
  int nFlushSeconds;            /* flush when this much time has passed */
};

int tenantMeterEnabled(void){
  static int bLogged = 0;
  const char *z = getenv("TENANT_METER");
  if( z==0 || sqlite3_stricmp(z, "off")!=0 ) return 1;
  if( !bLogged ){
    /* An operator must see that limits are off, once per process. */
    bLogged = 1;
    sqlite3_log(SQLITE_WARNING, "tenant: TENANT_METER=off: sessions bound "
                "by this process are neither metered nor held to storage "
                "limits");
  }
  return 0;
}

/* A positive integer from environment variable zName, else iDefault. */
static int meterEnvInt(const char *zName, int iDefault){
  const char *z = getenv(zName);
  int n;
  if( z==0 || z[0]==0 ) return iDefault;
  n = atoi(z);
  if( n<=0 ){
    sqlite3_log(SQLITE_WARNING, "tenant: %s=\"%s\" is not a positive "
                "integer: using %d", zName, z, iDefault);
    return iDefault;
  }
  return n;
}

/* Set the month of p from time t: its "YYYY-MM" and when it ends. */
static void meterSetMonth(TenantMeter *p, time_t t){
  struct tm tm;
  gmtime_r(&t, &tm);
  sqlite3_snprintf(sizeof(p->zMonth), p->zMonth, "%04d-%02d",
                   tm.tm_year+1900, tm.tm_mon+1);
  tm.tm_mday = 1;
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  tm.tm_mon++;
  if( tm.tm_mon==12 ){
    tm.tm_mon = 0;
    tm.tm_year++;
  }
  p->tMonthEnd = timegm(&tm);
}

/* Add the pending calls to the catalog. On failure they stay pending. */
static void meterFlush(TenantMeter *p, time_t tNow){
  char *zErr = 0;
  int rc;

  p->tLastFlush = tNow;
  if( p->nPending==0 ) return;
  rc = tenantCatalogAddCalls(p->zCustomer, p->zMonth, p->nPending, &zErr);
  if( rc==SQLITE_OK ){
    p->nPending = 0;
  }else{
    sqlite3_log(rc, "tenant: cannot record %lld API calls of customer %s "
                "for %s: %s; retrying at the next flush", p->nPending,
                p->zCustomer, p->zMonth, zErr ? zErr : sqlite3_errstr(rc));
  }
  sqlite3_free(zErr);
}

int tenantMeterOpen(const char *zCustomer, TenantMeter **pp){
  TenantMeter *p;
  *pp = 0;
  if( !tenantMeterEnabled() ) return SQLITE_OK;
  p = sqlite3_malloc64(sizeof(*p));
  if( p==0 ) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  sqlite3_snprintf(sizeof(p->zCustomer), p->zCustomer, "%s", zCustomer);
  p->nFlushStatements = meterEnvInt("TENANT_METER_FLUSH_STATEMENTS",
                                    METER_DEFAULT_STATEMENTS);
  p->nFlushSeconds = meterEnvInt("TENANT_METER_FLUSH_SECONDS",
                                 METER_DEFAULT_SECONDS);
  p->tLastFlush = time(0);
  meterSetMonth(p, p->tLastFlush);
  *pp = p;
  return SQLITE_OK;
}

void tenantMeterCount(TenantMeter *p){
  time_t tNow = time(0);

  /* Calls belong to the month they were made in. */
  if( tNow>=p->tMonthEnd ){
    meterFlush(p, tNow);
    if( p->nPending>0 ){
      /* NOTE: calls the catalog refused are counted in the new month. */
      sqlite3_log(SQLITE_WARNING, "tenant: %lld API calls of customer %s "
                  "move from %s to the next month", p->nPending,
                  p->zCustomer, p->zMonth);
    }
    meterSetMonth(p, tNow);
  }

  p->nPending++;
  if( p->nPending>=p->nFlushStatements
   || tNow - p->tLastFlush>=p->nFlushSeconds ){
    meterFlush(p, tNow);
  }
}

void tenantMeterClose(TenantMeter *p){
  if( p==0 ) return;
  meterFlush(p, time(0));
  sqlite3_free(p);
}
