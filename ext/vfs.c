/*
** The "tenant" VFS: a shim over the platform's default VFS that maps the
** logical names of a tenant store to physical files. The io methods of
** the files it opens are in vfsfile.c.
**
** Names it accepts, as given to sqlite3_open_v2() or ATTACH with vfs=tenant:
**
**   "<customer>"              a session: the main database of a connection
**                             bound to that customer. It holds nothing of the
**                             customer's; SQLite gets an anonymous temporary
**                             file, deleted on close.
**   "<customer>/<partition>"  the physical file that holds one partition of
**                             the customer, found in the catalog.
**
** xFullPathname does the mapping, so the pager derives the rollback journal
** and WAL names from the physical path and every later open, lock and
** delete goes to the real files. A session's name becomes
** "tenant-session:<customer>". Its own journals are anonymous too, except a
** super-journal (the record of a commit spanning several attached files):
** crash recovery must find it, so it is a real file under
** "<root>/.sessions/".
**
** The VFS is registered once per process and never made the default, so
** files opened through other VFSes behave as before.
**
** Encryption: a placement file opened with the URI parameter codec=vfs is
** encrypted by the VFS itself in SQLCipher's format (see vfscodec.c, and
** vfsio.c for the read and write paths), for hosts that link no codec. Its rollback journal and WAL inherit the codec
** and carry encrypted page images with the checksums SQLCipher writes, so a
** hot journal or WAL left by either host is recovered by the other.
** Temporary files opened through the VFS (statement journals, temp
** databases) are encrypted with a throw-away key. On a SQLCipher host the
** VFS stores placement files as they come: SQLCipher's codec encrypts them.
**
** LIMITATIONS: one root folder per process (see catalog.c). A WAL file may
** not be written by a VFS-codec host and a SQLCipher host at the same
** time, because each keeps its own checksums in the shared-memory index.
** An encrypted file does not use memory-mapped I/O.
*/
#include "tenant_int.h"
#include "vfscodec.h"
#include "vfsfile.h"
SQLITE_EXTENSION_INIT3

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#define TENANT_SESSION_PREFIX "tenant-session:"
#define TENANT_SESSION_PREFIX_LEN 15
#define TENANT_SESSION_DIR ".sessions"

static sqlite3_vfs tenantVfs;        /* this VFS; pAppData is the real one */
#define REAL_VFS ((sqlite3_vfs*)tenantVfs.pAppData)

/* ---- name mapping ----------------------------------------------------- */

static int tenantIsSessionName(const char *zName){
  return zName && strncmp(zName, TENANT_SESSION_PREFIX,
                          TENANT_SESSION_PREFIX_LEN)==0;
}

/*
** Write into zOut the real path behind a session's super-journal name
** "tenant-session:<rest>": "<root>/.sessions/<rest>". Creates the folder.
** Returns SQLITE_CANTOPEN when the catalog (and so the root) is not open.
*/
static int tenantSessionRealPath(const char *zName, char *zOut, int nOut){
  const char *zRoot = tenantCatalogRoot();
  const char *zRest = zName + TENANT_SESSION_PREFIX_LEN;
  char *zDir;
  int n;

  if( zRoot==0 ) return SQLITE_CANTOPEN;
  zDir = sqlite3_mprintf("%s/" TENANT_SESSION_DIR, zRoot);
  if( zDir==0 ) return SQLITE_NOMEM;
  if( mkdir(zDir, 0700)!=0 && errno!=EEXIST ){
    sqlite3_log(SQLITE_CANTOPEN, "tenant VFS: cannot create folder %s: %s",
                zDir, strerror(errno));
    sqlite3_free(zDir);
    return SQLITE_CANTOPEN;
  }
  n = (int)strlen(zDir) + 1 + (int)strlen(zRest);
  if( n>=nOut ){
    sqlite3_free(zDir);
    return SQLITE_CANTOPEN;
  }
  sqlite3_snprintf(nOut, zOut, "%s/%s", zDir, zRest);
  sqlite3_free(zDir);
  return SQLITE_OK;
}

/* ---- codec set-up at open --------------------------------------------- */

