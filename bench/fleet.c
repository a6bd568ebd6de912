/*
** Generated fleets for the benchmarks (see fleet.h).
*/
#include "fleet.h"
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Default regions, their share of each tier in percent, and the number of
** Sapphire parents that hold the region's Opal customers. */
static const struct {
  const char *zName;
  int nPercent;
  int nOpalParent;
} fleetRegion[3] = {
  { "us-west1",    50, 5 },
  { "us-central1", 30, 3 },
  { "eu-west1",    20, 2 },
};

static const char *const fleetTierName[3] = { "sapphire", "opal", "onyx" };

int fleetTierIndex(const char *zTier){
  int i;
  for(i=0; i<3; i++){
    if( strcmp(zTier, fleetTierName[i])==0 ) return i;
  }
  return 0;
}

/* Split n over the three regions: 50 %, 30 %, the rest; each region gets
** at least one when n>=3. */
static void fleetSplit(int n, int *anOut){
  anOut[0] = n*fleetRegion[0].nPercent/100;
  anOut[1] = n*fleetRegion[1].nPercent/100;
  if( n>=3 && anOut[0]<1 ) anOut[0] = 1;
  if( n>=3 && anOut[1]<1 ) anOut[1] = 1;
  anOut[2] = n - anOut[0] - anOut[1];
}

/* Provision one customer and time it. */
static void fleetAdd(sqlite3 *pAdmin, Fleet *pFleet, const char *zPrefix,
                     int iTier, int iRegion, const char *zParent){
  FleetCustomer *p = &pFleet->aCustomer[pFleet->nCustomer];
  sqlite3_stmt *pStmt;
  double t0;
  int rc;

  snprintf(p->zId, sizeof(p->zId), "%s%05d", zPrefix,
           pFleet->anTier[iTier]);
  snprintf(p->zTier, sizeof(p->zTier), "%s", fleetTierName[iTier]);
  p->zRegion = fleetRegion[iRegion].zName;
  snprintf(p->zParent, sizeof(p->zParent), "%s", zParent ? zParent : "");

  pStmt = benchPrepare(pAdmin, zParent
      ? "SELECT tenant_provision(?1, ?2, ?3, ?4)"
      : "SELECT tenant_provision(?1, ?2, ?3)");
  sqlite3_bind_text(pStmt, 1, p->zId, -1, SQLITE_STATIC);
  sqlite3_bind_text(pStmt, 2, p->zTier, -1, SQLITE_STATIC);
  sqlite3_bind_text(pStmt, 3, p->zRegion, -1, SQLITE_STATIC);
  if( zParent ) sqlite3_bind_text(pStmt, 4, zParent, -1, SQLITE_STATIC);
  t0 = benchNowNs();
  rc = sqlite3_step(pStmt);
  pFleet->aProvisionUs[iTier] += (benchNowNs()-t0)/1000.0;
  if( rc!=SQLITE_ROW ){
    benchFatal("provisioning %s failed: %s", p->zId, sqlite3_errmsg(pAdmin));
  }
  snprintf(p->zDatabase, sizeof(p->zDatabase), "%s",
           (const char*)sqlite3_column_text(pStmt, 0));
  sqlite3_finalize(pStmt);
  pFleet->anTier[iTier]++;
  pFleet->nCustomer++;
}

void fleetProvision(sqlite3 *pAdmin, const char *zRoot, int bEncrypted,
                    int nSapphire, int nOpal, int nOnyx, Fleet *pFleet){
  int anSapphire[3], anOpal[3], anOnyx[3];
  int aiFirst[3];      /* index in aCustomer of each region's first Sapphire */
  int iRegion, i;

  if( nSapphire<3 ) benchFatal("a fleet needs at least 3 Sapphire customers");
  memset(pFleet, 0, sizeof(*pFleet));
  snprintf(pFleet->zRoot, sizeof(pFleet->zRoot), "%s", zRoot);
  pFleet->bEncrypted = bEncrypted;
  pFleet->aCustomer = calloc(nSapphire+nOpal+nOnyx, sizeof(FleetCustomer));
  if( pFleet->aCustomer==0 ) benchFatal("out of memory");
  fleetSplit(nSapphire, anSapphire);
  fleetSplit(nOpal, anOpal);
  fleetSplit(nOnyx, anOnyx);

  for(iRegion=0; iRegion<3; iRegion++){
    aiFirst[iRegion] = pFleet->nCustomer;
    for(i=0; i<anSapphire[iRegion]; i++){
      fleetAdd(pAdmin, pFleet, "s", 0, iRegion, 0);
    }
  }
  for(iRegion=0; iRegion<3; iRegion++){
    int nParent = fleetRegion[iRegion].nOpalParent;
    if( nParent>anSapphire[iRegion] ) nParent = anSapphire[iRegion];
    for(i=0; i<anOpal[iRegion]; i++){
      const FleetCustomer *pParent =
          &pFleet->aCustomer[aiFirst[iRegion] + i%nParent];
      fleetAdd(pAdmin, pFleet, "p", 1, iRegion, pParent->zId);
    }
  }
  for(iRegion=0; iRegion<3; iRegion++){
    for(i=0; i<anOnyx[iRegion]; i++){
      const FleetCustomer *pParent =
          &pFleet->aCustomer[aiFirst[iRegion] + i%anSapphire[iRegion]];
      fleetAdd(pAdmin, pFleet, "x", 2, iRegion, pParent->zId);
    }
  }
}

