/*
** The tenant VFS: registered beside the default VFS and never in its place,
** files of other VFSes unchanged, logical names resolved or rejected, and
** a two-file commit of a Sapphire session leaving no super-journal behind.
*/
#include "tap.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *zRoot;

static int fileExists(const char *zPath){
  struct stat st;
  return stat(zPath, &st)==0;
}

/* Number of entries other than "." and ".." in zDir, or -1. */
static int countEntries(const char *zDir){
  DIR *pDir = opendir(zDir);
  struct dirent *pEntry;
  int n = 0;
  if( pDir==0 ) return -1;
  while( (pEntry = readdir(pDir))!=0 ){
    if( strcmp(pEntry->d_name, ".")!=0 && strcmp(pEntry->d_name, "..")!=0 ) n++;
  }
  closedir(pDir);
  return n;
}

/* 1. Registration leaves the default VFS alone. */
static void testRegistration(void){
  sqlite3_vfs *pDefault = sqlite3_vfs_find(0);
  sqlite3_vfs *pTenant = sqlite3_vfs_find("tenant");
  tap_ok(pTenant!=0, "register: tenant VFS found by name");
  tap_ok(pDefault!=0 && strcmp(pDefault->zName, "tenant")!=0,
         "register: default VFS is not the tenant VFS");
  if( pTenant && pDefault ){
    tap_is_int(pTenant->mxPathname, pDefault->mxPathname,
               "register: mxPathname copied from the default VFS");
    tap_ok(pTenant->iVersion<=pDefault->iVersion,
           "register: version no newer than the default VFS's");
  }else{
    tap_skip(2, "no VFS to compare");
  }
}

/* 2. A plain file through the default VFS behaves as without the
** extension: plain header, WAL beside it. */
static void testOtherVfs(void){
  char zPath[1024], zWal[1100];
  char aHeader[16];
  sqlite3 *db = 0;
  FILE *pFile;

  snprintf(zPath, sizeof(zPath), "%s/plain.db", zRoot);
  snprintf(zWal, sizeof(zWal), "%s-wal", zPath);
  tap_is_int(sqlite3_open(zPath, &db), SQLITE_OK, "plain: opens");
  tap_is_str(tap_exec_error(db, "PRAGMA journal_mode=WAL; CREATE TABLE t(a);"
                                "INSERT INTO t VALUES('plain')"), 0,
             "plain: WAL write");
  tap_ok(fileExists(zWal), "plain: WAL file beside it");
  tap_is_str(tap_query_text(db, "SELECT a FROM t"), "plain", "plain: reads");
  sqlite3_close(db);

  memset(aHeader, 0, sizeof(aHeader));
  pFile = fopen(zPath, "rb");
  if( pFile ){
    size_t n = fread(aHeader, 1, sizeof(aHeader), pFile);
    (void)n;
    fclose(pFile);
  }
  tap_ok(memcmp(aHeader, "SQLite format 3", 16)==0,
         "plain: file keeps the plain SQLite header");
}

/* 3. Names the VFS rejects, and the name a placement file reports. */
static void testNames(void){
  static const char *const azBad[] = {
    "file:nobody/communications_data?vfs=tenant",
    "file:S1/no_such_partition?vfs=tenant",
    "file:a/b/c?vfs=tenant",
    0
  };
  sqlite3 *db = 0;
  char *zVfsName = 0;
  char zUri[1200];
  int i;

  for(i=0; azBad[i]; i++){
    int rc = sqlite3_open_v2(azBad[i], &db, SQLITE_OPEN_READWRITE
                             |SQLITE_OPEN_CREATE|SQLITE_OPEN_URI, 0);
    tap_is_int(rc, SQLITE_CANTOPEN, azBad[i]);
    sqlite3_close(db);
    db = 0;
  }
  tap_ok(!fileExists("nobody") && !fileExists("S1") && !fileExists("a"),
         "names: a rejected name creates nothing");

  /* A placement file opened by its physical path through the VFS. */
  snprintf(zUri, sizeof(zUri), "file:%s/customer-S1-sapphire/"
           "d1-sapphire-S1-us-west1/owner.db?vfs=tenant", zRoot);
  sqlite3_open_v2(zUri, &db, SQLITE_OPEN_READWRITE|SQLITE_OPEN_URI, 0);
  sqlite3_file_control(db, "main", SQLITE_FCNTL_VFSNAME, &zVfsName);
  tap_ok(zVfsName && strncmp(zVfsName, "tenant", 6)==0,
         "names: VFSNAME starts with tenant (%s)", zVfsName ? zVfsName : "");
  sqlite3_free(zVfsName);
  sqlite3_close(db);
}