/*
** Set up the codec of a database file opened with codec=vfs. The URI
** parameter cipher_compatibility chooses the format: 3 (the default) or 4.
*/
static int tenantOpenCodecDb(TenantVfsFile *p, const char *zName,
                             const char *zCodec){
  const char *zCompat = sqlite3_uri_parameter(zName, "cipher_compatibility");
  int eFormat = TENANT_CODEC_SQLCIPHER3;
  int rc;

  if( strcmp(zCodec, "vfs")!=0 ){
    sqlite3_log(SQLITE_CANTOPEN, "tenant VFS: unknown codec \"%s\": use "
        "codec=vfs; cannot open %s", zCodec, zName);
    return SQLITE_CANTOPEN;
  }
  if( zCompat && strcmp(zCompat, "4")==0 ){
    eFormat = TENANT_CODEC_SQLCIPHER4;
  }else if( zCompat && strcmp(zCompat, "3")!=0 ){
    sqlite3_log(SQLITE_CANTOPEN, "tenant VFS: invalid "
        "cipher_compatibility \"%s\": use 3 or 4; cannot open %s", zCompat,
        zName);
    return SQLITE_CANTOPEN;
  }
  if( tenantHostHasCodec() ){
    sqlite3_log(SQLITE_CANTOPEN, "tenant VFS: attach with KEY instead of "
        "codec=vfs: this host links SQLCipher, whose codec encrypts "
        "placement files; cannot open %s", zName);
    return SQLITE_CANTOPEN;
  }
  if( !tenantCodecAvailable() ){
    sqlite3_log(SQLITE_CANTOPEN, "tenant VFS: codec=vfs needs SQLite 3.34 "
        "or newer, this host has %s; cannot open %s", sqlite3_libversion(),
        zName);
    return SQLITE_CANTOPEN;
  }
  rc = tenantCodecAcquire(zName, eFormat, p->pReal, &p->pCodec);
  if( rc!=SQLITE_OK ) return rc;
  p->eCodec = TENANT_CODEC_DB;
  return SQLITE_OK;
}

/* A journal or WAL inherits the codec of its database, found by name. */
static void tenantOpenCodecChild(TenantVfsFile *p, const char *zName,
                                 int flags){
  const char *zSuffix = (flags & SQLITE_OPEN_WAL) ? "-wal" : "-journal";
  int nName = (int)strlen(zName);
  int nSuffix = (int)strlen(zSuffix);

  if( nName<=nSuffix || strcmp(zName+nName-nSuffix, zSuffix)!=0 ) return;
  p->pCodec = tenantCodecFind(zName, nName-nSuffix);
  if( p->pCodec ){
    p->eCodec = (flags & SQLITE_OPEN_WAL) ? TENANT_CODEC_WAL
                                          : TENANT_CODEC_JOURNAL;
  }
}

/* Allocate what the codec of an opened file needs. */
static int tenantOpenCodecState(TenantVfsFile *p){
  int rc;
  if( p->eCodec==TENANT_CODEC_TEMP ){
    rc = tenantStreamNew(&p->pStream);
    if( rc!=SQLITE_OK ){
      sqlite3_log(rc, "tenant VFS: cannot set up the cipher of a "
                  "temporary file");
      return SQLITE_CANTOPEN;
    }
    return SQLITE_OK;
  }
  p->nPage = tenantCodecPageSize(p->pCodec);
  p->aBuf = sqlite3_malloc64(WAL_FRAME_HEADER_BYTES + p->nPage);
  if( p->aBuf==0 ) return SQLITE_NOMEM;
  rc = tenantCipherNew(p->pCodec, &p->pCipher);
  if( rc!=SQLITE_OK ) return SQLITE_CANTOPEN;
  p->iJrnlLast4 = -1;
  p->iJrnlCksum = -1;
  p->iJrnlHeader = -1;
  return SQLITE_OK;
}

/* ---- VFS methods ------------------------------------------------------ */

static int tenantVfsTokenIsActive(const char *zToken, int nToken);

