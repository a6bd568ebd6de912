/*
** The change counter of a root folder: one 64-bit number in the file
** <root>/catalog.db-epoch, which every process that opens the catalog maps
** with MAP_SHARED. The administrative functions that retire sessions
** (tenant_decommission, tenant_provision and tenant_remove_agent) add 1
** to it under the catalog's write lock before their first commit, and
** again after their last commit (tenantEpochAdvance). Every scan of
** an isolation table compares it with the value its session saw at its
** last full check, and reads the catalog only when the two differ
** (tenantSessionScanCheck in sessionactive.c). A statement prepared before
** its customer's id was provisioned again therefore cannot read the new
** customer's rows, at the cost of one load from memory per scan.
**
** The file contains the counter alone, at offset 0 in the machine's byte
** order. Only a change of its value matters, so a file copied with the
** root is harmless. A process that cannot map the file checks the catalog
** on every scan instead, and logs that once. A process that cannot map it
** for writing fails the administrative functions above, because the other
** processes would not see their changes.
**
** NOTE: every process of a root must map the same file, and only
** processes on one machine share a mapping, as with SQLite's WAL index.
** Deleting or replacing the file while processes have it mapped splits
** them: a process that maps the new file no longer sees the changes that
** the others count in the old one.
*/
#include "tenant_int.h"
SQLITE_EXTENSION_INIT3

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define EPOCH_BYTES 8            /* size of the counter and of the file */

/* The mapping and its state, written under the catalog mutex. Only the
** pointer is read without the mutex (tenantEpochLoad). */
sqlite3_uint64 *tenantEpochCounter = 0;
static int epochWritable = 0;    /* the mapping allows stores */
static int epochLogged = 0;      /* the failure to map it was logged */
static char epochError[160];     /* why it is not mapped for writing */

/* Record why the counter of zPath is not mapped for writing, and log the
** first failure to map it at all. */
static void epochFail(const char *zPath, const char *zWhy, int iErrno,
                      int bMapped){
  if( iErrno ){
    sqlite3_snprintf(sizeof(epochError), epochError, "%s: %s", zWhy,
                     strerror(iErrno));
  }else{
    sqlite3_snprintf(sizeof(epochError), epochError, "%s", zWhy);
  }
  if( bMapped || epochLogged ) return;
  epochLogged = 1;
  sqlite3_log(SQLITE_WARNING, "tenant: cannot map the change counter %s"
      " (%s): every scan of an isolation table in this process reads the"
      " catalog instead, which costs more; make that path a file that this"
      " process can read", zPath, epochError);
}

/*
** Open the counter file zPath, read-write where this process may, else
** read-only. A new file gets the mode of the catalog zCatalog and, where
** this process may, its group, so that every process that can open the
** catalog can open the counter too. Returns the descriptor, or -1 with
** errno set.
*/
static int epochOpenFile(const char *zPath, const char *zCatalog,
                         int *pbWritable){
  struct stat st;
  mode_t mode = 0600;
  int bGroup = 0;
  int fd;

  if( stat(zCatalog, &st)==0 ){
    mode = st.st_mode & 0666;
    bGroup = 1;
  }
  *pbWritable = 1;
  fd = open(zPath, O_RDWR|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, mode);
  if( fd>=0 ){
    /* open() applied the umask. Both calls are best effort: a process
    ** that cannot open the file later reports it. */
    if( fchmod(fd, mode)!=0 ){}
    if( bGroup && fchown(fd, (uid_t)-1, st.st_gid)!=0 ){}
    return fd;
  }
  fd = open(zPath, O_RDWR|O_NOFOLLOW|O_CLOEXEC);
  if( fd>=0 ) return fd;
  if( errno!=EACCES && errno!=EROFS && errno!=EPERM ) return -1;
  *pbWritable = 0;
  return open(zPath, O_RDONLY|O_NOFOLLOW|O_CLOEXEC);
}

/*
** Extend a new or short counter file to EPOCH_BYTES with zero bytes. The
** fcntl() lock keeps two processes that open the root at once from both
** extending it, since the second write could reset a counter that the
** first process has already advanced. The bytes are written, not only
** allocated with ftruncate(), so that a store through the mapping never
** needs a new block on a full disk. Returns 0 or -1 with errno set.
*/
static int epochExtend(int fd){
  static const unsigned char aZero[EPOCH_BYTES] = {0};
  struct flock lock;
  struct stat st;
  int rc = -1;
  int iErrno = 0;

  memset(&lock, 0, sizeof(lock));
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  while( fcntl(fd, F_SETLKW, &lock)!=0 ){
    if( errno!=EINTR ) return -1;
  }
  if( fstat(fd, &st)!=0 ){
    iErrno = errno;
  }else if( st.st_size>=EPOCH_BYTES ){
    rc = 0;
  }else{
    size_t nByte = EPOCH_BYTES - (size_t)st.st_size;
    if( pwrite(fd, aZero, nByte, st.st_size)==(ssize_t)nByte ){
      rc = 0;
    }else{
      iErrno = errno ? errno : ENOSPC;
    }
  }
  lock.l_type = F_UNLCK;
  fcntl(fd, F_SETLK, &lock);
  errno = iErrno;
  return rc;
}