/* 4. A Sapphire session whose tier uses rollback journals commits across
** its two files atomically: SQLite writes a super-journal named after the
** session, and removes it. */
static void testSuperJournal(void){
  char zDir[1100];
  sqlite3 *db = 0;
  int rc;

  rc = sqlite3_open_v2("file:S2?vfs=tenant", &db, SQLITE_OPEN_READWRITE
                       |SQLITE_OPEN_CREATE|SQLITE_OPEN_URI, 0);
  tap_is_int(rc, SQLITE_OK, "super: Sapphire session opens");
  tap_is_str(tap_exec_error(db, "BEGIN;"
      "INSERT INTO communications_data(id,data) VALUES('a','owner');"
      "INSERT INTO internal_analytics(id,data) VALUES('a','private');"
      "COMMIT"), 0, "super: two-file commit");
  tap_is_str(tap_query_text(db, "SELECT (SELECT data FROM communications_data)"
      "||'+'||(SELECT data FROM internal_analytics)"), "owner+private",
      "super: both files committed");
  snprintf(zDir, sizeof(zDir), "%s/.sessions", zRoot);
  /* The folder exists once a super-journal was written there. */
  tap_is_int(countEntries(zDir), 0, "super: super-journal written, then removed");
  sqlite3_close(db);
}

/* 5. Placement files are built in WAL mode unless policy says "delete". */
static void testJournalModes(void){
  static const struct { const char *zFile; const char *zMode; } aCase[] = {
    { "customer-S1-sapphire/d1-sapphire-S1-us-west1/owner.db",   "wal" },
    { "customer-S1-sapphire/d1-sapphire-S1-us-west1/private.db", "wal" },
    { "customer-S2-sapphire/d1-sapphire-S2-us-west1/owner.db",   "delete" },
    { 0, 0 }
  };
  int i;
  if( tap_host_is_sqlcipher() ){
    tap_skip(3, "the placement files are encrypted in this host");
    return;
  }
  for(i=0; aCase[i].zFile; i++){
    char zUri[1200];
    sqlite3 *db = 0;
    snprintf(zUri, sizeof(zUri), "file:%s/%s?vfs=tenant&mode=ro", zRoot,
             aCase[i].zFile);
    sqlite3_open_v2(zUri, &db, SQLITE_OPEN_READONLY|SQLITE_OPEN_URI, 0);
    tap_is_str(tap_query_text(db, "PRAGMA journal_mode"), aCase[i].zMode,
               aCase[i].zFile);
    sqlite3_close(db);
  }
}

int main(void){
  sqlite3 *dbAdmin;
  zRoot = tap_fresh_root("vfs");
  tap_open(&dbAdmin);
  if( !tap_host_is_sqlcipher() ){
    tap_exec_error(dbAdmin, "SELECT tenant_policy_set('sapphire','encrypted',0)");
  }
  tap_is_str(tap_exec_error(dbAdmin,
      "SELECT tenant_provision('S1','sapphire','us-west1')"), 0,
      "setup: S1 provisioned");
  tap_is_str(tap_exec_error(dbAdmin,
      "SELECT tenant_policy_set('sapphire','journal_mode','delete');"
      "SELECT tenant_provision('S2','sapphire','us-west1')"), 0,
      "setup: S2 provisioned with rollback journals");
  testRegistration();
  testOtherVfs();
  testNames();
  testSuperJournal();
  testJournalModes();
  sqlite3_close(dbAdmin);
  tap_done();
  return 0;
}
