/*
** The routing plans built from the catalog (catalog.c).
**
** tenantPlanLoad() turns the catalog rows of one customer into the files and
** partitions a session attaches. Who reaches what:
**   Sapphire C: owner.db and private.db of its own database, read-write.
**   Opal C, parent P: partitions 1-6 in d1-opal-P-<region>/owner.db
**     read-write; 7-12 in P's private.db read-only. Both files are shared.
**   Onyx C, parent P: Onyx's partitions in its regional owner.db read-write;
**     4-6 in P's owner.db and 7-12 in P's private.db read-only. All shared.
**
** A plan read at the catalog's current version is served from the cache of
** catalogcache.c. Provisioning an id again writes the catalog, and so
** changes its version, so a binding never gets the plan, or the
** generation, of the customer the id named before. tenantPlanLoad() and
** tenantPlanResolve() take the catalog mutex themselves. tenantPlanBuild()
** and the helpers before it require it.
*/
#include "tenant_int.h"
#include "catalog.h"
SQLITE_EXTENSION_INIT3

#include <assert.h>
#include <string.h>

/* Read the encrypted flag of zTier's policy into *pbEncrypted. */
static int planTierEncrypted(const char *zTier, int *pbEncrypted,
                             char **pzErr){
  sqlite3_stmt *pStmt = catalogStmt(CATALOG_STMT_ENCRYPTED, pzErr);
  int rc;
  if( pStmt==0 ) return SQLITE_ERROR;
  sqlite3_bind_text(pStmt, 1, zTier, -1, SQLITE_STATIC);
  rc = sqlite3_step(pStmt);
  if( rc==SQLITE_ROW ){
    *pbEncrypted = sqlite3_column_int(pStmt, 0)!=0;
    sqlite3_reset(pStmt);
    return SQLITE_OK;
  }
  if( rc!=SQLITE_DONE ) return catalogStepError(pStmt, pzErr);
  sqlite3_reset(pStmt);
  tenantSetError(pzErr, "tier \"%s\" has no policy row: restore it in the "
      "policy table of the catalog", zTier);
  return SQLITE_CORRUPT;
}

/*
** Add file zName ("owner" or "private") of the placement of zCustomer to
** the plan, or find it there. Sets *piFile to its index.
*/
static int planAddFile(
  TenantPlan *pPlan,
  const char *zCustomer,     /* customer whose placement contains the file */
  const char *zName,         /* "owner" or "private" */
  int bShared,
  int bEncrypted,
  int *piFile,
  char **pzErr
){
  sqlite3_stmt *pStmt;
  TenantFile *pFile;
  char zPath[TENANT_MAX_PATH];
  char zKeyId[sizeof(pFile->zKeyId)];
  int i, rc, nPath, nKey;

  pStmt = catalogStmt(CATALOG_STMT_PLACEMENT, pzErr);
  if( pStmt==0 ) return SQLITE_ERROR;
  sqlite3_bind_text(pStmt, 1, zCustomer, -1, SQLITE_STATIC);
  rc = sqlite3_step(pStmt);
  if( rc!=SQLITE_ROW ){
    if( rc!=SQLITE_DONE ) return catalogStepError(pStmt, pzErr);
    sqlite3_reset(pStmt);
    tenantSetError(pzErr, "customer \"%s\" has no placement in the catalog: "
        "run tenant_provision() for it again", zCustomer);
    return SQLITE_CORRUPT;
  }
  {
    /* The folder is rebuilt under the current root, never read back as
    ** stored, so that a copied or restored root uses its own files. */
    const char *zDatabase = (const char*)sqlite3_column_text(pStmt, 0);
    const char *zProject = (const char*)sqlite3_column_text(pStmt, 1);
    const char *zRoot = tenantCatalogRoot();
    nKey = (int)(strlen(zDatabase) + 1 + strlen(zName));
    nPath = (int)(strlen(zRoot) + strlen(zProject) + strlen(zDatabase)
                  + strlen(zName) + 6);
    if( nPath<(int)sizeof(zPath) && nKey<(int)sizeof(zKeyId) ){
      sqlite3_snprintf(sizeof(zPath), zPath, "%s/%s/%s/%s.db", zRoot,
                       zProject, zDatabase, zName);
      sqlite3_snprintf(sizeof(zKeyId), zKeyId, "%s/%s", zDatabase, zName);
    }
  }
  sqlite3_reset(pStmt);
  if( nPath>=(int)sizeof(zPath) || nKey>=(int)sizeof(zKeyId) ){
    tenantSetError(pzErr, "path of the placement of customer \"%s\" is "
        "too long: choose a shorter root folder", zCustomer);
    return SQLITE_CANTOPEN;
  }

  for(i=0; i<pPlan->nFile; i++){
    if( strcmp(pPlan->aFile[i].zPath, zPath)==0 ){
      *piFile = i;
      return SQLITE_OK;
    }
  }
  assert( pPlan->nFile<TENANT_MAX_FILES );  /* three files at most */
  pFile = &pPlan->aFile[pPlan->nFile];
  memcpy(pFile->zPath, zPath, (size_t)nPath+1);
  memcpy(pFile->zKeyId, zKeyId, strlen(zKeyId)+1);
  pFile->bShared = bShared;
  pFile->bEncrypted = bEncrypted;
  *piFile = pPlan->nFile++;
  return SQLITE_OK;
}

