/*
** The administrative SQL functions: provisioning customers, agents and
** application tables, and the registration of every administrative
** function. tenant_decommission() is in decommission.c,
** tenant_policy_set() in policy.c, and the catalog helpers and placement
** files that all of them use are in placement.c.
**
** Every function checks all of its arguments before it changes anything,
** and holds the catalog mutex from the first check to the last change, so
** the administrative calls of one process never interleave.
**
** A customer row is written in state 'provisioning' before any file and
** turned 'active' after the last, so a crash leaves a customer that no
** session can bind and that the same tenant_provision() call completes.
**
** LIMITATIONS: tenant_add_table() rebuilds each table from its column list,
** primary key and UNIQUE constraints, so CHECK, REFERENCES, generated
** columns, AUTOINCREMENT and WITHOUT ROWID are rejected as not supported.
** Two processes that provision and add a table at the same moment may leave
** the new file without the new table (see provisionAddTable).
*/
#include "tenant_int.h"
#include "vfscodec.h"
#include "provision.h"
#include "tabledef.h"
SQLITE_EXTENSION_INIT3

#include <assert.h>
#include <string.h>
#include <unistd.h>

/* Names of the administrative functions, NULL-terminated, which the
** authorizer of a bound connection denies. */
extern TENANT_TEST_API const char *const tenantAdminFunctions[];

const char *const tenantAdminFunctions[] = {
  "tenant_root",
  "tenant_provision",
  "tenant_decommission",
  "tenant_add_agent",
  "tenant_remove_agent",
  "tenant_add_table",
  "tenant_policy_set",
  "tenant_request_integration",
  "tenant_require_compliance",
  "tenant_storage_check",
  "tenant_storage_repair",
  "tenant_upgrade_candidates",
  "tenant_usage_report",
  "tenant_cost_report",
  0
};

/* Placement of one customer's own database. */
typedef struct ProvPlacement ProvPlacement;
struct ProvPlacement {
  char zDatabase[192];           /* e.g. "d1-opal-acme-us-west1" */
  char zProject[128];            /* e.g. "shared-opal-us-west1" */
  char zFolder[TENANT_MAX_PATH]; /* <root>/<project>/<database> */
  int iOnyx;                     /* Onyx instance from 1, 0 for the others */
};

/* ---- tenant_root([path]) ---------------------------------------------- */

static void provisionRoot(sqlite3_context *pCtx, int argc,
                          sqlite3_value **argv){
  char *zErr = 0;
  const char *zRoot = argc>0 ? provArgText(argv[0]) : 0;
  int rc;

  if( tenantAdminDenied(pCtx, "tenant_root") ) return;
  rc = tenantCatalogOpen(zRoot, &zErr);
  if( rc!=SQLITE_OK ){
    provResultError(pCtx, rc, zErr);
    return;
  }
  sqlite3_result_text(pCtx, tenantCatalogRoot(), -1, SQLITE_TRANSIENT);
}

/* ---- tenant_provision(customer, tier, region [, parent]) --------------- */

/* FNV-1a, 32 bits, of z: spreads Onyx customers over a region's
** instances, and stays stable because the result is stored. */
static unsigned int provFnv1a(const char *z){
  unsigned int h = 2166136261u;
  while( *z ){
    h ^= (unsigned char)*z++;
    h *= 16777619u;
  }
  return h;
}

/*
** Name the placement of a new customer. Onyx customers are spread over
** nOnyx regional instances by a hash of their id.
*/
static void provNamePlacement(
  ProvPlacement *p,
  const char *zCustomer,
  const char *zTier,
  const char *zRegion,
  const char *zParent,
  int nOnyx
){
  memset(p, 0, sizeof(*p));
  if( strcmp(zTier, "sapphire")==0 ){
    sqlite3_snprintf(sizeof(p->zDatabase), p->zDatabase,
        "d1-sapphire-%s-%s", zCustomer, zRegion);
    sqlite3_snprintf(sizeof(p->zProject), p->zProject,
        "customer-%s-sapphire", zCustomer);
  }else if( strcmp(zTier, "opal")==0 ){
    sqlite3_snprintf(sizeof(p->zDatabase), p->zDatabase,
        "d1-opal-%s-%s", zParent, zRegion);
    sqlite3_snprintf(sizeof(p->zProject), p->zProject,
        "shared-opal-%s", zRegion);
  }else{
    p->iOnyx = (int)(provFnv1a(zCustomer) % (unsigned)(nOnyx>0 ? nOnyx : 1))
             + 1;
    if( nOnyx>1 ){
      sqlite3_snprintf(sizeof(p->zDatabase), p->zDatabase,
          "d1-onyx-shared-%s-%d", zRegion, p->iOnyx);
    }else{
      sqlite3_snprintf(sizeof(p->zDatabase), p->zDatabase,
          "d1-onyx-shared-%s", zRegion);
    }
    sqlite3_snprintf(sizeof(p->zProject), p->zProject,
        "shared-onyx-%s", zRegion);
  }
  sqlite3_snprintf(sizeof(p->zFolder), p->zFolder, "%s/%s/%s",
      tenantCatalogRoot(), p->zProject, p->zDatabase);
}

