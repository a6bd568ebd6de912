/*
** The sqlite3_io_methods of a file opened by the tenant VFS (vfs.c). Reads
** and writes go through the file's codec (vfsio.c). Writes and truncations
** of a dedicated placement are first checked against its storage limit.
** The other methods forward to the underlying VFS's file.
*/
#include "vfsfile.h"
SQLITE_EXTENSION_INIT3

void tenantFileRelease(TenantVfsFile *p){
  tenantCipherFree(p->pCipher);
  tenantStreamFree(p->pStream);
  tenantCodecRelease(p->pCodec);
  sqlite3_free(p->aBuf);
  tenantQuotaDiskClose(p->pQuota);
  p->pQuota = 0;
  p->pCipher = 0;
  p->pStream = 0;
  p->pCodec = 0;
  p->aBuf = 0;
  p->eCodec = TENANT_CODEC_OFF;
}

static int tenantIoClose(sqlite3_file *pFile){
  TenantVfsFile *p = (TenantVfsFile*)pFile;
  int rc = SQLITE_OK;
  if( p->eCodec==TENANT_CODEC_WAL ) rc = tenantWalFlush(p);
  if( p->pReal->pMethods ){
    int rc2 = p->pReal->pMethods->xClose(p->pReal);
    if( rc==SQLITE_OK ) rc = rc2;
  }
  tenantFileRelease(p);
  return rc;
}

static int tenantIoRead(sqlite3_file *pFile, void *zBuf, int iAmt,
                        sqlite3_int64 iOfst){
  TenantVfsFile *p = (TenantVfsFile*)pFile;
  switch( p->eCodec ){
    case TENANT_CODEC_DB:      return tenantDbRead(p, zBuf, iAmt, iOfst);
    case TENANT_CODEC_JOURNAL: return tenantJrnlRead(p, zBuf, iAmt, iOfst);
    case TENANT_CODEC_WAL:     return tenantWalRead(p, zBuf, iAmt, iOfst);
    case TENANT_CODEC_TEMP:    return tenantTempRead(p, zBuf, iAmt, iOfst);
    default:                   return tenantRealRead(p, zBuf, iAmt, iOfst);
  }
}

static int tenantIoWrite(sqlite3_file *pFile, const void *zBuf, int iAmt,
                         sqlite3_int64 iOfst){
  TenantVfsFile *p = (TenantVfsFile*)pFile;
  if( p->pQuota ){
    int rc = tenantQuotaDiskCheckWrite(p->pQuota, p->pReal, zBuf, iAmt, iOfst);
    if( rc!=SQLITE_OK ) return rc;
  }
  switch( p->eCodec ){
    case TENANT_CODEC_DB:      return tenantDbWrite(p, zBuf, iAmt, iOfst);
    case TENANT_CODEC_JOURNAL: return tenantJrnlWrite(p, zBuf, iAmt, iOfst);
    case TENANT_CODEC_WAL:     return tenantWalWrite(p, zBuf, iAmt, iOfst);
    case TENANT_CODEC_TEMP:    return tenantTempWrite(p, zBuf, iAmt, iOfst);
    default:                   return tenantRealWrite(p, zBuf, iAmt, iOfst);
  }
}

static int tenantIoTruncate(sqlite3_file *pFile, sqlite3_int64 size){
  TenantVfsFile *p = (TenantVfsFile*)pFile;
  p->nKnownSize = -1;
  if( p->pQuota ){
    int rc = tenantQuotaDiskCheckWrite(p->pQuota, p->pReal, 0, 0, size);
    if( rc!=SQLITE_OK ) return rc;
  }
  if( p->eCodec==TENANT_CODEC_WAL ){
    int rc = tenantWalFlush(p);
    if( rc!=SQLITE_OK ) return rc;
    p->iChainFrame = 0;
  }
  if( p->eCodec==TENANT_CODEC_JOURNAL ){
    p->iJrnlLast4 = -1;
    p->iJrnlCksum = -1;
  }
  if( p->eCodec==TENANT_CODEC_DB ){
    /* Growing an encrypted database writes encrypted pages, never zeros. */
    int rc = tenantDbExtend(p, size);
    if( rc!=SQLITE_OK ) return rc;
  }
  /* tenantDbExtend() remembered the size before a shrink. */
  p->nKnownSize = -1;
  return p->pReal->pMethods->xTruncate(p->pReal, size);
}

static int tenantIoSync(sqlite3_file *pFile, int flags){
  TenantVfsFile *p = (TenantVfsFile*)pFile;
  if( p->eCodec==TENANT_CODEC_WAL ){
    int rc = tenantWalFlush(p);
    if( rc!=SQLITE_OK ) return rc;
  }
  return p->pReal->pMethods->xSync(p->pReal, flags);
}

static int tenantIoFileSize(sqlite3_file *pFile, sqlite3_int64 *pSize){
  TenantVfsFile *p = (TenantVfsFile*)pFile;
  if( p->eCodec==TENANT_CODEC_WAL ){
    int rc = tenantWalFlush(p);
    if( rc!=SQLITE_OK ) return rc;
  }
  return p->pReal->pMethods->xFileSize(p->pReal, pSize);
}

static int tenantIoLock(sqlite3_file *pFile, int eLock){
  TenantVfsFile *p = (TenantVfsFile*)pFile;
  p->nKnownSize = -1;
  return p->pReal->pMethods->xLock(p->pReal, eLock);
}

static int tenantIoUnlock(sqlite3_file *pFile, int eLock){
  TenantVfsFile *p = (TenantVfsFile*)pFile;
  p->nKnownSize = -1;
  return p->pReal->pMethods->xUnlock(p->pReal, eLock);
}

