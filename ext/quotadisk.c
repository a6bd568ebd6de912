/*
** Storage limits of dedicated placements, checked by the tenant VFS.
**
** A Sapphire customer's data is its placement's files, so its storage is
** their size: owner.db and private.db with their WAL and rollback
** journals (see tenantQuotaMeasure() in quota.c). The VFS calls
** tenantQuotaDiskCheckWrite() before each write of a database or WAL file
** of a dedicated placement whose tier has a limit, and the write fails
** with SQLITE_FULL when it would grow the databases past the limit. A VFS
** cannot set the error message, so the customer, the limit and the usage
** go to sqlite3_log().
**
** LIMITATIONS: the limit is read when a session binds and kept per
** placement folder, so a change by tenant_policy_set() reaches the
** connections that bind after it.
*/
#include "tenant_int.h"
SQLITE_EXTENSION_INIT3

#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

/* The folder list below, guarded by SQLITE_MUTEX_STATIC_APP3 (shared with
** quota.c, which takes it only for short list operations). */
static sqlite3_mutex *quotaMutex(void){
  return sqlite3_mutex_alloc(SQLITE_MUTEX_STATIC_APP3);
}

/* ---- dedicated placements: the VFS check ------------------------------ */

/*
** The limit of a dedicated placement applies to its two database files.
** Their WAL and rollback journals count in the reported usage but are never
** refused, so that a customer over its limit can still delete rows: a
** delete writes the journal or WAL too. In WAL mode the database grows at
** checkpoint, so the check reads the database size that each commit frame
** of the WAL records, and refuses the commit that grows past the limit.
*/
#define QUOTA_DISK_DATABASE 1
#define QUOTA_DISK_WAL      2

struct TenantQuotaDisk {
  int eKind;                           /* QUOTA_DISK_* */
  char zFolder[TENANT_MAX_PATH];       /* the placement's folder */
  char zDatabase[TENANT_MAX_PATH];     /* the database file itself */
  char zCustomer[TENANT_MAX_ID + 1];
  sqlite3_int64 iLimit;                /* bytes, read when the file opened */
  sqlite3_int64 iLastCommit;           /* database bytes of the last commit */
};

/* Bytes of zPath, 0 when it does not exist. */
static sqlite3_int64 quotaPathBytes(const char *zPath){
  struct stat st;
  return stat(zPath, &st)==0 ? (sqlite3_int64)st.st_size : 0;
}

/* Bytes of the two database files of a dedicated placement folder. */
static sqlite3_int64 quotaFolderBytes(const char *zFolder){
  char zPath[TENANT_MAX_PATH];
  sqlite3_int64 n;
  sqlite3_snprintf(sizeof(zPath), zPath, "%s/owner.db", zFolder);
  n = quotaPathBytes(zPath);
  sqlite3_snprintf(sizeof(zPath), zPath, "%s/private.db", zFolder);
  return n + quotaPathBytes(zPath);
}

/*
** The limits of dedicated placements, by folder, as the catalog gave them
** when a session last attached the placement's database. A WAL file opens
** long after the binding, maybe while an administrative function holds the
** catalog mutex, so it takes its limit from here. Guarded by the quota
** mutex.
*/
typedef struct QuotaFolder QuotaFolder;
struct QuotaFolder {
  char zFolder[TENANT_MAX_PATH];
  char zCustomer[TENANT_MAX_ID + 1];
  sqlite3_int64 iLimit;                /* -1: unlimited */
  int bVersion;                        /* true when iData and nWrite are set */
  sqlite3_int64 iData;                 /* catalog version, read before */
  sqlite3_int64 nWrite;                /*   iLimit (tenantCatalogVersion) */
  QuotaFolder *pNext;
};
static QuotaFolder *quotaFolderList = 0;

