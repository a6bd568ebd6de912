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
** The file contains the counter at offset 0, in the machine's byte order,
** and after it an 8-byte file id, chosen at random when the file is
** created. The catalog table change_counter records that file id. A
** process that opens the root and finds the file missing, truncated or
** with another file id rejects the root (tenantEpochOpen), because a new
** counter would split it from the processes that still map the old file.
** The operator stops those processes and sets TENANT_EPOCH_RESET to the
** recorded file id, and the next process creates a new counter and
** records its file id, so the same setting takes effect only once. The
** reset lock below rejects the reset while another process still uses
** the root. A catalog that records no file id, made before file ids or before the
** counter existed, gets one when it is opened. Only a change of the
** counter's value matters, so a file copied with the root is harmless.
**
** A process that cannot map the file checks the catalog on every scan
** instead, and logs that once. A process that cannot map it for writing
** fails the administrative functions above, because the other processes
** would not see their changes.
**
** NOTE: every process of a root must map the same file, and only
** processes on one machine share a mapping, as with SQLite's WAL index.
** A process that opened the root before the file was deleted or replaced
** goes on with the old file, so the next process rejects the root rather
** than create a new file. Truncating the file while processes map it
** kills them with SIGBUS at their next scan, as truncating SQLite's -shm
** file does.
**
** The reset lock: every process that maps the counter keeps a read lock on
** byte EPOCH_LOCK_BYTE of catalog.db, and a reset first takes a write lock
** there without waiting. The lock cannot be on the counter file, because
** the processes that a reset must detect map a file that was deleted. It
** is an open file description lock (F_OFD_SETLK, Linux 3.15 or later) on
** a descriptor that stays open for the life of the process. A POSIX lock
** would not do: closing any descriptor of catalog.db, as SQLite does when
** a connection closes, drops every POSIX lock of the process on the file.
** For the same reason that descriptor is never closed, since closing it
** would drop SQLite's own POSIX locks on catalog.db. A reset runs only
** inside the catalog's BEGIN IMMEDIATE as the root opens (catalogOpenDb),
** and turns its write lock back into a read lock before that transaction
** commits. So a process that opens the root after it never waits for the
** reset lock. A process that was rejected,
** or cannot map the counter, releases its read lock.
*/
#include "tenant_int.h"
SQLITE_EXTENSION_INIT3

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define EPOCH_BYTES 8            /* size of the counter, at offset 0 */
#define EPOCH_ID_BYTES 8         /* size of the file id, after the counter */
#define EPOCH_FILE_BYTES (EPOCH_BYTES+EPOCH_ID_BYTES)
#define EPOCH_ID_HEX (2*EPOCH_ID_BYTES+1)  /* a file id as hex, with NUL */

/* The byte of catalog.db that the reset lock covers. SQLite's unix VFS
** locks bytes 0x40000000 to 0x400001FF of a database file (PENDING_BYTE,
** RESERVED_BYTE, then SHARED_SIZE 510 bytes), and its WAL locks are in the
** -shm file. tests/t_epoch.c finds both hosts' locks in that range. Locks
** on other bytes never conflict with SQLite's, and this byte also fits a
** 32-bit off_t. Locks are advisory, so a file that grows past it is
** unaffected. */
#define EPOCH_LOCK_BYTE 0x50000000

/* The override that lets a reset go on when this process cannot take the
** reset lock at all. It never overrides a lock held by another process. */
#define EPOCH_RESET_UNCHECKED "TENANT_EPOCH_RESET_UNCHECKED"

/* The mapping and its state, written under the catalog mutex. Only the
** pointer is read without the mutex (tenantEpochLoad). */
sqlite3_uint64 *tenantEpochCounter = 0;
static int epochWritable = 0;    /* the mapping allows stores */
static int epochLogged = 0;      /* the failure to map it was logged */
static char epochError[200];     /* why it is not mapped for writing */
static int epochLockFd = -1;     /* catalog.db, for the reset lock */
static int epochLockType = F_UNLCK;  /* the reset lock this process holds */
static char epochLockError[200]; /* why the reset lock cannot be taken */
static int epochLockLogged = 0;  /* the failure to take it was logged */

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

