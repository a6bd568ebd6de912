/*
** Tests of the catalog, key derivation and the administrative functions:
** tenant_root, tenant_provision, tenant_decommission, tenant_add_agent,
** tenant_remove_agent, tenant_add_table and tenant_policy_set.
**
** Built twice. In the stock SQLite host every tier is marked unencrypted
** first, after checking the rejection of an encrypted placement. In the
** SQLCipher host the placement files are encrypted and checked as such.
** Routing plans and key derivation are reached through the symbols of the
** loaded extension library (dlsym), because no SQL function exposes them.
*/
#define SQLITE_CORE 1              /* tenant_int.h: no extension macros */
#include "tap.h"
#include "../ext/tenant_int.h"

#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef int (*PlanLoadFn)(const char*, const char*, TenantPlan*, char**);
typedef int (*PlanResolveFn)(const char*, char*, int, char**);
typedef int (*KeyDeriveFn)(const char*, unsigned char*, char**);
typedef void (*KeyFormatFn)(const unsigned char*, char*);
typedef int (*TablesFn)(const char*, int(*)(void*, const char*), void*,
                        char**);

static sqlite3 *db;                /* test connection, extension loaded */
static const char *zRoot;          /* absolute root of this run */

/* The catalog's message for a customer it does not hold. */
static const char *unknownCustomerText(const char *zCustomer){
  static char zText[4400];
  snprintf(zText, sizeof(zText), "tenant: customer \"%s\" not found in the "
           "catalog of root %s: provision it with tenant_provision(), or set "
           "TENANT_ROOT to the root that holds it", zCustomer, zRoot);
  return zText;
}
static PlanLoadFn xPlanLoad;
static PlanResolveFn xPlanResolve;
static KeyDeriveFn xKeyDerive;
static KeyFormatFn xKeyFormat;
static TablesFn xTables;
static const char *const *azAdmin; /* tenantAdminFunctions */

/* Find the internal symbols in the library that tap_open() loaded. */
static void findSymbols(void){
  const char *zExt = getenv("TENANT_EXT");
  char zPath[4096];
  void *pLib;
  snprintf(zPath, sizeof(zPath), "%s.so", zExt ? zExt : "");
  pLib = dlopen(zPath, RTLD_NOW | RTLD_NOLOAD);
  if( pLib==0 ) pLib = dlopen(zExt ? zExt : "", RTLD_NOW | RTLD_NOLOAD);
  if( pLib==0 ){
    printf("Bail out! cannot find the loaded extension %s\n", zPath);
    exit(255);
  }
  xPlanLoad = (PlanLoadFn)dlsym(pLib, "tenantPlanLoad");
  xPlanResolve = (PlanResolveFn)dlsym(pLib, "tenantPlanResolve");
  xKeyDerive = (KeyDeriveFn)dlsym(pLib, "tenantKeyDerive");
  xKeyFormat = (KeyFormatFn)dlsym(pLib, "tenantKeyFormatRaw");
  xTables = (TablesFn)dlsym(pLib, "tenantCatalogTables");
  azAdmin = (const char *const*)dlsym(pLib, "tenantAdminFunctions");
  if( !xPlanLoad || !xPlanResolve || !xKeyDerive || !xKeyFormat || !azAdmin
   || !xTables ){
    printf("Bail out! the extension lacks an internal symbol\n");
    exit(255);
  }
}

static int fileExists(const char *zPath){
  return access(zPath, F_OK)==0;
}

/* Path under the root, in a static buffer of four rotating slots. */
static const char *rootPath(const char *zRel){
  static char azBuf[4][4096];
  static int iSlot = 0;
  char *z = azBuf[iSlot++ % 4];
  snprintf(z, 4096, "%s/%s", zRoot, zRel);
  return z;
}

/* Number of rows of zSql's first column as an integer, -1 on error. */
static long long queryInt(sqlite3 *pDb, const char *zSql){
  const char *z = tap_query_text(pDb, zSql);
  return z ? atoll(z) : -1;
}

/* Run zSql on the catalog, attached as "cat" for the statement. */
static const char *catalogQuery(const char *zSql){
  static char zOut[1024];
  const char *z;
  char *zAttach = sqlite3_mprintf("ATTACH %Q AS cat",
                                  rootPath("catalog.db"));
  tap_exec_error(db, zAttach);
  sqlite3_free(zAttach);
  z = tap_query_text(db, zSql);
  snprintf(zOut, sizeof(zOut), "%s", z ? z : "(null)");
  tap_exec_error(db, "DETACH cat");
  return zOut;
}

static const char *catalogExec(const char *zSql){
  static char zOut[1024];
  const char *z;
  char *zAttach = sqlite3_mprintf("ATTACH %Q AS cat",
                                  rootPath("catalog.db"));
  tap_exec_error(db, zAttach);
  sqlite3_free(zAttach);
  z = tap_exec_error(db, zSql);
  snprintf(zOut, sizeof(zOut), "%s", z ? z : "");
  tap_exec_error(db, "DETACH cat");
  return zOut[0] ? zOut : 0;
}

/*
** Open placement file zRel of the root with the key of zKeyId when the host
** encrypts. Returns NULL when the file cannot be read.
*/
static sqlite3 *openPlacementFile(const char *zRel, const char *zKeyId){
  sqlite3 *pDb = 0;
  if( sqlite3_open_v2(rootPath(zRel), &pDb, SQLITE_OPEN_READWRITE, 0) ){
    sqlite3_close(pDb);
    return 0;
  }
  if( tap_host_is_sqlcipher() && zKeyId ){
    unsigned char aKey[TENANT_KEY_BYTES];
    char zKey[80];
    char *zSql;
    char *zErr = 0;
    if( xKeyDerive(zKeyId, aKey, &zErr)!=SQLITE_OK ){
      sqlite3_free(zErr);
      sqlite3_close(pDb);
      return 0;
    }
    xKeyFormat(aKey, zKey);
    zSql = sqlite3_mprintf("PRAGMA key=%Q", zKey);
    sqlite3_exec(pDb, zSql, 0, 0, 0);
    sqlite3_free(zSql);
  }
  if( sqlite3_exec(pDb, "SELECT count(*) FROM sqlite_master", 0, 0, 0) ){
    sqlite3_close(pDb);
    return 0;
  }
  return pDb;
}