static int tenantVfsOpen(sqlite3_vfs *pVfs, const char *zName,
                         sqlite3_file *pFile, int flags, int *pOutFlags){
  TenantVfsFile *p = (TenantVfsFile*)pFile;
  const char *zRealName = zName;
  const char *zCodec = 0;
  char zSuper[TENANT_MAX_PATH];
  int rc;

  memset(p, 0, sizeof(*p));
  p->nKnownSize = -1;
  p->pReal = (sqlite3_file*)&p[1];
  p->eKind = TENANT_FILE_PHYSICAL;
  p->zName = zName;

  if( tenantIsSessionName(zName) ){
    if( flags & SQLITE_OPEN_MAIN_DB ){
      /* A session's main database: remember the customer and open the
      ** catalog at the root the URI names, so that the binder can report
      ** a bad root with a clear message. */
      const char *zRoot = sqlite3_uri_parameter(zName, "root");
      char *zIgnored = 0;
      p->eKind = TENANT_FILE_SESSION;
      sqlite3_snprintf(sizeof(p->zCustomer), p->zCustomer, "%s",
                       zName + TENANT_SESSION_PREFIX_LEN);
      tenantCatalogOpenExisting(zRoot, &zIgnored);
      sqlite3_free(zIgnored);
    }
    if( flags & SQLITE_OPEN_MASTER_JOURNAL ){
      rc = tenantSessionRealPath(zName, zSuper, sizeof(zSuper));
      if( rc!=SQLITE_OK ) return rc;
      zRealName = zSuper;
    }else if( tenantMemFileOpen(p->pReal, REAL_VFS->szOsFile)==SQLITE_OK ){
      /* The main database and its journals hold nothing of the customer's:
      ** memory, with no codec, and no file to create and unlink. */
      if( pOutFlags ) *pOutFlags = flags;
      pFile->pMethods = &tenantIoMethods[0];
      (void)pVfs;
      return SQLITE_OK;
    }else{
      /* Anonymous: the underlying VFS makes a temporary file that is
      ** deleted on close. It names one only for temporary kinds of file,
      ** so the main database and its journals are opened as such. */
      zRealName = 0;
      flags &= ~(SQLITE_OPEN_MAIN_DB|SQLITE_OPEN_MAIN_JOURNAL|SQLITE_OPEN_WAL);
      flags |= SQLITE_OPEN_TEMP_DB|SQLITE_OPEN_DELETEONCLOSE;
    }
  }else if( zName && (flags & SQLITE_OPEN_MAIN_DB) ){
    zCodec = sqlite3_uri_parameter(zName, "codec");
  }

  rc = REAL_VFS->xOpen(REAL_VFS, zRealName, p->pReal, flags, pOutFlags);
  if( rc!=SQLITE_OK || p->pReal->pMethods==0 ){
    pFile->pMethods = 0;
    return rc;
  }

  /* Choose the codec: the database's by request, its journals' by
  ** inheritance, and a throw-away one for every temporary file. */
  if( zCodec ){
    rc = tenantOpenCodecDb(p, zName, zCodec);
  }else if( zRealName && (flags & (SQLITE_OPEN_MAIN_JOURNAL|SQLITE_OPEN_WAL)) ){
    tenantOpenCodecChild(p, zRealName, flags);
  }else if( zRealName==0
         || (flags & (SQLITE_OPEN_TEMP_DB|SQLITE_OPEN_TEMP_JOURNAL
                      |SQLITE_OPEN_SUBJOURNAL|SQLITE_OPEN_TRANSIENT_DB)) ){
    p->eCodec = TENANT_CODEC_TEMP;
  }
  if( rc==SQLITE_OK && p->eCodec!=TENANT_CODEC_OFF ){
    rc = tenantOpenCodecState(p);
  }
  if( rc==SQLITE_OK && zRealName && p->eKind==TENANT_FILE_PHYSICAL
   && (flags & (SQLITE_OPEN_MAIN_DB|SQLITE_OPEN_WAL)) ){
    /* Only the binder's ATTACH carries a token; the catalog mutex is free
    ** then, so the quota code may read the catalog. */
    const char *zToken = sqlite3_uri_parameter(zName, "bind");
    int bBinding = zToken
        && tenantVfsTokenIsActive(zToken, (int)strlen(zToken));
    rc = tenantQuotaDiskOpen(zRealName, bBinding, &p->pQuota);
  }
  if( rc!=SQLITE_OK ){
    p->pReal->pMethods->xClose(p->pReal);
    tenantFileRelease(p);
    pFile->pMethods = 0;
    return rc;
  }

  {
    /* Encrypted files never offer xFetch: a memory map would show SQLite
    ** the ciphertext. */
    int iVersion = p->pReal->pMethods->iVersion;
    int iMax = p->eCodec==TENANT_CODEC_OFF ? 3 : 2;
    if( iVersion<1 ) iVersion = 1;
    if( iVersion>iMax ) iVersion = iMax;
    pFile->pMethods = &tenantIoMethods[iVersion-1];
  }
  (void)pVfs;
  return SQLITE_OK;
}