/*
** Check every argument of tenant_provision() against the catalog, inside
** the caller's write transaction. Sets *pbResume when zCustomer is a
** half-provisioned customer with the same arguments, and *pbEncrypted,
** *pbWal and *pnOnyx from the tier's policy and the region.
*/
static int provisionCheck(
  sqlite3 *db,
  const char *zCustomer,
  const char *zTier,
  const char *zRegion,
  const char *zParent,
  int *pbResume,
  int *pbEncrypted,
  int *pbWal,
  int *pnOnyx,
  char **pzErr
){
  char zShow[TENANT_MAX_ID*4+8];
  sqlite3_stmt *pStmt;
  const char *azArg[1];
  int rc;

  rc = provCheckId("customer", zCustomer, pzErr);
  if( rc!=SQLITE_OK ) return rc;
  if( zTier==0 || (strcmp(zTier, "sapphire")!=0 && strcmp(zTier, "opal")!=0
                   && strcmp(zTier, "onyx")!=0) ){
    tenantSetError(pzErr, "unknown tier \"%s\": use sapphire, opal or onyx",
        provShow(zTier, zShow, sizeof(zShow)));
    return SQLITE_ERROR;
  }

  /* The region must be one of the catalog's regions. */
  azArg[0] = zRegion ? zRegion : "";
  rc = provQuery(db, &pStmt, pzErr,
      "SELECT onyx_instances FROM regions WHERE id=?1", 1, azArg);
  if( rc==SQLITE_ROW ){
    *pnOnyx = sqlite3_column_int(pStmt, 0);
    sqlite3_finalize(pStmt);
  }else if( rc==SQLITE_DONE ){
    char *zList = 0;
    rc = provQuery(db, &pStmt, pzErr, "SELECT id FROM regions ORDER BY id",
                   0, 0);
    while( rc==SQLITE_ROW ){
      zList = sqlite3_mprintf("%z%s%s", zList, zList ? ", " : "",
                              sqlite3_column_text(pStmt, 0));
      rc = sqlite3_step(pStmt);
    }
    sqlite3_finalize(pStmt);
    tenantSetError(pzErr, "unknown region \"%s\": use one of %s",
        provShow(zRegion, zShow, sizeof(zShow)), zList ? zList : "(none)");
    sqlite3_free(zList);
    return SQLITE_ERROR;
  }else{
    return rc;
  }

  /* Parent rules: Sapphire has none; Opal and Onyx have an active
  ** Sapphire parent in their own region, because data stays in its
  ** region. */
  if( strcmp(zTier, "sapphire")==0 ){
    if( zParent ){
      tenantSetError(pzErr, "a sapphire customer has no parent, but parent "
          "\"%s\" was given: omit the fourth argument",
          provShow(zParent, zShow, sizeof(zShow)));
      return SQLITE_ERROR;
    }
  }else{
    if( zParent==0 ){
      tenantSetError(pzErr, "tier \"%s\" requires a parent sapphire "
          "customer: pass its id as the fourth argument", zTier);
      return SQLITE_ERROR;
    }
    rc = provCheckId("parent", zParent, pzErr);
    if( rc!=SQLITE_OK ) return rc;
    azArg[0] = zParent;
    rc = provQuery(db, &pStmt, pzErr,
        "SELECT tier, region, state FROM customers WHERE id=?1", 1, azArg);
    if( rc==SQLITE_DONE ){
      tenantSetError(pzErr, "parent customer \"%s\" not found: provision it "
          "first as a sapphire customer", zParent);
      return SQLITE_ERROR;
    }
    if( rc!=SQLITE_ROW ) return rc;
    rc = SQLITE_ERROR;
    if( strcmp((const char*)sqlite3_column_text(pStmt, 0), "sapphire")!=0 ){
      tenantSetError(pzErr, "parent customer \"%s\" is %s, not sapphire: "
          "choose a sapphire customer as parent", zParent,
          sqlite3_column_text(pStmt, 0));
    }else if( strcmp((const char*)sqlite3_column_text(pStmt, 1),
                     zRegion)!=0 ){
      tenantSetError(pzErr, "parent customer \"%s\" is in region \"%s\", "
          "not \"%s\": data stays in its region, so choose a parent in "
          "\"%s\"", zParent, sqlite3_column_text(pStmt, 1), zRegion,
          zRegion);
    }else if( strcmp((const char*)sqlite3_column_text(pStmt, 2),
                     "active")!=0 ){
      tenantSetError(pzErr, "parent customer \"%s\" is in state '%s': "
          "finish its provisioning first", zParent,
          sqlite3_column_text(pStmt, 2));
    }else{
      rc = SQLITE_OK;
    }
    sqlite3_finalize(pStmt);
    if( rc!=SQLITE_OK ) return rc;
  }

  /* A duplicate id is an error, unless it is the same customer half
  ** provisioned: then this call finishes the job. */
  azArg[0] = zCustomer;
  *pbResume = 0;
  rc = provQuery(db, &pStmt, pzErr,
      "SELECT tier, region, coalesce(parent,''), state FROM customers"
      " WHERE id=?1", 1, azArg);
  if( rc==SQLITE_ROW ){
    const char *zState = (const char*)sqlite3_column_text(pStmt, 3);
    rc = SQLITE_ERROR;
    if( strcmp(zState, "active")==0 ){
      tenantSetError(pzErr, "customer \"%s\" already exists: choose another "
          "id", zCustomer);
    }else if( strcmp(zState, "provisioning")!=0 ){
      tenantSetError(pzErr, "customer \"%s\" is being decommissioned: call "
          "tenant_decommission('%s') to finish first", zCustomer, zCustomer);
    }else if( strcmp((const char*)sqlite3_column_text(pStmt, 0), zTier)!=0
           || strcmp((const char*)sqlite3_column_text(pStmt, 1), zRegion)!=0
           || strcmp((const char*)sqlite3_column_text(pStmt, 2),
                     zParent ? zParent : "")!=0 ){
      tenantSetError(pzErr, "customer \"%s\" is half provisioned as %s in "
          "%s: call tenant_provision() with those arguments to finish it",
          zCustomer, sqlite3_column_text(pStmt, 0),
          sqlite3_column_text(pStmt, 1));
    }else{
      *pbResume = 1;
      rc = SQLITE_OK;
    }
    sqlite3_finalize(pStmt);
    if( rc!=SQLITE_OK ) return rc;
  }else if( rc!=SQLITE_DONE ){
    return rc;
  }

  azArg[0] = zTier;
  rc = provQuery(db, &pStmt, pzErr,
      "SELECT encrypted, journal_mode='wal' FROM policy WHERE tier=?1",
      1, azArg);
  if( rc!=SQLITE_ROW ){
    if( rc==SQLITE_DONE ){
      tenantSetError(pzErr, "tier \"%s\" has no policy row: restore it in "
          "the policy table of the catalog", zTier);
      rc = SQLITE_ERROR;
    }
    return rc;
  }
  *pbEncrypted = sqlite3_column_int(pStmt, 0)!=0;
  *pbWal = sqlite3_column_int(pStmt, 1)!=0;
  sqlite3_finalize(pStmt);
  return SQLITE_OK;
}

