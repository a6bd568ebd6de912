/*
** Self-test of the TAP library in tap.c: the string helpers, the query
** helpers on a plain in-memory connection, and the fresh root folder. It
** does not load the extension, so it runs before the extension builds.
*/
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int main(void){
  sqlite3 *db = 0;
  const char *zRoot;
  const char *zFirst;
  const char *zSecond;
  struct stat st;

  tap_plan(16);

  /* 1-4: comparisons that hold. */
  tap_ok(1, "tap_ok passes a true condition");
  tap_is_str("abc", "abc", "tap_is_str equal strings");
  tap_is_str(0, 0, "tap_is_str two NULLs");
  tap_is_int(-7, -7, "tap_is_int equal integers");

  /* 5-9: query helpers on a connection without the extension. */
  if( sqlite3_open(":memory:", &db)!=SQLITE_OK ){
    tap_ok(0, "open :memory:");
    tap_done();
  }
  tap_is_str(tap_exec_error(db, "CREATE TABLE t(x); INSERT INTO t VALUES('v');"),
             0, "tap_exec_error returns NULL on success");
  tap_is_str(tap_exec_error(db, "SELECT * FROM missing_table"),
             "no such table: missing_table",
             "tap_exec_error returns the message");
  tap_is_str(tap_query_text(db, "SELECT x FROM t"), "v",
             "tap_query_text first column");
  tap_is_str(tap_query_text(db, "SELECT x FROM t WHERE 0"), 0,
             "tap_query_text no row is NULL");
  tap_diag("the next check prints one expected query diagnostic");
  tap_is_str(tap_query_text(db, "SELECT nope FROM t"), 0,
             "tap_query_text failure is NULL");

  /* 10: results stay valid across the next call. */
  zFirst = tap_query_text(db, "SELECT 'first'");
  zSecond = tap_query_text(db, "SELECT 'second'");
  tap_ok(strcmp(zFirst, "first")==0 && strcmp(zSecond, "second")==0,
         "two results in distinct static buffers");
  sqlite3_close(db);

  /* 11-16: a fresh root is empty and the environment points at it. */
  zRoot = tap_fresh_root("tap");
  tap_ok(strstr(zRoot, tap_host_is_sqlcipher() ? "/tests/tmp/tap-sqlcipher"
                                               : "/tests/tmp/tap-sqlite")!=0,
         "root path names the host");
  tap_ok(stat(zRoot, &st)==0 && S_ISDIR(st.st_mode), "root folder exists");
  tap_is_str(getenv("TENANT_ROOT"), zRoot, "TENANT_ROOT set to the root");
  tap_is_int((long long)strlen(getenv("TENANT_MASTER_KEY")), 40,
             "test master key has 40 characters");
  {
    char zFile[4200];
    FILE *pFile;
    snprintf(zFile, sizeof(zFile), "%s/left-over.db", zRoot);
    pFile = fopen(zFile, "w");
    if( pFile ) fclose(pFile);
  }
  zRoot = tap_fresh_root("tap");
  {
    char zFile[4200];
    snprintf(zFile, sizeof(zFile), "%s/left-over.db", zRoot);
    tap_ok(stat(zFile, &st)!=0, "fresh root removes old files");
  }
  tap_ok(stat(zRoot, &st)==0 && S_ISDIR(st.st_mode), "root made again");

  tap_done();
  return 0;
}
