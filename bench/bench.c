/*
** Shared helpers of the benchmark programs: timing, statistics, fleet
** roots, sessions, raw connections and the result lines (see bench.h).
*/
#include "bench.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BENCH_PATH_MAX 4096

/* Master key of every benchmark fleet: 40 characters, not a secret. */
static const char benchMasterKey[] = "bench-master-key-0123456789abcdefghijklm";

/* The extension's HKDF salt (keys.c), needed to open encrypted files
** directly for the baselines. */
static const char benchKeySalt[] = "sqlite-tenant file key v1";

double benchNowNs(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec*1e9 + (double)ts.tv_nsec;
}

static int benchCompareDouble(const void *a, const void *b){
  double x = *(const double*)a, y = *(const double*)b;
  if( x<y ) return -1;
  if( x>y ) return 1;
  return 0;
}

BenchStat benchStat(double *a, int n){
  BenchStat s;
  qsort(a, n, sizeof(double), benchCompareDouble);
  s.rMin = a[0];
  s.rMax = a[n-1];
  s.rMedian = (n%2) ? a[n/2] : (a[n/2-1]+a[n/2])/2.0;
  return s;
}

double benchPercentile(double *a, int n, double p){
  int i;
  qsort(a, n, sizeof(double), benchCompareDouble);
  /* Nearest rank: the smallest value with at least p% of values at or
  ** below it. */
  i = (int)((p/100.0)*n + 0.999999) - 1;
  if( i<0 ) i = 0;
  if( i>=n ) i = n-1;
  return a[i];
}

int benchHostIsSqlcipher(void){
#ifdef BENCH_HOST_SQLCIPHER
  return 1;
#else
  return 0;
#endif
}

const char *benchHost(void){
  return benchHostIsSqlcipher() ? "sqlcipher" : "sqlite";
}

int benchRounds(void){
  const char *z = getenv("BENCH_ROUNDS");
  int n = z ? atoi(z) : 7;
  if( n<3 ) n = 3;
  if( n>BENCH_MAX_ROUNDS ) n = BENCH_MAX_ROUNDS;
  return n;
}

double benchScale(void){
  const char *z = getenv("BENCH_SCALE");
  double r = z ? atof(z) : 1.0;
  return r>0.0 ? r : 1.0;
}

int benchFull(void){
  const char *z = getenv("BENCH_FULL");
  return z && z[0]=='1';
}

int benchSelected(const char *zSection, const char *zCase){
  const char *zOnly = getenv("BENCH_ONLY");
  char zName[256];
  if( zOnly==0 || zOnly[0]==0 ) return 1;
  snprintf(zName, sizeof(zName), "%s: %s", zSection, zCase);
  return strstr(zName, zOnly)!=0;
}

void benchFatal(const char *zFormat, ...){
  va_list ap;
  fprintf(stderr, "bench: ");
  va_start(ap, zFormat);
  vfprintf(stderr, zFormat, ap);
  va_end(ap);
  fprintf(stderr, "\n");
  exit(1);
}

sqlite3 *benchOpenAdmin(void){
  const char *zExt = getenv("TENANT_EXT");
  sqlite3 *db = 0;
  char *zErr = 0;
  int rc;

  if( zExt==0 || zExt[0]==0 ){
    benchFatal("TENANT_EXT is not set: set it to the extension, e.g. "
               "TENANT_EXT=$PWD/build/tenant, or run `make bench`");
  }
  rc = sqlite3_open_v2(":memory:", &db,
                       SQLITE_OPEN_READWRITE|SQLITE_OPEN_CREATE|SQLITE_OPEN_URI,
                       0);
  if( rc!=SQLITE_OK ) benchFatal("cannot open an in-memory database");
  sqlite3_enable_load_extension(db, 1);
  rc = sqlite3_load_extension(db, zExt, "sqlite3_tenant_init", &zErr);
  if( rc!=SQLITE_OK ){
    benchFatal("loading '%s' failed: %s", zExt, zErr ? zErr : "unknown error");
  }
  return db;
}

static int benchRemoveEntry(const char *zPath, const struct stat *pStat,
                            int eType, struct FTW *pFtw){
  (void)pStat;
  (void)pFtw;
  if( eType==FTW_DP ) return rmdir(zPath);
  return unlink(zPath);
}