/* True when file zRel of the root contains table zTable. */
static int fileHasTable(const char *zRel, const char *zKeyId,
                        const char *zTable){
  sqlite3 *pDb = openPlacementFile(zRel, zKeyId);
  char *zSql;
  long long n;
  if( pDb==0 ) return 0;
  zSql = sqlite3_mprintf("SELECT count(*) FROM sqlite_master"
                         " WHERE type='table' AND name=%Q", zTable);
  n = queryInt(pDb, zSql);
  sqlite3_free(zSql);
  sqlite3_close(pDb);
  return n==1;
}

/* Run zSql in file zRel of the root; returns the error or NULL. */
static const char *fileExec(const char *zRel, const char *zKeyId,
                            const char *zSql){
  sqlite3 *pDb = openPlacementFile(zRel, zKeyId);
  const char *zErr;
  if( pDb==0 ) return "cannot open";
  zErr = tap_exec_error(pDb, zSql);
  sqlite3_close(pDb);
  return zErr;
}

static long long fileCount(const char *zRel, const char *zKeyId,
                           const char *zSql){
  sqlite3 *pDb = openPlacementFile(zRel, zKeyId);
  long long n;
  if( pDb==0 ) return -1;
  n = queryInt(pDb, zSql);
  sqlite3_close(pDb);
  return n;
}

/* FNV-1a as the extension computes the Onyx instance. */
static unsigned int fnv1a(const char *z){
  unsigned int h = 2166136261u;
  while( *z ){
    h ^= (unsigned char)*z++;
    h *= 16777619u;
  }
  return h;
}

#define SAPPHIRE_DIR "customer-acme-sapphire/d1-sapphire-acme-us-west1"
#define OPAL_DIR     "shared-opal-us-west1/d1-opal-acme-us-west1"

/* 1. Root and catalog. */
static void testRoot(void){
  char zOther[4200];
  char zExpect[8400];
  tap_is_str(tap_query_text(db, "SELECT tenant_root()"), zRoot,
             "root: tenant_root() is the absolute root");
  tap_ok(fileExists(rootPath("catalog.db")), "root: catalog.db created");

  tap_is_str(tap_query_text(db, "SELECT tenant_root(NULL)"), zRoot,
             "root: NULL keeps the open root");
  snprintf(zOther, sizeof(zOther), "%s-other", zRoot);
  snprintf(zExpect, sizeof(zExpect), "tenant: root \"%s\" differs from the "
      "root \"%s\" that this process already uses: serve each root from its "
      "own process", zOther, zRoot);
  {
    char *zSql = sqlite3_mprintf("SELECT tenant_root(%Q)", zOther);
    tap_is_str(tap_exec_error(db, zSql), zExpect,
               "root: a second root is rejected");
    sqlite3_free(zSql);
  }

  tap_is_str(catalogQuery("SELECT group_concat(tier||':'||"
      "coalesce(storage_limit_bytes,'unlimited')||':'||price_usd||':'||"
      "encrypted, ' ') FROM (SELECT * FROM cat.policy ORDER BY tier)"),
      "onyx:10000000000:50:1 opal:100000000000:200:1 "
      "sapphire:unlimited:1000:1", "root: policy defaults");
  tap_is_str(catalogQuery("SELECT group_concat(id||':'||opal_instances||"
      "':'||onyx_instances, ' ') FROM (SELECT * FROM cat.regions"
      " ORDER BY id)"),
      "eu-west1:2:1 us-central1:3:2 us-west1:5:2", "root: region defaults");
  tap_is_str(catalogQuery("SELECT count(*)||' '||sum(file='private')"
      " FROM cat.partitions WHERE scheme='standard'"), "12 6",
      "root: 12 standard partitions, 6 private");
  tap_is_str(catalogQuery("SELECT group_concat(name, ' ') FROM (SELECT name"
      " FROM cat.partitions WHERE scheme='onyx' ORDER BY number)"),
      "basic_communications limited_opportunities simple_workflows",
      "root: 3 onyx partitions");
}

/* 2. Encryption policy in the host at hand. */
static void testEncryptionPolicy(void){
  if( tap_host_is_sqlcipher() ){
    tap_skip(2, "the SQLCipher host has a codec");
  }else{
    /* SQLite 3.34 and newer encrypt through the tenant VFS's codec. */
    tap_is_str(tap_exec_error(db,
        "SELECT tenant_provision('probe','sapphire','us-west1')"), 0,
        "policy: stock host provisions an encrypted placement");
    tap_is_str(tap_exec_error(db, "SELECT tenant_decommission('probe')"), 0,
        "policy: encrypted probe decommissioned");
    tap_exec_error(db,
        "SELECT tenant_policy_set('sapphire','encrypted',0);"
        "SELECT tenant_policy_set('opal','encrypted',0);"
        "SELECT tenant_policy_set('onyx','encrypted',0)");
  }
  tap_is_str(catalogQuery("SELECT count(*) FROM cat.customers"), "0",
             "policy: the rejection wrote no customer");
}