/*
** Check that the files of placement p can be encrypted as policy requires:
** the host has a codec and the master key derives.
*/
static int provisionCheckKeys(const ProvPlacement *p, const char *zTier,
                              int bEncrypted, char **pzErr){
  unsigned char aKey[TENANT_KEY_BYTES];
  char zKeyId[256];
  int rc;
  if( !bEncrypted ) return SQLITE_OK;
  if( !tenantHostHasCodec() && !tenantCodecAvailable() ){
    tenantSetError(pzErr, "placement \"%s\" must be encrypted but this host "
        "has no codec: load the extension into the sqlcipher shell or a "
        "SQLCipher-linked program, or mark the tier unencrypted with "
        "tenant_policy_set('%s', 'encrypted', 0)", p->zDatabase, zTier);
    return SQLITE_ERROR;
  }
  sqlite3_snprintf(sizeof(zKeyId), zKeyId, "%s/owner", p->zDatabase);
  rc = tenantKeyDerive(zKeyId, aKey, pzErr);
  tenantKeyWipe(aKey, sizeof(aKey));
  return rc;
}

static void provisionProvision(sqlite3_context *pCtx, int argc,
                               sqlite3_value **argv){
  const char *zCustomer = provArgText(argv[0]);
  const char *zTier = provArgText(argv[1]);
  const char *zRegion = provArgText(argv[2]);
  const char *zParent = argc>3 ? provArgText(argv[3]) : 0;
  const char *azArg[6];
  ProvPlacement *p = 0;
  char zOnyx[16];
  char *zErr = 0;
  sqlite3 *db;
  int bResume = 0, bEncrypted = 1, bWal = 1, nOnyx = 1;
  int bInTxn = 0;
  int bAdvanced = 0;
  int rc;
  if( tenantAdminDenied(pCtx, "tenant_provision") ) return;

  if( tenantIdArgHasNul(pCtx, argv[0], "customer")
   || tenantIdArgHasNul(pCtx, argv[2], "region")
   || (argc>3 && tenantIdArgHasNul(pCtx, argv[3], "parent")) ){
    return;
  }
  db = provEnter(&zErr);
  if( db==0 ){
    provResultError(pCtx, SQLITE_ERROR, zErr);
    return;
  }
  p = sqlite3_malloc64(sizeof(*p));
  if( p==0 ){
    rc = SQLITE_NOMEM;
    goto provision_done;
  }

  /* Step 1: check everything and write the 'provisioning' row in one
  ** write transaction, so two processes cannot both take the id. */
  rc = sqlite3_exec(db, "BEGIN IMMEDIATE", 0, 0, 0);
  if( rc!=SQLITE_OK ){
    tenantSetError(&zErr, "cannot write the catalog: %s: try again",
        sqlite3_errmsg(db));
    goto provision_done;
  }
  bInTxn = 1;

  /* The change counter advances under the write lock, so after the
  ** commit that freed the id, and again at the end, in the order that
  ** catalogepoch.c explains. */
  rc = tenantEpochAdvance(db, &zErr);
  if( rc!=SQLITE_OK ) goto provision_done;
  bAdvanced = 1;
  rc = provisionCheck(db, zCustomer, zTier, zRegion, zParent, &bResume,
                      &bEncrypted, &bWal, &nOnyx, &zErr);
  if( rc!=SQLITE_OK ) goto provision_done;

  if( bResume ){
    sqlite3_stmt *pStmt;
    azArg[0] = zCustomer;
    rc = provQuery(db, &pStmt, &zErr, "SELECT database, project, path,"
        " coalesce(onyx_instance,0) FROM placements WHERE customer=?1",
        1, azArg);
    if( rc==SQLITE_ROW ){
      memset(p, 0, sizeof(*p));
      sqlite3_snprintf(sizeof(p->zDatabase), p->zDatabase, "%s",
          sqlite3_column_text(pStmt, 0));
      sqlite3_snprintf(sizeof(p->zProject), p->zProject, "%s",
          sqlite3_column_text(pStmt, 1));
      /* Rebuilt under the root in use, not read back: see catalog.c. */
      sqlite3_snprintf(sizeof(p->zFolder), p->zFolder, "%s/%s/%s",
          tenantCatalogRoot(), sqlite3_column_text(pStmt, 1),
          sqlite3_column_text(pStmt, 0));
      p->iOnyx = sqlite3_column_int(pStmt, 3);
      sqlite3_finalize(pStmt);
      rc = SQLITE_OK;
    }else if( rc==SQLITE_DONE ){
      /* The row of the customer was written without its placement. */
      bResume = 0;
      rc = SQLITE_OK;
    }
    if( rc!=SQLITE_OK ) goto provision_done;
  }
  if( !bResume ){
    provNamePlacement(p, zCustomer, zTier, zRegion, zParent, nOnyx);
  }
  rc = provisionCheckKeys(p, zTier, bEncrypted, &zErr);
  if( rc!=SQLITE_OK ) goto provision_done;

  if( !bResume ){
    sqlite3_snprintf(sizeof(zOnyx), zOnyx, "%d", p->iOnyx);
    azArg[0] = zCustomer;
    azArg[1] = zTier;
    azArg[2] = zRegion;
    azArg[3] = zParent;
    rc = provExec(db, &zErr, "INSERT OR IGNORE INTO customers(id, tier,"
        " region, parent, state) VALUES(?1, ?2, ?3, ?4, 'provisioning')",
        4, azArg);
    if( rc!=SQLITE_OK ) goto provision_done;

    /* A new generation, above every one in use, so that sessions still
    ** bound to an earlier customer of this id fail their checks. A resumed
    ** call keeps the generation that its first call wrote. */
    rc = provExec(db, &zErr, "INSERT OR REPLACE INTO customer_generations("
        "id, generation) SELECT ?1, coalesce(max(generation), 0) + 1"
        " FROM customer_generations", 1, azArg);
    if( rc!=SQLITE_OK ) goto provision_done;
    azArg[1] = p->zDatabase;
    azArg[2] = p->zProject;
    azArg[3] = p->zFolder;
    azArg[4] = p->iOnyx ? zOnyx : 0;
    rc = provExec(db, &zErr, "INSERT OR REPLACE INTO placements(customer,"
        " database, project, path, onyx_instance)"
        " VALUES(?1, ?2, ?3, ?4, CAST(?5 AS INTEGER))", 5, azArg);
    if( rc!=SQLITE_OK ) goto provision_done;
  }
  rc = sqlite3_exec(db, "COMMIT", 0, 0, 0);
  if( rc!=SQLITE_OK ) goto provision_done;
  bInTxn = 0;

  /* Step 2: build the files that do not exist yet. */
  rc = provMkdirs(p->zFolder, &zErr);
  if( rc==SQLITE_OK ){
    rc = provBuildFile(db, p->zFolder, p->zDatabase, "owner",
        strcmp(zTier, "onyx")==0 ? "onyx" : "standard",
        strcmp(zTier, "sapphire")==0 ? zCustomer : 0, bEncrypted, bWal,
        &zErr);
  }
  if( rc==SQLITE_OK && strcmp(zTier, "sapphire")==0 ){
    rc = provBuildFile(db, p->zFolder, p->zDatabase, "private", "standard",
                       zCustomer, bEncrypted, bWal, &zErr);
  }
  if( rc!=SQLITE_OK ){
    sqlite3_log(rc, "tenant: provisioning of customer %s stopped: %s",
        zCustomer, zErr ? zErr : "");
    goto provision_done;
  }

  /* Step 3: only now may sessions bind the customer. */
  azArg[0] = zCustomer;
  rc = provExec(db, &zErr, "UPDATE customers SET state='active'"
      " WHERE id=?1", 1, azArg);
  if( rc!=SQLITE_OK ) goto provision_done;
  sqlite3_log(SQLITE_NOTICE, "tenant: provisioned customer %s (%s, %s) in %s",
      zCustomer, zTier, zRegion, p->zDatabase);
  sqlite3_result_text(pCtx, p->zDatabase, -1, SQLITE_TRANSIENT);

provision_done:
  if( bInTxn ) sqlite3_exec(db, "ROLLBACK", 0, 0, 0);
  if( bAdvanced ) tenantEpochAdvance(db, 0);
  tenantCatalogLeave();
  sqlite3_free(p);
  if( rc!=SQLITE_OK ) provResultError(pCtx, rc, zErr);
}