static int tenantIoCheckReservedLock(sqlite3_file *pFile, int *pResOut){
  TenantVfsFile *p = (TenantVfsFile*)pFile;
  return p->pReal->pMethods->xCheckReservedLock(p->pReal, pResOut);
}

static int tenantIoFileControl(sqlite3_file *pFile, int op, void *pArg){
  TenantVfsFile *p = (TenantVfsFile*)pFile;
  int rc = p->pReal->pMethods->xFileControl(p->pReal, op, pArg);
  if( op==SQLITE_FCNTL_VFSNAME && rc==SQLITE_OK ){
    /* Name this layer above whatever the real VFS reported. */
    char *zOld = *(char**)pArg;
    *(char**)pArg = zOld ? sqlite3_mprintf("tenant/%z", zOld)
                         : sqlite3_mprintf("tenant");
  }else if( op==SQLITE_FCNTL_VFSNAME && rc==SQLITE_NOTFOUND ){
    *(char**)pArg = sqlite3_mprintf("tenant");
    rc = SQLITE_OK;
  }
  return rc;
}

static int tenantIoSectorSize(sqlite3_file *pFile){
  TenantVfsFile *p = (TenantVfsFile*)pFile;
  return p->pReal->pMethods->xSectorSize(p->pReal);
}

static int tenantIoDeviceCharacteristics(sqlite3_file *pFile){
  TenantVfsFile *p = (TenantVfsFile*)pFile;
  return p->pReal->pMethods->xDeviceCharacteristics(p->pReal);
}

/* SQLite maps the wal-index of a database file only in WAL mode, and
** unmaps it when it leaves WAL mode. */
static int tenantIoShmMap(sqlite3_file *pFile, int iPg, int pgsz, int bExtend,
                          void volatile **pp){
  TenantVfsFile *p = (TenantVfsFile*)pFile;
  tenantQuotaDiskWalMode(p->pQuota, 1);
  return p->pReal->pMethods->xShmMap(p->pReal, iPg, pgsz, bExtend, pp);
}

static int tenantIoShmLock(sqlite3_file *pFile, int offset, int n, int flags){
  TenantVfsFile *p = (TenantVfsFile*)pFile;
  p->nKnownSize = -1;
  return p->pReal->pMethods->xShmLock(p->pReal, offset, n, flags);
}

static void tenantIoShmBarrier(sqlite3_file *pFile){
  TenantVfsFile *p = (TenantVfsFile*)pFile;
  p->pReal->pMethods->xShmBarrier(p->pReal);
}

static int tenantIoShmUnmap(sqlite3_file *pFile, int deleteFlag){
  TenantVfsFile *p = (TenantVfsFile*)pFile;
  tenantQuotaDiskWalMode(p->pQuota, 0);
  return p->pReal->pMethods->xShmUnmap(p->pReal, deleteFlag);
}

static int tenantIoFetch(sqlite3_file *pFile, sqlite3_int64 iOfst, int iAmt,
                         void **pp){
  TenantVfsFile *p = (TenantVfsFile*)pFile;
  return p->pReal->pMethods->xFetch(p->pReal, iOfst, iAmt, pp);
}

static int tenantIoUnfetch(sqlite3_file *pFile, sqlite3_int64 iOfst, void *pPage){
  TenantVfsFile *p = (TenantVfsFile*)pFile;
  return p->pReal->pMethods->xUnfetch(p->pReal, iOfst, pPage);
}

/*
** One method table per io-methods version, chosen by the version of the
** real file's methods, so SQLite never calls a slot the real file lacks.
*/
#define TENANT_IO_METHODS(VERSION, SHM_MAP, SHM_LOCK, SHM_BARRIER, SHM_UNMAP, \
                          FETCH, UNFETCH) {                                   \
  VERSION,                          /* iVersion */                            \
  tenantIoClose,                    /* xClose */                              \
  tenantIoRead,                     /* xRead */                               \
  tenantIoWrite,                    /* xWrite */                              \
  tenantIoTruncate,                 /* xTruncate */                           \
  tenantIoSync,                     /* xSync */                               \
  tenantIoFileSize,                 /* xFileSize */                           \
  tenantIoLock,                     /* xLock */                               \
  tenantIoUnlock,                   /* xUnlock */                             \
  tenantIoCheckReservedLock,        /* xCheckReservedLock */                  \
  tenantIoFileControl,              /* xFileControl */                        \
  tenantIoSectorSize,               /* xSectorSize */                         \
  tenantIoDeviceCharacteristics,    /* xDeviceCharacteristics */              \
  SHM_MAP, SHM_LOCK, SHM_BARRIER, SHM_UNMAP,  /* xShm* (version 2) */         \
  FETCH, UNFETCH                    /* xFetch, xUnfetch (version 3) */        \
}

const sqlite3_io_methods tenantIoMethods[3] = {
  TENANT_IO_METHODS(1, 0, 0, 0, 0, 0, 0),
  TENANT_IO_METHODS(2, tenantIoShmMap, tenantIoShmLock, tenantIoShmBarrier,
                    tenantIoShmUnmap, 0, 0),
  TENANT_IO_METHODS(3, tenantIoShmMap, tenantIoShmLock, tenantIoShmBarrier,
                    tenantIoShmUnmap, tenantIoFetch, tenantIoUnfetch),
};

int tenantIsOurFile(sqlite3_file *pFile){
  return pFile && pFile->pMethods>=&tenantIoMethods[0]
               && pFile->pMethods<=&tenantIoMethods[2];
}