/* 3. Provisioning the three tiers. */
static void testProvision(void){
  char zExpect[64];
  unsigned int iOnyx;

  tap_is_str(tap_query_text(db,
      "SELECT tenant_provision('acme','sapphire','us-west1')"),
      "d1-sapphire-acme-us-west1", "provision: sapphire database name");
  tap_ok(fileExists(rootPath(SAPPHIRE_DIR "/owner.db")),
         "provision: sapphire owner.db exists");
  tap_ok(fileExists(rootPath(SAPPHIRE_DIR "/private.db")),
         "provision: sapphire private.db exists");
  {
    char zTemp[128];
    snprintf(zTemp, sizeof(zTemp), SAPPHIRE_DIR "/owner.db.tmp-%ld",
             (long)getpid());
    tap_ok(!fileExists(rootPath(zTemp)), "provision: no temporary file left");
  }

  tap_is_str(tap_query_text(db,
      "SELECT tenant_provision('o1','opal','us-west1','acme')"),
      "d1-opal-acme-us-west1", "provision: opal database name");
  tap_ok(fileExists(rootPath(OPAL_DIR "/owner.db")),
         "provision: opal owner.db exists");
  tap_ok(!fileExists(rootPath(OPAL_DIR "/private.db")),
         "provision: opal has no private.db");
  tap_is_str(tap_query_text(db,
      "SELECT tenant_provision('o2','opal','us-west1','acme')"),
      "d1-opal-acme-us-west1", "provision: second opal shares the file");

  iOnyx = fnv1a("x1") % 2 + 1;
  snprintf(zExpect, sizeof(zExpect), "d1-onyx-shared-us-west1-%u", iOnyx);
  tap_is_str(tap_query_text(db,
      "SELECT tenant_provision('x1','onyx','us-west1','acme')"),
      zExpect, "provision: onyx name has the instance suffix");
  {
    char zRel[128];
    snprintf(zRel, sizeof(zRel), "shared-onyx-us-west1/%s/owner.db",
             zExpect);
    tap_ok(fileExists(rootPath(zRel)), "provision: onyx owner.db exists");
  }
  tap_is_str(catalogQuery("SELECT onyx_instance FROM cat.placements"
      " WHERE customer='x1'"), zExpect+strlen(zExpect)-1,
      "provision: onyx instance stored");

  tap_is_str(tap_query_text(db,
      "SELECT tenant_provision('eu','sapphire','eu-west1')"),
      "d1-sapphire-eu-eu-west1", "provision: eu sapphire");
  tap_is_str(tap_query_text(db,
      "SELECT tenant_provision('xe','onyx','eu-west1','eu')"),
      "d1-onyx-shared-eu-west1", "provision: single onyx instance, no suffix");
  tap_is_str(catalogQuery("SELECT group_concat(id||':'||state, ' ') FROM"
      " (SELECT * FROM cat.customers ORDER BY id)"),
      "acme:active eu:active o1:active o2:active x1:active xe:active",
      "provision: every customer active");
}

/* 4. Rejections of tenant_provision, each with its exact text. */
static void testProvisionRejects(void){
  static const struct { const char *zSql, *zErr, *zName; } aCase[] = {
    { "SELECT tenant_provision('a/b','sapphire','us-west1')",
      "tenant: customer id \"a/b\" contains a path separator: use only "
      "letters, digits, '_', '.' and '-'", "reject: path separator" },
    { "SELECT tenant_provision('..','sapphire','us-west1')",
      "tenant: customer id \"..\" is a special path name: use a name of "
      "letters, digits, '_', '.' and '-' other than \".\" and \"..\"",
      "reject: dot-dot" },
    { "SELECT tenant_provision('a'||char(7),'sapphire','us-west1')",
      "tenant: customer id \"a\\x07\" contains a control character: use "
      "only letters, digits, '_', '.' and '-'", "reject: control character" },
    { "SELECT tenant_provision(printf('%.*c',65,'a'),'sapphire','us-west1')",
      "tenant: customer id \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "aaaaaaaaaaaaaaaa...\" is 65 bytes long: use at most 64 characters",
      "reject: 65 characters" },
    { "SELECT tenant_provision('a b','sapphire','us-west1')",
      "tenant: customer id \"a b\" contains the character ' ': use only "
      "letters, digits, '_', '.' and '-'", "reject: space" },
    { "SELECT tenant_provision('','sapphire','us-west1')",
      "tenant: customer id is missing: pass 1 to 64 characters of letters, "
      "digits, '_', '.' and '-'", "reject: empty id" },
    { "SELECT tenant_provision('y','gold','us-west1')",
      "tenant: unknown tier \"gold\": use sapphire, opal or onyx",
      "reject: unknown tier" },
    { "SELECT tenant_provision('y','sapphire','mars')",
      "tenant: unknown region \"mars\": use one of eu-west1, us-central1, "
      "us-west1", "reject: unknown region" },
    { "SELECT tenant_provision('y','opal','us-west1')",
      "tenant: tier \"opal\" requires a parent sapphire customer: pass its "
      "id as the fourth argument", "reject: opal without parent" },
    { "SELECT tenant_provision('y','onyx','us-west1',NULL)",
      "tenant: tier \"onyx\" requires a parent sapphire customer: pass its "
      "id as the fourth argument", "reject: onyx with NULL parent" },
    { "SELECT tenant_provision('y','opal','us-west1','nobody')",
      "tenant: parent customer \"nobody\" not found: provision it first as "
      "a sapphire customer", "reject: unknown parent" },
    { "SELECT tenant_provision('y','onyx','us-west1','o1')",
      "tenant: parent customer \"o1\" is opal, not sapphire: choose a "
      "sapphire customer as parent", "reject: non-sapphire parent" },
    { "SELECT tenant_provision('y','opal','us-west1','eu')",
      "tenant: parent customer \"eu\" is in region \"eu-west1\", not "
      "\"us-west1\": data stays in its region, so choose a parent in "
      "\"us-west1\"", "reject: parent in another region" },
    { "SELECT tenant_provision('y','sapphire','us-west1','acme')",
      "tenant: a sapphire customer has no parent, but parent \"acme\" was "
      "given: omit the fourth argument", "reject: sapphire with parent" },
    { "SELECT tenant_provision('acme','sapphire','us-west1')",
      "tenant: customer \"acme\" already exists: choose another id",
      "reject: duplicate id" },
    { "SELECT tenant_provision('o1','opal','us-west1','acme')",
      "tenant: customer \"o1\" already exists: choose another id",
      "reject: duplicate opal with same arguments" },
  };
  int i;
  for(i=0; i<(int)(sizeof(aCase)/sizeof(aCase[0])); i++){
    tap_is_str(tap_exec_error(db, aCase[i].zSql), aCase[i].zErr,
               aCase[i].zName);
  }
  tap_is_str(catalogQuery("SELECT count(*) FROM cat.customers"), "6",
             "reject: no customer row written");
  tap_ok(!fileExists(rootPath("customer-y-sapphire")),
         "reject: no folder created");
}

