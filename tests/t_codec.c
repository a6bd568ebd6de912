/*
** Tests of the tenant VFS's page codec (ext/vfscodec.c, ext/vfs.c) and of
** tenant_codec() (ext/vfscodecvtab.c).
**
** Files are opened directly as "file:<path>?vfs=tenant&codec=vfs", with no
** catalog: the VFS derives each file's key from the test master key and the
** last two components of its path. The test derives the same raw key
** itself (HKDF-SHA256, as keys.c documents) to hand it to the real
** `sqlcipher` shell, which it runs as a subprocess to check the format in
** both directions.
**
** In the stock-SQLite build every case runs. In the SQLCipher build the
** VFS codec must stay off, so that build checks the refusal and that a
** file SQLCipher's codec writes through the tenant VFS is read by the
** VFS codec of the stock `sqlite3` shell.
*/
#include "tap.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define MARKER "zebra-marker-7f3a"

/* Last lines of sqlite3_log, to check what an operator is told. */
static char aLog[8][1024];
static int nLog = 0;

static void logCallback(void *pArg, int iCode, const char *zMsg){
  (void)pArg;
  snprintf(aLog[nLog%8], sizeof(aLog[0]), "(%d) %s", iCode, zMsg);
  nLog++;
}

/* True when one of the log lines kept contains every string given. */
static int logContains(const char *z1, const char *z2){
  int i;
  for(i=0; i<8; i++){
    if( strstr(aLog[i], z1) && (z2==0 || strstr(aLog[i], z2)) ) return 1;
  }
  return 0;
}

static void logClear(void){
  memset(aLog, 0, sizeof(aLog));
}

/* Derive the raw key text "x'<hex>'" of key identity zKeyId, as keys.c
** does, into zOut (at least 68 bytes). */
static int deriveKey(const char *zKeyId, char *zOut){
  static const char zSalt[] = "sqlite-tenant file key v1";
  const char *zMaster = getenv("TENANT_MASTER_KEY");
  unsigned char aKey[32];
  EVP_KDF *pKdf = EVP_KDF_fetch(0, "HKDF", 0);
  EVP_KDF_CTX *pCtx = pKdf ? EVP_KDF_CTX_new(pKdf) : 0;
  OSSL_PARAM aParam[5];
  int i, ok;

  if( pCtx==0 || zMaster==0 ) return 0;
  aParam[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
                                               (char*)"SHA256", 0);
  aParam[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                  (void*)zMaster, strlen(zMaster));
  aParam[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                  (void*)zSalt, sizeof(zSalt)-1);
  aParam[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                  (void*)zKeyId, strlen(zKeyId));
  aParam[4] = OSSL_PARAM_construct_end();
  ok = EVP_KDF_derive(pCtx, aKey, sizeof(aKey), aParam)==1;
  EVP_KDF_CTX_free(pCtx);
  EVP_KDF_free(pKdf);
  if( !ok ) return 0;
  zOut[0] = 'x';
  zOut[1] = '\'';
  for(i=0; i<32; i++) sprintf(zOut+2+2*i, "%02x", aKey[i]);
  zOut[66] = '\'';
  zOut[67] = 0;
  return 1;
}

/* Make the folders of a placement file path "<root>/proj/<db>/owner.db". */
static const char *placementPath(const char *zRoot, const char *zDb){
  static char azPath[4][4200];
  static int iSlot = 0;
  char *z = azPath[iSlot++ % 4];
  snprintf(z, 4200, "%s/proj", zRoot);
  mkdir(z, 0700);
  snprintf(z, 4200, "%s/proj/%s", zRoot, zDb);
  mkdir(z, 0700);
  snprintf(z, 4200, "%s/proj/%s/owner.db", zRoot, zDb);
  return z;
}

/* Open zPath through the VFS codec; zExtra is appended to the URI. */
static int openCodec(const char *zPath, const char *zExtra, sqlite3 **pDb){
  char zUri[4400];
  snprintf(zUri, sizeof(zUri), "file:%s?vfs=tenant&codec=vfs%s", zPath,
           zExtra ? zExtra : "");
  return sqlite3_open_v2(zUri, pDb, SQLITE_OPEN_READWRITE
                         |SQLITE_OPEN_CREATE|SQLITE_OPEN_URI, 0);
}