/* Open the existing counter file zPath without creating it, read-write
** where this process may, else read-only. Returns the descriptor, or -1
** with errno set. */
static int epochOpenExisting(const char *zPath, int *pbWritable){
  int fd = open(zPath, O_RDWR|O_NOFOLLOW|O_CLOEXEC);
  *pbWritable = 1;
  if( fd>=0 ) return fd;
  if( errno!=EACCES && errno!=EROFS && errno!=EPERM ) return -1;
  *pbWritable = 0;
  return open(zPath, O_RDONLY|O_NOFOLLOW|O_CLOEXEC);
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
  return epochOpenExisting(zPath, pbWritable);
}

static int epochIsRegular(int fd){
  struct stat st;
  return fstat(fd, &st)==0 && S_ISREG(st.st_mode);
}

/* Write the file id a as lowercase hex into z, EPOCH_ID_HEX bytes. */
static void epochIdHex(const unsigned char *a, char *z){
  static const char zDigit[] = "0123456789abcdef";
  int i;
  for(i=0; i<EPOCH_ID_BYTES; i++){
    z[2*i] = zDigit[a[i]>>4];
    z[2*i+1] = zDigit[a[i]&0x0f];
  }
  z[2*EPOCH_ID_BYTES] = 0;
}

/* Read the file id of the counter file fd into a. Returns 0 when the file
** is too short to contain one or contains zeros there, which is how a file
** made before file ids existed reads. */
static int epochIdRead(int fd, unsigned char *a){
  int i;
  if( pread(fd, a, EPOCH_ID_BYTES, EPOCH_BYTES)!=EPOCH_ID_BYTES ) return 0;
  for(i=0; i<EPOCH_ID_BYTES; i++){
    if( a[i] ) return 1;
  }
  return 0;
}

/*
** Extend a new or short counter file to EPOCH_FILE_BYTES with zero bytes,
** and give it a random file id when it has none. Writes the file id as hex
** into zId. The fcntl() lock keeps two processes that open the root at
** once from both extending it, since the second write could reset a
** counter that the first process has already advanced. The bytes are
** written, not only allocated with ftruncate(), so that a store through
** the mapping never needs a new block on a full disk. Returns 0 or -1
** with errno set.
*/
static int epochPrepare(int fd, char *zId){
  static const unsigned char aZero[EPOCH_FILE_BYTES] = {0};
  unsigned char aId[EPOCH_ID_BYTES];
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
    goto prepare_done;
  }
  if( st.st_size<EPOCH_FILE_BYTES ){
    size_t nByte = EPOCH_FILE_BYTES - (size_t)st.st_size;
    if( pwrite(fd, aZero, nByte, st.st_size)!=(ssize_t)nByte ){
      iErrno = errno ? errno : ENOSPC;
      goto prepare_done;
    }
  }
  if( !epochIdRead(fd, aId) ){
    sqlite3_randomness(EPOCH_ID_BYTES, aId);
    aId[0] |= 0x80;   /* zero bytes mean "no file id" */
    if( pwrite(fd, aId, EPOCH_ID_BYTES, EPOCH_BYTES)!=EPOCH_ID_BYTES ){
      iErrno = errno ? errno : ENOSPC;
      goto prepare_done;
    }
  }
  epochIdHex(aId, zId);
  rc = 0;

prepare_done:
  lock.l_type = F_UNLCK;
  fcntl(fd, F_SETLK, &lock);
  errno = iErrno;
  return rc;
}

/* Read into zId the file id of the counter that the catalog db records.
** Returns SQLITE_ROW when it records one, SQLITE_DONE when it does not,
** or an error code with *pzErr set. */
static int epochRecordRead(sqlite3 *db, char *zId, char **pzErr){
  sqlite3_stmt *pStmt = 0;
  int rc = sqlite3_prepare_v2(db, "SELECT file_id FROM change_counter"
                              " WHERE id=1", -1, &pStmt, 0);
  if( rc==SQLITE_OK ){
    rc = sqlite3_step(pStmt);
    if( rc==SQLITE_ROW ){
      sqlite3_snprintf(EPOCH_ID_HEX, zId, "%s",
                       (const char*)sqlite3_column_text(pStmt, 0));
    }
  }
  if( rc!=SQLITE_ROW && rc!=SQLITE_DONE ){
    tenantSetError(pzErr, "cannot read table change_counter of the"
        " catalog: %s", sqlite3_errmsg(db));
  }
  sqlite3_finalize(pStmt);
  return rc;
}