/* 5. Routing plans. */
static void testPlans(void){
  TenantPlan plan;
  char *zErr = 0;
  char zPath[TENANT_MAX_PATH];
  int i, nRo;

  tap_is_int(xPlanLoad("acme", 0, &plan, &zErr), SQLITE_OK,
             "plan: sapphire loads");
  tap_is_int(plan.nFile, 2, "plan: sapphire has 2 files");
  tap_is_str(plan.aFile[0].zPath, rootPath(SAPPHIRE_DIR "/owner.db"),
             "plan: sapphire file 0 is owner.db");
  tap_is_str(plan.aFile[1].zKeyId, "d1-sapphire-acme-us-west1/private",
             "plan: sapphire private key identity");
  tap_ok(!plan.aFile[0].bShared && !plan.aFile[1].bShared,
         "plan: sapphire files not shared");
  tap_is_int(plan.aFile[0].bEncrypted, tap_host_is_sqlcipher(),
             "plan: sapphire encryption follows policy");
  tap_is_int(plan.nReach, 12, "plan: sapphire reaches 12 partitions");
  for(i=0, nRo=0; i<plan.nReach; i++) nRo += plan.aReach[i].bReadOnly;
  tap_is_int(nRo, 0, "plan: sapphire writes all partitions");
  tap_is_str(plan.aReach[6].zPartition, "internal_analytics",
             "plan: partition 7 in order");
  tap_is_int(plan.aReach[6].iFile, 1, "plan: partition 7 in private.db");

  tap_is_int(xPlanLoad("o1", 0, &plan, &zErr), SQLITE_OK, "plan: opal loads");
  tap_is_int(plan.nFile, 2, "plan: opal has 2 files");
  tap_is_str(plan.aFile[0].zPath, rootPath(OPAL_DIR "/owner.db"),
             "plan: opal file 0 is its shared owner.db");
  tap_is_str(plan.aFile[1].zPath, rootPath(SAPPHIRE_DIR "/private.db"),
             "plan: opal file 1 is the parent's private.db");
  tap_ok(plan.aFile[0].bShared && plan.aFile[1].bShared,
         "plan: opal files shared");
  tap_is_int(plan.nReach, 12, "plan: opal reaches 12 partitions");
  tap_ok(!plan.aReach[5].bReadOnly && plan.aReach[6].bReadOnly
         && plan.aReach[11].bReadOnly, "plan: opal 1-6 write, 7-12 read");
  tap_is_str(plan.zParent, "acme", "plan: opal parent");

  tap_is_int(xPlanLoad("x1", 0, &plan, &zErr), SQLITE_OK, "plan: onyx loads");
  tap_is_int(plan.nFile, 3, "plan: onyx has 3 files");
  tap_is_str(plan.aFile[1].zPath, rootPath(SAPPHIRE_DIR "/owner.db"),
             "plan: onyx file 1 is the parent's owner.db");
  tap_is_int(plan.nReach, 12, "plan: onyx reaches 3+9 partitions");
  tap_is_str(plan.aReach[0].zPartition, "basic_communications",
             "plan: onyx partition 1 first");
  tap_is_str(plan.aReach[3].zPartition, "workflow_automations",
             "plan: onyx partition 4 from the parent");
  tap_ok(!plan.aReach[2].bReadOnly && plan.aReach[3].bReadOnly
         && plan.aReach[3].iFile==1 && plan.aReach[11].iFile==2,
         "plan: onyx parent partitions read-only in the right files");

  tap_is_int(xPlanLoad("nobody", 0, &plan, &zErr), SQLITE_NOTFOUND,
             "plan: unknown customer");
  tap_is_str(zErr, unknownCustomerText("nobody"),
             "plan: unknown customer text");
  tap_is_int(xPlanLoad("acme", "ghost", &plan, &zErr), SQLITE_NOTFOUND,
             "plan: unknown agent");
  tap_is_str(zErr, "tenant: agent \"ghost\" not found for customer "
             "\"acme\": add it with tenant_add_agent()",
             "plan: unknown agent text");

  tap_is_int(xPlanResolve("o1/internal_analytics", zPath, sizeof(zPath),
             &zErr), SQLITE_OK, "resolve: opal private partition");
  tap_is_str(zPath, rootPath(SAPPHIRE_DIR "/private.db"),
             "resolve: in the parent's private.db");
  tap_is_int(xPlanResolve("x1/communications_data", zPath, sizeof(zPath),
             &zErr), SQLITE_NOTFOUND, "resolve: onyx lacks partition 1");
  sqlite3_free(zErr);
}

