/*
** The TAP library declared in tap.h: counters, output and the test-host
** helpers. Output goes to stdout, flushed after every line, so that it
** interleaves correctly with anything the extension writes to stderr.
*/
#include "tap.h"

#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Fixed master key of the tests: 40 characters, so above the 32-character
** minimum. It protects nothing but throw-away files under tests/tmp. */
#define TAP_TEST_MASTER_KEY "tap-test-master-key-0123456789abcdefghij"

#define TAP_TEXT_MAX 4096

static int tapPlanned = -1;   /* number from tap_plan(), -1 when none */
static int tapRun = 0;        /* checks recorded so far */
static int tapFailed = 0;     /* checks that failed */

static char tapText[TAP_STATIC_SLOTS][TAP_TEXT_MAX];
static int tapTextNext = 0;

/* Copy z into the next static slot, truncating at TAP_TEXT_MAX-1 bytes. */
static const char *tapKeep(const char *z){
  char *zSlot = tapText[tapTextNext];
  tapTextNext = (tapTextNext + 1) % TAP_STATIC_SLOTS;
  snprintf(zSlot, TAP_TEXT_MAX, "%s", z);
  return zSlot;
}

static void tapBailOut(const char *zFormat, ...){
  va_list ap;
  printf("Bail out! ");
  va_start(ap, zFormat);
  vprintf(zFormat, ap);
  va_end(ap);
  printf("\n");
  fflush(stdout);
  exit(255);
}

void tap_plan(int n){
  tapPlanned = n;
  printf("1..%d\n", n);
  fflush(stdout);
}

/* Print one result line for a name already formatted. */
static int tapResult(int cond, const char *zName){
  tapRun++;
  if( !cond ) tapFailed++;
  printf("%sok %d - %s\n", cond ? "" : "not ", tapRun, zName);
  fflush(stdout);
  return cond;
}

int tap_file_has_blank_page(const char *zPath, int nPage){
  static unsigned char aPage[65536];
  FILE *pFile = fopen(zPath, "rb");
  int bBlank = 0;
  if( pFile==0 || nPage<=0 || nPage>(int)sizeof(aPage) ){
    if( pFile ) fclose(pFile);
    return 0;
  }
  while( !bBlank && fread(aPage, 1, (size_t)nPage, pFile)==(size_t)nPage ){
    int i;
    for(i=0; i<nPage && aPage[i]==0; i++){}
    bBlank = i==nPage;
  }
  fclose(pFile);
  return bBlank;
}

sqlite3 *tap_open_uri(const char *zTail, char *zErr, int nErr){
  sqlite3 *db = 0;
  char zUri[1024];
  snprintf(zUri, sizeof(zUri), "file:%s", zTail);
  if( sqlite3_open_v2(zUri, &db, SQLITE_OPEN_READWRITE|SQLITE_OPEN_CREATE
                      |SQLITE_OPEN_URI, 0)!=SQLITE_OK ){
    if( zErr ){
      snprintf(zErr, nErr, "%s", sqlite3_errmsg(db));
    }else{
      tap_diag("cannot open %s: %s", zUri, sqlite3_errmsg(db));
    }
    sqlite3_close(db);
    return 0;
  }
  if( zErr ) zErr[0] = 0;
  return db;
}

int tap_todo(int cond, const char *zWhy, const char *zFormat, ...){
  char zName[512];
  va_list ap;
  va_start(ap, zFormat);
  vsnprintf(zName, sizeof(zName), zFormat, ap);
  va_end(ap);
  tapRun++;
  printf("%sok %d - %s # TODO %s\n", cond ? "" : "not ", tapRun, zName, zWhy);
  fflush(stdout);
  return cond;
}

int tap_ok(int cond, const char *zFormat, ...){
  char zName[512];
  va_list ap;
  va_start(ap, zFormat);
  vsnprintf(zName, sizeof(zName), zFormat, ap);
  va_end(ap);
  return tapResult(cond, zName);
}

int tap_is_str(const char *zGot, const char *zExpected, const char *zName){
  int bSame;
  if( zGot==0 || zExpected==0 ){
    bSame = (zGot==zExpected);
  }else{
    bSame = strcmp(zGot, zExpected)==0;
  }
  if( !tapResult(bSame, zName) ){
    tap_diag("     got: %s%s%s", zGot ? "'" : "", zGot ? zGot : "NULL",
             zGot ? "'" : "");
    tap_diag("expected: %s%s%s", zExpected ? "'" : "",
             zExpected ? zExpected : "NULL", zExpected ? "'" : "");
  }
  return bSame;
}

int tap_is_int(long long iGot, long long iExpected, const char *zName){
  int bSame = (iGot==iExpected);
  if( !tapResult(bSame, zName) ){
    tap_diag("     got: %lld", iGot);
    tap_diag("expected: %lld", iExpected);
  }
  return bSame;
}

void tap_diag(const char *zFormat, ...){
  va_list ap;
  printf("# ");
  va_start(ap, zFormat);
  vprintf(zFormat, ap);
  va_end(ap);
  printf("\n");
  fflush(stdout);
}

void tap_skip(int n, const char *zWhy){
  int i;
  for(i=0; i<n; i++){
    tapRun++;
    printf("ok %d # skip %s\n", tapRun, zWhy);
  }
  fflush(stdout);
}