/* Record in the catalog db that the root's counter has file id zId. */
static int epochRecordWrite(sqlite3 *db, const char *zId, char **pzErr){
  sqlite3_stmt *pStmt = 0;
  int rc = sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO"
      " change_counter(id, file_id) VALUES(1, ?1)", -1, &pStmt, 0);
  if( rc==SQLITE_OK ){
    sqlite3_bind_text(pStmt, 1, zId, -1, SQLITE_STATIC);
    rc = sqlite3_step(pStmt);
    if( rc==SQLITE_DONE ) rc = SQLITE_OK;
  }
  if( rc!=SQLITE_OK ){
    tenantSetError(pzErr, "cannot write table change_counter of the"
        " catalog: %s", sqlite3_errmsg(db));
  }
  sqlite3_finalize(pStmt);
  return rc;
}

/*
** Open or create the counter file zPath of a catalog that records none,
** give it a file id, and record that id in the catalog db. Sets *pFd to
** the descriptor to map, or to -1 when this process cannot map the file
** (logged, and the scans read the catalog instead), and writes the file id
** into zId, or "" when none was recorded. Returns SQLITE_OK unless the
** catalog cannot be written.
*/
static int epochOpenNew(sqlite3 *db, const char *zPath, const char *zCatalog,
                        int *pFd, int *pbWritable, char *zId, char **pzErr){
  struct stat st;
  int rc;
  int fd;

  *pFd = -1;
  zId[0] = 0;
  fd = epochOpenFile(zPath, zCatalog, pbWritable);
  if( fd<0 ){
    epochFail(zPath, "cannot open it", errno, 0);
    return SQLITE_OK;
  }
  if( !epochIsRegular(fd) ){
    epochFail(zPath, "not a regular file", 0, 0);
    close(fd);
    return SQLITE_OK;
  }

  /* A process that may only read the file maps it as it is, without a
  ** record, and the next process that may write it records its file id. */
  if( !*pbWritable ){
    if( fstat(fd, &st)!=0 || st.st_size<EPOCH_BYTES ){
      epochFail(zPath, "shorter than 8 bytes and cannot be extended", 0, 0);
      close(fd);
      return SQLITE_OK;
    }
    *pFd = fd;
    return SQLITE_OK;
  }

  if( epochPrepare(fd, zId)!=0 ){
    epochFail(zPath, "cannot write its file id", errno, 0);
    close(fd);
    zId[0] = 0;
    return SQLITE_OK;
  }
  rc = epochRecordWrite(db, zId, pzErr);
  if( rc!=SQLITE_OK ){
    close(fd);
    return rc;
  }
  *pFd = fd;
  return SQLITE_OK;
}

/* Outcomes of epochLockSet(). */
#define EPOCH_LOCK_OK    0         /* the lock is set */
#define EPOCH_LOCK_BUSY  1         /* another process holds a conflicting lock */
#define EPOCH_LOCK_ERROR 2         /* failed: epochLockError has the reason */