/* 6. Encryption of placement files and per-file keys. */
static void testEncryption(void){
  unsigned char aOwner[TENANT_KEY_BYTES], aPrivate[TENANT_KEY_BYTES];
  char zHeader[16] = {0};
  char *zErr = 0;
  FILE *pFile = fopen(rootPath(SAPPHIRE_DIR "/owner.db"), "rb");
  if( pFile ){
    if( fread(zHeader, 1, 15, pFile)!=15 ) zHeader[0] = 0;
    fclose(pFile);
  }
  if( tap_host_is_sqlcipher() ){
    tap_ok(strcmp(zHeader, "SQLite format 3")!=0,
           "encrypt: owner.db has no plain header");
    tap_ok(openPlacementFile(SAPPHIRE_DIR "/owner.db", 0)==0,
           "encrypt: owner.db fails to open without the key");
    tap_ok(fileHasTable(SAPPHIRE_DIR "/owner.db",
           "d1-sapphire-acme-us-west1/owner", "communications_data"),
           "encrypt: owner.db opens with its key");
    tap_ok(!fileHasTable(SAPPHIRE_DIR "/private.db",
           "d1-sapphire-acme-us-west1/owner", "internal_analytics"),
           "encrypt: private.db rejects the owner key");
  }else{
    tap_is_str(zHeader, "SQLite format 3", "encrypt: plain file in stock host");
    tap_skip(3, "the stock host has no codec");
  }
  xKeyDerive("d1-sapphire-acme-us-west1/owner", aOwner, &zErr);
  xKeyDerive("d1-sapphire-acme-us-west1/private", aPrivate, &zErr);
  tap_ok(memcmp(aOwner, aPrivate, sizeof(aOwner))!=0,
         "keys: owner and private keys differ");
  {
    char zText[80];
    xKeyFormat(aOwner, zText);
    tap_ok(strlen(zText)==67 && zText[0]=='x' && zText[1]=='\''
           && zText[66]=='\'', "keys: raw key text is x'<64 hex>'");
  }
  sqlite3_free(zErr);
}

/* 7. Master key sources. */
static void testMasterKey(void){
  unsigned char aEnv[TENANT_KEY_BYTES], aFile[TENANT_KEY_BYTES];
  char zKeyFile[4200];
  char zExpect[8600];
  char *zErr = 0;
  const char *zSaved = getenv("TENANT_MASTER_KEY");
  char zKey[128];
  FILE *pOut;

  snprintf(zKey, sizeof(zKey), "%s", zSaved ? zSaved : "");
  xKeyDerive("k/owner", aEnv, &zErr);

  setenv("TENANT_MASTER_KEY", "short", 1);
  tap_is_int(xKeyDerive("k/owner", aFile, &zErr), SQLITE_ERROR,
             "master: short key rejected");
  tap_is_str(zErr, "tenant: master key from TENANT_MASTER_KEY is 5 "
             "characters long: use at least 32 characters",
             "master: short key text");

  unsetenv("TENANT_MASTER_KEY");
  unsetenv("TENANT_KEY_FILE");
  xKeyDerive("k/owner", aFile, &zErr);
  tap_is_str(zErr, "tenant: no master key: set TENANT_MASTER_KEY or "
             "TENANT_KEY_FILE", "master: none configured");

  snprintf(zKeyFile, sizeof(zKeyFile), "%s/master.key", zRoot);
  pOut = fopen(zKeyFile, "w");
  if( pOut ){
    fprintf(pOut, "%s\n", zKey);
    fclose(pOut);
  }
  chmod(zKeyFile, 0644);
  setenv("TENANT_KEY_FILE", zKeyFile, 1);
  tap_is_int(xKeyDerive("k/owner", aFile, &zErr), SQLITE_PERM,
             "master: key file 0644 rejected");
  snprintf(zExpect, sizeof(zExpect), "tenant: key file \"%s\" has mode 0644, "
      "which lets group or others read it: run chmod 600 \"%s\"",
      zKeyFile, zKeyFile);
  tap_is_str(zErr, zExpect, "master: key file mode text");
  chmod(zKeyFile, 0600);
  tap_is_int(xKeyDerive("k/owner", aFile, &zErr), SQLITE_OK,
             "master: key file 0600 accepted");
  tap_ok(memcmp(aEnv, aFile, sizeof(aEnv))==0,
         "master: file key minus newline equals the same key in env");

  unsetenv("TENANT_KEY_FILE");
  unlink(zKeyFile);
  setenv("TENANT_MASTER_KEY", zKey, 1);
  sqlite3_free(zErr);
}

/* 8. A half-provisioned customer is finished by the same call. */
static void testResume(void){
  char zStale[4300];
  FILE *pOut;
  TenantPlan plan;
  char *zErr = 0;

  tap_is_str(catalogExec("INSERT INTO cat.customers(id, tier, region,"
      " parent, state) VALUES('half','sapphire','us-west1',NULL,"
      "'provisioning')"), 0, "resume: provisioning row written");
  tap_is_int(xPlanLoad("half", 0, &plan, &zErr), SQLITE_BUSY,
             "resume: half-provisioned customer cannot bind");
  tap_is_str(zErr, "tenant: customer \"half\" is still being provisioned: "
             "call tenant_provision() with the same arguments to finish it",
             "resume: bind rejection text");

  /* A stale temporary file of a process that no longer runs. */
  mkdir(rootPath("customer-half-sapphire"), 0700);
  mkdir(rootPath("customer-half-sapphire/d1-sapphire-half-us-west1"), 0700);
  snprintf(zStale, sizeof(zStale), "%s",
      rootPath("customer-half-sapphire/d1-sapphire-half-us-west1/"
               "owner.db.tmp-2147483600"));
  pOut = fopen(zStale, "w");
  if( pOut ){
    fputs("partial", pOut);
    fclose(pOut);
  }

  tap_is_str(tap_exec_error(db,
      "SELECT tenant_provision('half','opal','us-west1','acme')"),
      "tenant: customer \"half\" is half provisioned as sapphire in "
      "us-west1: call tenant_provision() with those arguments to finish it",
      "resume: other arguments rejected");
  tap_is_str(tap_query_text(db,
      "SELECT tenant_provision('half','sapphire','us-west1')"),
      "d1-sapphire-half-us-west1", "resume: same call finishes");
  tap_ok(!fileExists(zStale), "resume: stale temporary file removed");
  tap_ok(fileHasTable("customer-half-sapphire/d1-sapphire-half-us-west1/"
      "private.db", "d1-sapphire-half-us-west1/private", "wish_vision_clouds"),
      "resume: private.db complete");
  tap_is_str(catalogQuery("SELECT state FROM cat.customers WHERE id='half'"),
             "active", "resume: customer active");
  tap_is_str(tap_exec_error(db,
      "SELECT tenant_provision('half','sapphire','us-west1')"),
      "tenant: customer \"half\" already exists: choose another id",
      "resume: repeat on active customer rejected");
  sqlite3_free(zErr);
}

