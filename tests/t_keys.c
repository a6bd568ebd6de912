/*
** Keys: each placement file's raw key is HKDF-SHA256 of the master key,
** with salt "sqlite-tenant file key v1" and the file's identity as info.
** The test derives the keys itself, independently of the extension. It
** checks that they open the files. It then checks that no key, in hex or
** raw bytes, and not the master key, appears in any file under the root,
** any sqlite3_log line, any error message, any traced SQL statement or the
** rows a session can read.
*/
#include "tap.h"

#include <dirent.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define N_FILE 4
#define LOG_MAX (256*1024)

static const char *const azKeyId[N_FILE] = {
  "d1-sapphire-S1-us-west1/owner",
  "d1-sapphire-S1-us-west1/private",
  "d1-onyx-shared-us-west1-1/owner",
  "d1-onyx-shared-us-west1-2/owner",
};

static unsigned char aKey[N_FILE][32];
static char azHexLower[N_FILE][65];
static char azHexUpper[N_FILE][65];
static char zLog[LOG_MAX];         /* every sqlite3_log line and traced SQL */
static int nLog = 0;

static void appendLog(const char *z){
  int n = (int)strlen(z);
  if( nLog+n+2>=LOG_MAX ) return;
  memcpy(&zLog[nLog], z, n);
  nLog += n;
  zLog[nLog++] = '\n';
  zLog[nLog] = 0;
}

static void logCallback(void *pArg, int iCode, const char *zMsg){
  (void)pArg; (void)iCode;
  appendLog(zMsg);
}

/* Trace every statement a session runs, with its parameters expanded. */
static int traceCallback(unsigned eType, void *pArg, void *pStmt, void *pX){
  (void)pArg; (void)pX;
  if( eType==SQLITE_TRACE_STMT ){
    char *zSql = sqlite3_expanded_sql((sqlite3_stmt*)pStmt);
    if( zSql ) appendLog(zSql);
    sqlite3_free(zSql);
  }
  return 0;
}

static int deriveKey(const char *zMaster, const char *zInfo,
                     unsigned char *aOut){
  static const char zSalt[] = "sqlite-tenant file key v1";
  EVP_KDF *pKdf = EVP_KDF_fetch(0, "HKDF", 0);
  EVP_KDF_CTX *pCtx = pKdf ? EVP_KDF_CTX_new(pKdf) : 0;
  OSSL_PARAM aParam[5];
  int ok;
  aParam[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
                                               (char*)"SHA256", 0);
  aParam[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                      (void*)zMaster, strlen(zMaster));
  aParam[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                      (void*)zSalt, strlen(zSalt));
  aParam[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                      (void*)zInfo, strlen(zInfo));
  aParam[4] = OSSL_PARAM_construct_end();
  ok = pCtx && EVP_KDF_derive(pCtx, aOut, 32, aParam)==1;
  EVP_KDF_CTX_free(pCtx);
  EVP_KDF_free(pKdf);
  return ok;
}

/* True when z contains any key (hex either case, or raw) or zMaster. */
static int containsSecret(const char *z, size_t n, const char *zMaster){
  int i;
  for(i=0; i<N_FILE; i++){
    if( memmem(z, n, azHexLower[i], 64) ) return 1;
    if( memmem(z, n, azHexUpper[i], 64) ) return 1;
    if( memmem(z, n, aKey[i], 32) ) return 1;
  }
  return memmem(z, n, zMaster, strlen(zMaster))!=0;
}

/* Search every regular file under zDir; returns the first that leaks. */
static const char *findLeak(const char *zDir, const char *zMaster){
  static char zHit[4096];
  DIR *pDir = opendir(zDir);
  struct dirent *pEntry;
  const char *zFound = 0;
  if( pDir==0 ) return 0;
  while( zFound==0 && (pEntry = readdir(pDir))!=0 ){
    char zPath[4096];
    struct stat st;
    if( strcmp(pEntry->d_name, ".")==0 || strcmp(pEntry->d_name, "..")==0 ){
      continue;
    }
    snprintf(zPath, sizeof(zPath), "%s/%s", zDir, pEntry->d_name);
    if( stat(zPath, &st)!=0 ) continue;
    if( S_ISDIR(st.st_mode) ){
      zFound = findLeak(zPath, zMaster);
    }else if( S_ISREG(st.st_mode) && st.st_size>0 ){
      FILE *pFile = fopen(zPath, "rb");
      char *a = malloc((size_t)st.st_size);
      if( pFile && a && fread(a, 1, (size_t)st.st_size, pFile)==(size_t)st.st_size
       && containsSecret(a, (size_t)st.st_size, zMaster) ){
        snprintf(zHit, sizeof(zHit), "%s", zPath);
        zFound = zHit;
      }
      free(a);
      if( pFile ) fclose(pFile);
    }
  }
  closedir(pDir);
  return zFound;
}