/*
** Record the limit of folder zFolder, read from the catalog now unless the
** catalog has not changed since the folder's limit was last read. The
** folder is matched against <root>/<project>/<database> under the current
** root, as sessions build their paths, and never against placements.path:
** that column keeps the root of provisioning, which a copied or restored
** root no longer has.
*/
static void quotaFolderRefresh(const char *zFolder){
  char zProject[TENANT_MAX_PATH];
  char zCustomer[TENANT_MAX_ID + 1];
  const char *zRoot = tenantCatalogRoot();
  const char *zDatabase;
  sqlite3_int64 iLimit = -1;
  sqlite3_int64 iData = 0;
  sqlite3_int64 nWrite = 0;
  int bVersion;
  int bSame = 0;
  QuotaFolder *p;
  size_t nRoot;

  /* Split "<root>/<project>/<database>". Only dedicated (Sapphire)
  ** placements have a limit here, and a shared project folder
  ** ("shared-...") holds none: skip the lookup, which would otherwise
  ** visit every customer of the shared database. */
  if( zRoot==0 ) return;
  nRoot = strlen(zRoot);
  if( strncmp(zFolder, zRoot, nRoot)!=0 || zFolder[nRoot]!='/' ) return;
  sqlite3_snprintf(sizeof(zProject), zProject, "%s", zFolder+nRoot+1);
  if( strncmp(zProject, "shared-", 7)==0 ) return;
  zDatabase = strchr(zProject, '/');
  if( zDatabase==0 ) return;
  zProject[zDatabase-zProject] = 0;
  zDatabase++;

  /* The version is read before the limit, so that a catalog write between
  ** the two leaves a limit newer than its version, which is only read
  ** again. */
  bVersion = tenantCatalogVersion(&iData, &nWrite)==SQLITE_OK;
  if( bVersion ){
    sqlite3_mutex_enter(quotaMutex());
    for(p=quotaFolderList; p && strcmp(p->zFolder, zFolder)!=0; p=p->pNext){}
    bSame = p && p->bVersion && p->iData==iData && p->nWrite==nWrite;
    sqlite3_mutex_leave(quotaMutex());
    if( bSame ) return;
  }

  if( tenantCatalogFolderLimit(zProject, zDatabase, zCustomer,
                               (int)sizeof(zCustomer), &iLimit)!=SQLITE_OK ){
    return;
  }
  if( zCustomer[0]==0 ) return;

  sqlite3_mutex_enter(quotaMutex());
  for(p=quotaFolderList; p && strcmp(p->zFolder, zFolder)!=0; p=p->pNext){}
  if( p==0 && (p = sqlite3_malloc64(sizeof(*p)))!=0 ){
    memset(p, 0, sizeof(*p));
    sqlite3_snprintf(sizeof(p->zFolder), p->zFolder, "%s", zFolder);
    p->pNext = quotaFolderList;
    quotaFolderList = p;
  }
  if( p ){
    memcpy(p->zCustomer, zCustomer, sizeof(zCustomer));
    p->iLimit = iLimit;
    p->bVersion = bVersion;
    p->iData = iData;
    p->nWrite = nWrite;
  }
  sqlite3_mutex_leave(quotaMutex());
}

int tenantQuotaDiskOpen(const char *zPath, int bBinding,
                        TenantQuotaDisk **pp){
  TenantQuotaDisk *p = 0;
  char zFolder[TENANT_MAX_PATH];
  const char *zSlash = strrchr(zPath, '/');
  size_t nPath = strlen(zPath);
  QuotaFolder *pFolder;
  int eKind;

  *pp = 0;
  if( nPath>3 && strcmp(zPath+nPath-3, ".db")==0 ){
    eKind = QUOTA_DISK_DATABASE;
  }else if( nPath>7 && strcmp(zPath+nPath-7, ".db-wal")==0 ){
    eKind = QUOTA_DISK_WAL;
  }else{
    return SQLITE_OK;       /* journals are never refused */
  }
  if( zSlash==0 || nPath>=sizeof(zFolder) || !tenantMeterEnabled() ){
    return SQLITE_OK;
  }
  memcpy(zFolder, zPath, (size_t)(zSlash-zPath));
  zFolder[zSlash-zPath] = 0;

  /* Only a session's binding may read the catalog here: the mutex is
  ** free then, which it need not be on other opens. */
  if( bBinding && eKind==QUOTA_DISK_DATABASE ) quotaFolderRefresh(zFolder);

  sqlite3_mutex_enter(quotaMutex());
  for(pFolder=quotaFolderList; pFolder; pFolder=pFolder->pNext){
    if( strcmp(pFolder->zFolder, zFolder)==0 ) break;
  }
  if( pFolder && pFolder->iLimit>=0 ){
    p = sqlite3_malloc64(sizeof(*p));
    if( p ){
      memset(p, 0, sizeof(*p));
      p->eKind = eKind;
      memcpy(p->zFolder, zFolder, strlen(zFolder)+1);
      memcpy(p->zDatabase, zPath, nPath+1);
      if( eKind==QUOTA_DISK_WAL ) p->zDatabase[nPath-4] = 0;
      memcpy(p->zCustomer, pFolder->zCustomer, sizeof(p->zCustomer));
      p->iLimit = pFolder->iLimit;
    }
  }
  sqlite3_mutex_leave(quotaMutex());
  *pp = p;
  return p || pFolder==0 || pFolder->iLimit<0 ? SQLITE_OK : SQLITE_NOMEM;
}

