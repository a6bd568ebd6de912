/*
** tenant_decommission(customer): deleting a customer's rows, files and
** catalog rows. provision.c registers the function, and placement.c
** provides the catalog helpers and file access it uses.
**
** The customer turns 'decommissioning' before anything is deleted, so no
** session binds it from then on, and a call that fails part way can be
** repeated to finish. Rows in shared files are deleted with secure_delete
** on, a Sapphire's dedicated folder is removed whole, and the catalog rows
** go last in one transaction.
**
** LIMITATIONS: each shared file is cleaned in its own transaction, so a
** failure can leave some files cleaned and others not until the call is
** repeated. A customer with child customers is rejected until they are
** decommissioned.
*/
#include "provision.h"
SQLITE_EXTENSION_INIT3

#include <string.h>
#include <unistd.h>

/* Build the plan of a customer in any state, with the catalog mutex held.
** Defined in catalogplan.c. */
int tenantPlanBuild(const char *zCustomer, TenantPlan *pPlan,
                    char *zState, char **pzErr);

/* ---- tenant_decommission(customer) ------------------------------------ */

/*
** Delete the rows of zCustomer from every table of every partition that
** plan reaches in file iFile. secure_delete overwrites the freed content.
*/
static int provDeleteRows(
  sqlite3 *dbCatalog,
  const TenantPlan *pPlan,
  int iFile,
  char **pzErr
){
  const TenantFile *pFile = &pPlan->aFile[iFile];
  sqlite3 *dbFile = 0;
  const char *azArg[1];
  int rc;
  int i;

  if( access(pFile->zPath, F_OK)!=0 ) return SQLITE_OK;
  rc = provOpenFile(pFile->zPath, pFile->zKeyId, pFile->bEncrypted, 0,
                    &dbFile, pzErr);
  if( rc!=SQLITE_OK ) return rc;
  rc = sqlite3_exec(dbFile, "PRAGMA f.secure_delete=1; BEGIN", 0, 0, 0);

  for(i=0; rc==SQLITE_OK && i<pPlan->nReach; i++){
    sqlite3_stmt *pTables = 0;
    if( pPlan->aReach[i].iFile!=iFile ) continue;
    azArg[0] = pPlan->aReach[i].zPartition;
    rc = provQuery(dbCatalog, &pTables, pzErr,
        "SELECT ?1 UNION ALL"
        " SELECT name FROM app_tables WHERE partition=?1", 1, azArg);
    while( rc==SQLITE_ROW ){
      sqlite3_stmt *pDel = 0;
      char *zSql = sqlite3_mprintf("DELETE FROM f.\"%w\" WHERE customer_id=?1",
          (const char*)sqlite3_column_text(pTables, 0));
      rc = zSql ? sqlite3_prepare_v2(dbFile, zSql, -1, &pDel, 0)
                : SQLITE_NOMEM;
      sqlite3_free(zSql);
      if( rc==SQLITE_OK ){
        sqlite3_bind_text(pDel, 1, pPlan->zCustomer, -1, SQLITE_STATIC);
        rc = sqlite3_step(pDel);
        if( rc==SQLITE_DONE ) rc = SQLITE_OK;
      }
      sqlite3_finalize(pDel);
      if( rc!=SQLITE_OK ) break;
      rc = sqlite3_step(pTables);
    }
    sqlite3_finalize(pTables);
    if( rc==SQLITE_DONE ) rc = SQLITE_OK;
  }

  if( rc==SQLITE_OK ){
    /* Its storage record goes with its rows, where the file has one. */
    sqlite3_stmt *pDel = 0;
    if( sqlite3_prepare_v2(dbFile, "DELETE FROM f." TENANT_USAGE_TABLE
                           " WHERE customer_id=?1", -1, &pDel, 0)==SQLITE_OK ){
      sqlite3_bind_text(pDel, 1, pPlan->zCustomer, -1, SQLITE_STATIC);
      rc = sqlite3_step(pDel);
      if( rc==SQLITE_DONE ) rc = SQLITE_OK;
    }
    sqlite3_finalize(pDel);
  }
  if( rc==SQLITE_OK ) rc = sqlite3_exec(dbFile, "COMMIT", 0, 0, 0);
  if( rc!=SQLITE_OK && pzErr && *pzErr==0 ){
    tenantSetError(pzErr, "cannot delete the rows of customer \"%s\" from "
        "\"%s\": %s", pPlan->zCustomer, pFile->zPath,
        sqlite3_errmsg(dbFile));
  }
  sqlite3_close(dbFile);
  return rc;
}

/*
** Remove the dedicated placement folder zFolder and, when empty, its
** project folder. NOTE: a session still open on the files keeps them. In
** SQLite 3.15.2 hosts, closing it later deletes the -wal and -shm files at
** these paths, which by then may belong to the files of the same id
** provisioned again. SQLite 3.40.1 left them in place when tried, and the
** versions in between were not tried.
*/
static void provRemovePlacement(const char *zFolder){
  char zProject[TENANT_MAX_PATH];
  char *zSlash;
  provRemoveFile(zFolder, "owner");
  provRemoveFile(zFolder, "private");
  if( rmdir(zFolder)==0 ){
    sqlite3_log(SQLITE_NOTICE, "tenant: removed %s", zFolder);
  }
  sqlite3_snprintf(sizeof(zProject), zProject, "%s", zFolder);
  zSlash = strrchr(zProject, '/');
  if( zSlash ){
    *zSlash = 0;
    rmdir(zProject);   /* fails, as intended, while other folders remain */
  }
}