/*
** Set the reset lock of this process to eType (F_RDLCK, F_WRLCK or
** F_UNLCK) without waiting, opening catalog.db zCatalog on first use.
** A lock of another type that this process holds is converted in place.
** Returns one of the EPOCH_LOCK_* outcomes.
*/
static int epochLockSet(const char *zCatalog, int eType){
#ifdef F_OFD_SETLK
  struct flock lock;
  int iErrno;

  if( epochLockFd<0 ){
    epochLockFd = open(zCatalog, O_RDWR|O_CLOEXEC);
    if( epochLockFd<0 && (errno==EACCES || errno==EROFS || errno==EPERM) ){
      epochLockFd = open(zCatalog, O_RDONLY|O_CLOEXEC);
    }
    if( epochLockFd<0 ){
      sqlite3_snprintf(sizeof(epochLockError), epochLockError,
                       "cannot open %s: %s", zCatalog, strerror(errno));
      return EPOCH_LOCK_ERROR;
    }
  }
  memset(&lock, 0, sizeof(lock));
  lock.l_type = (short)eType;
  lock.l_whence = SEEK_SET;
  lock.l_start = EPOCH_LOCK_BYTE;
  lock.l_len = 1;
  if( fcntl(epochLockFd, F_OFD_SETLK, &lock)==0 ){
    epochLockType = eType;
    return EPOCH_LOCK_OK;
  }
  iErrno = errno;
  if( iErrno==EAGAIN || iErrno==EACCES ) return EPOCH_LOCK_BUSY;
  if( iErrno==EINVAL ){
    sqlite3_snprintf(sizeof(epochLockError), epochLockError, "this kernel"
        " does not support open file description locks (F_OFD_SETLK needs"
        " Linux 3.15 or later)");
  }else if( iErrno==EBADF && eType==F_WRLCK ){
    sqlite3_snprintf(sizeof(epochLockError), epochLockError, "this process"
        " may only read %s", zCatalog);
  }else{
    sqlite3_snprintf(sizeof(epochLockError), epochLockError, "fcntl"
        " F_OFD_SETLK on %s failed: %s", zCatalog, strerror(iErrno));
  }
  return EPOCH_LOCK_ERROR;
#else
  (void)zCatalog;
  (void)eType;
  sqlite3_snprintf(sizeof(epochLockError), epochLockError, "this build has"
      " no open file description locks (F_OFD_SETLK)");
  return EPOCH_LOCK_ERROR;
#endif
}

/* Take or keep the read lock that shows a reset in another process that
** this process uses the root. The first failure is logged, because such a
** reset cannot detect this process. */
static void epochLockShared(const char *zCatalog){
  int rc;
  if( epochLockType==F_RDLCK ) return;
  rc = epochLockSet(zCatalog, F_RDLCK);
  if( rc==EPOCH_LOCK_OK || epochLockLogged ) return;
  epochLockLogged = 1;
  if( rc==EPOCH_LOCK_BUSY ){
    sqlite3_snprintf(sizeof(epochLockError), epochLockError, "another"
        " process holds it for writing");
  }
  sqlite3_log(SQLITE_WARNING, "tenant: cannot take the reset lock on byte"
      " %d of %s (%s): TENANT_EPOCH_RESET in another process cannot detect"
      " that this process uses the root", EPOCH_LOCK_BYTE, zCatalog,
      epochLockError);
}

/* Release the read lock of a process that does not map the counter. The
** descriptor stays open, because closing it would drop SQLite's POSIX
** locks on catalog.db. */
static void epochLockRelease(void){
  if( epochLockType!=F_UNLCK ) epochLockSet(0, F_UNLCK);
}

/*
** Take the reset lock for writing before a reset replaces the counter
** zPath of a catalog that records file id zRecorded. Returns SQLITE_OK,
** or SQLITE_CANTOPEN with *pzErr set when another process holds the
** lock, or when the lock cannot be taken and EPOCH_RESET_UNCHECKED is
** not set to 1.
*/
static int epochLockExclusive(const char *zPath, const char *zCatalog,
                              const char *zRecorded, char **pzErr){
  const char *zUnchecked;
  int rc = epochLockSet(zCatalog, F_WRLCK);

  if( rc==EPOCH_LOCK_OK ) return SQLITE_OK;
  if( rc==EPOCH_LOCK_BUSY ){
    tenantSetError(pzErr, "cannot reset the change counter \"%s\": other"
        " processes still use this root, and those that map the old counter"
        " would not see the changes counted in a new one. Stop every process"
        " that uses this root (\"lsof %s\" lists them), then open the root"
        " again with TENANT_EPOCH_RESET=%s set", zPath, zCatalog, zRecorded);
    return SQLITE_CANTOPEN;
  }
  zUnchecked = getenv(EPOCH_RESET_UNCHECKED);
  if( zUnchecked && strcmp(zUnchecked, "1")==0 ){
    sqlite3_log(SQLITE_WARNING, "tenant: resetting the change counter %s"
        " without checking that no other process uses the root (%s), as"
        " %s=1 requested", zPath, epochLockError, EPOCH_RESET_UNCHECKED);
    return SQLITE_OK;
  }
  tenantSetError(pzErr, "cannot reset the change counter \"%s\": cannot"
      " check that no other process uses this root, because the reset lock"
      " on %s cannot be taken (%s). Stop every process that uses this root,"
      " then open the root again with TENANT_EPOCH_RESET=%s and %s=1 set",
      zPath, zCatalog, epochLockError, zRecorded, EPOCH_RESET_UNCHECKED);
  return SQLITE_CANTOPEN;
}

