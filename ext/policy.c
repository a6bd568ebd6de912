/*
** tenant_policy_set(tier, setting, value): changing one setting of a
** tier's policy in the catalog table policy or policy_usage. provision.c
** registers the function, and placement.c provides the catalog helpers
** it uses.
**
** Each setting has its own value rule, checked before the catalog
** changes, and an error names the value and the values allowed.
**
** LIMITATIONS: journal_mode applies to files built after the change, and
** encrypted changes only while the tier has no customers, because
** existing files keep the mode and encryption they were built with.
*/
#include "provision.h"
SQLITE_EXTENSION_INIT3

#include <string.h>

/* ---- tenant_policy_set(tier, setting, value) -------------------------- */

void provisionPolicySet(sqlite3_context *pCtx, int argc,
                               sqlite3_value **argv){
  static const char *const azFrequency[] = {
    "hourly", "daily", "weekly", "monthly", 0
  };
  const char *zTier = provArgText(argv[0]);
  const char *zSetting = provArgText(argv[1]);
  const char *zTable = "policy";   /* the catalog table of the setting */
  sqlite3_value *pValue = argv[2];
  int eType = sqlite3_value_numeric_type(pValue);
  char zShow[TENANT_MAX_ID*4+8];
  sqlite3_stmt *pStmt = 0;
  const char *azArg[1];
  char *zErr = 0;
  char *zSql = 0;
  sqlite3 *db;
  int rc = SQLITE_ERROR;
  int i;
  if( tenantAdminDenied(pCtx, "tenant_policy_set") ) return;

  db = provEnter(&zErr);
  if( db==0 ){
    provResultError(pCtx, SQLITE_ERROR, zErr);
    return;
  }
  if( zTier==0 || (strcmp(zTier, "sapphire")!=0 && strcmp(zTier, "opal")!=0
                   && strcmp(zTier, "onyx")!=0) ){
    tenantSetError(&zErr, "unknown tier \"%s\": use sapphire, opal or onyx",
        provShow(zTier, zShow, sizeof(zShow)));
    goto policy_done;
  }

  /* Each setting has its own value rule. */
  if( zSetting==0 ){
    zSetting = "";
  }
  if( strcmp(zSetting, "storage_limit_bytes")==0 ){
    if( eType!=SQLITE_NULL && (eType!=SQLITE_INTEGER
                               || sqlite3_value_int64(pValue)<0) ){
      tenantSetError(&zErr, "storage_limit_bytes \"%s\" is invalid: use a "
          "byte count of 0 or more, or NULL for unlimited",
          provShow((const char*)sqlite3_value_text(pValue), zShow,
                   sizeof(zShow)));
      goto policy_done;
    }
  }else if( strcmp(zSetting, "price_usd")==0 ){
    if( (eType!=SQLITE_INTEGER && eType!=SQLITE_FLOAT)
     || sqlite3_value_double(pValue)<0.0 ){
      tenantSetError(&zErr, "price_usd \"%s\" is invalid: use a monthly "
          "price in dollars of 0 or more",
          provShow((const char*)sqlite3_value_text(pValue), zShow,
                   sizeof(zShow)));
      goto policy_done;
    }
  }else if( strcmp(zSetting, "backup_frequency")==0 ){
    const char *zValue = (const char*)sqlite3_value_text(pValue);
    for(i=0; azFrequency[i]; i++){
      if( zValue && strcmp(zValue, azFrequency[i])==0 ) break;
    }
    if( azFrequency[i]==0 ){
      tenantSetError(&zErr, "backup_frequency \"%s\" is invalid: use "
          "hourly, daily, weekly or monthly",
          provShow(zValue, zShow, sizeof(zShow)));
      goto policy_done;
    }
  }else if( strcmp(zSetting, "encrypted")==0 ){
    if( eType!=SQLITE_INTEGER || (sqlite3_value_int64(pValue)!=0
                                  && sqlite3_value_int64(pValue)!=1) ){
      tenantSetError(&zErr, "encrypted \"%s\" is invalid: use 1 to encrypt "
          "the tier's files or 0 for an unencrypted development fleet",
          provShow((const char*)sqlite3_value_text(pValue), zShow,
                   sizeof(zShow)));
      goto policy_done;
    }
  }else if( strcmp(zSetting, "journal_mode")==0 ){
    const char *zValue = (const char*)sqlite3_value_text(pValue);
    if( zValue==0 || (strcmp(zValue, "wal")!=0 && strcmp(zValue, "delete")!=0) ){
      tenantSetError(&zErr, "journal_mode \"%s\" is invalid: use wal, or "
          "delete for a rollback journal; files built before keep theirs",
          provShow(zValue, zShow, sizeof(zShow)));
      goto policy_done;
    }
  }else if( strcmp(zSetting, "audit_retention_years")==0 ){
    if( eType!=SQLITE_INTEGER || sqlite3_value_int64(pValue)<0 ){
      tenantSetError(&zErr, "audit_retention_years \"%s\" is invalid: use a "
          "number of years of 0 or more",
          provShow((const char*)sqlite3_value_text(pValue), zShow,
                   sizeof(zShow)));
      goto policy_done;
    }
  }else if( strcmp(zSetting, "upgrade_storage_bytes")==0
         || strcmp(zSetting, "upgrade_api_calls")==0
         || strcmp(zSetting, "upgrade_agents")==0 ){
    /* Upgrade thresholds live in policy_usage (see report.c). */
    zTable = "policy_usage";
    if( eType!=SQLITE_NULL && (eType!=SQLITE_INTEGER
                               || sqlite3_value_int64(pValue)<0) ){
      tenantSetError(&zErr, "%s \"%s\" is invalid: use a threshold of 0 or "
          "more, or NULL for no such upgrade trigger", zSetting,
          provShow((const char*)sqlite3_value_text(pValue), zShow,
                   sizeof(zShow)));
      goto policy_done;
    }
  }else if( strcmp(zSetting, "dedicated_price_usd")==0 ){
    zTable = "policy_usage";
    if( (eType!=SQLITE_INTEGER && eType!=SQLITE_FLOAT)
     || sqlite3_value_double(pValue)<0.0 ){
      tenantSetError(&zErr, "dedicated_price_usd \"%s\" is invalid: use the "
          "monthly price in dollars of one dedicated database, 0 or more",
          provShow((const char*)sqlite3_value_text(pValue), zShow,
                   sizeof(zShow)));
      goto policy_done;
    }
  }else{
    tenantSetError(&zErr, "unknown policy setting \"%s\": use "
        "storage_limit_bytes, price_usd, backup_frequency, encrypted, "
        "journal_mode, audit_retention_years, upgrade_storage_bytes, "
        "upgrade_api_calls, "
        "upgrade_agents or dedicated_price_usd",
        provShow(zSetting, zShow, sizeof(zShow)));
    goto policy_done;
  }

  /* Existing files keep the encryption they were built with, so the flag
  ** changes only while the tier has no placement. */
  if( strcmp(zSetting, "encrypted")==0 ){
    azArg[0] = zTier;
    rc = provQuery(db, &pStmt, &zErr,
        "SELECT (SELECT encrypted FROM policy WHERE tier=?1),"
        "       (SELECT count(*) FROM customers WHERE tier=?1)", 1, azArg);
    if( rc!=SQLITE_ROW ) goto policy_done;
    rc = SQLITE_OK;
    if( sqlite3_column_int64(pStmt, 0)!=sqlite3_value_int64(pValue)
     && sqlite3_column_int(pStmt, 1)>0 ){
      int n = sqlite3_column_int(pStmt, 1);
      tenantSetError(&zErr, "tier \"%s\" already has %d customer%s, whose "
          "files keep their encryption: decommission them before changing "
          "encrypted", zTier, n, n==1 ? "" : "s");
      rc = SQLITE_ERROR;
    }
    sqlite3_finalize(pStmt);
    if( rc!=SQLITE_OK ) goto policy_done;
  }

  /* zSetting is one of the fixed names checked above, never user text. */
  zSql = sqlite3_mprintf("UPDATE \"%w\" SET \"%w\"=?1 WHERE tier=?2",
                         zTable, zSetting);
  rc = zSql ? sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0) : SQLITE_NOMEM;
  if( rc==SQLITE_OK ){
    sqlite3_bind_value(pStmt, 1, pValue);
    sqlite3_bind_text(pStmt, 2, zTier, -1, SQLITE_STATIC);
    rc = sqlite3_step(pStmt);
    if( rc==SQLITE_DONE ) rc = SQLITE_OK;
    if( rc!=SQLITE_OK ){
      tenantSetError(&zErr, "cannot change the policy: %s: try again",
          sqlite3_errmsg(db));
    }
  }
  sqlite3_finalize(pStmt);
  if( rc==SQLITE_OK ){
    sqlite3_log(SQLITE_NOTICE, "tenant: policy of tier %s: %s set to %s",
        zTier, zSetting, sqlite3_value_text(pValue));
    sqlite3_result_value(pCtx, pValue);
  }

policy_done:
  sqlite3_free(zSql);
  tenantCatalogLeave();
  if( rc!=SQLITE_OK ) provResultError(pCtx, rc, zErr);
}
