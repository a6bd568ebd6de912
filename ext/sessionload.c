/*
** Extension loading on bound connections: binding turns it off, because
** SQLite does not ask the authorizer about a function in the DEFAULT of a
** temp table, and the session's first prepare turns it off again.
*/
#include "tenant_int.h"
#include "session.h"
SQLITE_EXTENSION_INIT3

#include <dlfcn.h>

typedef int (*EnableLoadFunc)(sqlite3*, int);

/*
** Find sqlite3_enable_load_extension(), which is not among the routines a
** loadable extension receives, in the library that contains
** sqlite3_libversion(): the host may have loaded SQLite privately, as
** Python's sqlite3 module does. Returns NULL when it is not found.
*/
static EnableLoadFunc tenantFindEnableLoad(void){
  EnableLoadFunc xEnable;
  Dl_info info;

  xEnable = (EnableLoadFunc)dlsym(RTLD_DEFAULT,
                                  "sqlite3_enable_load_extension");
  if( xEnable==0 && dladdr((void*)sqlite3_api->libversion, &info)
   && info.dli_fname ){
    void *pLib = dlopen(info.dli_fname, RTLD_NOW|RTLD_NOLOAD);
    if( pLib ){
      xEnable = (EnableLoadFunc)dlsym(pLib, "sqlite3_enable_load_extension");
      dlclose(pLib);   /* the host keeps the library loaded */
    }
  }
  return xEnable;
}

/*
** Turn extension loading off on a connection being bound: SQLite does not
** ask the authorizer about a function in the DEFAULT of a temp table,
** which runs when a row is written, so load_extension() must fail by
** itself. The administrative functions check for a bound connection
** themselves (tenantAdminDenied). NOTE: functions that the host program
** registers, such as the shells' readfile() and writefile(), and
** sqlite_log() stay reachable that way.
*/
void tenantSessionDisarm(sqlite3 *db){
  static EnableLoadFunc xEnable = 0;
  static int bLooked = 0;
  EnableLoadFunc xFound;

  /* Looked up once per process, under the session list's mutex. */
  sqlite3_mutex_enter(tenantSessionMutex());
  if( !bLooked ){
    xEnable = tenantFindEnableLoad();
    bLooked = 1;
  }
  xFound = xEnable;
  sqlite3_mutex_leave(tenantSessionMutex());
  if( xFound ){
    xFound(db, 0);
  }else{
    sqlite3_log(SQLITE_WARNING, "tenant: cannot turn extension loading off"
        " on a bound connection: sqlite3_enable_load_extension() not found"
        " in the host");
  }
}

/* Turn extension loading off once more, at the session's first prepare:
** the shells turn it on after they open a connection, which binds it. */
void tenantSessionDisarmAgain(TenantSession *p){
  p->bDisarmAgain = 0;
  tenantSessionDisarm(p->db);
}
