/*
** API audit: the extension calls no SQLite routine newer than its host.
**
** In the SQLCipher host (SQLite 3.15.2) this program hands the extension a
** routine table whose first part is the host's own table and whose newer
** slots, the ones only later SQLite versions have, all point at a trap.
** An unguarded call of a newer routine ends the run with "Bail out!". It
** then runs a workload that reaches every part of the extension: load,
** provisioning, binding, isolated reads and writes, denials and errors.
**
** In the stock host every slot is real, so the audit only runs the
** workload.
*/
#define SQLITE_CORE 1   /* sqlite3ext.h: the routine table, not its macros */
#include "tap.h"
#include <sqlite3ext.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define AUDIT_SLOTS 1024   /* more than any SQLite's routine table */

typedef int (*EntryPoint)(sqlite3*, char**, const sqlite3_api_routines*);

/*
** Check that the extension calls SQLite only through the routine table: a
** direct call leaves an undefined sqlite3_* symbol, which fails to resolve
** in a host that loads SQLite privately, such as Python's sqlite3 module.
*/
static void checkNoDirectCalls(const char *zLib){
  char zCmd[1200];
  char zLine[512];
  char zFound[512] = "";
  FILE *pPipe;
  int nSymbol = 0;

  snprintf(zCmd, sizeof(zCmd), "nm -D --undefined-only '%s' 2>/dev/null",
           zLib);
  pPipe = popen(zCmd, "r");
  if( pPipe==0 ){
    tap_skip(1, "nm could not run");
    return;
  }
  while( fgets(zLine, sizeof(zLine), pPipe) ){
    nSymbol++;
    if( strstr(zLine, " sqlite3_") && zFound[0]==0 ){
      snprintf(zFound, sizeof(zFound), "%s", zLine);
    }
  }
  pclose(pPipe);
  if( nSymbol==0 ){
    tap_skip(1, "nm listed no symbol");
    return;
  }
  if( !tap_ok(zFound[0]==0, "audit: no direct call of a SQLite routine") ){
    tap_diag("undefined: %s", zFound);
  }
}

static const sqlite3_api_routines *pHostApi = 0;
static void *aAudit[AUDIT_SLOTS];

static void auditTrap(void){
  printf("Bail out! the extension called a SQLite routine newer than the "
         "host's %s\n", sqlite3_libversion());
  fflush(stdout);
  _exit(3);
}

static int captureApi(sqlite3 *db, char **pzErr,
                      const sqlite3_api_routines *pApi){
  (void)db; (void)pzErr;
  pHostApi = pApi;
  return SQLITE_OK;
}

/* Build the audit table: the host's slots, then traps. */
static int buildAuditTable(void){
  sqlite3 *db = 0;
  int nHost = (int)(sizeof(sqlite3_api_routines)/sizeof(void*));
  int i;
  sqlite3_auto_extension((void(*)(void))captureApi);
  sqlite3_open(":memory:", &db);
  sqlite3_close(db);
  sqlite3_cancel_auto_extension((void(*)(void))captureApi);
  if( pHostApi==0 ) return 0;
  memcpy(aAudit, pHostApi, sizeof(sqlite3_api_routines));
  for(i=nHost; i<AUDIT_SLOTS; i++) aAudit[i] = (void*)auditTrap;
  return nHost;
}

