/*
** An in-memory file for the main database of a session and its journals.
**
** A session's main database stays empty: its schema changes are denied
** and the customer's data lives in attached placement files. Giving it a
** temporary file would cost a create and an unlink on every session open,
** and a stalled file system slows every open down. This file keeps its
** bytes in memory, grows on write, and frees them on close.
**
** LIMITATIONS: no shared memory (so no WAL) and no memory map: io methods
** version 1. Locks always succeed, because no other connection can open it.
*/
#include "tenant_int.h"
SQLITE_EXTENSION_INIT3

#include <string.h>

typedef struct TenantMemFile TenantMemFile;
struct TenantMemFile {
  sqlite3_file base;           /* base class: must be first */
  unsigned char *aData;        /* content, nAlloc bytes allocated */
  sqlite3_int64 nSize;         /* bytes of content */
  sqlite3_int64 nAlloc;
};

static int memClose(sqlite3_file *pFile){
  TenantMemFile *p = (TenantMemFile*)pFile;
  sqlite3_free(p->aData);
  p->aData = 0;
  p->nSize = p->nAlloc = 0;
  return SQLITE_OK;
}

/* Bytes past the end read as zeros, with SQLITE_IOERR_SHORT_READ, as the
** VFS interface requires. */
static int memRead(sqlite3_file *pFile, void *zBuf, int iAmt,
                   sqlite3_int64 iOfst){
  TenantMemFile *p = (TenantMemFile*)pFile;
  sqlite3_int64 nHave = p->nSize - iOfst;
  if( nHave>=iAmt ){
    memcpy(zBuf, p->aData + iOfst, iAmt);
    return SQLITE_OK;
  }
  if( nHave<0 ) nHave = 0;
  if( nHave>0 ) memcpy(zBuf, p->aData + iOfst, (size_t)nHave);
  memset((char*)zBuf + nHave, 0, (size_t)(iAmt - nHave));
  return SQLITE_IOERR_SHORT_READ;
}

static int memWrite(sqlite3_file *pFile, const void *zBuf, int iAmt,
                    sqlite3_int64 iOfst){
  TenantMemFile *p = (TenantMemFile*)pFile;
  sqlite3_int64 nEnd = iOfst + iAmt;
  if( nEnd>p->nAlloc ){
    sqlite3_int64 nNew = p->nAlloc ? p->nAlloc*2 : 8192;
    unsigned char *aNew;
    while( nNew<nEnd ) nNew *= 2;
    aNew = sqlite3_realloc64(p->aData, (sqlite3_uint64)nNew);
    if( aNew==0 ) return SQLITE_IOERR_NOMEM;
    p->aData = aNew;
    p->nAlloc = nNew;
  }
  if( iOfst>p->nSize ) memset(p->aData + p->nSize, 0, (size_t)(iOfst-p->nSize));
  memcpy(p->aData + iOfst, zBuf, iAmt);
  if( nEnd>p->nSize ) p->nSize = nEnd;
  return SQLITE_OK;
}

static int memTruncate(sqlite3_file *pFile, sqlite3_int64 size){
  TenantMemFile *p = (TenantMemFile*)pFile;
  if( size<p->nSize ) p->nSize = size;
  return SQLITE_OK;
}

static int memSync(sqlite3_file *pFile, int flags){
  (void)pFile; (void)flags;
  return SQLITE_OK;
}

static int memFileSize(sqlite3_file *pFile, sqlite3_int64 *pSize){
  *pSize = ((TenantMemFile*)pFile)->nSize;
  return SQLITE_OK;
}

static int memLock(sqlite3_file *pFile, int eLock){
  (void)pFile; (void)eLock;
  return SQLITE_OK;
}

static int memCheckReservedLock(sqlite3_file *pFile, int *pResOut){
  (void)pFile;
  *pResOut = 0;
  return SQLITE_OK;
}

static int memFileControl(sqlite3_file *pFile, int op, void *pArg){
  (void)pFile; (void)op; (void)pArg;
  return SQLITE_NOTFOUND;
}

static int memSectorSize(sqlite3_file *pFile){
  (void)pFile;
  return 512;
}

static int memDeviceCharacteristics(sqlite3_file *pFile){
  (void)pFile;
  return 0;
}

static const sqlite3_io_methods tenantMemMethods = {
  1,                          /* iVersion */
  memClose,                   /* xClose */
  memRead,                    /* xRead */
  memWrite,                   /* xWrite */
  memTruncate,                /* xTruncate */
  memSync,                    /* xSync */
  memFileSize,                /* xFileSize */
  memLock,                    /* xLock */
  memLock,                    /* xUnlock */
  memCheckReservedLock,       /* xCheckReservedLock */
  memFileControl,             /* xFileControl */
  memSectorSize,              /* xSectorSize */
  memDeviceCharacteristics,   /* xDeviceCharacteristics */
  0, 0, 0, 0,                 /* xShmMap, xShmLock, xShmBarrier, xShmUnmap */
  0, 0                        /* xFetch, xUnfetch */
};

int tenantMemFileOpen(sqlite3_file *pFile, int nSpace){
  TenantMemFile *p = (TenantMemFile*)pFile;
  if( nSpace<(int)sizeof(TenantMemFile) ) return SQLITE_CANTOPEN;
  memset(p, 0, sizeof(*p));
  p->base.pMethods = &tenantMemMethods;
  return SQLITE_OK;
}