/* 9. Agents. */
static void testAgents(void){
  TenantPlan plan;
  char *zErr = 0;
  tap_is_str(tap_query_text(db, "SELECT tenant_add_agent('acme','alice')"),
             "alice", "agent: added");
  tap_is_int(xPlanLoad("acme", "alice", &plan, &zErr), SQLITE_OK,
             "agent: plan binds the agent");
  tap_is_str(plan.zAgent, "alice", "agent: plan names the agent");
  tap_is_str(tap_exec_error(db, "SELECT tenant_add_agent('acme','alice')"),
             "tenant: agent \"alice\" already exists for customer \"acme\": "
             "choose another id", "agent: duplicate rejected");
  tap_is_str(tap_exec_error(db, "SELECT tenant_add_agent('nobody','bob')"),
             "tenant: customer \"nobody\" not found: provision it with "
             "tenant_provision()", "agent: unknown customer rejected");
  tap_is_str(tap_exec_error(db, "SELECT tenant_add_agent('acme','b/c')"),
             "tenant: agent id \"b/c\" contains a path separator: use only "
             "letters, digits, '_', '.' and '-'", "agent: unsafe id rejected");
  tap_is_str(tap_query_text(db, "SELECT tenant_remove_agent('acme','alice')"),
             "alice", "agent: removed");
  tap_is_str(tap_exec_error(db, "SELECT tenant_remove_agent('acme','alice')"),
             "tenant: agent \"alice\" not found for customer \"acme\": check "
             "the id", "agent: removing unknown rejected");
  sqlite3_free(zErr);
}