/*
** Add the partitions of zScheme to the plan: those of class zFile
** ("owner", "private" or NULL for both) numbered above iAbove, held by
** file iFile.
*/
static int planAddReach(
  TenantPlan *pPlan,
  const char *zScheme,
  const char *zFile,
  int iAbove,
  int iFile,
  int bReadOnly,
  char **pzErr
){
  sqlite3_stmt *pStmt = catalogStmt(CATALOG_STMT_SCHEME, pzErr);
  int rc;
  if( pStmt==0 ) return SQLITE_ERROR;
  sqlite3_bind_text(pStmt, 1, zScheme, -1, SQLITE_STATIC);
  while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
    const char *zName = (const char*)sqlite3_column_text(pStmt, 0);
    const char *zClass = (const char*)sqlite3_column_text(pStmt, 2);
    TenantReach *pReach;
    if( sqlite3_column_int(pStmt, 1)<=iAbove ) continue;
    if( zFile && strcmp(zClass, zFile)!=0 ) continue;
    if( pPlan->nReach>=TENANT_MAX_PARTITIONS
     || strlen(zName)>=sizeof(pReach->zPartition) ){
      sqlite3_reset(pStmt);
      tenantSetError(pzErr, "partition \"%s\" does not fit a session: keep "
          "at most %d partitions with names under %d bytes", zName,
          TENANT_MAX_PARTITIONS, (int)sizeof(pReach->zPartition));
      return SQLITE_TOOBIG;
    }
    pReach = &pPlan->aReach[pPlan->nReach++];
    memcpy(pReach->zPartition, zName, strlen(zName)+1);
    pReach->iFile = iFile;
    pReach->bReadOnly = bReadOnly;
  }
  if( rc!=SQLITE_DONE ) return catalogStepError(pStmt, pzErr);
  sqlite3_reset(pStmt);
  return SQLITE_OK;
}

/* Highest partition number of the Onyx scheme: the standard partitions
** above it are the ones an Onyx customer reaches through its parent. */
static int planOnyxTop(int *piTop, char **pzErr){
  sqlite3_stmt *pStmt = catalogStmt(CATALOG_STMT_SCHEME, pzErr);
  int rc;
  if( pStmt==0 ) return SQLITE_ERROR;
  *piTop = 0;
  sqlite3_bind_text(pStmt, 1, "onyx", -1, SQLITE_STATIC);
  while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
    int n = sqlite3_column_int(pStmt, 1);
    if( n>*piTop ) *piTop = n;
  }
  if( rc!=SQLITE_DONE ) return catalogStepError(pStmt, pzErr);
  sqlite3_reset(pStmt);
  return SQLITE_OK;
}

/*
** Build the plan of zCustomer in whatever state it is, and copy the state
** into zState (16 bytes). Requires the catalog mutex. Shared with
** provision.c, which declares it itself.
*/
int tenantPlanBuild(const char *zCustomer, TenantPlan *pPlan,
                    char *zState, char **pzErr);