int main(void){
  const char *zRoot;
  const char *zMaster;
  sqlite3 *dbAdmin, *db = 0;
  const char *zLeak, *zErr;
  char zAll[8192];
  int i, j;

  sqlite3_config(SQLITE_CONFIG_LOG, logCallback, (void*)0);
  zRoot = tap_fresh_root("keys");
  zMaster = getenv("TENANT_MASTER_KEY");
  for(i=0; i<N_FILE; i++){
    tap_ok(deriveKey(zMaster, azKeyId[i], aKey[i]), "derive: %s", azKeyId[i]);
    for(j=0; j<32; j++){
      snprintf(&azHexLower[i][2*j], 3, "%02x", aKey[i][j]);
      snprintf(&azHexUpper[i][2*j], 3, "%02X", aKey[i][j]);
    }
  }

  /* A fleet in this host's encryption: SQLCipher's codec, or the VFS's. */
  tap_open(&dbAdmin);
  tap_is_str(tap_exec_error(dbAdmin,
      "SELECT tenant_provision('S1','sapphire','us-west1');"
      "SELECT tenant_provision('X1','onyx','us-west1','S1');"
      "SELECT tenant_provision('X2','onyx','us-west1','S1');"), 0,
      "setup: encrypted fleet provisioned");

  /* A trace installed before binding records every statement run. */
  tap_open(&db);
  sqlite3_trace_v2(db, SQLITE_TRACE_STMT, traceCallback, 0);
  tap_is_str(tap_query_text(db, "SELECT tenant_bind('X1')"), "X1",
             "session: bound with a trace in place");
  tap_is_str(tap_exec_error(db, "INSERT INTO basic_communications(id,data) "
             "VALUES('k','secret row'); SELECT * FROM basic_communications; "
             "SELECT * FROM workflow_automations"), 0,
             "session: writes and reads");
  zAll[0] = 0;
  for(i=0; i<4; i++){
    const char *azProbe[] = {
      "SELECT group_concat(sql, ' ') FROM sqlite_temp_master",
      "SELECT group_concat(partition||codec, ' ') FROM tenant_codec",
      "SELECT tenant_whoami()",
      "SELECT group_concat(name, ' ') FROM sqlite_master",
    };
    const char *z = tap_query_text(db, azProbe[i]);
    if( z ) strncat(zAll, z, sizeof(zAll)-strlen(zAll)-1);
  }
  tap_ok(!containsSecret(zAll, strlen(zAll), zMaster),
         "session: no key in what it can read");
  sqlite3_close(db);

  /* Errors: a wrong master key, then the right one again. */
  setenv("TENANT_MASTER_KEY", "a-wrong-master-key-of-enough-length-0000", 1);
  tap_open(&db);
  zErr = tap_exec_error(db, "SELECT tenant_bind('S1')");
  tap_ok(zErr!=0, "wrong key: binding fails");
  if( zErr ) appendLog(zErr);
  tap_ok(zErr && strstr(zErr, "the key does not match"),
         "wrong key: error says the key does not match");
  sqlite3_close(db);

  /* A session opened on a tenant URI fails the same way. */
  {
    char zOpenErr[512];
    sqlite3 *dbUri = tap_open_uri("X1?vfs=tenant", zOpenErr,
                                  sizeof(zOpenErr));
    tap_ok(dbUri==0, "wrong key: opening a session fails");
    tap_ok(strstr(zOpenErr, "the key does not match")!=0,
           "wrong key: open error says the key does not match");
    appendLog(zOpenErr);
    sqlite3_close(dbUri);
  }
  setenv("TENANT_MASTER_KEY", zMaster, 1);

  tap_ok(nLog>0, "log: lines captured (%d bytes)", nLog);
  tap_ok(!containsSecret(zLog, (size_t)nLog, zMaster),
         "log: no key in log lines, traced SQL or errors");
  /* The search itself finds a key where one is. */
  {
    char zProbeDir[4400], zProbe[4500];
    FILE *pProbe;
    snprintf(zProbeDir, sizeof(zProbeDir), "%s-probe", zRoot);
    snprintf(zProbe, sizeof(zProbe), "%s/leak", zProbeDir);
    mkdir(zProbeDir, 0700);
    pProbe = fopen(zProbe, "wb");
    if( pProbe ){
      fprintf(pProbe, "prefix %s suffix", azHexUpper[2]);
      fclose(pProbe);
    }
    tap_ok(findLeak(zProbeDir, zMaster)!=0, "files: the search finds a key");
    remove(zProbe);
    rmdir(zProbeDir);
  }
  zLeak = findLeak(zRoot, zMaster);
  tap_ok(zLeak==0, "files: no key in any file under the root%s%s",
         zLeak ? ": " : "", zLeak ? zLeak : "");

  /* The derived keys are the files' keys: a session works with them, and
  ** in the SQLCipher host the raw key opens the file directly. */
  if( tap_host_is_sqlcipher() ){
    char zPath[4400], zSql[128];
    snprintf(zPath, sizeof(zPath), "%s/customer-S1-sapphire/"
             "d1-sapphire-S1-us-west1/owner.db", zRoot);
    sqlite3_open(zPath, &db);
    snprintf(zSql, sizeof(zSql), "PRAGMA key=\"x'%s'\"", azHexLower[0]);
    sqlite3_exec(db, zSql, 0, 0, 0);
    tap_is_str(tap_query_text(db, "SELECT count(*)>0 FROM sqlite_master"),
               "1", "derive: the derived key opens owner.db");
    sqlite3_close(db);
  }else{
    tap_skip(1, "opening with a raw key needs SQLCipher's PRAGMA key");
  }
  sqlite3_close(dbAdmin);
  tap_done();
  return 0;
}
