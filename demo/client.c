/*
** Demo client of sqlite-tenant: a C program that works the reference fleet
** through sessions, the way an application would.
**
**   client EXT fill FLEET ROWS     write ROWS rows into every partition each
**                                  customer of FLEET may write, one
**                                  transaction per customer
**   client EXT show CUSTOMER [AGENT]
**                                  open one session and print what it reads
**   client EXT stats FLEET         count each customer's own rows through
**                                  its session, per tier
**   client EXT check FLEET STEP    for every STEP-th customer of FLEET,
**                                  count the rows its session sees whose
**                                  customer_id differs from it (expect 0)
**
** EXT is the extension to load (e.g. build/tenant). FLEET is a text file
** with one customer per line: "<customer> <tier> <parent or ->". The root
** and the master key come from TENANT_ROOT and TENANT_MASTER_KEY or
** TENANT_KEY_FILE, as for any host. Exits 0 on success, 1 on any error.
*/
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite-tenant.h"

#define CLIENT_MAX_FLEET 20000

/* Partitions per tier, in partition order (numbers 1-12, or Onyx's 1-3).
** A session writes the first nWritable and reads all of them. */
static const char *const azStandard[] = {
  "communications_data", "bidsuite_opportunities", "customer_relationships",
  "workflow_automations", "roi_tracking_metrics", "academy_progress",
  "internal_analytics", "behavioral_patterns", "optimization_models",
  "learning_algorithms", "recommendation_engine", "wish_vision_clouds", 0
};
static const char *const azOnyx[] = {
  "basic_communications", "limited_opportunities", "simple_workflows",
  "workflow_automations", "roi_tracking_metrics", "academy_progress",
  "internal_analytics", "behavioral_patterns", "optimization_models",
  "learning_algorithms", "recommendation_engine", "wish_vision_clouds", 0
};

typedef struct ClientCustomer ClientCustomer;
struct ClientCustomer {
  char zId[72];
  char zTier[16];
  char zParent[72];      /* "" for Sapphire */
};

typedef struct ClientTier ClientTier;
struct ClientTier {
  const char *zName;
  const char *const *azPartition;  /* partitions a session reaches */
  int nWritable;                   /* leading partitions it may write */
};

static const ClientTier aTier[] = {
  { "sapphire", azStandard, 12 },
  { "opal",     azStandard, 6 },
  { "onyx",     azOnyx,     3 },
};
#define CLIENT_NTIER ((int)(sizeof(aTier)/sizeof(aTier[0])))

static ClientCustomer aFleet[CLIENT_MAX_FLEET];
static int nFleet = 0;

static int clientTierIndex(const char *zTier){
  int i;
  for(i=0; i<CLIENT_NTIER; i++){
    if( strcmp(aTier[i].zName, zTier)==0 ) return i;
  }
  return -1;
}

/* Read FLEET into aFleet. Returns 0, or 1 after printing the error. */
static int clientReadFleet(const char *zFile){
  FILE *pIn = fopen(zFile, "r");
  char zLine[256];
  if( pIn==0 ){
    fprintf(stderr, "client: cannot open fleet file '%s'\n", zFile);
    return 1;
  }
  while( fgets(zLine, sizeof(zLine), pIn) ){
    ClientCustomer *p;
    if( nFleet>=CLIENT_MAX_FLEET ){
      fprintf(stderr, "client: more than %d customers in '%s'\n",
              CLIENT_MAX_FLEET, zFile);
      fclose(pIn);
      return 1;
    }
    p = &aFleet[nFleet];
    if( sscanf(zLine, "%71s %15s %71s", p->zId, p->zTier, p->zParent)!=3
     || clientTierIndex(p->zTier)<0 ){
      fprintf(stderr, "client: invalid fleet line in '%s': %s", zFile, zLine);
      fclose(pIn);
      return 1;
    }
    if( strcmp(p->zParent, "-")==0 ) p->zParent[0] = 0;
    nFleet++;
  }
  fclose(pIn);
  return 0;
}

