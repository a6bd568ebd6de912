/*
** The functions that record a customer's requests, which upgrade triggers
** read (report.c):
**
**   tenant_request_integration(customer [, requested])
**   tenant_require_compliance(customer, labels)
**
** A session bound to a customer cannot call them: the authorizer denies
** them.
*/
#include "tenant_int.h"
SQLITE_EXTENSION_INIT3

#include <string.h>

/*
** Record a request of an active customer: custom_integration (an integer)
** or compliance (a text), in customer_requests. pValue NULL stands for 1.
*/
static int reportSetRequest(const char *zCustomer, const char *zColumn,
                            sqlite3_value *pValue, char **pzErr){
  sqlite3_stmt *pStmt = 0;
  sqlite3 *db;
  char *zSql;
  int rc;

  if( !tenantIdIsSafe(zCustomer) ){
    tenantSetError(pzErr, "customer \"%s\" not found: pass the id of an "
        "active customer", zCustomer ? zCustomer : "NULL");
    return SQLITE_ERROR;
  }
  rc = tenantCatalogOpen(0, pzErr);
  if( rc!=SQLITE_OK ) return rc;
  db = tenantCatalogEnter();
  if( db==0 ) return SQLITE_MISUSE;
  rc = sqlite3_exec(db, "BEGIN IMMEDIATE", 0, 0, 0);
  if( rc==SQLITE_OK ){
    rc = sqlite3_prepare_v2(db, "SELECT 1 FROM customers WHERE id=?1 AND "
                            "state='active'", -1, &pStmt, 0);
  }
  if( rc==SQLITE_OK ){
    sqlite3_bind_text(pStmt, 1, zCustomer, -1, SQLITE_STATIC);
    if( sqlite3_step(pStmt)!=SQLITE_ROW ){
      tenantSetError(pzErr, "customer \"%s\" not found or not active: "
          "provision it with tenant_provision() first", zCustomer);
      rc = SQLITE_ERROR;
    }
    sqlite3_finalize(pStmt);
    pStmt = 0;
  }
  if( rc==SQLITE_OK ){
    rc = sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO customer_requests"
                            "(customer) VALUES(?1)", -1, &pStmt, 0);
    if( rc==SQLITE_OK ){
      sqlite3_bind_text(pStmt, 1, zCustomer, -1, SQLITE_STATIC);
      sqlite3_step(pStmt);
      rc = sqlite3_finalize(pStmt);
      pStmt = 0;
    }
  }
  if( rc==SQLITE_OK ){
    /* zColumn is one of two fixed names, never user text. */
    zSql = sqlite3_mprintf("UPDATE customer_requests SET \"%w\"=?2"
                           " WHERE customer=?1", zColumn);
    rc = zSql ? sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0) : SQLITE_NOMEM;
    sqlite3_free(zSql);
    if( rc==SQLITE_OK ){
      sqlite3_bind_text(pStmt, 1, zCustomer, -1, SQLITE_STATIC);
      if( pValue ) sqlite3_bind_value(pStmt, 2, pValue);
      else sqlite3_bind_int(pStmt, 2, 1);
      sqlite3_step(pStmt);
      rc = sqlite3_finalize(pStmt);
    }
  }
  if( rc==SQLITE_OK ){
    rc = sqlite3_exec(db, "COMMIT", 0, 0, 0);
  }
  if( rc!=SQLITE_OK ){
    if( pzErr && *pzErr==0 ){
      tenantSetError(pzErr, "cannot record the request of customer \"%s\": "
          "%s: try again", zCustomer, sqlite3_errmsg(db));
    }
    sqlite3_exec(db, "ROLLBACK", 0, 0, 0);
  }else{
    sqlite3_log(SQLITE_NOTICE, "tenant: customer %s: %s set to %s",
                zCustomer, zColumn,
                pValue ? (const char*)sqlite3_value_text(pValue) : "1");
  }
  tenantCatalogLeave();
  return rc;
}