#ifndef TEST_HOST_SQLCIPHER

/* Set the page size and reserved bytes of a new encrypted database. */
static int prepareNew(sqlite3 *db, int nPage, int nReserve){
  char zSql[64];
  snprintf(zSql, sizeof(zSql), "PRAGMA page_size=%d", nPage);
  if( sqlite3_exec(db, zSql, 0, 0, 0)!=SQLITE_OK ) return 0;
#ifdef SQLITE_FCNTL_RESERVE_BYTES
  return sqlite3_file_control(db, "main", SQLITE_FCNTL_RESERVE_BYTES,
                              &nReserve)==SQLITE_OK;
#else
  (void)nReserve;
  return 0;
#endif
}

#endif

/* Run a shell (sqlcipher or sqlite3) on zDb with zScript as input and
** return its output, both streams, in a static buffer. */
static const char *runShell(const char *zShell, const char *zDb,
                            const char *zScript){
  static char zOut[8192];
  char zScriptFile[4300];
  char zCmd[9000];
  FILE *pIn;
  size_t n;

  snprintf(zScriptFile, sizeof(zScriptFile), "%s.sql", zDb);
  pIn = fopen(zScriptFile, "w");
  if( pIn==0 ) return "";
  fputs(zScript, pIn);
  fclose(pIn);
  snprintf(zCmd, sizeof(zCmd), "%s '%s' < '%s' 2>&1", zShell, zDb,
           zScriptFile);
  pIn = popen(zCmd, "r");
  if( pIn==0 ) return "";
  n = fread(zOut, 1, sizeof(zOut)-1, pIn);
  zOut[n] = 0;
  pclose(pIn);
  unlink(zScriptFile);
  return zOut;
}

#ifndef TEST_HOST_SQLCIPHER

/* True when the file zPath contains zNeedle. A missing file does not. */
static int fileContains(const char *zPath, const char *zNeedle){
  FILE *pFile = fopen(zPath, "rb");
  char *a;
  long n;
  int bFound;
  if( pFile==0 ) return 0;
  fseek(pFile, 0, SEEK_END);
  n = ftell(pFile);
  fseek(pFile, 0, SEEK_SET);
  a = malloc(n>0 ? (size_t)n : 1);
  n = (long)fread(a, 1, (size_t)n, pFile);
  fclose(pFile);
  bFound = memmem(a, (size_t)n, zNeedle, strlen(zNeedle))!=0;
  free(a);
  return bFound;
}

/* True when any of the database, journal, WAL or shm files contains
** zNeedle. */
static int anyFileContains(const char *zDb, const char *zNeedle){
  static const char *azSuffix[] = { "", "-journal", "-wal", "-shm", 0 };
  char zPath[4300];
  int i;
  for(i=0; azSuffix[i]; i++){
    snprintf(zPath, sizeof(zPath), "%s%s", zDb, azSuffix[i]);
    if( fileContains(zPath, zNeedle) ) return 1;
  }
  return 0;
}

static int fileExists(const char *zPath){
  struct stat st;
  return stat(zPath, &st)==0;
}

static int copyFile(const char *zFrom, const char *zTo){
  char zCmd[9000];
  snprintf(zCmd, sizeof(zCmd), "cp '%s' '%s'", zFrom, zTo);
  return system(zCmd)==0;
}

/* Flip one bit of the byte at iOfst of zPath. */
static int flipBit(const char *zPath, long iOfst){
  FILE *pFile = fopen(zPath, "r+b");
  int c;
  if( pFile==0 ) return 0;
  fseek(pFile, iOfst, SEEK_SET);
  c = fgetc(pFile);
  fseek(pFile, iOfst, SEEK_SET);
  fputc(c ^ 0x10, pFile);
  fclose(pFile);
  return 1;
}

#endif

static const char *queryText(sqlite3 *db, const char *zSql){
  return tap_query_text(db, zSql);
}

/* Fill a new codec database with n rows holding the marker. */
static int fillTable(sqlite3 *db, int n){
  char zSql[256];
  if( sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY,"
                   " v TEXT)", 0, 0, 0)!=SQLITE_OK ) return 0;
  snprintf(zSql, sizeof(zSql),
      "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<%d)"
      " INSERT INTO t(v) SELECT '" MARKER "-' || i || '-' || hex(randomblob(40))"
      " FROM c", n);
  return sqlite3_exec(db, zSql, 0, 0, 0)==SQLITE_OK;
}