static int tenantVfsDelete(sqlite3_vfs *pVfs, const char *zName, int syncDir){
  char zReal[TENANT_MAX_PATH];
  (void)pVfs;
  if( tenantIsSessionName(zName) ){
    /* Only a super-journal ("<main>-mjXXXXXX9XX") of a session is a real
    ** file. Its main database and journals live in memory. */
    size_t n = strlen(zName);
    if( n<12 || strncmp(&zName[n-12], "-mj", 3)!=0 ) return SQLITE_OK;
    if( tenantSessionRealPath(zName, zReal, sizeof(zReal))!=SQLITE_OK ){
      return SQLITE_OK;   /* nothing was ever written under that name */
    }
    zName = zReal;
  }
  return REAL_VFS->xDelete(REAL_VFS, zName, syncDir);
}

static int tenantVfsAccess(sqlite3_vfs *pVfs, const char *zName, int flags,
                           int *pResOut){
  char zReal[TENANT_MAX_PATH];
  (void)pVfs;
  if( tenantIsSessionName(zName) ){
    if( tenantSessionRealPath(zName, zReal, sizeof(zReal))!=SQLITE_OK ){
      *pResOut = 0;
      return SQLITE_OK;
    }
    zName = zReal;
  }
  return REAL_VFS->xAccess(REAL_VFS, zName, flags, pResOut);
}

/*
** Tokens of the bindings in progress. A binder names a partition
** "<customer>/<partition>@<token>" with a fresh random token, so no one else
** can open a logical name: a thread-local flag would do, but LeakSanitizer
** cannot scan the thread-local storage of a library loaded with dlopen().
** Each token has the physical path of the file it attaches, which the
** binder owns. Guarded by SQLITE_MUTEX_STATIC_APP2, the session list's
** mutex.
*/
#define TENANT_VFS_MAX_BINDINGS 1024  /* bindings in progress at once */
static char tenantVfsToken[TENANT_VFS_MAX_BINDINGS][TENANT_VFS_TOKEN_LEN+1];
static const char *tenantVfsTokenPath[TENANT_VFS_MAX_BINDINGS];

int tenantVfsBindingBegin(char *zToken, const char *zPath){
  static const char aHex[] = "0123456789abcdef";
  unsigned char aRand[TENANT_VFS_TOKEN_LEN/2];
  sqlite3_mutex *pMutex = sqlite3_mutex_alloc(SQLITE_MUTEX_STATIC_APP2);
  int i, j;

  sqlite3_randomness(sizeof(aRand), aRand);
  for(j=0; j<(int)sizeof(aRand); j++){
    zToken[2*j] = aHex[aRand[j]>>4];
    zToken[2*j+1] = aHex[aRand[j]&0xf];
  }
  zToken[2*j] = 0;
  sqlite3_mutex_enter(pMutex);
  for(i=0; i<TENANT_VFS_MAX_BINDINGS && tenantVfsToken[i][0]; i++){}
  if( i<TENANT_VFS_MAX_BINDINGS ){
    memcpy(tenantVfsToken[i], zToken, TENANT_VFS_TOKEN_LEN+1);
    tenantVfsTokenPath[i] = zPath;
  }
  sqlite3_mutex_leave(pMutex);
  return i<TENANT_VFS_MAX_BINDINGS ? SQLITE_OK : SQLITE_BUSY;
}

void tenantVfsBindingEnd(const char *zToken){
  sqlite3_mutex *pMutex = sqlite3_mutex_alloc(SQLITE_MUTEX_STATIC_APP2);
  int i;
  sqlite3_mutex_enter(pMutex);
  for(i=0; i<TENANT_VFS_MAX_BINDINGS; i++){
    if( strcmp(tenantVfsToken[i], zToken)==0 ){
      tenantVfsToken[i][0] = 0;
      tenantVfsTokenPath[i] = 0;
      break;    /* a token is random and unique among the active ones */
    }
  }
  sqlite3_mutex_leave(pMutex);
}