void tenantEpochOpen(const char *zRoot){
  char *zPath;
  char *zCatalog;
  struct stat st;
  void *pMap;
  int bWritable = 0;
  int fd;

  if( tenantEpochCounter ) return;
  zPath = sqlite3_mprintf("%s/catalog.db-epoch", zRoot);
  zCatalog = sqlite3_mprintf("%s/catalog.db", zRoot);
  if( zPath==0 || zCatalog==0 ){
    epochFail(zPath ? zPath : zRoot, "out of memory", 0, 0);
    goto epoch_open_done;
  }
  if( !TENANT_EPOCH_ATOMIC ){
    epochFail(zPath, "this build has no lock-free 64-bit atomics", 0, 0);
    goto epoch_open_done;
  }

  fd = epochOpenFile(zPath, zCatalog, &bWritable);
  if( fd<0 ){
    epochFail(zPath, "cannot open it", errno, 0);
    goto epoch_open_done;
  }
  if( fstat(fd, &st)!=0 || !S_ISREG(st.st_mode) ){
    epochFail(zPath, "not a regular file", 0, 0);
    close(fd);
    goto epoch_open_done;
  }
  if( st.st_size<EPOCH_BYTES && (!bWritable || epochExtend(fd)!=0) ){
    epochFail(zPath, "shorter than 8 bytes and cannot be extended",
              bWritable ? errno : 0, 0);
    close(fd);
    goto epoch_open_done;
  }
  pMap = mmap(0, EPOCH_BYTES, PROT_READ | (bWritable ? PROT_WRITE : 0),
              MAP_SHARED, fd, 0);
  close(fd);   /* the mapping stays valid without the descriptor */
  if( pMap==MAP_FAILED ){
    epochFail(zPath, "mmap failed", errno, 0);
    goto epoch_open_done;
  }
  epochWritable = bWritable;
  if( !bWritable ) epochFail(zPath, "this process may only read it", 0, 1);
#if TENANT_EPOCH_ATOMIC
  __atomic_store_n(&tenantEpochCounter, (sqlite3_uint64*)pMap,
                   __ATOMIC_RELEASE);
#endif

epoch_open_done:
  sqlite3_free(zPath);
  sqlite3_free(zCatalog);
}

/*
** A change that retires sessions advances the counter twice: first while
** it holds the catalog's write lock, before its first commit, and again
** after its last commit, also when that commit failed. Why this order
** keeps a scan from returning the rows of a customer provisioned again:
**
**   1. A full check of a session reads the counter, then the catalog, and
**      keeps the value only when the catalog shows its customer active
**      under its generation (tenantSessionScanCheck).
**   2. The id can be provisioned again only after the decommission of
**      that customer has committed, which came after the catalog read of
**      1. So the first advance of the new provisioning, made under the
**      write lock, comes after the counter read of 1, and before the new
**      customer can write a row.
**   3. A scan reads the counter after its first inner step has chosen its
**      snapshot of the shared file. When that snapshot contains a row of
**      the new customer, the scan's read comes after the advance of 2 and
**      differs from the value kept in 1, so the scan runs a full check,
**      which retires the session.
**
** Between the advance and the scan come a catalog commit, a binding, a
** commit to the shared file and the choice of a snapshot. Each goes
** through file locks or SQLite's WAL index, which order the memory of the
** processes involved as well. The second advance comes after the
** commit, so after the counter read of every full check that read the
** catalog before it: a scan that starts once the administrative function
** has returned finds every change it made.
*/
int tenantEpochAdvance(char **pzErr){
  const char *zRoot = tenantCatalogRoot();

  if( tenantEpochCounter==0 && zRoot ) tenantEpochOpen(zRoot);
  if( tenantEpochCounter==0 || !epochWritable ){
    tenantSetError(pzErr, "cannot advance the change counter"
        " \"%s/catalog.db-epoch\" (%s): sessions of other processes would"
        " not see this change, so it was not made; make that path a file"
        " that this process can read and write", zRoot ? zRoot : "(no root)",
        epochError);
    return tenantEpochCounter ? SQLITE_READONLY : SQLITE_CANTOPEN;
  }
#if TENANT_EPOCH_ATOMIC
  __atomic_add_fetch(tenantEpochCounter, 1, __ATOMIC_SEQ_CST);
#endif
  return SQLITE_OK;
}