/* ---- cases on a host without a codec ---------------------------------- */

#ifndef TEST_HOST_SQLCIPHER

/* 1-9: write through the VFS, read with the sqlcipher shell. */
static void testWriteThenSqlcipher(const char *zRoot){
  const char *zDb = placementPath(zRoot, "d-write");
  char zKey[70];
  char zScript[512];
  const char *zOut;
  sqlite3 *db = 0;
  FILE *pFile;
  char aHead[16];

  tap_is_int(openCodec(zDb, 0, &db), SQLITE_OK, "codec open new file");
  tap_ok(prepareNew(db, 1024, 48), "codec new file page size and reserve");
  tap_ok(fillTable(db, 300), "codec insert 300 rows");
  tap_is_str(queryText(db, "PRAGMA integrity_check"), "ok",
             "codec integrity_check through the VFS");
  tap_is_str(queryText(db, "SELECT count(*) FROM t"), "300",
             "codec rows read back");
  tap_is_str(queryText(db, "SELECT codec FROM tenant_codec WHERE schema='main'"),
             "vfs", "tenant_codec reports vfs");
  sqlite3_close(db);

  pFile = fopen(zDb, "rb");
  memset(aHead, 0, sizeof(aHead));
  if( pFile ){
    if( fread(aHead, 1, sizeof(aHead), pFile)!=sizeof(aHead) ) aHead[0] = 0;
    fclose(pFile);
  }
  tap_ok(memcmp(aHead, "SQLite format 3", 16)!=0,
         "codec file starts with a salt, not the SQLite header");
  tap_ok(!anyFileContains(zDb, MARKER), "codec no marker in plain text");

  tap_ok(deriveKey("d-write/owner", zKey), "codec derive key in test");
  snprintf(zScript, sizeof(zScript),
           "PRAGMA key = \"%s\";\nPRAGMA integrity_check;\n"
           "SELECT 'N:' || count(*) || ':' || sum(v LIKE '" MARKER "%%') "
           "FROM t;\n", zKey);
  zOut = runShell("sqlcipher", zDb, zScript);
  tap_ok(strstr(zOut, "ok\n")!=0 && strstr(zOut, "N:300:300")!=0,
         "sqlcipher shell reads the VFS-written file");
  if( strstr(zOut, "N:300:300")==0 ) tap_diag("sqlcipher output: %s", zOut);
}

/* 10-13: write with the sqlcipher shell, read through the VFS. */
static void testSqlcipherThenRead(const char *zRoot){
  const char *zDb = placementPath(zRoot, "d-cipher");
  char zKey[70];
  char zScript[1024];
  const char *zOut;
  sqlite3 *db = 0;

  tap_ok(deriveKey("d-cipher/owner", zKey), "sqlcipher key derived");
  snprintf(zScript, sizeof(zScript),
      "PRAGMA key = \"%s\";\n"
      "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);\n"
      "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c "
      "WHERE i<500) INSERT INTO t(v) SELECT 'row-' || i || "
      "hex(randomblob(30)) FROM c;\n"
      "CREATE INDEX tv ON t(v);\nSELECT 'N:' || count(*) FROM t;\n", zKey);
  zOut = runShell("sqlcipher", zDb, zScript);
  tap_ok(strstr(zOut, "N:500")!=0, "sqlcipher shell writes 500 rows");

  tap_is_int(openCodec(zDb, 0, &db), SQLITE_OK, "codec open sqlcipher file");
  tap_is_str(queryText(db, "PRAGMA integrity_check"), "ok",
             "codec integrity_check of sqlcipher file");
  tap_is_str(queryText(db, "SELECT count(*) FROM t WHERE v LIKE 'row-%'"),
             "500", "codec reads sqlcipher rows");
  /* Write to it too, then let SQLCipher check the result. */
  sqlite3_exec(db, "INSERT INTO t(v) VALUES('added-by-vfs')", 0, 0, 0);
  sqlite3_close(db);
  snprintf(zScript, sizeof(zScript), "PRAGMA key = \"%s\";\n"
           "PRAGMA integrity_check;\nSELECT 'N:' || count(*) FROM t;\n", zKey);
  zOut = runShell("sqlcipher", zDb, zScript);
  tap_ok(strstr(zOut, "ok\n")!=0 && strstr(zOut, "N:501")!=0,
         "sqlcipher reads the file after a VFS write");
}

