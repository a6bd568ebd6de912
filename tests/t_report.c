/*
** Tests of the reports: the cost report on the 1,000-customer reference
** fleet (50 Sapphire, 300 Opal, 650 Onyx), upgrade candidates and the
** usage report with shrunk thresholds, and the functions that record
** integration and compliance requests.
**
** The fleet is unencrypted in both hosts, which keeps provisioning fast.
*/
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sqlite3 *openSession(const char *zCustomer){
  char zTail[256];
  sqlite3 *db;
  snprintf(zTail, sizeof(zTail), "%s?vfs=tenant", zCustomer);
  db = tap_open_uri(zTail, 0, 0);
  return db;
}

/* 1. The reference fleet: Opal parents s0-s4, Onyx parents all 50. */
static void testFleet(sqlite3 *dbAdmin){
  sqlite3_stmt *pStmt = 0;
  int nFailed = 0;
  int i;

  tap_ok(tap_exec_error(dbAdmin,
      "SELECT tenant_policy_set('sapphire','encrypted',0);"
      "SELECT tenant_policy_set('opal','encrypted',0);"
      "SELECT tenant_policy_set('onyx','encrypted',0);")==0,
      "fleet: tiers unencrypted");
  sqlite3_prepare_v2(dbAdmin, "SELECT tenant_provision(?1, ?2, 'us-west1',"
                     " ?3)", -1, &pStmt, 0);
  for(i=0; i<1000; i++){
    char zId[32], zParent[32];
    const char *zTier;
    if( i<50 ){
      zTier = "sapphire";
      snprintf(zId, sizeof(zId), "s%d", i);
    }else if( i<350 ){
      zTier = "opal";
      snprintf(zId, sizeof(zId), "o%d", i-50);
      snprintf(zParent, sizeof(zParent), "s%d", (i-50)%5);
    }else{
      zTier = "onyx";
      snprintf(zId, sizeof(zId), "x%d", i-350);
      snprintf(zParent, sizeof(zParent), "s%d", (i-350)%50);
    }
    sqlite3_bind_text(pStmt, 1, zId, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(pStmt, 2, zTier, -1, SQLITE_STATIC);
    if( i<50 ) sqlite3_bind_null(pStmt, 3);
    else sqlite3_bind_text(pStmt, 3, zParent, -1, SQLITE_TRANSIENT);
    if( sqlite3_step(pStmt)!=SQLITE_ROW ){
      if( nFailed++==0 ) tap_diag("%s: %s", zId, sqlite3_errmsg(dbAdmin));
    }
    sqlite3_reset(pStmt);
  }
  sqlite3_finalize(pStmt);
  tap_is_int(nFailed, 0, "fleet: 1,000 customers provisioned");
}

/* 2. The cost report of the reference fleet and the policy prices. */
static void testCost(sqlite3 *dbAdmin){
  static const char zRow[] =
    "SELECT group_concat(tier||':'||customers||':'||coalesce(price_usd,'')||"
    "':'||tiered_usd||':'||coalesce(dedicated_price_usd,'')||':'||"
    "dedicated_usd||':'||coalesce(saving_percent,''), ' ')"
    " FROM tenant_cost_report";
  tap_is_str(tap_query_text(dbAdmin, zRow),
      "sapphire:50:1000.0:50000.0:500.0:25000.0: "
      "opal:300:200.0:60000.0:500.0:150000.0: "
      "onyx:650:50.0:32500.0:500.0:325000.0: "
      "total:1000::142500.0::500000.0:71.5",
      "cost: $500,000 all dedicated against $142,500 tiered, 71.5 %");

  tap_ok(tap_exec_error(dbAdmin,
      "SELECT tenant_policy_set('onyx','price_usd',100);"
      "SELECT tenant_policy_set('opal','dedicated_price_usd',600)")==0,
      "cost: prices changed");
  tap_is_str(tap_query_text(dbAdmin, "SELECT tiered_usd||':'||dedicated_usd"
             " FROM tenant_cost_report WHERE tier='total'"),
             "175000.0:530000.0", "cost: report follows the policy prices");
  tap_ok(tap_exec_error(dbAdmin,
      "SELECT tenant_policy_set('onyx','price_usd',50);"
      "SELECT tenant_policy_set('opal','dedicated_price_usd',500)")==0,
      "cost: prices restored");
}

/* 3. Upgrade candidates with shrunk thresholds. */
static void testCandidates(sqlite3 *dbAdmin){
  sqlite3 *db;
  int i;

  tap_ok(tap_exec_error(dbAdmin,
      "SELECT tenant_policy_set('onyx','upgrade_storage_bytes',50);"
      "SELECT tenant_policy_set('onyx','upgrade_api_calls',3);"
      "SELECT tenant_policy_set('onyx','upgrade_agents',2);"
      "SELECT tenant_add_agent('x1','a1');"
      "SELECT tenant_add_agent('x1','a2');"
      "SELECT tenant_add_agent('x1','a3');"
      "SELECT tenant_request_integration('o1');"
      "SELECT tenant_require_compliance('o2','SOC2,HIPAA');"
      "SELECT tenant_require_compliance('o3','SOC2');")==0,
      "candidates: thresholds, agents and requests set");

  /* x1: one row of 68 bytes (its parent "s1" stamped) and 6 statements. */
  db = openSession("x1");
  tap_ok(tap_exec_error(db, "INSERT INTO basic_communications(id, data)"
         " VALUES('c1', 'abc')")==0, "candidates: x1 writes a row");
  for(i=0; i<5; i++) sqlite3_exec(db, "SELECT 1", 0, 0, 0);
  sqlite3_close(db);

  tap_is_str(tap_query_text(dbAdmin, "SELECT group_concat(customer||':'||"
      "tier||'>'||target_tier||':'||trigger||':'||measured||':'||threshold,"
      " ' ') FROM (SELECT * FROM tenant_upgrade_candidates"
      " ORDER BY customer, trigger)"),
      "o1:opal>sapphire:custom_integration:1:1 "
      "o2:opal>sapphire:compliance:SOC2,HIPAA:HIPAA,SOX "
      "x1:onyx>opal:agents:3:2 "
      "x1:onyx>opal:api_calls_month:6:3 "
      "x1:onyx>opal:storage_bytes:68:50",
      "candidates: every trigger that fired, with value and threshold");

  tap_ok(tap_exec_error(dbAdmin,
      "SELECT tenant_request_integration('o1', 0)")==0,
      "candidates: integration request withdrawn");
  tap_is_str(tap_query_text(dbAdmin, "SELECT count(*) FROM "
             "tenant_upgrade_candidates WHERE customer='o1'"), "0",
             "candidates: o1 no longer a candidate");
}

/* 4. The usage report and its alerts. */
static void testUsage(sqlite3 *dbAdmin){
  tap_ok(tap_exec_error(dbAdmin, "SELECT tenant_policy_set('onyx',"
         "'storage_limit_bytes',80)")==0, "usage: Onyx limit 80 bytes");
  tap_is_str(tap_query_text(dbAdmin, "SELECT tier||':'||database||':'||"
      "storage_bytes||':'||limit_bytes||':'||percent_used||':'||"
      "api_calls_month||':'||agents||':'||alert FROM tenant_usage_report"
      " WHERE customer='x1'"),
      "onyx:d1-onyx-shared-us-west1-1:68:80:85.0:6:3:storage above 80%",
      "usage: x1 row with the storage alert");
  tap_is_str(tap_query_text(dbAdmin, "SELECT alert FROM tenant_usage_report"
      " WHERE customer='o2'"), "upgrade to sapphire: compliance",
      "usage: o2 alert names its trigger");
  tap_is_str(tap_query_text(dbAdmin, "SELECT coalesce(alert,'none')||':'||"
      "coalesce(limit_bytes,'unlimited') FROM tenant_usage_report"
      " WHERE customer='s1'"), "none:unlimited",
      "usage: a Sapphire without alert is unlimited");
  tap_is_str(tap_query_text(dbAdmin, "SELECT count(*) FROM "
             "tenant_usage_report"), "1000", "usage: one row per customer");
}

/* 5. Invalid arguments of the request functions and policy settings. */
static void testErrors(sqlite3 *dbAdmin){
  static const struct { const char *zSql; const char *zErr; } aCase[] = {
    { "SELECT tenant_request_integration('nobody')",
      "tenant: customer \"nobody\" not found or not active: provision it "
      "with tenant_provision() first" },
    { "SELECT tenant_request_integration('o1', 5)",
      "tenant: requested \"5\" is invalid: use 1 to request a custom "
      "integration or 0 to withdraw the request" },
    { "SELECT tenant_require_compliance('o1', 'HIPAA;SOX')",
      "tenant: compliance labels \"HIPAA;SOX\" contain the character ';': "
      "use letters, digits, '-' and commas, such as 'HIPAA,SOX'" },
    { "SELECT tenant_policy_set('onyx','upgrade_agents',-1)",
      "tenant: upgrade_agents \"-1\" is invalid: use a threshold of 0 or "
      "more, or NULL for no such upgrade trigger" },
    { "SELECT tenant_policy_set('opal','dedicated_price_usd','cheap')",
      "tenant: dedicated_price_usd \"cheap\" is invalid: use the monthly "
      "price in dollars of one dedicated database, 0 or more" },
    { "SELECT * FROM tenant_storage_check('nobody')",
      "tenant: customer \"nobody\" not found or not active: check the id" },
  };
  int i;
  for(i=0; i<(int)(sizeof(aCase)/sizeof(aCase[0])); i++){
    tap_is_str(tap_exec_error(dbAdmin, aCase[i].zSql), aCase[i].zErr,
               aCase[i].zSql);
  }
}

/* 6. A bound session can use none of it. */
static void testDenied(void){
  static const char *const azSql[] = {
    "SELECT * FROM tenant_cost_report",
    "SELECT * FROM tenant_upgrade_candidates",
    0
  };
  sqlite3 *db = openSession("x2");
  int i;
  for(i=0; azSql[i]; i++){
    const char *zErr = tap_exec_error(db, azSql[i]);
    tap_ok(zErr && strstr(zErr, "is administrative and not available on a "
           "connection bound to a customer"), "denied: %s", azSql[i]);
  }
  tap_is_str(tap_exec_error(db, "SELECT tenant_require_compliance('x2','')"),
             "not authorized to use function: tenant_require_compliance",
             "denied: tenant_require_compliance");
  sqlite3_close(db);
}

int main(void){
  sqlite3 *dbAdmin = 0;
  tap_fresh_root("report");
  tap_open(&dbAdmin);
  testFleet(dbAdmin);
  testCost(dbAdmin);
  testCandidates(dbAdmin);
  testUsage(dbAdmin);
  testErrors(dbAdmin);
  testDenied();
  sqlite3_close(dbAdmin);
  tap_done();
  return 0;
}