/* The project folder of a placement database. */
static void fleetProject(const FleetCustomer *p, char *zOut, int nOut){
  if( strcmp(p->zTier, "sapphire")==0 ){
    snprintf(zOut, nOut, "customer-%s-sapphire", p->zId);
  }else{
    snprintf(zOut, nOut, "shared-%s-%s", p->zTier, p->zRegion);
  }
}

void fleetOwnerFile(const Fleet *pFleet, const FleetCustomer *p,
                    char *zPath, int nPath, char *zKeyId, int nKeyId){
  char zProject[128];
  fleetProject(p, zProject, sizeof(zProject));
  snprintf(zPath, nPath, "%s/%s/%s/owner.db", pFleet->zRoot, zProject,
           p->zDatabase);
  snprintf(zKeyId, nKeyId, "%s/owner", p->zDatabase);
}

void fleetPrivateFile(const Fleet *pFleet, const FleetCustomer *p,
                      char *zPath, int nPath, char *zKeyId, int nKeyId){
  char zProject[128];
  fleetProject(p, zProject, sizeof(zProject));
  snprintf(zPath, nPath, "%s/%s/%s/private.db", pFleet->zRoot, zProject,
           p->zDatabase);
  snprintf(zKeyId, nKeyId, "%s/private", p->zDatabase);
}

const FleetCustomer *fleetFirst(const Fleet *pFleet, const char *zTier){
  int i;
  for(i=0; i<pFleet->nCustomer; i++){
    if( strcmp(pFleet->aCustomer[i].zTier, zTier)==0 ){
      return &pFleet->aCustomer[i];
    }
  }
  return 0;
}

const FleetCustomer *fleetFind(const Fleet *pFleet, const char *zId){
  int i;
  for(i=0; i<pFleet->nCustomer; i++){
    if( strcmp(pFleet->aCustomer[i].zId, zId)==0 ) return &pFleet->aCustomer[i];
  }
  return 0;
}