/* Copy the physical path of active token zToken to zOut. Returns
** SQLITE_NOTFOUND when the token is not active or has no path, and
** SQLITE_CANTOPEN when the path does not fit in nOut bytes. */
static int tenantVfsTokenResolve(const char *zToken, char *zOut, int nOut){
  sqlite3_mutex *pMutex = sqlite3_mutex_alloc(SQLITE_MUTEX_STATIC_APP2);
  int i, rc = SQLITE_NOTFOUND;
  if( strlen(zToken)!=TENANT_VFS_TOKEN_LEN ) return SQLITE_NOTFOUND;
  sqlite3_mutex_enter(pMutex);
  for(i=0; i<TENANT_VFS_MAX_BINDINGS; i++){
    if( tenantVfsToken[i][0]
     && memcmp(tenantVfsToken[i], zToken, TENANT_VFS_TOKEN_LEN)==0 ){
      if( tenantVfsTokenPath[i] ){
        rc = (int)strlen(tenantVfsTokenPath[i])<nOut ? SQLITE_OK
                                                     : SQLITE_CANTOPEN;
        if( rc==SQLITE_OK ){
          memcpy(zOut, tenantVfsTokenPath[i],
                 strlen(tenantVfsTokenPath[i])+1);
        }
      }
      break;
    }
  }
  sqlite3_mutex_leave(pMutex);
  return rc;
}

static int tenantVfsTokenIsActive(const char *zToken, int nToken){
  sqlite3_mutex *pMutex = sqlite3_mutex_alloc(SQLITE_MUTEX_STATIC_APP2);
  int i, bActive = 0;
  if( nToken!=TENANT_VFS_TOKEN_LEN ) return 0;
  sqlite3_mutex_enter(pMutex);
  for(i=0; i<TENANT_VFS_MAX_BINDINGS && !bActive; i++){
    bActive = tenantVfsToken[i][0]
           && memcmp(tenantVfsToken[i], zToken, TENANT_VFS_TOKEN_LEN)==0;
  }
  sqlite3_mutex_leave(pMutex);
  return bActive;
}

/*
** Map a logical name to the name SQLite works with from then on. A name
** that is already a session name or an absolute physical path (as in a
** child journal's record of its super-journal) is kept.
*/
static int tenantVfsFullPathname(sqlite3_vfs *pVfs, const char *zName,
                                 int nOut, char *zOut){
  char zLogical[TENANT_MAX_ID*3];
  const char *zSlash, *zAt;
  char *zErr = 0;
  int rc;
  (void)pVfs;

  if( tenantIsSessionName(zName) || zName[0]=='/' ){
    if( (int)strlen(zName)>=nOut ) return SQLITE_CANTOPEN;
    memcpy(zOut, zName, strlen(zName)+1);
    return SQLITE_OK;
  }

  zSlash = strchr(zName, '/');
  if( zSlash==0 ){
    /* Any other id is accepted here so that the binder, not SQLite's
    ** "unable to open database file", says what is wrong with it. */
    if( (int)strlen(zName)>TENANT_VFS_MAX_SESSION_NAME ){
      sqlite3_log(SQLITE_CANTOPEN, "tenant VFS: customer id \"%.80s...\" is "
                  "longer than %d bytes", zName, TENANT_MAX_ID);
      return SQLITE_CANTOPEN;
    }
    sqlite3_snprintf(nOut, zOut, TENANT_SESSION_PREFIX "%s", zName);
    return SQLITE_OK;
  }

  /* A shared file opened by its logical name outside a binding would be
  ** unfiltered: only the binder's ATTACH, with its token, may use these
  ** names. */
  zAt = strchr(zName, '@');
  if( zAt==0 || !tenantVfsTokenIsActive(zAt+1, (int)strlen(zAt+1)) ){
    sqlite3_log(SQLITE_CANTOPEN, "tenant VFS: partitions are attached only "
                "by binding a session: open \"file:<customer>?vfs=tenant\" "
                "instead of \"%.*s\"", zAt ? (int)(zAt-zName) : 200, zName);
    return SQLITE_CANTOPEN;
  }
  if( zAt-zName>=(int)sizeof(zLogical) ) return SQLITE_CANTOPEN;
  memcpy(zLogical, zName, zAt-zName);
  zLogical[zAt-zName] = 0;

  /* The binder's plan has the path already: loading the plan again from
  ** the catalog for each file would double the catalog work of a binding. */
  rc = tenantVfsTokenResolve(zAt+1, zOut, nOut);
  if( rc==SQLITE_CANTOPEN ){
    sqlite3_log(SQLITE_CANTOPEN, "tenant VFS: the path of \"%s\" is longer "
                "than %d bytes: choose a shorter root folder", zLogical,
                nOut-1);
  }
  if( rc!=SQLITE_NOTFOUND ) return rc;

  rc = tenantCatalogOpenExisting(0, &zErr);
  if( rc==SQLITE_OK ) rc = tenantPlanResolve(zLogical, zOut, nOut, &zErr);
  if( rc!=SQLITE_OK ){
    sqlite3_log(SQLITE_CANTOPEN, "tenant VFS: cannot resolve \"%s\": %s",
                zName, zErr ? zErr : "unknown error");
    sqlite3_free(zErr);
    return SQLITE_CANTOPEN;
  }
  return SQLITE_OK;
}