/* ---- tenant_add_agent / tenant_remove_agent --------------------------- */

/* Check that zCustomer exists and is not being decommissioned. */
static int provCheckCustomer(sqlite3 *db, const char *zCustomer,
                             char **pzErr){
  sqlite3_stmt *pStmt;
  const char *azArg[1];
  int rc = provCheckId("customer", zCustomer, pzErr);
  if( rc!=SQLITE_OK ) return rc;
  azArg[0] = zCustomer;
  rc = provQuery(db, &pStmt, pzErr,
      "SELECT state FROM customers WHERE id=?1", 1, azArg);
  if( rc==SQLITE_DONE ){
    tenantSetError(pzErr, "customer \"%s\" not found: provision it with "
        "tenant_provision()", zCustomer);
    return SQLITE_ERROR;
  }
  if( rc!=SQLITE_ROW ) return rc;
  rc = SQLITE_OK;
  if( strcmp((const char*)sqlite3_column_text(pStmt, 0),
             "decommissioning")==0 ){
    tenantSetError(pzErr, "customer \"%s\" is being decommissioned: "
        "call tenant_decommission('%s') to finish it", zCustomer, zCustomer);
    rc = SQLITE_ERROR;
  }
  sqlite3_finalize(pStmt);
  return rc;
}

/* tenant_add_agent(customer, agent) when bAdd, else tenant_remove_agent. */
static void provisionAgent(sqlite3_context *pCtx, int argc,
                           sqlite3_value **argv){
  int bAdd = sqlite3_user_data(pCtx)!=0;
  const char *zCustomer = provArgText(argv[0]);
  const char *zAgent = provArgText(argv[1]);
  const char *azArg[2];
  char *zErr = 0;
  sqlite3 *db;
  int bInTxn = 0;
  int bAdvanced = 0;
  int rc;
  if( tenantAdminDenied(pCtx, "tenant_add_agent") ) return;

  if( tenantIdArgHasNul(pCtx, argv[0], "customer")
   || tenantIdArgHasNul(pCtx, argv[1], "agent") ){
    return;
  }
  db = provEnter(&zErr);
  if( db==0 ){
    provResultError(pCtx, SQLITE_ERROR, zErr);
    return;
  }
  rc = provCheckCustomer(db, zCustomer, &zErr);
  if( rc==SQLITE_OK ) rc = provCheckId("agent", zAgent, &zErr);
  if( rc!=SQLITE_OK ) goto agent_done;

  /* One transaction, so that an addition's row and its generation commit
  ** together. A removal retires the agent's sessions: it advances the
  ** change counter under the write lock and again at the end, in the
  ** order that catalogepoch.c explains. An addition needs no advance,
  ** because adding an id again follows a removal that advanced it. */
  rc = sqlite3_exec(db, "BEGIN IMMEDIATE", 0, 0, 0);
  if( rc!=SQLITE_OK ){
    tenantSetError(&zErr, "cannot write the catalog: %s: try again",
        sqlite3_errmsg(db));
    goto agent_done;
  }
  bInTxn = 1;
  if( !bAdd ){
    rc = tenantEpochAdvance(db, &zErr);
    if( rc!=SQLITE_OK ) goto agent_done;
    bAdvanced = 1;
  }

  azArg[0] = zCustomer;
  azArg[1] = zAgent;
  rc = provExec(db, &zErr, bAdd
      ? "INSERT OR IGNORE INTO agents(customer, id) VALUES(?1, ?2)"
      : "DELETE FROM agents WHERE customer=?1 AND id=?2", 2, azArg);
  if( rc!=SQLITE_OK ) goto agent_done;
  if( sqlite3_changes(db)==0 ){
    if( bAdd ){
      tenantSetError(&zErr, "agent \"%s\" already exists for customer "
          "\"%s\": choose another id", zAgent, zCustomer);
    }else{
      tenantSetError(&zErr, "agent \"%s\" not found for customer \"%s\": "
          "check the id", zAgent, zCustomer);
    }
    rc = SQLITE_ERROR;
    goto agent_done;
  }

  /* A new generation, above every one in use, so that the sessions of an
  ** earlier addition of this id, bound before its removal, fail their
  ** checks (sessionactive.c). The row of a removed agent stays. */
  if( bAdd ){
    rc = provExec(db, &zErr, "INSERT OR REPLACE INTO agent_generations("
        "customer, id, generation) SELECT ?1, ?2,"
        " coalesce(max(generation), 0) + 1 FROM agent_generations",
        2, azArg);
    if( rc!=SQLITE_OK ) goto agent_done;
  }
  rc = sqlite3_exec(db, "COMMIT", 0, 0, 0);
  if( rc!=SQLITE_OK ){
    tenantSetError(&zErr, "cannot write the catalog: %s: try again",
        sqlite3_errmsg(db));
    goto agent_done;
  }
  bInTxn = 0;
  sqlite3_result_text(pCtx, zAgent, -1, SQLITE_TRANSIENT);

agent_done:
  if( bInTxn ) sqlite3_exec(db, "ROLLBACK", 0, 0, 0);
  if( bAdvanced ) tenantEpochAdvance(db, 0);
  tenantCatalogLeave();
  if( rc!=SQLITE_OK ) provResultError(pCtx, rc, zErr);
}