int tenantPlanBuild(
  const char *zCustomer,
  TenantPlan *pPlan,
  char *zState,
  char **pzErr
){
  sqlite3_stmt *pStmt;
  int rc;
  int iOwn = 0, iParentOwner = 0, iParentPrivate = 0;
  int bEncOwn = 1, bEncParent = 1;
  int iTop = 0;

  memset(pPlan, 0, sizeof(*pPlan));
  if( !tenantIdIsSafe(zCustomer) ){
    tenantSetError(pzErr, "customer \"%s\" not found: customer ids are 1 to "
        "%d characters of letters, digits, '_', '.' and '-'",
        zCustomer, TENANT_MAX_ID);
    return SQLITE_NOTFOUND;
  }

  pStmt = catalogStmt(CATALOG_STMT_CUSTOMER, pzErr);
  if( pStmt==0 ) return SQLITE_ERROR;
  sqlite3_bind_text(pStmt, 1, zCustomer, -1, SQLITE_STATIC);
  rc = sqlite3_step(pStmt);
  if( rc!=SQLITE_ROW ){
    if( rc!=SQLITE_DONE ) return catalogStepError(pStmt, pzErr);
    sqlite3_reset(pStmt);
    tenantSetError(pzErr, "customer \"%s\" not found in the catalog of "
        "root %s: provision it with tenant_provision(), or set TENANT_ROOT "
        "to the root that holds it", zCustomer, tenantCatalogRoot());
    return SQLITE_NOTFOUND;
  }
  sqlite3_snprintf(sizeof(pPlan->zCustomer), pPlan->zCustomer, "%s",
      zCustomer);
  sqlite3_snprintf(sizeof(pPlan->zTier), pPlan->zTier, "%s",
      (const char*)sqlite3_column_text(pStmt, 0));
  sqlite3_snprintf(sizeof(pPlan->zRegion), pPlan->zRegion, "%s",
      (const char*)sqlite3_column_text(pStmt, 1));
  sqlite3_snprintf(sizeof(pPlan->zParent), pPlan->zParent, "%s",
      (const char*)sqlite3_column_text(pStmt, 2));
  sqlite3_snprintf(16, zState, "%s",
      (const char*)sqlite3_column_text(pStmt, 3));
  pPlan->iGeneration = sqlite3_column_int64(pStmt, 4);
  sqlite3_reset(pStmt);

  rc = planTierEncrypted(pPlan->zTier, &bEncOwn, pzErr);
  if( rc!=SQLITE_OK ) return rc;

  if( strcmp(pPlan->zTier, "sapphire")==0 ){
    rc = planAddFile(pPlan, zCustomer, "owner", 0, bEncOwn, &iOwn, pzErr);
    if( rc==SQLITE_OK ){
      rc = planAddFile(pPlan, zCustomer, "private", 0, bEncOwn,
                       &iParentPrivate, pzErr);
    }
    if( rc==SQLITE_OK ){
      rc = planAddReach(pPlan, "standard", "owner", 0, iOwn, 0, pzErr);
    }
    if( rc==SQLITE_OK ){
      rc = planAddReach(pPlan, "standard", "private", 0, iParentPrivate, 0,
                        pzErr);
    }
    return rc;
  }

  /* Opal and Onyx: the parent's files are the parent tier's, and always
  ** read-only and shared with the parent's other children. */
  if( pPlan->zParent[0]==0 ){
    tenantSetError(pzErr, "customer \"%s\" of tier \"%s\" has no parent in "
        "the catalog: set customers.parent to its Sapphire parent",
        zCustomer, pPlan->zTier);
    return SQLITE_CORRUPT;
  }
  rc = planTierEncrypted("sapphire", &bEncParent, pzErr);
  if( rc==SQLITE_OK ){
    rc = planAddFile(pPlan, zCustomer, "owner", 1, bEncOwn, &iOwn, pzErr);
  }
  if( rc!=SQLITE_OK ) return rc;

  if( strcmp(pPlan->zTier, "opal")==0 ){
    rc = planAddFile(pPlan, pPlan->zParent, "private", 1, bEncParent,
                     &iParentPrivate, pzErr);
    if( rc==SQLITE_OK ){
      rc = planAddReach(pPlan, "standard", "owner", 0, iOwn, 0, pzErr);
    }
    if( rc==SQLITE_OK ){
      rc = planAddReach(pPlan, "standard", "private", 0, iParentPrivate, 1,
                        pzErr);
    }
    return rc;
  }

  if( strcmp(pPlan->zTier, "onyx")==0 ){
    rc = planOnyxTop(&iTop, pzErr);
    if( rc==SQLITE_OK ){
      rc = planAddFile(pPlan, pPlan->zParent, "owner", 1, bEncParent,
                       &iParentOwner, pzErr);
    }
    if( rc==SQLITE_OK ){
      rc = planAddFile(pPlan, pPlan->zParent, "private", 1, bEncParent,
                       &iParentPrivate, pzErr);
    }
    if( rc==SQLITE_OK ){
      rc = planAddReach(pPlan, "onyx", 0, 0, iOwn, 0, pzErr);
    }
    if( rc==SQLITE_OK ){
      rc = planAddReach(pPlan, "standard", "owner", iTop, iParentOwner, 1,
                        pzErr);
    }
    if( rc==SQLITE_OK ){
      rc = planAddReach(pPlan, "standard", "private", iTop, iParentPrivate,
                        1, pzErr);
    }
    return rc;
  }

  tenantSetError(pzErr, "customer \"%s\" has unknown tier \"%s\" in the "
      "catalog: use sapphire, opal or onyx", zCustomer, pPlan->zTier);
  return SQLITE_CORRUPT;
}