static void *tenantVfsDlOpen(sqlite3_vfs *pVfs, const char *zPath){
  (void)pVfs;
  return REAL_VFS->xDlOpen(REAL_VFS, zPath);
}

static void tenantVfsDlError(sqlite3_vfs *pVfs, int nByte, char *zErrMsg){
  (void)pVfs;
  REAL_VFS->xDlError(REAL_VFS, nByte, zErrMsg);
}

static void (*tenantVfsDlSym(sqlite3_vfs *pVfs, void *p, const char *zSym))(void){
  (void)pVfs;
  return REAL_VFS->xDlSym(REAL_VFS, p, zSym);
}

static void tenantVfsDlClose(sqlite3_vfs *pVfs, void *pHandle){
  (void)pVfs;
  REAL_VFS->xDlClose(REAL_VFS, pHandle);
}

static int tenantVfsRandomness(sqlite3_vfs *pVfs, int nByte, char *zBufOut){
  (void)pVfs;
  return REAL_VFS->xRandomness(REAL_VFS, nByte, zBufOut);
}

static int tenantVfsSleep(sqlite3_vfs *pVfs, int nMicro){
  (void)pVfs;
  return REAL_VFS->xSleep(REAL_VFS, nMicro);
}

static int tenantVfsCurrentTime(sqlite3_vfs *pVfs, double *pTime){
  (void)pVfs;
  return REAL_VFS->xCurrentTime(REAL_VFS, pTime);
}

static int tenantVfsGetLastError(sqlite3_vfs *pVfs, int n, char *zOut){
  (void)pVfs;
  return REAL_VFS->xGetLastError ? REAL_VFS->xGetLastError(REAL_VFS, n, zOut) : 0;
}

static int tenantVfsCurrentTimeInt64(sqlite3_vfs *pVfs, sqlite3_int64 *pTime){
  (void)pVfs;
  return REAL_VFS->xCurrentTimeInt64(REAL_VFS, pTime);
}

static int tenantVfsSetSystemCall(sqlite3_vfs *pVfs, const char *zName,
                                  sqlite3_syscall_ptr pNew){
  (void)pVfs;
  return REAL_VFS->xSetSystemCall(REAL_VFS, zName, pNew);
}

static sqlite3_syscall_ptr tenantVfsGetSystemCall(sqlite3_vfs *pVfs,
                                                  const char *zName){
  (void)pVfs;
  return REAL_VFS->xGetSystemCall(REAL_VFS, zName);
}

static const char *tenantVfsNextSystemCall(sqlite3_vfs *pVfs, const char *zName){
  (void)pVfs;
  return REAL_VFS->xNextSystemCall(REAL_VFS, zName);
}