/* tenant_request_integration(customer [, requested]): requested is 1 (the
** default) or 0 to withdraw the request. */
static void reportRequestIntegration(sqlite3_context *pCtx, int argc,
                                     sqlite3_value **argv){
  const char *zCustomer = (const char*)sqlite3_value_text(argv[0]);
  char *zErr = 0;
  int rc;

  if( tenantAdminDenied(pCtx, "tenant_request_integration") ) return;
  if( argc>1 && (sqlite3_value_numeric_type(argv[1])!=SQLITE_INTEGER
                 || (sqlite3_value_int(argv[1])!=0
                     && sqlite3_value_int(argv[1])!=1)) ){
    tenantResultError(pCtx, "requested \"%s\" is invalid: use 1 to request a "
        "custom integration or 0 to withdraw the request",
        sqlite3_value_text(argv[1]) ? (const char*)sqlite3_value_text(argv[1])
                                    : "NULL");
    return;
  }
  if( tenantIdArgHasNul(pCtx, argv[0], "customer") ) return;
  rc = reportSetRequest(zCustomer, "custom_integration",
                        argc>1 ? argv[1] : 0, &zErr);
  if( rc!=SQLITE_OK ){
    sqlite3_result_error(pCtx, zErr ? zErr : sqlite3_errstr(rc), -1);
    sqlite3_free(zErr);
    return;
  }
  sqlite3_result_int(pCtx, argc>1 ? sqlite3_value_int(argv[1]) : 1);
}

/* tenant_require_compliance(customer, labels): labels is a comma-separated
** list such as 'HIPAA,SOX', or '' for none. */
static void reportRequireCompliance(sqlite3_context *pCtx, int argc,
                                    sqlite3_value **argv){
  const char *zCustomer = (const char*)sqlite3_value_text(argv[0]);
  const char *zLabels = (const char*)sqlite3_value_text(argv[1]);
  char *zErr = 0;
  int rc;
  int i;
  (void)argc;
  if( tenantAdminDenied(pCtx, "tenant_require_compliance") ) return;

  if( zLabels==0 || strlen(zLabels)>=128 ){
    tenantResultError(pCtx, "compliance labels \"%s\" are invalid: pass a "
        "comma-separated list such as 'HIPAA,SOX' of under 128 bytes, or ''",
        zLabels ? zLabels : "NULL");
    return;
  }
  for(i=0; zLabels[i]; i++){
    char c = zLabels[i];
    if( !((c>='a' && c<='z') || (c>='A' && c<='Z') || (c>='0' && c<='9')
          || c=='-' || c==',' || c==' ') ){
      tenantResultError(pCtx, "compliance labels \"%s\" contain the character "
          "'%c': use letters, digits, '-' and commas, such as 'HIPAA,SOX'",
          zLabels, c);
      return;
    }
  }
  if( tenantIdArgHasNul(pCtx, argv[0], "customer") ) return;
  rc = reportSetRequest(zCustomer, "compliance", argv[1], &zErr);
  if( rc!=SQLITE_OK ){
    sqlite3_result_error(pCtx, zErr ? zErr : sqlite3_errstr(rc), -1);
    sqlite3_free(zErr);
    return;
  }
  sqlite3_result_text(pCtx, zLabels, -1, SQLITE_TRANSIENT);
}

int tenantReportRequestRegister(sqlite3 *db){
  /* SQLITE_DIRECTONLY (3.30.0) keeps triggers and views from calling
  ** them; older hosts rely on the authorizer of bound connections. */
  int eFlags = SQLITE_UTF8 | (tenantHostVersion()>=3030000 ? 0x80000 : 0);
  int rc;
  rc = sqlite3_create_function(db, "tenant_request_integration", 1, eFlags,
                               0, reportRequestIntegration, 0, 0);
  if( rc==SQLITE_OK ){
    rc = sqlite3_create_function(db, "tenant_request_integration", 2, eFlags,
                                 0, reportRequestIntegration, 0, 0);
  }
  if( rc==SQLITE_OK ){
    rc = sqlite3_create_function(db, "tenant_require_compliance", 2, eFlags,
                                 0, reportRequireCompliance, 0, 0);
  }
  return rc;
}