void tap_done(void){
  int rc;
  if( tapPlanned<0 ){
    printf("1..%d\n", tapRun);
  }else if( tapPlanned!=tapRun ){
    tap_diag("planned %d checks but ran %d", tapPlanned, tapRun);
  }
  if( tapFailed ){
    tap_diag("failed %d of %d checks", tapFailed, tapRun);
  }
  fflush(stdout);
  rc = tapFailed > 254 ? 254 : tapFailed;
  if( tapPlanned>=0 && tapPlanned!=tapRun ) rc = 255;
  exit(rc);
}

int tap_host_is_sqlcipher(void){
#ifdef TEST_HOST_SQLCIPHER
  return 1;
#else
  return 0;
#endif
}

void tap_open(sqlite3 **ppDb){
  const char *zExt = getenv("TENANT_EXT");
  char *zErr = 0;
  int rc;

  if( zExt==0 || zExt[0]==0 ){
    tapBailOut("TENANT_EXT is not set: set it to the extension to test, "
               "e.g. TENANT_EXT=$PWD/build/tenant, or run `make test`");
  }

  rc = sqlite3_open_v2(":memory:", ppDb,
                       SQLITE_OPEN_READWRITE|SQLITE_OPEN_CREATE|SQLITE_OPEN_URI,
                       0);
  if( rc!=SQLITE_OK ){
    tapBailOut("cannot open an in-memory database: %s",
               *ppDb ? sqlite3_errmsg(*ppDb) : sqlite3_errstr(rc));
  }
  sqlite3_enable_load_extension(*ppDb, 1);

  rc = sqlite3_load_extension(*ppDb, zExt, "sqlite3_tenant_init", &zErr);
  if( rc!=SQLITE_OK ){
    tapBailOut("loading '%s' failed: %s", zExt, zErr ? zErr : "unknown error");
  }
}

/* nftw() callback of tap_fresh_root(): remove one entry, children first. */
static int tapRemoveEntry(const char *zPath, const struct stat *pStat,
                          int eType, struct FTW *pFtw){
  (void)pStat;
  (void)pFtw;
  if( eType==FTW_DP ) return rmdir(zPath);
  return unlink(zPath);
}

/* Create zDir and its missing parents with mode 0755. */
static int tapMkdirs(const char *zDir){
  char zPath[TAP_TEXT_MAX];
  char *p;
  snprintf(zPath, sizeof(zPath), "%s", zDir);
  for(p=zPath+1; *p; p++){
    if( *p!='/' ) continue;
    *p = 0;
    if( mkdir(zPath, 0755)!=0 && errno!=EEXIST ) return -1;
    *p = '/';
  }
  if( mkdir(zPath, 0755)!=0 && errno!=EEXIST ) return -1;
  return 0;
}

const char *tap_fresh_root(const char *zName){
  static char zRoot[TAP_TEXT_MAX];
  char zCwd[TAP_TEXT_MAX/2];
  struct stat st;
  int n;

  if( getcwd(zCwd, sizeof(zCwd))==0 ){
    tapBailOut("getcwd failed: %s", strerror(errno));
  }
  n = snprintf(zRoot, sizeof(zRoot), "%s/tests/tmp/%.200s-%s", zCwd, zName,
               tap_host_is_sqlcipher() ? "sqlcipher" : "sqlite");
  if( n<0 || n>=(int)sizeof(zRoot) ){
    tapBailOut("test root path is too long: '%s'", zRoot);
  }

  if( lstat(zRoot, &st)==0
   && nftw(zRoot, tapRemoveEntry, 16, FTW_DEPTH|FTW_PHYS)!=0 ){
    tapBailOut("cannot remove the old test root '%s': %s", zRoot,
               strerror(errno));
  }
  if( tapMkdirs(zRoot)!=0 ){
    tapBailOut("cannot create the test root '%s': %s", zRoot, strerror(errno));
  }

  setenv("TENANT_ROOT", zRoot, 1);
  setenv("TENANT_MASTER_KEY", TAP_TEST_MASTER_KEY, 1);
  unsetenv("TENANT_KEY_FILE");
  return zRoot;
}

const char *tap_exec_error(sqlite3 *db, const char *zSql){
  char *zErr = 0;
  const char *zCopy;
  int rc = sqlite3_exec(db, zSql, 0, 0, &zErr);
  if( rc==SQLITE_OK ) return 0;
  zCopy = tapKeep(zErr ? zErr : sqlite3_errstr(rc));
  sqlite3_free(zErr);
  return zCopy;
}

const char *tap_query_text(sqlite3 *db, const char *zSql){
  sqlite3_stmt *pStmt = 0;
  const char *zResult = 0;
  int rc;

  rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  if( rc!=SQLITE_OK ){
    tap_diag("query failed: %s: %s", zSql, sqlite3_errmsg(db));
    return 0;
  }

  rc = sqlite3_step(pStmt);
  if( rc==SQLITE_ROW ){
    const unsigned char *zText = sqlite3_column_text(pStmt, 0);
    if( zText ) zResult = tapKeep((const char *)zText);
  }else if( rc!=SQLITE_DONE ){
    tap_diag("query failed: %s: %s", zSql, sqlite3_errmsg(db));
  }
  sqlite3_finalize(pStmt);
  return zResult;
}