/* Reject a root whose counter file zPath is missing (zFound NULL) or has
** the file id zFound, where the catalog records zRecorded. zReset is the
** value of TENANT_EPOCH_RESET, or NULL when it is not set. */
static int epochReject(const char *zPath, const char *zRecorded,
                       const char *zFound, const char *zReset,
                       char **pzErr){
  static const char zFix[] = "Stop every process that uses this root, then"
      " open the root once with TENANT_EPOCH_RESET=%s set, which creates a"
      " new counter";
  char *zWhat;

  if( zFound==0 ){
    zWhat = sqlite3_mprintf("change counter \"%s\" is missing, but the"
        " catalog records one with file id %s. Processes that still map"
        " the deleted file would not see the changes counted in a new one,"
        " so this process does not create it", zPath, zRecorded);
  }else{
    zWhat = sqlite3_mprintf("change counter \"%s\" has file id %s, but the"
        " catalog records file id %s. The file was replaced or truncated,"
        " and processes that map the old file would not see the changes"
        " counted in this one", zPath, zFound, zRecorded);
  }
  if( zReset && zReset[0] ){
    /* Say that the setting was read, so a mistyped id is not mistaken for
    ** a setting that did not reach the process. */
    tenantSetError(pzErr, "%s. TENANT_EPOCH_RESET=%s does not match the"
        " recorded file id %s and was ignored. %z",
        zWhat ? zWhat : "out of memory", zReset, zRecorded,
        sqlite3_mprintf(zFix, zRecorded));
  }else{
    tenantSetError(pzErr, "%s. %z", zWhat ? zWhat : "out of memory",
                   sqlite3_mprintf(zFix, zRecorded));
  }
  sqlite3_free(zWhat);
  return SQLITE_CANTOPEN;
}

/*
** Open the counter file zPath of a catalog that records file id
** zRecorded. A missing file, or one with another file id, rejects the
** root unless bCreate is set and TENANT_EPOCH_RESET equals zRecorded. Then
** a new file takes its place, and the catalog records the new file id, so
** the same setting does not create a counter twice. Sets *pFd as
** epochOpenNew() does.
*/
static int epochOpenRecorded(sqlite3 *db, const char *zPath,
                             const char *zCatalog, const char *zRecorded,
                             int bCreate, int *pFd, int *pbWritable,
                             char **pzErr){
  unsigned char aId[EPOCH_ID_BYTES];
  char zFound[EPOCH_ID_HEX];
  char zNew[EPOCH_ID_HEX];
  const char *zReset;
  int bMissing = 0;
  int rc;
  int fd;

  *pFd = -1;
  fd = epochOpenExisting(zPath, pbWritable);
  if( fd<0 ){
    if( errno!=ENOENT ){
      epochFail(zPath, "cannot open it", errno, 0);
      return SQLITE_OK;
    }
    bMissing = 1;
  }else if( !epochIsRegular(fd) ){
    epochFail(zPath, "not a regular file", 0, 0);
    close(fd);
    return SQLITE_OK;
  }else{
    if( epochIdRead(fd, aId) ){
      epochIdHex(aId, zFound);
    }else{
      sqlite3_snprintf(sizeof(zFound), zFound, "none");
    }
    if( strcmp(zFound, zRecorded)==0 ){
      *pFd = fd;
      return SQLITE_OK;
    }
    close(fd);
  }

  zReset = getenv("TENANT_EPOCH_RESET");
  if( !bCreate || zReset==0 || strcmp(zReset, zRecorded)!=0 ){
    return epochReject(zPath, zRecorded, bMissing ? 0 : zFound,
                       bCreate ? zReset : 0, pzErr);
  }
  rc = epochLockExclusive(zPath, zCatalog, zRecorded, pzErr);
  if( rc!=SQLITE_OK ) return rc;

  zNew[0] = 0;
  if( !bMissing && unlink(zPath)!=0 && errno!=ENOENT ){
    tenantSetError(pzErr, "cannot remove the change counter \"%s\" that"
        " TENANT_EPOCH_RESET replaces: %s: remove it by hand", zPath,
        strerror(errno));
    rc = SQLITE_CANTOPEN;
  }else{
    rc = epochOpenNew(db, zPath, zCatalog, pFd, pbWritable, zNew, pzErr);
  }
  if( rc==SQLITE_OK && zNew[0] ){
    sqlite3_log(SQLITE_WARNING, "tenant: created a new change counter %s"
        " with file id %s in place of file id %s, as TENANT_EPOCH_RESET"
        " requested", zPath, zNew, zRecorded);
  }

  /* Back to a read lock before the catalog's transaction commits, so that
  ** the next process to open the root finds no write lock. */
  epochLockShared(zCatalog);
  return rc;
}