static void workload(sqlite3 *db){
  static const char *const azAdmin[] = {
    "SELECT tenant_provision('S1','sapphire','us-west1')",
    "SELECT tenant_provision('O1','opal','us-west1','S1')",
    "SELECT tenant_provision('X1','onyx','us-west1','S1')",
    "SELECT tenant_add_agent('X1','a1')",
    "SELECT tenant_add_table('basic_communications',"
      "'CREATE TABLE notes(n INTEGER PRIMARY KEY, t TEXT)')",
    0
  };
  int i;
  sqlite3 *dbS = 0;

  if( !tap_host_is_sqlcipher() ){
    tap_exec_error(db, "SELECT tenant_policy_set('sapphire','encrypted',0);"
                       "SELECT tenant_policy_set('opal','encrypted',0);"
                       "SELECT tenant_policy_set('onyx','encrypted',0)");
  }
  for(i=0; azAdmin[i]; i++){
    const char *zErr = tap_exec_error(db, azAdmin[i]);
    if( !tap_ok(zErr==0, "audit: %s", azAdmin[i]) ) tap_diag("%s", zErr);
  }
  tap_ok(tap_exec_error(db, "SELECT tenant_provision('bad/id','onyx',"
                            "'us-west1','S1')")!=0,
         "audit: a rejected provisioning");

  sqlite3_open_v2("file:X1?vfs=tenant&agent=a1", &dbS,
                  SQLITE_OPEN_READWRITE|SQLITE_OPEN_CREATE|SQLITE_OPEN_URI, 0);
  tap_is_str(tap_query_text(dbS, "SELECT tenant_whoami()"), "X1",
             "audit: session bound");
  tap_ok(tap_exec_error(dbS,
      "INSERT INTO basic_communications(id,data) VALUES('1','a'),('2','b');"
      "INSERT OR REPLACE INTO basic_communications(id,data) VALUES('1','c');"
      "UPDATE basic_communications SET data='d' WHERE id='2';"
      "DELETE FROM basic_communications WHERE id='9';"
      "INSERT INTO notes(n,t) VALUES(1,'n1');")==0,
      "audit: isolated writes");
  tap_is_str(tap_query_text(dbS, "SELECT group_concat(data) FROM (SELECT "
      "data FROM basic_communications WHERE id IN ('1','2') AND id>'0' "
      "ORDER BY id DESC)"), "d,c", "audit: isolated read with pushdown");
  tap_is_str(tap_query_text(dbS, "SELECT count(*) FROM basic_communications a "
      "JOIN basic_communications b ON a.id=b.id LEFT JOIN workflow_automations "
      "w ON w.id=a.id"), "2", "audit: joins");
  tap_ok(tap_exec_error(dbS, "PRAGMA database_list")!=0, "audit: a denial");
  tap_ok(tap_exec_error(dbS, "INSERT INTO workflow_automations(id) "
                             "VALUES('r')")!=0, "audit: a read-only write");
  tap_ok(tap_exec_error(dbS, "SELECT * FROM communications_data")!=0,
         "audit: a placeholder");
  tap_ok(tap_query_text(dbS, "SELECT count(*) FROM tenant_codec")!=0,
         "audit: codec report");
  sqlite3_close(dbS);

  /* Metering, limits and reports. */
  tap_ok(tap_exec_error(db, "SELECT * FROM tenant_storage_check('X1');"
      "SELECT * FROM tenant_usage_report; SELECT * FROM tenant_cost_report;"
      "SELECT * FROM tenant_upgrade_candidates;"
      "SELECT tenant_policy_set('onyx','storage_limit_bytes',100)")==0,
      "audit: reports and a limit");
  sqlite3_open_v2("file:X1?vfs=tenant", &dbS,
                  SQLITE_OPEN_READWRITE|SQLITE_OPEN_URI, 0);
  tap_ok(tap_exec_error(dbS, "INSERT INTO basic_communications(id,data) "
      "VALUES('big', zeroblob(500))")!=0, "audit: a write past the limit");
  sqlite3_close(dbS);
  tap_ok(tap_exec_error(db, "SELECT tenant_decommission('X1')")==0,
         "audit: decommission");
}

int main(void){
  const char *zExt = getenv("TENANT_EXT");
  char zLib[4096], *zErr = 0;
  void *pLib;
  EntryPoint xInit;
  sqlite3 *db = 0;
  int nHost, rc;

  tap_fresh_root("api_audit");
  nHost = buildAuditTable();
  tap_ok(nHost>0, "audit: host routine table captured (%d slots)", nHost);

  /* The trap itself works: a child calls the first newer slot. */
  if( tap_host_is_sqlcipher() ){
    pid_t pid = fork();
    int status = 0;
    if( pid==0 ){
      int fd = open("/dev/null", O_WRONLY);
      dup2(fd, 1);
      ((void(*)(void))aAudit[nHost])();
      _exit(0);
    }
    waitpid(pid, &status, 0);
    tap_ok(WIFEXITED(status) && WEXITSTATUS(status)==3,
           "audit: a newer slot traps");
  }else{
    tap_skip(1, "the stock host has every slot");
  }

  if( zExt==0 ){
    printf("Bail out! TENANT_EXT is not set\n");
    return 255;
  }
  snprintf(zLib, sizeof(zLib), "%s.so", zExt);
  checkNoDirectCalls(zLib);
  pLib = dlopen(zLib, RTLD_NOW|RTLD_LOCAL);
  if( pLib==0 ){
    printf("Bail out! cannot load %s: %s\n", zLib, dlerror());
    return 255;
  }
  xInit = (EntryPoint)dlsym(pLib, "sqlite3_tenant_init");
  sqlite3_open(":memory:", &db);
  rc = xInit(db, &zErr, tap_host_is_sqlcipher()
             ? (const sqlite3_api_routines*)aAudit : pHostApi);
  if( !tap_ok(rc==SQLITE_OK || rc==256, "audit: entry point succeeds") ){
    tap_diag("%s", zErr ? zErr : "(no message)");
  }
  sqlite3_free(zErr);
  workload(db);
  sqlite3_close(db);
  tap_done();
  return 0;
}
