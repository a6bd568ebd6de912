/*
** Entry point of the sqlite-tenant extension, loaded as "tenant".
**
** Loading the extension checks that the host is at least SQLite 3.15.2 and
** registers the tenant VFS once per process. It then registers the SQL
** functions, including the session binder, on the loading connection and,
** through an auto-extension, on every connection opened afterwards. A
** connection whose main database is a tenant session URI
** ("file:<customer>?vfs=tenant") is bound to its customer as it opens.
**
** This file also contains the helpers every part uses for errors and host facts.
*/
#include "tenant_int.h"
#include "vfscodec.h"
SQLITE_EXTENSION_INIT1

#include <stdarg.h>
#include <string.h>

static int tenantVersion = 0;     /* host's sqlite3_libversion_number() */
static int tenantCodec = -1;      /* host links a codec: -1 unknown, 0, 1 */

int tenantHostVersion(void){
  return tenantVersion;
}

int tenantHostHasCodec(void){
  if( tenantCodec<0 ){
    tenantCodec = sqlite3_compileoption_used("HAS_CODEC") ? 1 : 0;
  }
  return tenantCodec;
}

void tenantSetError(char **pzErr, const char *zFormat, ...){
  va_list ap;
  char *zBody;
  if( pzErr==0 ) return;
  va_start(ap, zFormat);
  zBody = sqlite3_vmprintf(zFormat, ap);
  va_end(ap);
  sqlite3_free(*pzErr);
  /* A message passed on from a lower layer already carries the prefix. */
  if( zBody && strncmp(zBody, "tenant: ", 8)==0 ){
    *pzErr = zBody;
    return;
  }
  *pzErr = zBody ? sqlite3_mprintf("tenant: %s", zBody) : 0;
  sqlite3_free(zBody);
}

void tenantResultError(sqlite3_context *pCtx, const char *zFormat, ...){
  va_list ap;
  char *zBody;
  va_start(ap, zFormat);
  zBody = sqlite3_vmprintf(zFormat, ap);
  va_end(ap);
  if( zBody==0 ){
    sqlite3_result_error_nomem(pCtx);
    return;
  }
  if( strncmp(zBody, "tenant: ", 8)==0 ){
    sqlite3_result_error(pCtx, zBody, -1);
  }else{
    char *zMsg = sqlite3_mprintf("tenant: %s", zBody);
    if( zMsg ){
      sqlite3_result_error(pCtx, zMsg, -1);
    }else{
      sqlite3_result_error_nomem(pCtx);
    }
    sqlite3_free(zMsg);
  }
  sqlite3_free(zBody);
}

/*
** Register the per-connection parts on db. Runs for the connection that
** loads the extension and, as an auto-extension, for every later one.
*/
static int tenantConnectionInit(
  sqlite3 *db,
  char **pzErrMsg,
  const sqlite3_api_routines *pApi
){
  int rc;
  (void)pApi;

  /* Loading the extension into a connection that the auto-extension has
  ** already set up changes nothing: SQLite may not replace functions
  ** while a statement runs, as it does under SELECT load_extension(). */
  if( tenantSessionIsRegistered(db) ) return SQLITE_OK;
  rc = tenantProvisionRegister(db);
  if( rc==SQLITE_OK ) rc = tenantQuotaRepairRegister(db);
  if( rc==SQLITE_OK ) rc = tenantCodecRegister(db);
  /* Last: it binds a session URI, which needs every module in place. */
  if( rc==SQLITE_OK ) rc = tenantSessionRegister(db, pzErrMsg);
  if( rc!=SQLITE_OK && pzErrMsg && *pzErrMsg==0 ){
    *pzErrMsg = sqlite3_mprintf("tenant: %s", sqlite3_errmsg(db));
  }
  return rc;
}

#ifdef _WIN32
__declspec(dllexport)
#else
__attribute__((visibility("default")))
#endif
int sqlite3_tenant_init(
  sqlite3 *db,
  char **pzErrMsg,
  const sqlite3_api_routines *pApi
){
  int rc;
  SQLITE_EXTENSION_INIT2(pApi);

  tenantVersion = sqlite3_libversion_number();
  if( tenantVersion<TENANT_MIN_HOST_VERSION ){
    *pzErrMsg = sqlite3_mprintf(
        "tenant: SQLite %s is too old: the extension needs 3.15.2 or newer",
        sqlite3_libversion());
    return SQLITE_ERROR;
  }

  rc = tenantVfsRegister();
  if( rc!=SQLITE_OK ){
    *pzErrMsg = sqlite3_mprintf("tenant: cannot register the tenant VFS");
    return rc;
  }

  /* Later connections get the functions, and sessions are bound, through
  ** the auto-extension; registering the same entry twice is a no-op. */
  rc = sqlite3_auto_extension((void(*)(void))tenantConnectionInit);
  if( rc!=SQLITE_OK ) return rc;

  rc = tenantConnectionInit(db, pzErrMsg, pApi);
  if( rc!=SQLITE_OK ) return rc;

  /* Stay loaded after this connection closes: the VFS and the
  ** auto-extension point into this library. */
  return SQLITE_OK_LOAD_PERMANENTLY;
}