/* 10. Application tables reach existing and later files. */
static void testAddTable(void){
  static const struct { const char *zSql, *zErr, *zName; } aCase[] = {
    { "SELECT tenant_add_table('communications_data',"
      "'CREATE TABLE t1(customer_id TEXT, x)')",
      "tenant: table \"t1\" declares column \"customer_id\", which the "
      "extension adds itself: remove it", "table: customer_id rejected" },
    { "SELECT tenant_add_table('communications_data',"
      "'CREATE TABLE notes(x)')",
      "tenant: table \"notes\" already exists in partition "
      "\"communications_data\": choose another name",
      "table: existing name rejected" },
    { "SELECT tenant_add_table('internal_analytics',"
      "'CREATE TABLE academy_progress(x)')",
      "tenant: table \"academy_progress\" already exists in partition "
      "\"academy_progress\": choose another name",
      "table: partition table name rejected" },
    { "SELECT tenant_add_table('nowhere','CREATE TABLE t2(x)')",
      "tenant: unknown partition \"nowhere\": use one of "
      "communications_data, bidsuite_opportunities, customer_relationships, "
      "workflow_automations, roi_tracking_metrics, academy_progress, "
      "internal_analytics, behavioral_patterns, optimization_models, "
      "learning_algorithms, recommendation_engine, wish_vision_clouds, "
      "basic_communications, limited_opportunities, simple_workflows",
      "table: unknown partition" },
    { "SELECT tenant_add_table('communications_data',"
      "'CREATE TABLE t3(x); CREATE TABLE t4(y)')",
      "tenant: table definition contains more than one statement: pass a "
      "single CREATE TABLE statement", "table: two statements rejected" },
    { "SELECT tenant_add_table('communications_data',"
      "'CREATE VIEW v AS SELECT 1')",
      "tenant: table definition is not a CREATE TABLE statement: pass a "
      "single CREATE TABLE statement", "table: view rejected" },
    { "SELECT tenant_add_table('communications_data',"
      "'CREATE TABLE s AS SELECT 1 AS a')",
      "tenant: AS in a table definition is not supported: define the table "
      "with columns, PRIMARY KEY and UNIQUE only",
      "table: create as select rejected" },
    { "SELECT tenant_add_table('communications_data',"
      "'CREATE TABLE k(a, b AS (a+1))')",
      "tenant: AS in a table definition is not supported: define the table "
      "with columns, PRIMARY KEY and UNIQUE only",
      "table: generated column rejected" },
    { "SELECT tenant_add_table('communications_data','SELECT 1')",
      "tenant: table definition is not a CREATE TABLE statement: pass a "
      "single CREATE TABLE statement", "table: select rejected" },
    { "SELECT tenant_add_table('communications_data',"
      "'CREATE TABLE tenant_x(a)')",
      "tenant: table name \"tenant_x\" is reserved: choose a name that "
      "starts with neither tenant_ nor sqlite_", "table: reserved name" },
    { "SELECT tenant_add_table('communications_data',"
      "'CREATE TABLE w(a PRIMARY KEY) WITHOUT ROWID')",
      "tenant: table \"w\" has no rowid, which is not supported: remove "
      "WITHOUT ROWID", "table: without rowid rejected" },
    { "SELECT tenant_add_table('communications_data',"
      "'CREATE TABLE memo(b TEXT, a ''TEXT, customer_id TEXT COLLATE"
      " NOCASE NOT NULL) --'')')",
      "tenant: column \"a\" of table \"memo\" has invalid type \"TEXT,"
      " customer_id TEXT COLLATE NOCASE NOT NULL) --\": use words and an optional size, as in VARCHAR(255)",
      "table: quoted type with DDL rejected" },
    { "SELECT tenant_add_table('communications_data',"
      "'CREATE TABLE memo(a \"INT, UNIQUE(a)\")')",
      "tenant: column \"a\" of table \"memo\" has invalid type"
      " \"INT, UNIQUE(a)\": use words and an optional size, as"
      " in VARCHAR(255)", "table: quoted type with UNIQUE rejected" },
    { "SELECT tenant_add_table('communications_data',"
      "'CREATE TABLE memo(a [DECIMAL(1,2)) x])')",
      "tenant: column \"a\" of table \"memo\" has invalid type"
      " \"DECIMAL(1,2)) x\": use words and an optional size, as"
      " in VARCHAR(255)", "table: bracketed type rejected" },
    { "SELECT tenant_add_table('communications_data',"
      "'CREATE TABLE c(a CHECK(a>0))')",
      "tenant: CHECK in a table definition is not supported: define the "
      "table with columns, PRIMARY KEY and UNIQUE only",
      "table: check rejected" },
  };
  int i;

  tap_is_str(tap_query_text(db, "SELECT tenant_add_table("
      "'communications_data', 'CREATE TABLE notes(id INTEGER PRIMARY KEY,"
      " body TEXT COLLATE NOCASE NOT NULL DEFAULT ''-'', tag TEXT UNIQUE,"
      " price DECIMAL(10, -2), code UNSIGNED BIG INT)')"),
      "notes", "table: added");
  tap_is_str(catalogQuery("SELECT physical_ddl FROM cat.app_tables"
      " WHERE name='notes'"),
      "CREATE TABLE \"notes\"(\"id\" INTEGER, \"body\" TEXT COLLATE NOCASE "
      "NOT NULL DEFAULT '-', \"tag\" TEXT, \"price\" DECIMAL(10, -2), "
      "\"code\" UNSIGNED BIG INT, customer_id TEXT NOT NULL, "
      "PRIMARY KEY(customer_id, \"id\"), UNIQUE(customer_id, \"tag\"))",
      "table: physical ddl keys start with customer_id");
  tap_ok(fileHasTable(SAPPHIRE_DIR "/owner.db",
         "d1-sapphire-acme-us-west1/owner", "notes"),
         "table: reaches existing sapphire owner.db");
  tap_ok(fileHasTable(OPAL_DIR "/owner.db", "d1-opal-acme-us-west1/owner",
         "notes"), "table: reaches existing opal owner.db");
  tap_ok(!fileHasTable(SAPPHIRE_DIR "/private.db",
         "d1-sapphire-acme-us-west1/private", "notes"),
         "table: not in private.db");

  tap_is_str(tap_query_text(db,
      "SELECT tenant_provision('late','sapphire','us-west1')"),
      "d1-sapphire-late-us-west1", "table: later customer provisioned");
  tap_ok(fileHasTable("customer-late-sapphire/d1-sapphire-late-us-west1/"
         "owner.db", "d1-sapphire-late-us-west1/owner", "notes"),
         "table: reaches later file");

  for(i=0; i<(int)(sizeof(aCase)/sizeof(aCase[0])); i++){
    tap_is_str(tap_exec_error(db, aCase[i].zSql), aCase[i].zErr,
               aCase[i].zName);
  }
  {
    char *zSql = sqlite3_mprintf("SELECT tenant_add_table("
        "'communications_data', 'ATTACH %q AS y')", rootPath("attack.db"));
    tap_is_str(tap_exec_error(db, zSql), "tenant: table definition is not "
        "a CREATE TABLE statement: pass a single CREATE TABLE statement",
        "table: attach rejected");
    tap_ok(!fileExists(rootPath("attack.db")),
           "table: attach created no file");
    sqlite3_free(zSql);
  }
  tap_is_str(catalogQuery("SELECT count(*) FROM cat.app_tables"), "1",
             "table: rejections stored nothing");
}

/* Append zTable to the comma-separated list in pArg (512 bytes). */
static int appendTable(void *pArg, const char *zTable){
  char *zList = (char*)pArg;
  size_t n = strlen(zList);
  snprintf(zList+n, 512-n, "%s%s", n ? "," : "", zTable);
  return SQLITE_OK;
}

/* 10b. Tables of a partition, as sessions list them. */
static void testCatalogTables(void){
  char zList[512] = "";
  char *zErr = 0;
  tap_is_int(xTables("communications_data", appendTable, zList, &zErr),
             SQLITE_OK, "tables: partition listed");
  tap_is_str(zList, "communications_data,notes",
             "tables: default table first, then application tables");
  zList[0] = 0;
  tap_is_int(xTables("nowhere", appendTable, zList, &zErr), SQLITE_NOTFOUND,
             "tables: unknown partition");
  tap_is_str(zErr, "tenant: unknown partition \"nowhere\": see the "
             "partitions table of the catalog", "tables: unknown text");
  sqlite3_free(zErr);
}