static void benchMkdirs(const char *zDir){
  char zPath[BENCH_PATH_MAX];
  char *p;
  snprintf(zPath, sizeof(zPath), "%s", zDir);
  for(p=zPath+1; *p; p++){
    if( *p!='/' ) continue;
    *p = 0;
    if( mkdir(zPath, 0755)!=0 && errno!=EEXIST ){
      benchFatal("cannot create folder %s: %s", zPath, strerror(errno));
    }
    *p = '/';
  }
  if( mkdir(zPath, 0755)!=0 && errno!=EEXIST ){
    benchFatal("cannot create folder %s: %s", zPath, strerror(errno));
  }
}

void benchUseRoot(const char *zRoot){
  setenv("TENANT_ROOT", zRoot, 1);
  setenv("TENANT_MASTER_KEY", benchMasterKey, 1);
  unsetenv("TENANT_KEY_FILE");
}

const char *benchFreshRoot(const char *zName){
  static char zRoot[BENCH_PATH_MAX];
  char zCwd[BENCH_PATH_MAX/2];
  struct stat st;

  if( getcwd(zCwd, sizeof(zCwd))==0 ){
    benchFatal("getcwd failed: %s", strerror(errno));
  }
  snprintf(zRoot, sizeof(zRoot), "%s/bench/tmp/%.200s-%s", zCwd, zName,
           benchHost());
  if( stat(zRoot, &st)==0 ){
    nftw(zRoot, benchRemoveEntry, 16, FTW_DEPTH|FTW_PHYS);
  }
  benchMkdirs(zRoot);
  benchUseRoot(zRoot);
  return zRoot;
}

void benchExec(sqlite3 *db, const char *zSql){
  char *zErr = 0;
  if( sqlite3_exec(db, zSql, 0, 0, &zErr)!=SQLITE_OK ){
    benchFatal("%s: %s", zSql, zErr ? zErr : sqlite3_errmsg(db));
  }
}

sqlite3_stmt *benchPrepare(sqlite3 *db, const char *zSql){
  sqlite3_stmt *pStmt = 0;
  if( sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0)!=SQLITE_OK ){
    benchFatal("cannot prepare %s: %s", zSql, sqlite3_errmsg(db));
  }
  return pStmt;
}

sqlite3_uint64 benchValueSum = 0;

/* Fold the bytes of z[0..n-1] into benchValueSum. */
static void benchSumBytes(const unsigned char *z, int n){
  int i;
  for(i=0; i<n; i++) benchValueSum = benchValueSum*31 + z[i];
}

int benchStepAll(sqlite3_stmt *pStmt){
  int nRow = 0;
  int rc;
  while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
    int nCol = sqlite3_column_count(pStmt);
    int i;
    for(i=0; i<nCol; i++){
      switch( sqlite3_column_type(pStmt, i) ){
        case SQLITE_INTEGER:
          benchValueSum += (sqlite3_uint64)sqlite3_column_int64(pStmt, i);
          break;
        case SQLITE_FLOAT:
          benchValueSum += (sqlite3_uint64)sqlite3_column_double(pStmt, i);
          break;
        case SQLITE_TEXT:
          benchSumBytes(sqlite3_column_text(pStmt, i),
                        sqlite3_column_bytes(pStmt, i));
          break;
        case SQLITE_BLOB:
          benchSumBytes(sqlite3_column_blob(pStmt, i),
                        sqlite3_column_bytes(pStmt, i));
          break;
        default:
          break;
      }
    }
    nRow++;
  }
  if( rc!=SQLITE_DONE ){
    benchFatal("%s: %s", sqlite3_sql(pStmt),
               sqlite3_errmsg(sqlite3_db_handle(pStmt)));
  }
  sqlite3_reset(pStmt);
  return nRow;
}