/* 14-19: WAL mode; a hot WAL copied while open is recovered by SQLCipher. */
static void testWal(const char *zRoot){
  const char *zDb = placementPath(zRoot, "d-wal");
  const char *zCopy = placementPath(zRoot, "d-walcopy");
  char zFrom[4300], zTo[4300];
  char zKey[70];
  char zScript[512];
  const char *zOut;
  sqlite3 *db = 0;
  sqlite3 *db2 = 0;

  openCodec(zDb, 0, &db);
  prepareNew(db, 1024, 48);
  tap_is_str(queryText(db, "PRAGMA journal_mode=WAL"), "wal",
             "codec WAL mode on");
  sqlite3_exec(db, "PRAGMA wal_autocheckpoint=0", 0, 0, 0);
  tap_ok(fillTable(db, 200) && fillTable(db, 200), "codec WAL inserts");
  snprintf(zFrom, sizeof(zFrom), "%s-wal", zDb);
  tap_ok(fileExists(zFrom) && !anyFileContains(zDb, MARKER),
         "codec WAL holds no marker in plain text");

  openCodec(zDb, 0, &db2);
  tap_is_str(queryText(db2, "SELECT count(*) FROM t"), "400",
             "second connection reads the WAL");
  sqlite3_close(db2);

  /* Copy database and WAL as a crash would leave them. */
  copyFile(zDb, zCopy);
  snprintf(zTo, sizeof(zTo), "%s-wal", zCopy);
  copyFile(zFrom, zTo);
  sqlite3_close(db);

  deriveKey("d-walcopy/owner", zKey);
  snprintf(zScript, sizeof(zScript), "PRAGMA key = \"%s\";\n"
           "PRAGMA integrity_check;\nSELECT 'N:' || count(*) FROM t;\n", zKey);
  zOut = runShell("sqlcipher", zCopy, zScript);
  /* The copy has another key identity, so it must fail under this key. */
  tap_ok(strstr(zOut, "N:400")==0, "copy under another identity fails");
  deriveKey("d-wal/owner", zKey);
  snprintf(zScript, sizeof(zScript), "PRAGMA key = \"%s\";\n"
           "PRAGMA integrity_check;\nSELECT 'N:' || count(*) FROM t;\n", zKey);
  zOut = runShell("sqlcipher", zCopy, zScript);
  tap_ok(strstr(zOut, "ok\n")!=0 && strstr(zOut, "N:400")!=0,
         "sqlcipher recovers the VFS's hot WAL");
  if( strstr(zOut, "N:400")==0 ) tap_diag("sqlcipher output: %s", zOut);
}

/*
** Crash in the middle of a transaction: a child commits 50 rows, starts a
** transaction big enough to spill pages, and kills itself with SIGKILL.
*/
static void crashChild(const char *zDb, const char *zMode){
  sqlite3 *db = 0;
  char zSql[128];
  if( openCodec(zDb, 0, &db)!=SQLITE_OK ) _exit(2);
  if( !prepareNew(db, 1024, 48) ) _exit(3);
  snprintf(zSql, sizeof(zSql), "PRAGMA journal_mode=%s", zMode);
  sqlite3_exec(db, zSql, 0, 0, 0);
  sqlite3_exec(db, "PRAGMA cache_size=5; PRAGMA wal_autocheckpoint=0", 0, 0, 0);
  if( !fillTable(db, 50) ) _exit(4);
  sqlite3_exec(db, "BEGIN", 0, 0, 0);
  sqlite3_exec(db, "UPDATE t SET v='uncommitted-row' WHERE id%2=0", 0, 0, 0);
  sqlite3_exec(db, "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 "
      "FROM c WHERE i<2000) INSERT INTO t(v) SELECT 'uncommitted-row' || "
      "hex(randomblob(100)) FROM c", 0, 0, 0);
  kill(getpid(), SIGKILL);
  _exit(5);
}