/* 11. Policy settings. */
static void testPolicySet(void){
  tap_is_str(tap_query_text(db,
      "SELECT tenant_policy_set('onyx','storage_limit_bytes',4096)"),
      "4096", "policy: storage limit set");
  tap_is_str(catalogQuery("SELECT storage_limit_bytes FROM cat.policy"
      " WHERE tier='onyx'"), "4096", "policy: storage limit stored");
  tap_is_str(tap_exec_error(db,
      "SELECT tenant_policy_set('gold','price_usd',1)"),
      "tenant: unknown tier \"gold\": use sapphire, opal or onyx",
      "policy: unknown tier");
  tap_is_str(tap_exec_error(db,
      "SELECT tenant_policy_set('opal','colour','red')"),
      "tenant: unknown policy setting \"colour\": use storage_limit_bytes, "
      "price_usd, backup_frequency, encrypted, journal_mode, "
      "audit_retention_years, upgrade_storage_bytes, upgrade_api_calls, "
      "upgrade_agents or dedicated_price_usd",
      "policy: unknown setting");
  tap_is_str(tap_exec_error(db,
      "SELECT tenant_policy_set('opal','journal_mode','truncate')"),
      "tenant: journal_mode \"truncate\" is invalid: use wal, or delete for "
      "a rollback journal; files built before keep theirs",
      "policy: invalid journal_mode");
  tap_is_str(tap_exec_error(db,
      "SELECT tenant_policy_set('opal','journal_mode','delete');"
      "SELECT tenant_policy_set('opal','journal_mode','wal')"), 0,
      "policy: journal_mode set");
  tap_is_str(tap_exec_error(db,
      "SELECT tenant_policy_set('opal','price_usd','cheap')"),
      "tenant: price_usd \"cheap\" is invalid: use a monthly price in "
      "dollars of 0 or more", "policy: price must be a number");
  tap_is_str(tap_exec_error(db,
      "SELECT tenant_policy_set('opal','encrypted',2)"),
      "tenant: encrypted \"2\" is invalid: use 1 to encrypt the tier's files "
      "or 0 for an unencrypted development fleet",
      "policy: encrypted is 0 or 1");
  tap_is_str(tap_exec_error(db, tap_host_is_sqlcipher()
      ? "SELECT tenant_policy_set('opal','encrypted',0)"
      : "SELECT tenant_policy_set('opal','encrypted',1)"),
      "tenant: tier \"opal\" already has 2 customers, whose files keep their "
      "encryption: decommission them before changing encrypted",
      "policy: encryption fixed while the tier has customers");
  tap_is_str(tap_exec_error(db,
      "SELECT tenant_policy_set('opal','backup_frequency','never')"),
      "tenant: backup_frequency \"never\" is invalid: use hourly, daily, "
      "weekly or monthly", "policy: unknown backup frequency");
}

/* 12. Decommissioning removes rows and files. */
static void testDecommission(void){
  const char *zInsert =
    "INSERT INTO communications_data(id, customer_id) VALUES('r1','o1'),"
    "('r2','o2');"
    "INSERT INTO notes(id, customer_id) VALUES(1,'o1'),(2,'o2')";
  tap_is_str(fileExec(OPAL_DIR "/owner.db", "d1-opal-acme-us-west1/owner",
             zInsert), 0, "decommission: opal rows written");
  tap_is_str(fileExec(SAPPHIRE_DIR "/private.db",
             "d1-sapphire-acme-us-west1/private",
             "INSERT INTO internal_analytics(id, customer_id)"
             " VALUES('p1','o1'),('p2','acme')"), 0,
             "decommission: rows kept for the child written");

  tap_is_str(tap_exec_error(db, "SELECT tenant_decommission('nobody')"),
             unknownCustomerText("nobody"), "decommission: unknown rejected");
  tap_is_str(tap_exec_error(db, "SELECT tenant_decommission('acme')"),
             "tenant: customer \"acme\" still has 3 child customers: "
             "decommission them first", "decommission: parent with children");

  tap_is_str(tap_query_text(db, "SELECT tenant_decommission('o1')"), "o1",
             "decommission: opal");
  tap_is_int(fileCount(OPAL_DIR "/owner.db", "d1-opal-acme-us-west1/owner",
             "SELECT count(*) FROM communications_data WHERE customer_id='o1'"),
             0, "decommission: opal rows gone from the shared file");
  tap_is_int(fileCount(OPAL_DIR "/owner.db", "d1-opal-acme-us-west1/owner",
             "SELECT count(*) FROM notes WHERE customer_id='o1'"),
             0, "decommission: opal rows gone from app tables");
  tap_is_int(fileCount(OPAL_DIR "/owner.db", "d1-opal-acme-us-west1/owner",
             "SELECT count(*) FROM communications_data"),
             1, "decommission: the other opal's rows remain");
  tap_is_int(fileCount(SAPPHIRE_DIR "/private.db",
             "d1-sapphire-acme-us-west1/private",
             "SELECT count(*) FROM internal_analytics WHERE customer_id='o1'"),
             0, "decommission: rows in the parent's file gone");
  tap_is_int(fileCount(SAPPHIRE_DIR "/private.db",
             "d1-sapphire-acme-us-west1/private",
             "SELECT count(*) FROM internal_analytics"),
             1, "decommission: the parent's own row remains");
  tap_is_str(catalogQuery("SELECT count(*) FROM cat.customers"
             " WHERE id='o1'"), "0", "decommission: catalog rows deleted");

  tap_query_text(db, "SELECT tenant_decommission('o2')");
  tap_query_text(db, "SELECT tenant_decommission('x1')");
  tap_is_str(tap_query_text(db, "SELECT tenant_decommission('acme')"),
             "acme", "decommission: sapphire without children");
  tap_ok(!fileExists(rootPath("customer-acme-sapphire")),
         "decommission: sapphire folders removed");
  tap_ok(!fileExists(rootPath(OPAL_DIR)),
         "decommission: its opal database removed");
}

/* 13. The list of administrative functions. */
static void testAdminList(void){
  int n = 0;
  while( azAdmin[n] ) n++;
  tap_is_int(n, 14, "admin: fourteen administrative functions");
  tap_is_str(azAdmin[1], "tenant_provision", "admin: list names them");
}

int main(void){
  zRoot = tap_fresh_root("catalog");
  tap_open(&db);
  findSymbols();

  testRoot();
  testEncryptionPolicy();
  testProvision();
  testProvisionRejects();
  testPlans();
  testEncryption();
  testMasterKey();
  testResume();
  testAgents();
  testAddTable();
  testCatalogTables();
  testPolicySet();
  testDecommission();
  testAdminList();

  sqlite3_close(db);
  tap_done();
  return 0;
}