/* ---- tenant_add_table(partition, ddl) --------------------------------- */

/*
** Create application table zTable, with physical DDL zPhysical, in every
** existing file that contains partition zScheme/zClass, inside the
** caller's catalog write transaction.
*/
static int provAddTableToFiles(
  sqlite3 *db,
  const char *zScheme,
  const char *zClass,
  const char *zTable,
  const char *zPhysical,
  char **pzErr
){
  const char *azArg[2];
  sqlite3_stmt *pStmt = 0;
  char *zSql = 0;
  int rc;

  assert( strncmp(zPhysical, "CREATE TABLE ", 13)==0 );

  /* Standard owner partitions live in Sapphire and Opal owner files,
  ** private ones in Sapphire private files, Onyx's in Onyx owner files. */
  azArg[0] = strcmp(zScheme, "onyx")==0 ? "onyx" : "sapphire";
  azArg[1] = strcmp(zScheme, "onyx")==0 ? "onyx"
           : strcmp(zClass, "owner")==0 ? "opal" : "sapphire";
  rc = provQuery(db, &pStmt, pzErr,
      "SELECT DISTINCT p.project, p.database, y.encrypted,"
      "       CASE WHEN c.tier='sapphire' THEN c.id END"
      "  FROM placements p JOIN customers c ON c.id=p.customer"
      "  JOIN policy y ON y.tier=c.tier"
      " WHERE c.tier IN (?1, ?2)", 2, azArg);
  while( rc==SQLITE_ROW ){
    char zPath[TENANT_MAX_PATH];
    char zKeyId[256];
    sqlite3 *dbFile = 0;
    sqlite3_snprintf(sizeof(zPath), zPath, "%s/%s/%s/%s.db",
        tenantCatalogRoot(), sqlite3_column_text(pStmt, 0),
        sqlite3_column_text(pStmt, 1), zClass);
    sqlite3_snprintf(sizeof(zKeyId), zKeyId, "%s/%s",
        sqlite3_column_text(pStmt, 1), zClass);
    if( access(zPath, F_OK)==0 ){
      rc = provOpenFile(zPath, zKeyId, sqlite3_column_int(pStmt, 2), 0,
                        &dbFile, pzErr);
      if( rc==SQLITE_OK ){
        char *zOwned = provOwnDdl(zPhysical+13,
                                  (const char*)sqlite3_column_text(pStmt, 3));
        zSql = zOwned ? sqlite3_mprintf("CREATE TABLE IF NOT EXISTS f.%z",
                                        zOwned) : 0;
        rc = zSql ? provExecOne(dbFile, zTable, zSql, pzErr) : SQLITE_NOMEM;
        sqlite3_free(zSql);
        zSql = 0;
        if( rc!=SQLITE_OK && *pzErr==0 ){
          tenantSetError(pzErr, "cannot create the table in \"%s\": %s",
              zPath, sqlite3_errmsg(dbFile));
        }
      }
      sqlite3_close(dbFile);
      if( rc!=SQLITE_OK ) break;
    }
    rc = sqlite3_step(pStmt);
  }
  sqlite3_finalize(pStmt);
  return rc==SQLITE_DONE ? SQLITE_OK : rc;
}