int tenantPlanLoad(
  const char *zCustomer,
  const char *zAgent,
  TenantPlan *pPlan,
  char **pzErr
){
  char zState[16];
  sqlite3 *db;
  CatalogVersion v;
  int bVersion;
  int bTxn = 0;
  int rc;

  rc = tenantCatalogOpen(0, pzErr);
  if( rc!=SQLITE_OK ) return rc;
  db = tenantCatalogEnter();
  if( db==0 ) return SQLITE_MISUSE;

  /* A plan read at the catalog's current version is used again. The
  ** version is read before the plan, so that a write between the two
  ** leaves a plan newer than its version, which is only read again. */
  bVersion = catalogVersionRead(&v)==SQLITE_OK;
  if( bVersion ){
    const TenantPlan *pCached = catalogPlanFind(zCustomer, zAgent, &v);
    if( pCached ){
      memcpy(pPlan, pCached, sizeof(*pPlan));
      tenantCatalogLeave();
      return SQLITE_OK;
    }
  }

  /* One read transaction for every query of the plan: a consistent
  ** snapshot, and the WAL read lock taken once instead of per query. */
  if( sqlite3_get_autocommit(db) ){
    bTxn = sqlite3_exec(db, "BEGIN", 0, 0, 0)==SQLITE_OK;
  }

  /* The state decides first: a half-provisioned customer may lack the
  ** placement rows that building its plan reads. */
  zState[0] = 0;
  rc = tenantPlanBuild(zCustomer, pPlan, zState, pzErr);
  if( rc!=SQLITE_NOTFOUND && strcmp(zState, "provisioning")==0 ){
    tenantSetError(pzErr, "customer \"%s\" is still being provisioned: "
        "call tenant_provision() with the same arguments to finish it",
        zCustomer);
    rc = SQLITE_BUSY;
  }else if( rc!=SQLITE_NOTFOUND && zState[0]
         && strcmp(zState, "active")!=0 ){
    tenantSetError(pzErr, "customer \"%s\" is being decommissioned: "
        "call tenant_decommission('%s') to finish it", zCustomer, zCustomer);
    rc = SQLITE_BUSY;
  }

  if( rc==SQLITE_OK && zAgent && zAgent[0] ){
    rc = catalogAgentRead(zCustomer, zAgent, &pPlan->iAgentGeneration,
                          pzErr);
    if( rc==SQLITE_OK ){
      sqlite3_snprintf(sizeof(pPlan->zAgent), pPlan->zAgent, "%s", zAgent);
    }else if( rc==SQLITE_NOTFOUND ){
      tenantSetError(pzErr, "agent \"%s\" not found for customer \"%s\": "
          "add it with tenant_add_agent()", zAgent, zCustomer);
    }
  }

  if( bTxn ) sqlite3_exec(db, "COMMIT", 0, 0, 0);
  if( rc==SQLITE_OK && bVersion ) catalogPlanKeep(pPlan, &v);
  tenantCatalogLeave();
  if( rc!=SQLITE_OK ) memset(pPlan, 0, sizeof(*pPlan));
  return rc;
}

int tenantPlanResolve(
  const char *zLogical,
  char *zOut,
  int nOut,
  char **pzErr
){
  char zCustomer[TENANT_MAX_ID+1];
  const char *zSlash = strchr(zLogical, '/');
  const char *zPartition;
  TenantPlan *pPlan;
  int rc;
  int i;

  if( zSlash==0 || zSlash==zLogical || zSlash-zLogical>TENANT_MAX_ID ){
    tenantSetError(pzErr, "invalid logical name \"%s\": "
        "use \"<customer>/<partition>\"", zLogical);
    return SQLITE_CANTOPEN;
  }
  memcpy(zCustomer, zLogical, (size_t)(zSlash-zLogical));
  zCustomer[zSlash-zLogical] = 0;
  zPartition = zSlash+1;

  /* A plan is about 19 KB, so it stays off the stack of the VFS method. */
  pPlan = sqlite3_malloc64(sizeof(*pPlan));
  if( pPlan==0 ) return SQLITE_NOMEM;
  rc = tenantPlanLoad(zCustomer, 0, pPlan, pzErr);
  if( rc==SQLITE_OK ){
    rc = SQLITE_NOTFOUND;
    for(i=0; i<pPlan->nReach; i++){
      if( strcmp(pPlan->aReach[i].zPartition, zPartition)==0 ){
        const char *zPath = pPlan->aFile[pPlan->aReach[i].iFile].zPath;
        if( (int)strlen(zPath)>=nOut ){
          tenantSetError(pzErr, "path of \"%s\" is longer than %d bytes: "
              "choose a shorter root folder", zLogical, nOut-1);
          rc = SQLITE_CANTOPEN;
        }else{
          memcpy(zOut, zPath, strlen(zPath)+1);
          rc = SQLITE_OK;
        }
        break;
      }
    }
    if( rc==SQLITE_NOTFOUND ){
      tenantSetError(pzErr, "customer \"%s\" does not reach partition "
          "\"%s\": use one of the partitions of its tier (%s)",
          zCustomer, zPartition, pPlan->zTier);
    }
  }
  sqlite3_free(pPlan);
  return rc;
}
