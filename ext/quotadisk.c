/*
** Storage limits of dedicated placements, checked by the tenant VFS.
**
** A Sapphire customer's data is its placement's files, so its storage is
** their size: owner.db and private.db with their WAL and rollback
** journals (see tenantQuotaMeasure() in quotameasure.c). The VFS calls
** tenantQuotaDiskCheckWrite() before each write of a database or WAL file
** of a dedicated placement whose tier has a limit, and the write fails
** with SQLITE_FULL when it would grow the databases past the limit. A VFS
** cannot set the error message, so the customer, the limit and the usage
** go to sqlite3_log().
**
** LIMITATIONS: the limit is read when a session binds and kept per
** placement folder, so a change by tenant_policy_set() reaches the
** connections that bind after it. Two connections that commit to the two
** files at the same moment each read the other file before the other's
** commit, so together they can pass the limit by one commit each.
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
** The limit of a dedicated placement applies to its two database files,
** each at its size as of its last commit: in WAL mode the size that the
** last commit frame of its WAL records (quotawal.c), otherwise its size on
** disk. The check runs before each write of a database or WAL file that
** can grow that size: a write past the end of a database file in
** rollback-journal mode, and the header of a commit frame in WAL mode. It
** refuses, with SQLITE_FULL, a write that grows the total past the limit.
** Everything else passes, so a customer over its limit can still read and
** delete: rollback journals, WAL frames that grow nothing, and the writes
** of a database file in WAL mode, which are checkpoints of frames already
** committed.
*/
#define QUOTA_DISK_DATABASE 1
#define QUOTA_DISK_WAL      2

/* The database files of a dedicated placement folder. */
#define QUOTA_DISK_FILES 2
static const char *const azQuotaFile[QUOTA_DISK_FILES] = {
  "owner.db", "private.db"
};

typedef struct QuotaFolder QuotaFolder;

struct TenantQuotaDisk {
  int eKind;                           /* QUOTA_DISK_* */
  int iFile;                           /* in azQuotaFile[], or -1 */
  int bWal;                            /* database file in WAL mode */
  QuotaFolder *pFolder;                /* never freed */
  char zFolder[TENANT_MAX_PATH];       /* the placement's folder */
  char zDatabase[TENANT_MAX_PATH];     /* the database file itself */
  char zCustomer[TENANT_MAX_ID + 1];
  sqlite3_int64 iLimit;                /* bytes, read when the file opened */
  TenantWalSeen seen;                  /* WAL: the last commit frame found */
};

/* Bytes of zPath, 0 when it does not exist. */
static sqlite3_int64 quotaPathBytes(const char *zPath){
  struct stat st;
  return stat(zPath, &st)==0 ? (sqlite3_int64)st.st_size : 0;
}

