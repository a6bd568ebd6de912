/*
** Private interface of the tenant VFS, shared by vfs.c (names, open),
** vfsfile.c (the io methods) and vfsio.c (the codec I/O paths). It declares
** the open-file structure, the io methods and the read and write of each
** codec.
*/
#ifndef TENANT_VFSFILE_H
#define TENANT_VFSFILE_H

#include "tenant_int.h"
#include "vfscodec.h"

/* Longest session name kept whole: longer than any valid customer id, so
** that the binder sees, and rejects, an id that is too long. */
#define TENANT_VFS_MAX_SESSION_NAME (TENANT_MAX_ID * 2)

/* Kinds of file the VFS opens. */
#define TENANT_FILE_PHYSICAL 1   /* a placement file, journal or WAL */
#define TENANT_FILE_SESSION  2   /* the anonymous main database of a session */

/* Transformations the VFS applies to the bytes of a file. */
#define TENANT_CODEC_OFF     0   /* stored as SQLite writes them */
#define TENANT_CODEC_DB      1   /* encrypted database file */
#define TENANT_CODEC_JOURNAL 2   /* rollback journal of an encrypted one */
#define TENANT_CODEC_WAL     3   /* WAL of an encrypted database */
#define TENANT_CODEC_TEMP    4   /* temporary file: stream cipher */

#define WAL_HEADER_BYTES 32
#define WAL_FRAME_HEADER_BYTES 24
#define JOURNAL_CKSUM_STRIDE 200  /* a journal checksum samples every 200th
                                  ** byte of the page image */

/*
** An open file. The underlying VFS's file structure follows this one in
** the same allocation (szOsFile is the sum of both), as pReal.
**
** The journal and WAL members track what SQLite just wrote or read. SQLite
** moves a journal record (page number, page image, checksum) and a WAL frame
** (header, page image) with separate calls, and the translation of one part
** depends on another:
**   - journal: a page image follows the 4-byte page number at the offset
**     before it, and its checksum, at the offset after it, must be moved
**     from the plaintext to the ciphertext and back;
**   - WAL: a frame header is held back until its page image arrives, so
**     that header and encrypted image go to disk in one write with a
**     checksum over the ciphertext.
*/
typedef struct TenantVfsFile TenantVfsFile;
struct TenantVfsFile {
  sqlite3_file base;                 /* base class: must be first */
  sqlite3_file *pReal;               /* the underlying VFS's file */
  int eKind;                         /* TENANT_FILE_* */
  char zCustomer[TENANT_VFS_MAX_SESSION_NAME + 1];  /* a session's customer */
  const char *zName;                 /* path for log lines; SQLite keeps it
                                     ** valid until xClose */
  int eCodec;                        /* TENANT_CODEC_* */
  TenantCodec *pCodec;               /* key state, for DB, JOURNAL and WAL */
  TenantCipher *pCipher;
  TenantStream *pStream;             /* TENANT_CODEC_TEMP */
  unsigned char *aBuf;               /* scratch: one WAL frame */
  int nPage;                         /* page size of the codec */
  TenantQuotaDisk *pQuota;           /* storage limit (quota.c), or NULL */
  sqlite3_int64 nKnownSize;          /* TENANT_CODEC_DB: bytes the file has at
                                     ** least, or -1. Forgotten at every lock
                                     ** change, since another process may
                                     ** truncate the file between locks */

  /* Rollback journal. */
  sqlite3_int64 iJrnlLast4;          /* offset of the last 4-byte call */
  unsigned int jrnlLast4;            /* its value */
  sqlite3_int64 iJrnlCksum;          /* offset of the pending checksum */
  unsigned int jrnlCksumDelta;       /* add to it on the way through */
  int bJrnlCksumBad;                 /* page image failed: force a mismatch */
  sqlite3_int64 iJrnlHeader;         /* offset of the last header read */
  unsigned int jrnlCksumInit;        /* its checksum nonce */
  int bJrnlCksumInit;                /* jrnlCksumInit is known */

  /* WAL. */
  int bWalBigEndian;                 /* checksums are big-endian words */
  int bPending;                      /* aPending waits for its page image */
  sqlite3_int64 iPending;            /* offset of the pending header */
  unsigned char aPending[WAL_FRAME_HEADER_BYTES];
  unsigned int iChainFrame;          /* frame the chain values are for */
  unsigned char aChainSalt[8];       /* salts of that frame */
  unsigned int aChainDisk[2];        /* its checksum on disk */
  unsigned int aChainPlain[2];       /* its checksum as SQLite sees it */
};

/* The io methods (vfsfile.c), one table per io-methods version from 1 to
** 3. xOpen picks the version of the real file's methods, and at most 2 for
** an encrypted file, which offers no xFetch. */
extern const sqlite3_io_methods tenantIoMethods[3];

/* True when pFile was opened by the tenant VFS. */
int tenantIsOurFile(sqlite3_file *pFile);

/* Free the codec state and the storage limit of p, leaving the real file
** open, and turn its codec off. */
void tenantFileRelease(TenantVfsFile *p);

/* Read and write of the underlying VFS's file. */
int tenantRealRead(TenantVfsFile *p, void *z, int n, sqlite3_int64 i);
int tenantRealWrite(TenantVfsFile *p, const void *z, int n, sqlite3_int64 i);

/* Codec I/O (vfsio.c): the xRead and xWrite of each TENANT_CODEC_* kind. */
int tenantDbRead(TenantVfsFile *p, unsigned char *zBuf, int iAmt,
                 sqlite3_int64 iOfst);
int tenantDbWrite(TenantVfsFile *p, const unsigned char *zBuf,
                  int iAmt, sqlite3_int64 iOfst);

/* Fill an encrypted database file up to offset iEnd with encrypted pages
** of zeros, so that no gap in it reads as zeros (vfsio.c). */
int tenantDbExtend(TenantVfsFile *p, sqlite3_int64 iEnd);
int tenantJrnlRead(TenantVfsFile *p, unsigned char *zBuf, int iAmt,
                   sqlite3_int64 iOfst);
int tenantJrnlWrite(TenantVfsFile *p, const unsigned char *zBuf,
                    int iAmt, sqlite3_int64 iOfst);
int tenantWalRead(TenantVfsFile *p, unsigned char *zBuf, int iAmt,
                  sqlite3_int64 iOfst);
int tenantWalWrite(TenantVfsFile *p, const unsigned char *zBuf,
                   int iAmt, sqlite3_int64 iOfst);
int tenantTempRead(TenantVfsFile *p, unsigned char *zBuf, int iAmt,
                   sqlite3_int64 iOfst);
int tenantTempWrite(TenantVfsFile *p, const unsigned char *zBuf,
                    int iAmt, sqlite3_int64 iOfst);

/* Add n bytes (a multiple of 8) to the running WAL checksum aCk, as
** SQLite's walChecksumBytes() does. bBig selects big-endian words. */
void tenantWalChecksum(int bBig, const unsigned char *a, int n,
                       unsigned int *aCk);

/* Write the WAL frame header held back for its page image, if any. Called
** before every operation that must see the WAL as it is on disk. */
int tenantWalFlush(TenantVfsFile *p);

/* The last three components of a file's path, for log lines. */
const char *tenantShortName(const char *zName);

#endif /* TENANT_VFSFILE_H */