/* 20-31: crash recovery in DELETE and WAL modes, by the VFS and by
** SQLCipher. */
static void testCrash(const char *zRoot, const char *zMode, const char *zDbName){
  const char *zDb = placementPath(zRoot, zDbName);
  const char *zCopy;
  char zHot[4300], zHotCopy[4300], zCopyName[64];
  char zKey[70], zScript[512];
  const char *zOut;
  sqlite3 *db = 0;
  pid_t pid;
  int status = 0;

  fflush(stdout);
  pid = fork();
  if( pid==0 ) crashChild(zDb, zMode);
  waitpid(pid, &status, 0);
  tap_ok(WIFSIGNALED(status) && WTERMSIG(status)==SIGKILL,
         "%s crash child killed mid-transaction", zMode);
  snprintf(zHot, sizeof(zHot), "%s-%s", zDb,
           strcmp(zMode, "WAL")==0 ? "wal" : "journal");
  tap_ok(fileExists(zHot), "%s crash left a hot journal or WAL", zMode);
  tap_ok(!anyFileContains(zDb, MARKER) && !anyFileContains(zDb, "uncommitted-row"),
         "%s crash files hold no plain text", zMode);

  /* SQLCipher recovers a copy, under the original's key. */
  snprintf(zCopyName, sizeof(zCopyName), "%s-copy", zDbName);
  zCopy = placementPath(zRoot, zCopyName);
  copyFile(zDb, zCopy);
  snprintf(zHotCopy, sizeof(zHotCopy), "%s-%s", zCopy,
           strcmp(zMode, "WAL")==0 ? "wal" : "journal");
  copyFile(zHot, zHotCopy);
  snprintf(zKey, sizeof(zKey), "%s/owner", zDbName);
  deriveKey(zKey, zKey);
  snprintf(zScript, sizeof(zScript), "PRAGMA key = \"%s\";\n"
           "PRAGMA integrity_check;\n"
           "SELECT 'N:' || count(*) || ':' || sum(v LIKE 'uncommitted-row%%') FROM t;\n",
           zKey);
  zOut = runShell("sqlcipher", zCopy, zScript);
  tap_ok(strstr(zOut, "ok\n")!=0 && strstr(zOut, "N:50:0")!=0,
         "%s sqlcipher recovers the VFS's crash", zMode);
  if( strstr(zOut, "N:50:0")==0 ) tap_diag("sqlcipher output: %s", zOut);

  /* The VFS recovers the original. */
  tap_is_int(openCodec(zDb, 0, &db), SQLITE_OK, "reopen after crash");
  tap_is_str(queryText(db, "SELECT count(*) FROM t WHERE v LIKE '" MARKER "%'"),
             "50", "committed rows present after crash");
  tap_is_str(queryText(db, "SELECT count(*) FROM t WHERE v LIKE 'uncommitted-row%'"),
             "0", "uncommitted rows absent after crash");
  tap_is_str(queryText(db, "PRAGMA integrity_check"), "ok",
             "integrity_check after crash recovery");
  sqlite3_close(db);
}

/* 32-37: a flipped bit in a page is an I/O error, never data. */
static void testTamper(const char *zRoot){
  const char *zDb = placementPath(zRoot, "d-tamper");
  char zWal[4300];
  sqlite3 *db = 0;
  int rc;

  openCodec(zDb, 0, &db);
  prepareNew(db, 1024, 48);
  fillTable(db, 100);
  sqlite3_close(db);

  flipBit(zDb, 1024*2 + 100);   /* inside page 3 */
  logClear();
  openCodec(zDb, 0, &db);
  rc = sqlite3_exec(db, "SELECT sum(length(v)) FROM t", 0, 0, 0);
  tap_is_int(sqlite3_extended_errcode(db), SQLITE_IOERR_DATA,
             "tampered page gives SQLITE_IOERR_DATA");
  tap_ok(rc!=SQLITE_OK, "tampered page fails the query");
  tap_ok(logContains("page 3 of", "d-tamper/owner.db"),
         "log names the file and page");
  sqlite3_close(db);
  flipBit(zDb, 1024*2 + 100);

  /* A changed byte in a committed WAL frame. */
  openCodec(zDb, 0, &db);
  sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0", 0,
               0, 0);
  sqlite3_exec(db, "UPDATE t SET v=v || 'x'", 0, 0, 0);
  snprintf(zWal, sizeof(zWal), "%s-wal", zDb);
  flipBit(zWal, 32 + 24 + 200);   /* page image of frame 1 */
  logClear();
  {
    sqlite3 *db2 = 0;
    openCodec(zDb, 0, &db2);
    rc = sqlite3_exec(db2, "SELECT sum(length(v)) FROM t", 0, 0, 0);
    tap_is_int(sqlite3_extended_errcode(db2), SQLITE_IOERR_DATA,
               "tampered WAL frame gives SQLITE_IOERR_DATA");
    tap_ok(logContains("WAL frame", "d-tamper/owner.db-wal"),
           "log names the WAL frame");
    sqlite3_close(db2);
  }
  flipBit(zWal, 32 + 24 + 200);
  tap_is_str(queryText(db, "PRAGMA integrity_check"), "ok",
             "restored WAL frame reads again");
  sqlite3_close(db);
}