/* Log and refuse a growth of the placement's databases to iNew bytes. */
static int quotaDiskRefuse(TenantQuotaDisk *p, sqlite3_int64 iNew,
                           sqlite3_int64 iUsed){
  sqlite3_log(SQLITE_FULL, "tenant: storage limit reached for customer "
      "\"%s\": its databases would grow to %lld bytes, over the %lld-byte "
      "limit; usage is %lld bytes", p->zCustomer, iNew, p->iLimit, iUsed);
  return SQLITE_FULL;
}

int tenantQuotaDiskCheckWrite(TenantQuotaDisk *p, sqlite3_file *pReal,
                              const void *zBuf, int iAmt,
                              sqlite3_int64 iOfst){
  const unsigned char *a = (const unsigned char*)zBuf;
  sqlite3_int64 iUsed, iOld, iNew;
  if( p==0 ) return SQLITE_OK;

  if( p->eKind==QUOTA_DISK_DATABASE ){
    if( pReal->pMethods->xFileSize(pReal, &iOld)!=SQLITE_OK ) return SQLITE_OK;
    iNew = iOfst + iAmt;
  }else{
    if( a==0 ) return SQLITE_OK;          /* xTruncate of a WAL */
    /* A WAL frame header is 24 bytes; bytes 4-7 hold, in a commit frame,
    ** the database size in pages after the commit. The page size is in
    ** bytes 8-11 of the WAL header. */
    unsigned char aHdr[32];
    sqlite3_int64 nPage;
    int szPage;
    if( iAmt!=24 || iOfst<32 ) return SQLITE_OK;
    nPage = ((sqlite3_int64)a[4]<<24) | (a[5]<<16) | (a[6]<<8) | a[7];
    if( nPage==0 ) return SQLITE_OK;
    if( pReal->pMethods->xRead(pReal, aHdr, 32, 0)!=SQLITE_OK ){
      return SQLITE_OK;
    }
    szPage = (aHdr[8]<<24) | (aHdr[9]<<16) | (aHdr[10]<<8) | aHdr[11];
    if( szPage==1 ) szPage = 65536;
    iNew = nPage*szPage;
    iOld = quotaPathBytes(p->zDatabase);
    if( p->iLastCommit>iOld ) iOld = p->iLastCommit;
    p->iLastCommit = iNew;
  }
  if( iNew<=iOld ) return SQLITE_OK;

  iUsed = quotaFolderBytes(p->zFolder);
  if( p->eKind==QUOTA_DISK_WAL ){
    iUsed += iOld - quotaPathBytes(p->zDatabase);
  }
  if( iUsed - iOld + iNew > p->iLimit ){
    if( p->eKind==QUOTA_DISK_WAL ) p->iLastCommit = iOld;
    return quotaDiskRefuse(p, iUsed - iOld + iNew, iUsed);
  }
  return SQLITE_OK;
}

void tenantQuotaDiskClose(TenantQuotaDisk *p){
  sqlite3_free(p);
}