/* Open a session for zCustomer (and zAgent unless NULL). Returns the
** connection, or NULL after printing the error. */
static sqlite3 *clientOpenSession(const char *zCustomer, const char *zAgent){
  sqlite3 *db = 0;
  char *zUri;
  int rc;

  zUri = sqlite3_mprintf(TENANT_URI_FORMAT "%s%s", zCustomer,
                         zAgent ? "&agent=" : "", zAgent ? zAgent : "");
  if( zUri==0 ) return 0;
  rc = sqlite3_open_v2(zUri, &db,
                       SQLITE_OPEN_READWRITE|SQLITE_OPEN_CREATE|SQLITE_OPEN_URI, 0);
  if( rc!=SQLITE_OK ){
    fprintf(stderr, "client: opening session '%s' failed: %s\n", zUri,
            db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);
    db = 0;
  }
  sqlite3_free(zUri);
  return db;
}

/* Run zSql, which returns one integer. Returns it, or -1 on error. */
static sqlite3_int64 clientCount(sqlite3 *db, const char *zSql,
                                 const char *zBind){
  sqlite3_stmt *pStmt = 0;
  sqlite3_int64 n = -1;
  if( sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0)!=SQLITE_OK ){
    fprintf(stderr, "client: %s: %s\n", zSql, sqlite3_errmsg(db));
    return -1;
  }
  if( zBind ) sqlite3_bind_text(pStmt, 1, zBind, -1, SQLITE_STATIC);
  if( sqlite3_step(pStmt)==SQLITE_ROW ){
    n = sqlite3_column_int64(pStmt, 0);
  }else{
    fprintf(stderr, "client: %s: %s\n", zSql, sqlite3_errmsg(db));
  }
  sqlite3_finalize(pStmt);
  return n;
}