/* 38-43: SQLCipher 4 format, checked by decrypting page 1 here. */
static void testFormat4(const char *zRoot){
  const char *zDb = placementPath(zRoot, "d-v4");
  sqlite3 *db = 0;
  FILE *pFile;
  unsigned char aPage[4096];
  char zKey[70];
  unsigned char aKey[32], aHmacKey[32], aSalt[16], aMac[64], aPlain[4096];
  unsigned int nMac = 0;
  int i, n = 0;
  EVP_CIPHER_CTX *pCtx;

  tap_is_int(openCodec(zDb, "&cipher_compatibility=4", &db), SQLITE_OK,
             "format 4 open");
  tap_ok(prepareNew(db, 4096, 80), "format 4 page size and reserve");
  tap_ok(fillTable(db, 100), "format 4 inserts");
  tap_is_str(queryText(db, "PRAGMA integrity_check"), "ok",
             "format 4 integrity_check");
  sqlite3_close(db);

  pFile = fopen(zDb, "rb");
  memset(aPage, 0, sizeof(aPage));
  if( pFile ){
    if( fread(aPage, 1, sizeof(aPage), pFile)!=sizeof(aPage) ) aPage[0] = 0;
    fclose(pFile);
  }
  deriveKey("d-v4/owner", zKey);
  for(i=0; i<32; i++){
    unsigned int x;
    sscanf(zKey+2+2*i, "%2x", &x);
    aKey[i] = (unsigned char)x;
  }
  for(i=0; i<16; i++) aSalt[i] = aPage[i] ^ 0x3a;
  PKCS5_PBKDF2_HMAC((const char*)aKey, 32, aSalt, 16, 2, EVP_sha512(), 32,
                    aHmacKey);
  {
    unsigned char aIn[4096];
    memcpy(aIn, aPage+16, 4096-80-16+16);
    aIn[4096-80] = 1; aIn[4096-80+1] = 0; aIn[4096-80+2] = 0;
    aIn[4096-80+3] = 0;
    HMAC(EVP_sha512(), aHmacKey, 32, aIn, 4096-80+4, aMac, &nMac);
  }
  tap_ok(nMac==64 && memcmp(aMac, aPage+4096-80+16, 64)==0,
         "format 4 page 1 HMAC-SHA512 verifies independently");
  pCtx = EVP_CIPHER_CTX_new();
  EVP_DecryptInit_ex(pCtx, EVP_aes_256_cbc(), 0, aKey, aPage+4096-80);
  EVP_CIPHER_CTX_set_padding(pCtx, 0);
  EVP_DecryptUpdate(pCtx, aPlain+16, &n, aPage+16, 4096-80-16);
  EVP_CIPHER_CTX_free(pCtx);
  tap_ok(aPlain[16]==0x10 && aPlain[17]==0x00 && aPlain[20]==80,
         "format 4 page 1 decrypts to page size 4096, reserve 80");
}