void fleetFillRows(const Fleet *pFleet, int nRow){
  char *abDone = calloc(pFleet->nCustomer ? pFleet->nCustomer : 1, 1);
  int i, j, k;

  if( abDone==0 ) benchFatal("out of memory");
  for(i=0; i<pFleet->nCustomer; i++){
    const FleetCustomer *p = &pFleet->aCustomer[i];
    const char *zTable = strcmp(p->zTier, "onyx")==0
                       ? "basic_communications" : "communications_data";
    char zPath[4096], zKeyId[160], zSql[256];
    sqlite3 *db;
    sqlite3_stmt *pIns;

    if( abDone[i] ) continue;
    fleetOwnerFile(pFleet, p, zPath, sizeof(zPath), zKeyId, sizeof(zKeyId));
    db = benchOpenRaw(zPath, zKeyId, pFleet->bEncrypted);
    snprintf(zSql, sizeof(zSql), "INSERT INTO %s(id, customer_id,"
             " sapphire_parent_id, data) VALUES(?1, ?2, ?3, ?4)", zTable);
    benchExec(db, "BEGIN");
    pIns = benchPrepare(db, zSql);

    /* Every customer whose owner file is this one. */
    for(j=i; j<pFleet->nCustomer; j++){
      const FleetCustomer *q = &pFleet->aCustomer[j];
      if( abDone[j] || strcmp(q->zDatabase, p->zDatabase)!=0 ) continue;
      abDone[j] = 1;
      for(k=0; k<nRow; k++){
        char zRowId[16], zData[64];
        snprintf(zRowId, sizeof(zRowId), "r%06d", k);
        snprintf(zData, sizeof(zData), "{\"n\":%d,\"text\":\"row %d of %s\"}",
                 k, k, q->zId);
        sqlite3_bind_text(pIns, 1, zRowId, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(pIns, 2, q->zId, -1, SQLITE_STATIC);
        if( q->zParent[0] ){
          sqlite3_bind_text(pIns, 3, q->zParent, -1, SQLITE_STATIC);
        }else{
          sqlite3_bind_null(pIns, 3);
        }
        sqlite3_bind_text(pIns, 4, zData, -1, SQLITE_TRANSIENT);
        benchStepAll(pIns);
      }
    }
    sqlite3_finalize(pIns);
    benchExec(db, "COMMIT");
    sqlite3_close(db);
  }
  free(abDone);
}

sqlite3 *fleetOpenPlain(const Fleet *pFleet, const FleetCustomer *p){
  const FleetCustomer *pParent = p->zParent[0] ? fleetFind(pFleet, p->zParent)
                                               : 0;
  char zPath[4096], zKeyId[160];
  sqlite3 *db;

  fleetOwnerFile(pFleet, p, zPath, sizeof(zPath), zKeyId, sizeof(zKeyId));
  db = benchOpenRaw(zPath, zKeyId, pFleet->bEncrypted);
  if( pParent==0 ){
    fleetPrivateFile(pFleet, p, zPath, sizeof(zPath), zKeyId, sizeof(zKeyId));
    benchAttachRaw(db, zPath, "private", zKeyId, pFleet->bEncrypted);
    return db;
  }
  if( strcmp(p->zTier, "onyx")==0 ){
    fleetOwnerFile(pFleet, pParent, zPath, sizeof(zPath), zKeyId,
                   sizeof(zKeyId));
    benchAttachRaw(db, zPath, "parent_owner", zKeyId, pFleet->bEncrypted);
  }
  fleetPrivateFile(pFleet, pParent, zPath, sizeof(zPath), zKeyId,
                   sizeof(zKeyId));
  benchAttachRaw(db, zPath, "parent_private", zKeyId, pFleet->bEncrypted);
  return db;
}

void fleetSave(const Fleet *pFleet){
  char zPath[4200];
  FILE *pOut;
  int i;

  snprintf(zPath, sizeof(zPath), "%s/fleet.txt", pFleet->zRoot);
  pOut = fopen(zPath, "w");
  if( pOut==0 ) benchFatal("cannot write %s", zPath);
  fprintf(pOut, "%d %d\n", pFleet->nCustomer, pFleet->bEncrypted);
  for(i=0; i<pFleet->nCustomer; i++){
    const FleetCustomer *p = &pFleet->aCustomer[i];
    fprintf(pOut, "%s %s %s %s %s\n", p->zId, p->zTier, p->zRegion,
            p->zParent[0] ? p->zParent : "-", p->zDatabase);
  }
  fclose(pOut);
}

void fleetLoad(const char *zRoot, Fleet *pFleet){
  char zPath[4200];
  FILE *pIn;
  int i, n;

  memset(pFleet, 0, sizeof(*pFleet));
  snprintf(pFleet->zRoot, sizeof(pFleet->zRoot), "%s", zRoot);
  snprintf(zPath, sizeof(zPath), "%s/fleet.txt", zRoot);
  pIn = fopen(zPath, "r");
  if( pIn==0 || fscanf(pIn, "%d %d", &n, &pFleet->bEncrypted)!=2 ){
    benchFatal("cannot read %s", zPath);
  }
  pFleet->aCustomer = calloc(n ? n : 1, sizeof(FleetCustomer));
  if( pFleet->aCustomer==0 ) benchFatal("out of memory");
  for(i=0; i<n; i++){
    FleetCustomer *p = &pFleet->aCustomer[i];
    char zRegion[32];
    int iRegion;
    if( fscanf(pIn, "%15s %11s %31s %15s %95s", p->zId, p->zTier, zRegion,
               p->zParent, p->zDatabase)!=5 ){
      benchFatal("%s is truncated", zPath);
    }
    if( strcmp(p->zParent, "-")==0 ) p->zParent[0] = 0;
    p->zRegion = fleetRegion[0].zName;
    for(iRegion=0; iRegion<3; iRegion++){
      if( strcmp(zRegion, fleetRegion[iRegion].zName)==0 ){
        p->zRegion = fleetRegion[iRegion].zName;
      }
    }
    pFleet->anTier[fleetTierIndex(p->zTier)]++;
  }
  pFleet->nCustomer = n;
  fclose(pIn);
}

void fleetFree(Fleet *pFleet){
  free(pFleet->aCustomer);
  pFleet->aCustomer = 0;
  pFleet->nCustomer = 0;
}