/*
** NOTE: files built by another process while this call runs may miss the
** new table, because provisioning reads app_tables before it builds a file
** and this call only reaches files that already exist.
*/
static void provisionAddTable(sqlite3_context *pCtx, int argc,
                              sqlite3_value **argv){
  const char *zPartition = provArgText(argv[0]);
  const char *zDdl = provArgText(argv[1]);
  const char *azArg[4];
  sqlite3_stmt *pStmt = 0;
  char zShow[TENANT_MAX_ID*4+8];
  char zScheme[16], zClass[16];
  char *zName = 0, *zPhysical = 0, *zErr = 0;
  int bInTxn = 0;
  sqlite3 *db;
  int rc;
  if( tenantAdminDenied(pCtx, "tenant_add_table") ) return;

  db = provEnter(&zErr);
  if( db==0 ){
    provResultError(pCtx, SQLITE_ERROR, zErr);
    return;
  }

  azArg[0] = zPartition ? zPartition : "";
  rc = provQuery(db, &pStmt, &zErr,
      "SELECT scheme, file FROM partitions WHERE name=?1", 1, azArg);
  if( rc==SQLITE_DONE ){
    /* Name the partitions there are, from the catalog. */
    sqlite3_stmt *pList = 0;
    const char *zList = 0;
    sqlite3_finalize(pStmt);
    pStmt = 0;
    if( sqlite3_prepare_v2(db, "SELECT group_concat(name, ', ') FROM "
          "(SELECT name FROM partitions ORDER BY scheme DESC, number)", -1,
          &pList, 0)==SQLITE_OK && sqlite3_step(pList)==SQLITE_ROW ){
      zList = (const char*)sqlite3_column_text(pList, 0);
    }
    tenantSetError(&zErr, "unknown partition \"%s\": use one of %s",
        provShow(zPartition, zShow, sizeof(zShow)),
        zList ? zList : "the partitions in the catalog");
    sqlite3_finalize(pList);
    rc = SQLITE_ERROR;
    goto add_table_done;
  }
  if( rc!=SQLITE_ROW ) goto add_table_done;
  sqlite3_snprintf(sizeof(zScheme), zScheme, "%s",
      sqlite3_column_text(pStmt, 0));
  sqlite3_snprintf(sizeof(zClass), zClass, "%s",
      sqlite3_column_text(pStmt, 1));
  sqlite3_finalize(pStmt);

  rc = provParseTable(zDdl ? zDdl : "", &zName, &zPhysical, &zErr);
  if( rc!=SQLITE_OK ) goto add_table_done;

  rc = sqlite3_exec(db, "BEGIN IMMEDIATE", 0, 0, 0);
  if( rc!=SQLITE_OK ) goto add_table_done;
  bInTxn = 1;
  azArg[0] = zName;
  rc = provQuery(db, &pStmt, &zErr,
      "SELECT partition FROM app_tables WHERE name=?1 COLLATE NOCASE"
      " UNION ALL SELECT name FROM partitions WHERE name=?1 COLLATE NOCASE",
      1, azArg);
  if( rc==SQLITE_ROW ){
    tenantSetError(&zErr, "table \"%s\" already exists in partition \"%s\": "
        "choose another name", zName, sqlite3_column_text(pStmt, 0));
    sqlite3_finalize(pStmt);
    rc = SQLITE_ERROR;
    goto add_table_done;
  }
  if( rc!=SQLITE_DONE ) goto add_table_done;

  azArg[1] = zPartition;
  azArg[2] = zDdl;
  azArg[3] = zPhysical;
  rc = provExec(db, &zErr, "INSERT INTO app_tables(name, partition, ddl,"
      " physical_ddl) VALUES(?1, ?2, ?3, ?4)", 4, azArg);
  if( rc==SQLITE_OK ){
    rc = provAddTableToFiles(db, zScheme, zClass, zName, zPhysical, &zErr);
  }
  if( rc==SQLITE_OK ) rc = sqlite3_exec(db, "COMMIT", 0, 0, 0);
  if( rc!=SQLITE_OK ) goto add_table_done;
  bInTxn = 0;
  sqlite3_log(SQLITE_NOTICE, "tenant: added table %s to partition %s",
      zName, zPartition);
  sqlite3_result_text(pCtx, zName, -1, SQLITE_TRANSIENT);

add_table_done:
  if( bInTxn ) sqlite3_exec(db, "ROLLBACK", 0, 0, 0);
  tenantCatalogLeave();
  sqlite3_free(zName);
  sqlite3_free(zPhysical);
  if( rc!=SQLITE_OK ) provResultError(pCtx, rc, zErr);
}