/* Map the counter file fd and publish the mapping. Closes fd. */
static void epochMap(int fd, const char *zPath, int bWritable){
  void *pMap = mmap(0, EPOCH_BYTES, PROT_READ | (bWritable ? PROT_WRITE : 0),
                    MAP_SHARED, fd, 0);
  close(fd);   /* the mapping stays valid without the descriptor */
  if( pMap==MAP_FAILED ){
    epochFail(zPath, "mmap failed", errno, 0);
    return;
  }
  epochWritable = bWritable;
  if( !bWritable ) epochFail(zPath, "this process may only read it", 0, 1);
#if TENANT_EPOCH_ATOMIC
  __atomic_store_n(&tenantEpochCounter, (sqlite3_uint64*)pMap,
                   __ATOMIC_RELEASE);
#endif
}

int tenantEpochOpen(sqlite3 *db, const char *zRoot, int bCreate,
                    char **pzErr){
  char zRecorded[EPOCH_ID_HEX];
  char zNew[EPOCH_ID_HEX];
  char *zPath;
  char *zCatalog;
  int bWritable = 0;
  int fd = -1;
  int rc = SQLITE_OK;

  if( tenantEpochCounter ) return SQLITE_OK;
  zPath = sqlite3_mprintf("%s/catalog.db-epoch", zRoot);
  zCatalog = sqlite3_mprintf("%s/catalog.db", zRoot);
  if( zPath==0 || zCatalog==0 ){
    tenantSetError(pzErr, "out of memory while opening the change counter");
    rc = SQLITE_NOMEM;
    goto epoch_open_done;
  }
  if( !TENANT_EPOCH_ATOMIC ){
    epochFail(zPath, "this build has no lock-free 64-bit atomics", 0, 0);
    goto epoch_open_done;
  }

  /* The read lock comes first, so that a reset in another process either
  ** finds it or has finished before this process reads the record. */
  epochLockShared(zCatalog);
  rc = epochRecordRead(db, zRecorded, pzErr);
  if( rc==SQLITE_ROW ){
    rc = epochOpenRecorded(db, zPath, zCatalog, zRecorded, bCreate, &fd,
                           &bWritable, pzErr);
  }else if( rc==SQLITE_DONE && bCreate ){
    rc = epochOpenNew(db, zPath, zCatalog, &fd, &bWritable, zNew, pzErr);
  }else if( rc==SQLITE_DONE ){
    epochFail(zPath, "the catalog records no counter yet, and only a new"
              " process creates it", 0, 0);
    rc = SQLITE_OK;
  }
  if( fd>=0 ) epochMap(fd, zPath, bWritable);
  if( tenantEpochCounter==0 ) epochLockRelease();

epoch_open_done:
  sqlite3_free(zPath);
  sqlite3_free(zCatalog);
  return rc;
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
int tenantEpochAdvance(sqlite3 *db, char **pzErr){
  const char *zRoot = tenantCatalogRoot();

  if( tenantEpochCounter==0 && zRoot ){
    int rc = tenantEpochOpen(db, zRoot, 0, pzErr);
    if( rc!=SQLITE_OK ) return rc;
  }
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