/*
** The limits of dedicated placements, by folder, as the catalog gave them
** when a session last attached the placement's database. A WAL file opens
** long after the binding, maybe while an administrative function holds the
** catalog mutex, so it takes its limit from here. Guarded by the quota
** mutex. An entry lives as long as the process, so a TenantQuotaDisk
** keeps a pointer to its folder's.
*/
struct QuotaFolder {
  char zFolder[TENANT_MAX_PATH];
  char zCustomer[TENANT_MAX_ID + 1];
  sqlite3_int64 iLimit;                /* -1: unlimited */
  int bVersion;                        /* true when iData and nWrite are set */
  sqlite3_int64 iData;                 /* catalog version, read before */
  sqlite3_int64 nWrite;                /*   iLimit (tenantCatalogVersion) */
  TenantWalSeen aSeen[QUOTA_DISK_FILES];  /* last commit frame found in
                                          ** the WAL of each file */
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
      int i;
      memset(p, 0, sizeof(*p));
      p->eKind = eKind;
      p->pFolder = pFolder;
      memcpy(p->zFolder, zFolder, strlen(zFolder)+1);
      memcpy(p->zDatabase, zPath, nPath+1);
      if( eKind==QUOTA_DISK_WAL ) p->zDatabase[nPath-4] = 0;
      p->iFile = -1;
      for(i=0; i<QUOTA_DISK_FILES; i++){
        if( strcmp(p->zDatabase + (zSlash-zPath) + 1, azQuotaFile[i])==0 ){
          p->iFile = i;
        }
      }
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

/*
** Bytes of database file iFile of the folder as of its last commit. Its
** WAL is read with every check, since another process may be writing it.
*/
static sqlite3_int64 quotaFileCommittedBytes(TenantQuotaDisk *p, int iFile){
  char zPath[TENANT_MAX_PATH];
  size_t nFolder = strlen(p->zFolder);
  size_t nName = strlen(azQuotaFile[iFile]);
  TenantWalSeen seen;
  sqlite3_int64 nBytes;

  if( nFolder + 1 + nName + 4 >= sizeof(zPath) ) return 0;
  memcpy(zPath, p->zFolder, nFolder);
  zPath[nFolder] = '/';
  memcpy(zPath + nFolder + 1, azQuotaFile[iFile], nName);
  memcpy(zPath + nFolder + 1 + nName, "-wal", 5);

  sqlite3_mutex_enter(quotaMutex());
  seen = p->pFolder->aSeen[iFile];
  sqlite3_mutex_leave(quotaMutex());
  nBytes = tenantWalCommittedBytes(zPath, &seen);
  sqlite3_mutex_enter(quotaMutex());
  p->pFolder->aSeen[iFile] = seen;
  sqlite3_mutex_leave(quotaMutex());

  if( nBytes<0 ){
    zPath[nFolder + 1 + nName] = 0;
    nBytes = quotaPathBytes(zPath);
  }
  return nBytes;
}

int tenantQuotaDiskCheckWrite(TenantQuotaDisk *p, sqlite3_file *pReal,
                              const void *zBuf, int iAmt,
                              sqlite3_int64 iOfst){
  const unsigned char *a = (const unsigned char*)zBuf;
  sqlite3_int64 iOld, iNew, iOthers;
  unsigned int nPage = 0;
  int i;
  if( p==0 ) return SQLITE_OK;

  if( p->eKind==QUOTA_DISK_DATABASE ){
    if( p->bWal ) return SQLITE_OK;       /* a checkpoint */
    if( pReal->pMethods->xFileSize(pReal, &iOld)!=SQLITE_OK ) return SQLITE_OK;
    iNew = iOfst + iAmt;
  }else{
    /* SQLite writes a WAL frame header alone, in 24 bytes. Bytes 4-7 of a
    ** commit frame's header are the database size in pages after it. */
    if( a==0 ) return SQLITE_OK;          /* xTruncate of a WAL */
    if( iAmt!=24 || iOfst<32 ) return SQLITE_OK;
    nPage = ((unsigned int)a[4]<<24) | ((unsigned int)a[5]<<16)
          | ((unsigned int)a[6]<<8) | (unsigned int)a[7];
    if( nPage==0 ) return SQLITE_OK;
    iOld = tenantWalCommittedBefore(pReal, iOfst, &p->seen);
    if( p->seen.szPage==0 ) return SQLITE_OK;
    if( iOld<0 ){
      /* No commit since the WAL was last reset, which SQLite does only
      ** once a checkpoint has copied every frame into the database. */
      iOld = quotaPathBytes(p->zDatabase);
    }
    iNew = (sqlite3_int64)nPage*p->seen.szPage;
  }

  if( iNew>iOld ){
    iOthers = 0;
    for(i=0; i<QUOTA_DISK_FILES; i++){
      if( i!=p->iFile ) iOthers += quotaFileCommittedBytes(p, i);
    }
    if( iOthers + iNew > p->iLimit ){
      return quotaDiskRefuse(p, iOthers + iNew, iOthers + iOld);
    }
  }
  if( p->eKind==QUOTA_DISK_WAL ) tenantWalSeeCommit(&p->seen, iOfst, nPage);
  return SQLITE_OK;
}

void tenantQuotaDiskWalMode(TenantQuotaDisk *p, int bWal){
  if( p && p->eKind==QUOTA_DISK_DATABASE ) p->bWal = bWal;
}

void tenantQuotaDiskClose(TenantQuotaDisk *p){
  sqlite3_free(p);
}