/* ---- registration ----------------------------------------------------- */

int tenantProvisionRegister(sqlite3 *db){
  static const struct {
    const char *zName;
    int nArg;
    int bUserData;
    void (*xFunc)(sqlite3_context*, int, sqlite3_value**);
  } aFunc[] = {
    { "tenant_root",          0, 0, provisionRoot },
    { "tenant_root",          1, 0, provisionRoot },
    { "tenant_provision",     3, 0, provisionProvision },
    { "tenant_provision",     4, 0, provisionProvision },
    { "tenant_decommission",  1, 0, provisionDecommission },
    { "tenant_add_agent",     2, 1, provisionAgent },
    { "tenant_remove_agent",  2, 0, provisionAgent },
    { "tenant_add_table",     2, 0, provisionAddTable },
    { "tenant_policy_set",    3, 0, provisionPolicySet },
  };
  /* SQLITE_DIRECTONLY (3.30.0) keeps triggers and views from calling
  ** them; older hosts rely on the authorizer of bound connections. */
  int eFlags = SQLITE_UTF8 | (tenantHostVersion()>=3030000 ? 0x80000 : 0);
  int rc = SQLITE_OK;
  int i;
  for(i=0; rc==SQLITE_OK && i<(int)(sizeof(aFunc)/sizeof(aFunc[0])); i++){
    rc = sqlite3_create_function(db, aFunc[i].zName, aFunc[i].nArg, eFlags,
        aFunc[i].bUserData ? (void*)aFunc : 0, aFunc[i].xFunc, 0, 0);
  }
  if( rc==SQLITE_OK ) rc = tenantReportRegister(db);
  if( rc==SQLITE_OK ) rc = tenantReportRequestRegister(db);
  return rc;
}