static sqlite3_vfs tenantVfs = {
  1,                            /* iVersion: raised to the real one's */
  0,                            /* szOsFile: set at registration */
  0,                            /* mxPathname: copied from the real VFS */
  0,                            /* pNext */
  TENANT_VFS_NAME,              /* zName */
  0,                            /* pAppData: the real VFS */
  tenantVfsOpen,                /* xOpen */
  tenantVfsDelete,              /* xDelete */
  tenantVfsAccess,              /* xAccess */
  tenantVfsFullPathname,        /* xFullPathname */
  tenantVfsDlOpen,              /* xDlOpen */
  tenantVfsDlError,             /* xDlError */
  tenantVfsDlSym,               /* xDlSym */
  tenantVfsDlClose,             /* xDlClose */
  tenantVfsRandomness,          /* xRandomness */
  tenantVfsSleep,               /* xSleep */
  tenantVfsCurrentTime,         /* xCurrentTime */
  tenantVfsGetLastError,        /* xGetLastError */
  tenantVfsCurrentTimeInt64,    /* xCurrentTimeInt64 (version 2) */
  tenantVfsSetSystemCall,       /* xSetSystemCall (version 3) */
  tenantVfsGetSystemCall,       /* xGetSystemCall */
  tenantVfsNextSystemCall       /* xNextSystemCall */
};

int tenantVfsIsSession(sqlite3 *db, const char **pzCustomer){
  sqlite3_file *pFile = 0;
  TenantVfsFile *p;
  if( sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &pFile)
      !=SQLITE_OK ){
    return 0;
  }
  if( !tenantIsOurFile(pFile) ) return 0;
  p = (TenantVfsFile*)pFile;
  if( p->eKind!=TENANT_FILE_SESSION ) return 0;
  if( pzCustomer ) *pzCustomer = p->zCustomer;
  return 1;
}

int tenantVfsIsPlacement(sqlite3_file *pFile){
  return tenantIsOurFile(pFile)
      && ((TenantVfsFile*)pFile)->eKind==TENANT_FILE_PHYSICAL;
}

TenantCodec *tenantVfsCodecOf(sqlite3_file *pFile){
  if( !tenantIsOurFile(pFile) ) return 0;
  if( ((TenantVfsFile*)pFile)->eCodec!=TENANT_CODEC_DB ) return 0;
  return ((TenantVfsFile*)pFile)->pCodec;
}

const char *tenantVfsCodecName(sqlite3_file *pFile){
  return tenantVfsCodecOf(pFile) ? "vfs" : 0;
}

char *tenantVfsCodecUri(const char *zPath){
  static const char aHex[] = "0123456789ABCDEF";
  size_t n = strlen(zPath);
  char *zOut = sqlite3_malloc64(n*3 + 40);
  char *z = zOut;
  size_t i;
  if( zOut==0 ) return 0;
  memcpy(z, "file:", 5);
  z += 5;
  for(i=0; i<n; i++){
    unsigned char c = (unsigned char)zPath[i];
    /* '%', '?' and '#' end or change a URI path; escape them and any
    ** byte outside printable ASCII. */
    if( c=='%' || c=='?' || c=='#' || c<=' ' || c>=0x7f ){
      *z++ = '%';
      *z++ = aHex[c>>4];
      *z++ = aHex[c&0x0f];
    }else{
      *z++ = (char)c;
    }
  }
  memcpy(z, "?vfs=" TENANT_VFS_NAME "&codec=vfs",
         sizeof("?vfs=" TENANT_VFS_NAME "&codec=vfs"));
  return zOut;
}

int tenantVfsRegister(void){
  sqlite3_vfs *pReal;
  if( sqlite3_vfs_find(TENANT_VFS_NAME)==&tenantVfs ) return SQLITE_OK;
  pReal = sqlite3_vfs_find(0);
  if( pReal==0 ) return SQLITE_ERROR;

  /* Offer no method the real VFS lacks: copy its version, up to ours. */
  tenantVfs.iVersion = pReal->iVersion<3 ? pReal->iVersion : 3;
  tenantVfs.szOsFile = (int)sizeof(TenantVfsFile) + pReal->szOsFile;
  tenantVfs.mxPathname = pReal->mxPathname;
  tenantVfs.pAppData = pReal;
  return sqlite3_vfs_register(&tenantVfs, 0);
}