/*
** In the session db of Sapphire zParent, insert nRow rows for each child of
** zParent into the partitions the child reads in the parent's database:
** 7-12 for an Opal child, 4-12 for an Onyx child. Returns the number of
** rows written, or -1 on error.
*/
static int clientFillForChildren(sqlite3 *db, const char *zParent, int nRow){
  int nWritten = 0;
  int i, iPart, iRow;
  for(i=0; i<nFleet; i++){
    const ClientCustomer *pChild = &aFleet[i];
    int iFirst;
    if( strcmp(pChild->zParent, zParent)!=0 ) continue;
    iFirst = strcmp(pChild->zTier, "onyx")==0 ? 3 : 6;
    for(iPart=iFirst; azStandard[iPart]; iPart++){
      sqlite3_stmt *pStmt = 0;
      char *zSql = sqlite3_mprintf("INSERT INTO \"%w\"(id, customer_id, "
          "sapphire_parent_id, data) VALUES(?1, ?2, ?3, ?4)", azStandard[iPart]);
      int rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
      sqlite3_free(zSql);
      for(iRow=0; rc==SQLITE_OK && iRow<nRow; iRow++){
        char zId[32], zData[256];
        snprintf(zId, sizeof(zId), "kept-by-parent-%d", iRow);
        snprintf(zData, sizeof(zData), "{\"partition\":\"%s\",\"seq\":%d,"
                 "\"author\":\"%.64s\"}", azStandard[iPart], iRow, zParent);
        sqlite3_bind_text(pStmt, 1, zId, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(pStmt, 2, pChild->zId, -1, SQLITE_STATIC);
        sqlite3_bind_text(pStmt, 3, zParent, -1, SQLITE_STATIC);
        sqlite3_bind_text(pStmt, 4, zData, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(pStmt);
        if( rc==SQLITE_DONE ){
          rc = sqlite3_reset(pStmt);
          nWritten++;
        }
      }
      if( rc!=SQLITE_OK ){
        fprintf(stderr, "client: writing %s for child '%s' of '%s' failed: "
                "%s\n", azStandard[iPart], pChild->zId, zParent,
                sqlite3_errmsg(db));
        sqlite3_finalize(pStmt);
        return -1;
      }
      sqlite3_finalize(pStmt);
    }
  }
  return nWritten;
}

/* Insert nRow rows into each writable partition of one customer, in one
** transaction; a Sapphire also writes the rows it keeps for its children.
** Returns the number of rows written, or -1 on error. */
static int clientFillCustomer(const ClientCustomer *pCust, int nRow){
  const ClientTier *pTier = &aTier[clientTierIndex(pCust->zTier)];
  sqlite3 *db = clientOpenSession(pCust->zId, 0);
  int nWritten = 0;
  int iPart;
  int rc = SQLITE_OK;

  if( db==0 ) return -1;
  rc = sqlite3_exec(db, "BEGIN", 0, 0, 0);

  for(iPart=0; rc==SQLITE_OK && iPart<pTier->nWritable; iPart++){
    const char *zPart = pTier->azPartition[iPart];
    sqlite3_stmt *pStmt = 0;
    char *zSql = sqlite3_mprintf(
        "INSERT INTO \"%w\"(id, sapphire_parent_id, data) VALUES(?1, ?2, ?3)",
        zPart);
    int iRow;

    rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
    sqlite3_free(zSql);
    for(iRow=0; rc==SQLITE_OK && iRow<nRow; iRow++){
      char zUuid[40];
      char zData[256];
      unsigned int r1 = (unsigned int)rand(), r2 = (unsigned int)rand();

      /* A version-4 style UUID: random bits, unique enough for a demo. */
      snprintf(zUuid, sizeof(zUuid), "%08x-%04x-4%03x-8%03x-%04x%08x",
               r1, r2 & 0xffff, (r2>>16) & 0xfff, (unsigned)iRow & 0xfff,
               (unsigned)iPart & 0xffff, r1 ^ (r2<<1));
      snprintf(zData, sizeof(zData),
               "{\"partition\":\"%.64s\",\"seq\":%d,\"author\":\"%.64s\"}",
               zPart, iRow, pCust->zId);
      sqlite3_bind_text(pStmt, 1, zUuid, -1, SQLITE_TRANSIENT);
      if( pCust->zParent[0] ){
        sqlite3_bind_text(pStmt, 2, pCust->zParent, -1, SQLITE_STATIC);
      }else{
        sqlite3_bind_null(pStmt, 2);
      }
      sqlite3_bind_text(pStmt, 3, zData, -1, SQLITE_TRANSIENT);
      rc = sqlite3_step(pStmt);
      if( rc==SQLITE_DONE ){
        rc = sqlite3_reset(pStmt);
        nWritten++;
      }
    }
    if( rc!=SQLITE_OK ){
      fprintf(stderr, "client: writing %s of customer '%s' failed: %s\n",
              zPart, pCust->zId, sqlite3_errmsg(db));
    }
    sqlite3_finalize(pStmt);
  }

  if( rc==SQLITE_OK && pCust->zParent[0]==0 ){
    int nChildRows = clientFillForChildren(db, pCust->zId, nRow);
    if( nChildRows<0 ) rc = SQLITE_ERROR;
    else nWritten += nChildRows;
  }
  if( rc==SQLITE_OK ) rc = sqlite3_exec(db, "COMMIT", 0, 0, 0);
  if( rc!=SQLITE_OK ){
    fprintf(stderr, "client: transaction of customer '%s' failed: %s\n",
            pCust->zId, sqlite3_errmsg(db));
    nWritten = -1;
  }
  sqlite3_close(db);
  return nWritten;
}

static int clientFill(const char *zFleet, int nRow){
  int i;
  long nTotal = 0;
  if( clientReadFleet(zFleet) ) return 1;
  for(i=0; i<nFleet; i++){
    int n = clientFillCustomer(&aFleet[i], nRow);
    if( n<0 ) return 1;
    nTotal += n;
  }
  printf("wrote %ld rows for %d customers, one transaction each\n",
         nTotal, nFleet);
  return 0;
}

/* Print what one session sees: who it is, and per partition its own rows,
** the foreign rows (expected 0) and two sample rows. */
static int clientShow(const char *zCustomer, const char *zAgent){
  sqlite3 *db = clientOpenSession(zCustomer, zAgent);
  const char *const *az;
  char *zWho;
  int i;

  if( db==0 ) return 1;
  zWho = sqlite3_mprintf("%s", "?");
  {
    sqlite3_stmt *pStmt = 0;
    if( sqlite3_prepare_v2(db, "SELECT tenant_whoami()", -1, &pStmt, 0)==SQLITE_OK
     && sqlite3_step(pStmt)==SQLITE_ROW ){
      sqlite3_free(zWho);
      zWho = sqlite3_mprintf("%s", sqlite3_column_text(pStmt, 0));
    }
    sqlite3_finalize(pStmt);
  }
  printf("session opened with %s\n", zAgent ? "customer and agent" : "customer");
  printf("  tenant_whoami() = %s\n", zWho);
  sqlite3_free(zWho);

  /* An Onyx session reaches basic_communications, the others do not. */
  az = azStandard;
  {
    sqlite3_stmt *pProbe = 0;
    if( sqlite3_prepare_v2(db, "SELECT 1 FROM basic_communications", -1,
                           &pProbe, 0)==SQLITE_OK ){
      az = azOnyx;
    }
    sqlite3_finalize(pProbe);
  }
  for(i=0; az[i]; i++){
    char *zOwn = sqlite3_mprintf("SELECT count(*) FROM \"%w\"", az[i]);
    char *zForeign = sqlite3_mprintf(
        "SELECT count(*) FROM \"%w\" WHERE customer_id <> ?1", az[i]);
    sqlite3_int64 nOwn = clientCount(db, zOwn, 0);
    sqlite3_int64 nForeign = clientCount(db, zForeign, zCustomer);
    printf("  %-24s rows visible %4lld, of other customers %lld\n",
           az[i], nOwn, nForeign);
    sqlite3_free(zOwn);
    sqlite3_free(zForeign);
  }

  {
    sqlite3_stmt *pStmt = 0;
    const char *zSql = az==azOnyx
        ? "SELECT customer_id, id, data FROM basic_communications LIMIT 2"
        : "SELECT customer_id, id, data FROM communications_data LIMIT 2";
    if( sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0)==SQLITE_OK ){
      while( sqlite3_step(pStmt)==SQLITE_ROW ){
        printf("  row: %s | %s | %s\n", sqlite3_column_text(pStmt, 0),
               sqlite3_column_text(pStmt, 1), sqlite3_column_text(pStmt, 2));
      }
    }
    sqlite3_finalize(pStmt);
  }
  sqlite3_close(db);
  return 0;
}

/* Count, through the customer's session, its own rows (bForeign==0) or the
** rows of other customers (bForeign==1) in every partition it reaches, and
** add the count to *pnRows. Returns 0, or 1 on error.
**
** A Sapphire session reads the rows it keeps for its children in
** partitions 4-12 by design, so their ids count as its own here. */
static int clientCountCustomer(const ClientCustomer *pCust, int bForeign,
                               sqlite3_int64 *pnRows){
  const ClientTier *pTier = &aTier[clientTierIndex(pCust->zTier)];
  sqlite3 *db = clientOpenSession(pCust->zId, 0);
  int i;
  if( db==0 ) return 1;

  /* The customers whose rows the session may see: itself and, for a
  ** Sapphire, its children, whose rows of partitions 4-12 it keeps. */
  if( sqlite3_exec(db, "CREATE TEMP TABLE own(id TEXT PRIMARY KEY)",
                   0, 0, 0)!=SQLITE_OK ){
    fprintf(stderr, "client: %s\n", sqlite3_errmsg(db));
    sqlite3_close(db);
    return 1;
  }
  for(i=0; i<nFleet; i++){
    if( strcmp(aFleet[i].zId, pCust->zId)==0
     || (bForeign && strcmp(aFleet[i].zParent, pCust->zId)==0) ){
      char *zSql = sqlite3_mprintf("INSERT INTO temp.own VALUES(%Q)",
                                   aFleet[i].zId);
      sqlite3_exec(db, zSql, 0, 0, 0);
      sqlite3_free(zSql);
    }
  }

  for(i=0; pTier->azPartition[i]; i++){
    char *zSql = sqlite3_mprintf(
        "SELECT count(*) FROM \"%w\" WHERE customer_id %s IN "
        "(SELECT id FROM temp.own)",
        pTier->azPartition[i], bForeign ? "NOT" : "");
    sqlite3_int64 n = clientCount(db, zSql, 0);
    sqlite3_free(zSql);
    if( n<0 ){
      sqlite3_close(db);
      return 1;
    }
    *pnRows += n;
  }
  sqlite3_close(db);
  return 0;
}

static int clientStats(const char *zFleet){
  sqlite3_int64 aRows[CLIENT_NTIER] = {0};
  int aCustomers[CLIENT_NTIER] = {0};
  int i;
  if( clientReadFleet(zFleet) ) return 1;
  for(i=0; i<nFleet; i++){
    int iTier = clientTierIndex(aFleet[i].zTier);
    if( clientCountCustomer(&aFleet[i], 0, &aRows[iTier]) ) return 1;
    aCustomers[iTier]++;
  }
  for(i=0; i<CLIENT_NTIER; i++){
    printf("  %-9s %4d customers, %7lld rows (counted through sessions)\n",
           aTier[i].zName, aCustomers[i], aRows[i]);
  }
  return 0;
}

static int clientCheck(const char *zFleet, int nStep){
  sqlite3_int64 nForeign = 0;
  int nSample = 0;
  int i;
  if( clientReadFleet(zFleet) ) return 1;
  if( nStep<1 ) nStep = 1;
  for(i=0; i<nFleet; i+=nStep){
    sqlite3_int64 n = 0;
    if( clientCountCustomer(&aFleet[i], 1, &n) ) return 1;
    if( n!=0 ){
      printf("  LEAK: session of '%s' sees %lld rows of other customers\n",
             aFleet[i].zId, n);
    }
    nForeign += n;
    nSample++;
  }
  printf("cross-customer check: %d sessions sampled, rows of other customers "
         "visible = %lld%s\n", nSample, nForeign,
         nForeign==0 ? " (isolation holds)" : " (ISOLATION FAILED)");
  return nForeign==0 ? 0 : 1;
}

int main(int argc, char **argv){
  sqlite3 *db = 0;
  char *zErr = 0;
  int rc;

  if( argc<3 ){
    fprintf(stderr, "usage: %s EXT fill FLEET ROWS | show CUSTOMER [AGENT] | "
                    "stats FLEET | check FLEET STEP\n", argv[0]);
    return 1;
  }

  /* Loading the extension once registers the VFS and, through an
  ** auto-extension, its functions on every connection opened later. */
  sqlite3_open(":memory:", &db);
  sqlite3_enable_load_extension(db, 1);
  rc = sqlite3_load_extension(db, argv[1], "sqlite3_tenant_init", &zErr);
  if( rc!=SQLITE_OK ){
    fprintf(stderr, "client: loading '%s' failed: %s\n", argv[1], zErr);
    return 1;
  }
  srand(42);

  if( strcmp(argv[2], "fill")==0 && argc==5 ){
    rc = clientFill(argv[3], atoi(argv[4]));
  }else if( strcmp(argv[2], "show")==0 && (argc==4 || argc==5) ){
    rc = clientShow(argv[3], argc==5 ? argv[4] : 0);
  }else if( strcmp(argv[2], "stats")==0 && argc==4 ){
    rc = clientStats(argv[3]);
  }else if( strcmp(argv[2], "check")==0 && argc==5 ){
    rc = clientCheck(argv[3], atoi(argv[4]));
  }else{
    fprintf(stderr, "client: unknown command or wrong arguments: '%s'\n",
            argv[2]);
    rc = 1;
  }
  sqlite3_close(db);
  return rc;
}
