/*
** Root folders: a copy of a root (a restore, a staging copy) works on its
** own files and never writes into the original's. Each step runs in a child
** process, because one process uses one root.
*/
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Run xStep in a child process with TENANT_ROOT set to zRoot. Returns the
** child's exit status, 0 on success. */
static int inChild(const char *zRoot, int (*xStep)(void), const char *zName){
  pid_t pid;
  int status = 0;
  fflush(stdout);
  pid = fork();
  if( pid==0 ){
    setenv("TENANT_ROOT", zRoot, 1);
    _exit(xStep());
  }
  waitpid(pid, &status, 0);
  return tap_ok(WIFEXITED(status) && WEXITSTATUS(status)==0, "%s", zName)
         ? 0 : 1;
}

static sqlite3 *openS1(void){
  sqlite3 *db = 0;
  if( sqlite3_open_v2("file:S1?vfs=tenant", &db, SQLITE_OPEN_READWRITE
                      |SQLITE_OPEN_CREATE|SQLITE_OPEN_URI, 0)!=SQLITE_OK ){
    sqlite3_close(db);
    return 0;
  }
  return db;
}

/* Provision S1 and write its row, "original". */
static int stepProvision(void){
  sqlite3 *db;
  int rc;
  tap_open(&db);
  if( !tap_host_is_sqlcipher() ){
    tap_exec_error(db, "SELECT tenant_policy_set('sapphire','encrypted',0)");
  }
  rc = tap_exec_error(db, "SELECT tenant_provision('S1','sapphire',"
                          "'us-west1')")==0 ? 0 : 1;
  sqlite3_close(db);
  db = openS1();
  if( db==0 || tap_exec_error(db, "INSERT INTO communications_data(id,data) "
                                  "VALUES('r','original')") ) rc = 1;
  sqlite3_close(db);
  return rc;
}

/* In the copy: change the row. */
static int stepChangeCopy(void){
  sqlite3 *db;
  int rc;
  tap_open(&db);
  sqlite3_close(db);
  db = openS1();
  rc = db && tap_exec_error(db, "UPDATE communications_data SET data="
                                "'changed in the copy'")==0 ? 0 : 1;
  sqlite3_close(db);
  return rc;
}

static int checkData(const char *zExpected){
  sqlite3 *db;
  const char *zData;
  int rc;
  tap_open(&db);
  sqlite3_close(db);
  db = openS1();
  zData = db ? tap_query_text(db, "SELECT data FROM communications_data") : 0;
  rc = zData && strcmp(zData, zExpected)==0 ? 0 : 1;
  if( rc ) printf("# got: %s\n", zData ? zData : "(none)");
  sqlite3_close(db);
  return rc;
}

static int stepCheckOriginal(void){ return checkData("original"); }
static int stepCheckCopy(void){ return checkData("changed in the copy"); }

int main(void){
  char zOriginal[4096], zCopy[4200], zCmd[9000];

  snprintf(zOriginal, sizeof(zOriginal), "%s", tap_fresh_root("root"));
  snprintf(zCopy, sizeof(zCopy), "%s-copy", zOriginal);

  inChild(zOriginal, stepProvision, "root: S1 provisioned with a row");
  snprintf(zCmd, sizeof(zCmd), "rm -rf '%s' && cp -a '%s' '%s'",
           zCopy, zOriginal, zCopy);
  tap_ok(system(zCmd)==0, "root: root copied");
  inChild(zCopy, stepChangeCopy, "root: the copy's row changed");
  inChild(zCopy, stepCheckCopy, "root: the copy reads its change");
  inChild(zOriginal, stepCheckOriginal, "root: the original is unchanged");
  tap_done();
  return 0;
}