void provisionDecommission(sqlite3_context *pCtx, int argc,
                                  sqlite3_value **argv){
  const char *zCustomer = provArgText(argv[0]);
  const char *azArg[2];
  TenantPlan *pPlan = 0;
  sqlite3_stmt *pStmt = 0;
  char zState[16];
  char *zErr = 0;
  char *zOpal = 0;
  sqlite3 *db;
  int bAdvanced = 0;
  int rc;
  int i;
  if( tenantAdminDenied(pCtx, "tenant_decommission") ) return;

  if( tenantIdArgHasNul(pCtx, argv[0], "customer") ) return;
  db = provEnter(&zErr);
  if( db==0 ){
    provResultError(pCtx, SQLITE_ERROR, zErr);
    return;
  }
  pPlan = sqlite3_malloc64(sizeof(*pPlan));
  if( pPlan==0 ){
    rc = SQLITE_NOMEM;
    goto decommission_done;
  }
  rc = provCheckId("customer", zCustomer, &zErr);
  if( rc==SQLITE_OK ) rc = tenantPlanBuild(zCustomer, pPlan, zState, &zErr);
  if( rc!=SQLITE_OK ) goto decommission_done;

  /* A Sapphire's files hold rows of its children, so they go first. */
  azArg[0] = zCustomer;
  rc = provQuery(db, &pStmt, &zErr,
      "SELECT count(*) FROM customers WHERE parent=?1", 1, azArg);
  if( rc!=SQLITE_ROW ) goto decommission_done;
  if( sqlite3_column_int(pStmt, 0)>0 ){
    int n = sqlite3_column_int(pStmt, 0);
    tenantSetError(&zErr, "customer \"%s\" still has %d child customer%s: "
        "decommission them first", zCustomer, n, n==1 ? "" : "s");
    sqlite3_finalize(pStmt);
    rc = SQLITE_ERROR;
    goto decommission_done;
  }
  sqlite3_finalize(pStmt);

  /* The change counter advances under the write lock of the first commit
  ** and again at the end, in the order that catalogepoch.c explains. */
  rc = sqlite3_exec(db, "BEGIN IMMEDIATE", 0, 0, 0);
  if( rc==SQLITE_OK ){
    rc = tenantEpochAdvance(db, &zErr);
    bAdvanced = rc==SQLITE_OK;
  }
  if( rc==SQLITE_OK ){
    rc = provExec(db, &zErr, "UPDATE customers SET state='decommissioning'"
        " WHERE id=?1", 1, azArg);
  }
  if( rc==SQLITE_OK ){
    rc = sqlite3_exec(db, "COMMIT", 0, 0, 0);
  }else{
    sqlite3_exec(db, "ROLLBACK", 0, 0, 0);
  }
  if( rc!=SQLITE_OK ){
    if( zErr==0 ){
      tenantSetError(&zErr, "cannot write the catalog: %s: try again",
          sqlite3_errmsg(db));
    }
    goto decommission_done;
  }

  /* Rows in shared files go row by row; dedicated files go whole. */
  for(i=0; rc==SQLITE_OK && i<pPlan->nFile; i++){
    if( pPlan->aFile[i].bShared ){
      rc = provDeleteRows(db, pPlan, i, &zErr);
    }
  }
  if( rc!=SQLITE_OK ) goto decommission_done;
  if( strcmp(pPlan->zTier, "sapphire")==0 ){
    char *zFolder = sqlite3_mprintf("%s", pPlan->aFile[0].zPath);
    char *zSlash = zFolder ? strrchr(zFolder, '/') : 0;
    if( zSlash ){
      *zSlash = 0;
      provRemovePlacement(zFolder);
    }
    sqlite3_free(zFolder);

    /* The Opal database named after this Sapphire has no customers left. */
    zOpal = sqlite3_mprintf("%s/shared-opal-%s/d1-opal-%s-%s",
        tenantCatalogRoot(), pPlan->zRegion, zCustomer, pPlan->zRegion);
    if( zOpal ) provRemovePlacement(zOpal);
  }

  rc = sqlite3_exec(db, "BEGIN IMMEDIATE", 0, 0, 0);
  if( rc==SQLITE_OK ){
    rc = provExec(db, &zErr, "DELETE FROM agents WHERE customer=?1", 1,
                  azArg);
  }
  if( rc==SQLITE_OK ){
    rc = provExec(db, &zErr, "DELETE FROM usage_monthly WHERE customer=?1",
                  1, azArg);
  }
  if( rc==SQLITE_OK ){
    rc = provExec(db, &zErr, "DELETE FROM customer_requests"
                  " WHERE customer=?1", 1, azArg);
  }
  if( rc==SQLITE_OK ){
    rc = provExec(db, &zErr, "DELETE FROM placements WHERE customer=?1", 1,
                  azArg);
  }
  if( rc==SQLITE_OK ){
    rc = provExec(db, &zErr, "DELETE FROM customers WHERE id=?1", 1, azArg);
  }
  if( rc==SQLITE_OK ){
    rc = sqlite3_exec(db, "COMMIT", 0, 0, 0);
  }else{
    sqlite3_exec(db, "ROLLBACK", 0, 0, 0);
  }
  if( rc==SQLITE_OK ){
    sqlite3_log(SQLITE_NOTICE, "tenant: decommissioned customer %s",
        zCustomer);
    sqlite3_result_text(pCtx, zCustomer, -1, SQLITE_TRANSIENT);
  }

decommission_done:
  if( bAdvanced ) tenantEpochAdvance(db, 0);
  tenantCatalogLeave();
  sqlite3_free(zOpal);
  sqlite3_free(pPlan);
  if( rc!=SQLITE_OK ) provResultError(pCtx, rc, zErr);
}