/* 44-48: wrong settings are refused with a reason. */
static void testRefusals(const char *zRoot){
  const char *zDb = placementPath(zRoot, "d-refuse");
  sqlite3 *db = 0;
  int rc;

  logClear();
  rc = openCodec(zDb, "&cipher_compatibility=5", &db);
  tap_is_int(rc, SQLITE_CANTOPEN, "cipher_compatibility=5 refused");
  tap_ok(logContains("invalid cipher_compatibility \"5\"", 0),
         "log explains cipher_compatibility");
  sqlite3_close(db);
  db = 0;
  {
    char zUri[4400];
    snprintf(zUri, sizeof(zUri), "file:%s?vfs=tenant&codec=rot13", zDb);
    rc = sqlite3_open_v2(zUri, &db, SQLITE_OPEN_READWRITE|SQLITE_OPEN_CREATE
                         |SQLITE_OPEN_URI, 0);
    tap_is_int(rc, SQLITE_CANTOPEN, "unknown codec refused");
    sqlite3_close(db);
    db = 0;
  }

  /* No page size set: the first write fails and the log says why. */
  logClear();
  openCodec(zDb, 0, &db);
  rc = sqlite3_exec(db, "CREATE TABLE t(x)", 0, 0, 0);
  tap_is_int(rc, SQLITE_IOERR, "write with the default page size fails");
  tap_ok(logContains("PRAGMA page_size", 0),
         "log says to set the page size");
  sqlite3_close(db);
}

#endif /* !TEST_HOST_SQLCIPHER */

/* ---- cases on the SQLCipher host -------------------------------------- */

#ifdef TEST_HOST_SQLCIPHER

/* 1-5: the VFS codec stays off; SQLCipher's file reads in the stock host. */
static void testSqlcipherHost(const char *zRoot){
  const char *zDb = placementPath(zRoot, "d-host");
  char zUri[4400], zKey[70], zSql[200], zScript[1024];
  const char *zOut;
  /* A shell is not built with the sanitizers: it loads the plain build. */
  const char *zExt = getenv("TENANT_SHELL_EXT") ? getenv("TENANT_SHELL_EXT")
                                                : getenv("TENANT_EXT");
  sqlite3 *db = 0;
  int rc;

  logClear();
  rc = openCodec(zDb, 0, &db);
  tap_is_int(rc, SQLITE_CANTOPEN, "codec=vfs refused on the sqlcipher host");
  tap_ok(logContains("links SQLCipher", 0), "log names SQLCipher's codec");
  sqlite3_close(db);
  db = 0;

  /* SQLCipher's codec writes through the tenant VFS. */
  snprintf(zUri, sizeof(zUri), "file:%s?vfs=tenant", zDb);
  sqlite3_open_v2(zUri, &db, SQLITE_OPEN_READWRITE|SQLITE_OPEN_CREATE
                  |SQLITE_OPEN_URI, 0);
  deriveKey("d-host/owner", zKey);
  snprintf(zSql, sizeof(zSql), "PRAGMA key = \"%s\"", zKey);
  sqlite3_exec(db, zSql, 0, 0, 0);
  tap_ok(fillTable(db, 120), "sqlcipher writes through the tenant VFS");
  tap_is_str(queryText(db, "SELECT codec FROM tenant_codec WHERE schema='main'"),
             "sqlcipher", "tenant_codec reports SQLCipher's codec");
  sqlite3_close(db);

  /* The stock shell reads it through the VFS codec. */
  snprintf(zScript, sizeof(zScript),
      ".load %s\n.open file:%s?vfs=tenant&codec=vfs\n"
      "PRAGMA integrity_check;\nSELECT 'N:' || count(*) FROM t;\n",
      zExt, zDb);
  zOut = runShell("sqlite3", ":memory:", zScript);
  tap_ok(strstr(zOut, "ok\n")!=0 && strstr(zOut, "N:120")!=0,
         "stock sqlite3 shell reads the file with the VFS codec");
  if( strstr(zOut, "N:120")==0 ) tap_diag("sqlite3 output: %s", zOut);
}

#endif /* TEST_HOST_SQLCIPHER */

int main(void){
  sqlite3 *db = 0;
  const char *zRoot;

  sqlite3_config(SQLITE_CONFIG_LOG, logCallback, (void*)0);
  sqlite3_config(SQLITE_CONFIG_URI, 1);
  tap_open(&db);
  zRoot = tap_fresh_root("codec");

#ifndef TEST_HOST_SQLCIPHER
  testWriteThenSqlcipher(zRoot);
  testSqlcipherThenRead(zRoot);
  testWal(zRoot);
  testCrash(zRoot, "DELETE", "d-crash-delete");
  testCrash(zRoot, "WAL", "d-crash-wal");
  testTamper(zRoot);
  testFormat4(zRoot);
  testRefusals(zRoot);
#else
  testSqlcipherHost(zRoot);
#endif

  sqlite3_close(db);
  tap_done();
  return 0;
}