sqlite3_int64 benchQueryInt(sqlite3 *db, const char *zSql){
  sqlite3_stmt *pStmt = benchPrepare(db, zSql);
  sqlite3_int64 v = 0;
  int rc = sqlite3_step(pStmt);
  if( rc==SQLITE_ROW ){
    v = sqlite3_column_int64(pStmt, 0);
  }else if( rc!=SQLITE_DONE ){
    benchFatal("%s: %s", zSql, sqlite3_errmsg(db));
  }
  sqlite3_finalize(pStmt);
  return v;
}

sqlite3 *benchOpenSession(const char *zCustomer){
  sqlite3 *db = 0;
  char zUri[160];
  int rc;

  snprintf(zUri, sizeof(zUri), "file:%s?vfs=tenant", zCustomer);
  rc = sqlite3_open_v2(zUri, &db,
                       SQLITE_OPEN_READWRITE|SQLITE_OPEN_CREATE|SQLITE_OPEN_URI,
                       0);
  if( rc!=SQLITE_OK ){
    benchFatal("opening %s failed: %s", zUri,
               db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  }
  return db;
}

void benchRawKey(const char *zKeyId, char *zOut){
  static const char aHex[] = "0123456789abcdef";
  unsigned char aKey[32];
  EVP_KDF *pKdf = EVP_KDF_fetch(0, "HKDF", 0);
  EVP_KDF_CTX *pCtx = pKdf ? EVP_KDF_CTX_new(pKdf) : 0;
  OSSL_PARAM aParam[5];
  int i;

  if( pCtx==0 ) benchFatal("OpenSSL has no HKDF: install OpenSSL 3");
  aParam[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
      (char*)"SHA256", 0);
  aParam[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
      (void*)benchMasterKey, sizeof(benchMasterKey)-1);
  aParam[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
      (void*)benchKeySalt, sizeof(benchKeySalt)-1);
  aParam[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
      (void*)zKeyId, strlen(zKeyId));
  aParam[4] = OSSL_PARAM_construct_end();
  if( EVP_KDF_derive(pCtx, aKey, sizeof(aKey), aParam)<=0 ){
    benchFatal("key derivation failed for %s", zKeyId);
  }
  EVP_KDF_CTX_free(pCtx);
  EVP_KDF_free(pKdf);

  zOut[0] = 'x';
  zOut[1] = '\'';
  for(i=0; i<32; i++){
    zOut[2+i*2] = aHex[aKey[i]>>4];
    zOut[3+i*2] = aHex[aKey[i]&0x0f];
  }
  zOut[66] = '\'';
  zOut[67] = 0;
}

sqlite3 *benchOpenRaw(const char *zPath, const char *zKeyId, int bEncrypted){
  sqlite3 *db = 0;
  if( sqlite3_open_v2(zPath, &db, SQLITE_OPEN_READWRITE, 0)!=SQLITE_OK ){
    benchFatal("cannot open %s: %s", zPath,
               db ? sqlite3_errmsg(db) : "out of memory");
  }
  if( bEncrypted && benchHostIsSqlcipher() ){
    char zKey[68];
    char *zSql;
    benchRawKey(zKeyId, zKey);
    zSql = sqlite3_mprintf("PRAGMA key=\"%s\"", zKey);
    benchExec(db, zSql);
    sqlite3_free(zSql);
  }
  /* Load the schema now, as a session does when it binds. */
  benchQueryInt(db, "SELECT count(*) FROM sqlite_master");
  return db;
}

void benchAttachRaw(sqlite3 *db, const char *zPath, const char *zSchema,
                    const char *zKeyId, int bEncrypted){
  char *zSql;
  if( bEncrypted && benchHostIsSqlcipher() ){
    char zKey[68];
    benchRawKey(zKeyId, zKey);
    zSql = sqlite3_mprintf("ATTACH %Q AS \"%w\" KEY \"%s\"", zPath, zSchema,
                           zKey);
  }else if( benchHostIsSqlcipher() ){
    zSql = sqlite3_mprintf("ATTACH %Q AS \"%w\" KEY ''", zPath, zSchema);
  }else{
    zSql = sqlite3_mprintf("ATTACH %Q AS \"%w\"", zPath, zSchema);
  }
  benchExec(db, zSql);
  sqlite3_free(zSql);
  zSql = sqlite3_mprintf("SELECT count(*) FROM \"%w\".sqlite_master", zSchema);
  benchQueryInt(db, zSql);
  sqlite3_free(zSql);
}

int benchSetEncryption(sqlite3 *pAdmin){
  if( benchHostIsSqlcipher() ) return 1;
  benchExec(pAdmin, "SELECT tenant_policy_set('sapphire','encrypted',0);"
                    "SELECT tenant_policy_set('opal','encrypted',0);"
                    "SELECT tenant_policy_set('onyx','encrypted',0);");
  return 0;
}

void benchReportRatio(const char *zSection, const char *zCase,
                      const char *zVariant, const char *zBaseline,
                      const char *zUnit, double rBase, double rVariant,
                      BenchStat ratio, double rTarget, int nRounds){
  printf("R\t%s\t%s\t%s\t%s\t%s\t%s\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.2f\t%d\n",
         zSection, zCase, zVariant, zBaseline, benchHost(), zUnit, rBase,
         rVariant, ratio.rMedian, ratio.rMin, ratio.rMax, rTarget, nRounds);
  fflush(stdout);
}

void benchCompare(const char *zSection, const char *zCase,
                  const BenchVariant *aVariant, int nVariant,
                  int nRounds, int nIter, double rTarget){
  double aTime[BENCH_MAX_VARIANTS][BENCH_MAX_ROUNDS];
  double aRatio[BENCH_MAX_ROUNDS];
  double aCopy[BENCH_MAX_ROUNDS];
  int iRound, i, j;

  /* One untimed pass of each variant warms caches and prepares
  ** statements. */
  for(i=0; i<nVariant; i++){
    aVariant[i].xRun(aVariant[i].pArg, nIter);
    if( aVariant[i].xAfter ) aVariant[i].xAfter(aVariant[i].pArg);
  }

  for(iRound=0; iRound<nRounds; iRound++){
    for(j=0; j<nVariant; j++){
      int iVar = (j+iRound) % nVariant;
      double t0 = benchNowNs();
      aVariant[iVar].xRun(aVariant[iVar].pArg, nIter);
      aTime[iVar][iRound] = (benchNowNs()-t0)/1000.0/nIter;
      if( aVariant[iVar].xAfter ) aVariant[iVar].xAfter(aVariant[iVar].pArg);
    }
  }

  for(i=1; i<nVariant; i++){
    BenchStat base, var, ratio;
    for(iRound=0; iRound<nRounds; iRound++){
      aRatio[iRound] = aTime[i][iRound]/aTime[0][iRound];
    }
    ratio = benchStat(aRatio, nRounds);
    memcpy(aCopy, aTime[0], sizeof(double)*nRounds);
    base = benchStat(aCopy, nRounds);
    memcpy(aCopy, aTime[i], sizeof(double)*nRounds);
    var = benchStat(aCopy, nRounds);
    benchReportRatio(zSection, zCase, aVariant[i].zName, aVariant[0].zName,
                     "us/op", base.rMedian, var.rMedian, ratio,
                     i==1 ? rTarget : 0.0, nRounds);
  }
}

void benchMetric(const char *zSection, const char *zMetric, const char *zUnit,
                 double rValue, const char *zNote){
  printf("M\t%s\t%s\t%s\t%s\t%.3f\t%s\n", zSection, zMetric, benchHost(),
         zUnit, rValue, zNote);
  fflush(stdout);
}

void benchPoint(const char *zPlot, const char *zSeries, double x, double y){
  printf("P\t%s\t%s\t%s\t%.3f\t%.3f\n", zPlot, zSeries, benchHost(), x, y);
  fflush(stdout);
}

sqlite3_int64 benchRss(void){
  FILE *pIn = fopen("/proc/self/statm", "r");
  long long nSize = 0, nResident = 0;
  if( pIn==0 ) return -1;
  if( fscanf(pIn, "%lld %lld", &nSize, &nResident)!=2 ) nResident = -1;
  fclose(pIn);
  return nResident<0 ? -1 : nResident*(sqlite3_int64)sysconf(_SC_PAGESIZE);
}

void benchRaiseFileLimit(void){
  struct rlimit r;
  if( getrlimit(RLIMIT_NOFILE, &r)==0 && r.rlim_cur<r.rlim_max ){
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}
