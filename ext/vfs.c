/*
** The "tenant" VFS: a shim over the platform's default VFS that maps the
** logical names of a tenant store to physical files.
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
** encrypted by the VFS itself in SQLCipher's format (see vfscodec.c), for
** hosts that link no codec. Its rollback journal and WAL inherit the codec
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
SQLITE_EXTENSION_INIT3

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#define TENANT_SESSION_PREFIX "tenant-session:"
#define TENANT_SESSION_PREFIX_LEN 15
#define TENANT_SESSION_DIR ".sessions"

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

static sqlite3_vfs tenantVfs;        /* this VFS; pAppData is the real one */
#define REAL_VFS ((sqlite3_vfs*)tenantVfs.pAppData)

static unsigned int tenantGet4(const unsigned char *a){
  return ((unsigned int)a[0]<<24) | ((unsigned int)a[1]<<16)
       | ((unsigned int)a[2]<<8) | (unsigned int)a[3];
}

static void tenantPut4(unsigned char *a, unsigned int v){
  a[0] = (unsigned char)(v>>24);
  a[1] = (unsigned char)(v>>16);
  a[2] = (unsigned char)(v>>8);
  a[3] = (unsigned char)v;
}

static int tenantRealRead(TenantVfsFile *p, void *z, int n, sqlite3_int64 i){
  return p->pReal->pMethods->xRead(p->pReal, z, n, i);
}

static int tenantRealWrite(TenantVfsFile *p, const void *z, int n,
                           sqlite3_int64 i){
  return p->pReal->pMethods->xWrite(p->pReal, z, n, i);
}

/* Log a page that fails its HMAC and return the code SQLite gets. */
static int tenantReportBadPage(TenantVfsFile *p, const char *zWhere,
                               sqlite3_int64 iWhere, unsigned int iPgno){
  int rc = tenantCodecErrorCode();
  sqlite3_log(rc, "tenant VFS: page %u of %s (%s %lld) fails its HMAC "
      "check: the file is corrupt or was changed outside SQLite, or the key "
      "is wrong", iPgno, p->zName ? p->zName : "a temporary file", zWhere,
      iWhere);
  return rc;
}

/* ---- codec I/O: database file ----------------------------------------- */

/* Read any byte range of an encrypted database file: each page it touches
** is read whole, authenticated and decrypted. */
static int tenantDbRead(TenantVfsFile *p, unsigned char *zBuf, int iAmt,
                        sqlite3_int64 iOfst){
  int nPage = p->nPage;
  int rc = SQLITE_OK;
  int bShort = 0;

  /* The usual call: one whole page, decrypted in the caller's buffer. */
  if( iAmt==nPage && iOfst%nPage==0 ){
    unsigned int iPgno = (unsigned int)(iOfst/nPage) + 1;
    rc = tenantRealRead(p, zBuf, iAmt, iOfst);
    if( rc==SQLITE_IOERR_SHORT_READ ){
      memset(zBuf, 0, iAmt);
      return rc;
    }
    if( rc!=SQLITE_OK ) return rc;
    rc = tenantCipherDecrypt(p->pCipher, iPgno, zBuf);
    if( rc==tenantCodecErrorCode() ){
      rc = tenantReportBadPage(p, "offset", iOfst, iPgno);
    }
    return rc;
  }

  /* A part of a page, as the header reads at open: decrypt via aBuf. */
  while( iAmt>0 && rc==SQLITE_OK ){
    sqlite3_int64 iPageOfst = iOfst - iOfst%nPage;
    int iIn = (int)(iOfst - iPageOfst);
    int n = nPage - iIn < iAmt ? nPage - iIn : iAmt;
    unsigned int iPgno = (unsigned int)(iPageOfst/nPage) + 1;
    rc = tenantRealRead(p, p->aBuf, nPage, iPageOfst);
    if( rc==SQLITE_IOERR_SHORT_READ ){
      memset(p->aBuf, 0, nPage);
      bShort = 1;
      rc = SQLITE_OK;
    }else if( rc==SQLITE_OK ){
      rc = tenantCipherDecrypt(p->pCipher, iPgno, p->aBuf);
      if( rc==tenantCodecErrorCode() ){
        rc = tenantReportBadPage(p, "offset", iPageOfst, iPgno);
      }
    }
    if( rc==SQLITE_OK ) memcpy(zBuf, p->aBuf + iIn, n);
    zBuf += n;
    iOfst += n;
    iAmt -= n;
  }
  if( rc==SQLITE_OK && bShort ) rc = SQLITE_IOERR_SHORT_READ;
  return rc;
}

/*
** Check that page 1 declares the page size and reserved bytes the codec
** needs: SQLite keeps its own data out of the reserved bytes, where the IV
** and HMAC go.
*/
static int tenantDbCheckHeader(TenantVfsFile *p, const unsigned char *a){
  int nDeclared = (a[16]<<8) | (a[17]<<16);
  int nReserve = a[20];
  if( nDeclared==p->nPage && nReserve==tenantCodecReserve(p->pCodec) ){
    return SQLITE_OK;
  }
  sqlite3_log(SQLITE_IOERR_WRITE, "tenant VFS: cannot encrypt %s: its "
      "header declares pages of %d bytes with %d reserved, but the "
      "SQLCipher %d format needs %d and %d; set PRAGMA page_size and "
      "SQLITE_FCNTL_RESERVE_BYTES before the first write", p->zName,
      nDeclared, nReserve, tenantCodecFormat(p->pCodec), p->nPage,
      tenantCodecReserve(p->pCodec));
  return SQLITE_IOERR_WRITE;
}

static int tenantDbWrite(TenantVfsFile *p, const unsigned char *zBuf,
                         int iAmt, sqlite3_int64 iOfst){
  unsigned int iPgno;
  int rc;

  if( iAmt!=p->nPage || iOfst%p->nPage!=0 ){
    sqlite3_log(SQLITE_IOERR_WRITE, "tenant VFS: cannot encrypt a write of "
        "%d bytes at offset %lld of %s: the SQLCipher %d format needs "
        "whole pages of %d bytes; set PRAGMA page_size=%d before the first "
        "write", iAmt, iOfst, p->zName, tenantCodecFormat(p->pCodec),
        p->nPage, p->nPage);
    return SQLITE_IOERR_WRITE;
  }
  iPgno = (unsigned int)(iOfst/p->nPage) + 1;
  if( iPgno==1 ){
    rc = tenantDbCheckHeader(p, zBuf);
    if( rc!=SQLITE_OK ) return rc;
  }
  rc = tenantCipherEncrypt(p->pCipher, iPgno, zBuf, p->aBuf);
  if( rc!=SQLITE_OK ) return rc;
  return tenantRealWrite(p, p->aBuf, iAmt, iOfst);
}

/* ---- codec I/O: rollback journal -------------------------------------- */

/* The sum SQLite's journal checksum adds to its nonce: every 200th byte of
** the page image, from the end. */
static unsigned int tenantJrnlSample(const unsigned char *a, int nPage){
  unsigned int x = 0;
  int i;
  for(i=nPage-JOURNAL_CKSUM_STRIDE; i>0; i-=JOURNAL_CKSUM_STRIDE) x += a[i];
  return x;
}

/* True when a page-size call at iOfst is the page image of a record: the
** 4-byte call just before it was a page number. Page numbers never equal
** the lock page, which marks a super-journal name instead. */
static int tenantJrnlIsImage(TenantVfsFile *p, int iAmt, sqlite3_int64 iOfst){
  unsigned int iLockPage = (unsigned int)(0x40000000 / p->nPage) + 1;
  return iAmt==p->nPage && p->iJrnlLast4==iOfst-4
      && p->jrnlLast4!=0 && p->jrnlLast4!=iLockPage;
}

static int tenantJrnlWrite(TenantVfsFile *p, const unsigned char *zBuf,
                           int iAmt, sqlite3_int64 iOfst){
  int rc;

  if( iAmt==4 && iOfst==p->iJrnlCksum ){
    /* The checksum of the image just written: SQLite summed plaintext,
    ** the file holds ciphertext, as SQLCipher's journal does. */
    unsigned char a[4];
    tenantPut4(a, tenantGet4(zBuf) + p->jrnlCksumDelta);
    p->iJrnlCksum = -1;
    p->iJrnlLast4 = -1;
    return tenantRealWrite(p, a, 4, iOfst);
  }
  if( iAmt==4 ){
    p->iJrnlLast4 = iOfst;
    p->jrnlLast4 = tenantGet4(zBuf);
    return tenantRealWrite(p, zBuf, iAmt, iOfst);
  }
  if( tenantJrnlIsImage(p, iAmt, iOfst) ){
    rc = tenantCipherEncrypt(p->pCipher, p->jrnlLast4, zBuf, p->aBuf);
    if( rc!=SQLITE_OK ) return rc;
    p->jrnlCksumDelta = tenantJrnlSample(p->aBuf, iAmt)
                      - tenantJrnlSample(zBuf, iAmt);
    p->iJrnlCksum = iOfst + iAmt;
    p->iJrnlLast4 = -1;
    return tenantRealWrite(p, p->aBuf, iAmt, iOfst);
  }

  /* Journal headers and the super-journal name hold no page content. */
  p->iJrnlLast4 = -1;
  return tenantRealWrite(p, zBuf, iAmt, iOfst);
}

/*
** A page image that fails its HMAC is either a record torn by a crash,
** which SQLite must see as the end of the journal, or a complete record
** that was changed, which is an error. A complete record's checksum on disk
** matches the ciphertext.
*/
static int tenantJrnlBadImage(TenantVfsFile *p, unsigned int iPgno,
                              unsigned int nCipherSum, sqlite3_int64 iOfst){
  unsigned char a[4];
  int rc;

  if( p->bJrnlCksumInit ){
    rc = tenantRealRead(p, a, 4, iOfst + p->nPage);
    if( rc==SQLITE_IOERR_SHORT_READ
     || (rc==SQLITE_OK && tenantGet4(a)!=p->jrnlCksumInit + nCipherSum) ){
      p->bJrnlCksumBad = 1;
      p->iJrnlCksum = iOfst + p->nPage;
      return SQLITE_OK;
    }
  }
  return tenantReportBadPage(p, "journal offset", iOfst, iPgno);
}

static int tenantJrnlRead(TenantVfsFile *p, unsigned char *zBuf, int iAmt,
                          sqlite3_int64 iOfst){
  static const unsigned char aMagic[8] = {
    0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7
  };
  int rc;

  if( iAmt==4 && iOfst==p->iJrnlCksum ){
    rc = tenantRealRead(p, zBuf, iAmt, iOfst);
    if( rc==SQLITE_OK ){
      unsigned int v = tenantGet4(zBuf);
      /* A torn image reads as zeros, whose sum is 0: one more than the
      ** nonce can never match. */
      v = p->bJrnlCksumBad ? p->jrnlCksumInit + 1 : v + p->jrnlCksumDelta;
      tenantPut4(zBuf, v);
    }
    p->iJrnlCksum = -1;
    p->bJrnlCksumBad = 0;
    p->iJrnlLast4 = -1;
    return rc;
  }
  if( tenantJrnlIsImage(p, iAmt, iOfst) ){
    unsigned int iPgno = p->jrnlLast4;
    unsigned int nCipherSum;
    p->iJrnlLast4 = -1;
    p->iJrnlCksum = -1;
    p->bJrnlCksumBad = 0;
    rc = tenantRealRead(p, zBuf, iAmt, iOfst);
    if( rc!=SQLITE_OK ){
      if( rc==SQLITE_IOERR_SHORT_READ ) memset(zBuf, 0, iAmt);
      return rc;
    }
    nCipherSum = tenantJrnlSample(zBuf, iAmt);
    rc = tenantCipherDecrypt(p->pCipher, iPgno, zBuf);
    if( rc==tenantCodecErrorCode() ){
      return tenantJrnlBadImage(p, iPgno, nCipherSum, iOfst);
    }
    if( rc!=SQLITE_OK ) return rc;
    p->jrnlCksumDelta = tenantJrnlSample(zBuf, iAmt) - nCipherSum;
    p->iJrnlCksum = iOfst + iAmt;
    return SQLITE_OK;
  }

  rc = tenantRealRead(p, zBuf, iAmt, iOfst);
  if( iAmt==4 ){
    p->iJrnlLast4 = iOfst;
    p->jrnlLast4 = rc==SQLITE_OK ? tenantGet4(zBuf) : 0;
    if( rc==SQLITE_OK && iOfst==p->iJrnlHeader+12 ){
      p->jrnlCksumInit = p->jrnlLast4;
      p->bJrnlCksumInit = 1;
    }
  }else{
    p->iJrnlLast4 = -1;
    if( iAmt==8 && rc==SQLITE_OK && memcmp(zBuf, aMagic, 8)==0 ){
      p->iJrnlHeader = iOfst;
      p->bJrnlCksumInit = 0;
    }
  }
  return rc;
}

/* ---- codec I/O: WAL --------------------------------------------------- */

static int tenantWalFrameSize(TenantVfsFile *p){
  return WAL_FRAME_HEADER_BYTES + p->nPage;
}

static sqlite3_int64 tenantWalFrameOffset(TenantVfsFile *p, unsigned int k){
  return WAL_HEADER_BYTES + (sqlite3_int64)(k-1)*tenantWalFrameSize(p);
}

/* Add n bytes (a multiple of 8) to the running WAL checksum aCk, as
** SQLite's walChecksumBytes() does. */
static void tenantWalChecksum(int bBig, const unsigned char *a, int n,
                              unsigned int *aCk){
  unsigned int s1 = aCk[0], s2 = aCk[1];
  int i;
  for(i=0; i<n; i+=8){
    unsigned int x0, x1;
    if( bBig ){
      x0 = tenantGet4(a+i);
      x1 = tenantGet4(a+i+4);
    }else{
      x0 = (unsigned int)a[i] | ((unsigned int)a[i+1]<<8)
         | ((unsigned int)a[i+2]<<16) | ((unsigned int)a[i+3]<<24);
      x1 = (unsigned int)a[i+4] | ((unsigned int)a[i+5]<<8)
         | ((unsigned int)a[i+6]<<16) | ((unsigned int)a[i+7]<<24);
    }
    s1 += x0 + s2;
    s2 += x1 + s1;
  }
  aCk[0] = s1;
  aCk[1] = s2;
}

/* Read the WAL header from disk into a (32 bytes). */
static int tenantWalReadHeader(TenantVfsFile *p, unsigned char *a){
  int rc = tenantRealRead(p, a, WAL_HEADER_BYTES, 0);
  if( rc==SQLITE_OK ) p->bWalBigEndian = a[3] & 1;
  return rc;
}

/* The checksum stored on disk after frame k; k==0 means the header's. */
static int tenantWalDiskChain(TenantVfsFile *p, unsigned int k,
                              unsigned int *aCk){
  unsigned char a[WAL_HEADER_BYTES];
  int rc;
  if( k==0 ){
    rc = tenantWalReadHeader(p, a);
    if( rc==SQLITE_OK ){
      aCk[0] = tenantGet4(a+24);
      aCk[1] = tenantGet4(a+28);
    }
  }else{
    rc = tenantRealRead(p, a, 8, tenantWalFrameOffset(p, k) + 16);
    if( rc==SQLITE_OK ){
      aCk[0] = tenantGet4(a);
      aCk[1] = tenantGet4(a+4);
    }
  }
  return rc;
}

static void tenantWalRemember(TenantVfsFile *p, unsigned int k,
                              const unsigned char *aSalt,
                              const unsigned int *aDisk,
                              const unsigned int *aPlain){
  p->iChainFrame = k;
  memcpy(p->aChainSalt, aSalt, 8);
  memcpy(p->aChainDisk, aDisk, sizeof(p->aChainDisk));
  memcpy(p->aChainPlain, aPlain, sizeof(p->aChainPlain));
}

/*
** The checksum SQLite sees after frame k (k==0: the header's). It is kept
** for the frame last translated; otherwise it is computed again from the
** first frame, which only walRewriteChecksums() of another write
** transaction can make necessary. The kept value is trusted only while
** frame k still has the same salts and disk checksum.
*/
static int tenantWalPlainChain(TenantVfsFile *p, unsigned int k,
                               unsigned int *aCk){
  unsigned char aHdr[16];
  unsigned char *aFrame = 0;
  unsigned int aDisk[2];
  unsigned int j;
  int nFrame = tenantWalFrameSize(p);
  int rc;

  if( k==0 ) return tenantWalDiskChain(p, 0, aCk);
  if( p->iChainFrame==k ){
    rc = tenantRealRead(p, aHdr, 16, tenantWalFrameOffset(p, k) + 8);
    if( rc!=SQLITE_OK ) return rc;
    if( memcmp(aHdr, p->aChainSalt, 8)==0
     && tenantGet4(aHdr+8)==p->aChainDisk[0]
     && tenantGet4(aHdr+12)==p->aChainDisk[1] ){
      memcpy(aCk, p->aChainPlain, sizeof(p->aChainPlain));
      return SQLITE_OK;
    }
  }

  aFrame = sqlite3_malloc64(nFrame);
  if( aFrame==0 ) return SQLITE_NOMEM;
  rc = tenantWalDiskChain(p, 0, aCk);
  for(j=1; j<=k && rc==SQLITE_OK; j++){
    rc = tenantRealRead(p, aFrame, nFrame, tenantWalFrameOffset(p, j));
    if( rc!=SQLITE_OK ) break;
    rc = tenantCipherDecrypt(p->pCipher, tenantGet4(aFrame),
                             aFrame + WAL_FRAME_HEADER_BYTES);
    if( rc==tenantCodecErrorCode() ){
      rc = tenantReportBadPage(p, "WAL frame", j, tenantGet4(aFrame));
    }
    if( rc!=SQLITE_OK ) break;
    tenantWalChecksum(p->bWalBigEndian, aFrame, 8, aCk);
    tenantWalChecksum(p->bWalBigEndian, aFrame + WAL_FRAME_HEADER_BYTES,
                      p->nPage, aCk);
    aDisk[0] = tenantGet4(aFrame+16);
    aDisk[1] = tenantGet4(aFrame+20);
    tenantWalRemember(p, j, aFrame+8, aDisk, aCk);
  }
  sqlite3_free(aFrame);
  return rc;
}

/*
** Read frame k into aFrame as SQLite expects it: the page image decrypted
** and the header's checksum computed over the plaintext. A frame that
** SQLite will reject anyway (other salts, page 0, a checksum that does not
** match the disk, as after a torn write) is returned as it is on disk.
*/
static int tenantWalTranslateFrame(TenantVfsFile *p, unsigned int k,
                                   unsigned char *aFrame){
  unsigned char aWalHdr[WAL_HEADER_BYTES];
  unsigned int aDisk[2], aPlain[2];
  unsigned char *aData = aFrame + WAL_FRAME_HEADER_BYTES;
  unsigned int iPgno;
  int rc;

  rc = tenantRealRead(p, aFrame, tenantWalFrameSize(p),
                      tenantWalFrameOffset(p, k));
  if( rc!=SQLITE_OK ) return rc;
  rc = tenantWalReadHeader(p, aWalHdr);
  if( rc!=SQLITE_OK ) return rc;
  iPgno = tenantGet4(aFrame);
  if( iPgno==0 || memcmp(aFrame+8, aWalHdr+16, 8)!=0 ) return SQLITE_OK;

  rc = tenantWalDiskChain(p, k-1, aDisk);
  if( rc!=SQLITE_OK ) return rc;
  tenantWalChecksum(p->bWalBigEndian, aFrame, 8, aDisk);
  tenantWalChecksum(p->bWalBigEndian, aData, p->nPage, aDisk);
  if( aDisk[0]!=tenantGet4(aFrame+16) || aDisk[1]!=tenantGet4(aFrame+20) ){
    return SQLITE_OK;
  }

  rc = tenantWalPlainChain(p, k-1, aPlain);
  if( rc!=SQLITE_OK ) return rc;
  rc = tenantCipherDecrypt(p->pCipher, iPgno, aData);
  if( rc==tenantCodecErrorCode() ){
    return tenantReportBadPage(p, "WAL frame", k, iPgno);
  }
  if( rc!=SQLITE_OK ) return rc;
  tenantWalChecksum(p->bWalBigEndian, aFrame, 8, aPlain);
  tenantWalChecksum(p->bWalBigEndian, aData, p->nPage, aPlain);
  tenantPut4(aFrame+16, aPlain[0]);
  tenantPut4(aFrame+20, aPlain[1]);
  tenantWalRemember(p, k, aFrame+8, aDisk, aPlain);
  return SQLITE_OK;
}

/*
** Write frame k: the header aHdr as SQLite made it, with a checksum over
** the plaintext, and the page image aData (plaintext), or NULL to keep the
** encrypted image on disk. The header goes to disk with the checksum over
** the ciphertext, chained from the previous frame's on disk.
*/
static int tenantWalWriteFrame(TenantVfsFile *p, unsigned int k,
                               const unsigned char *aHdr,
                               const unsigned char *aData){
  unsigned char *aOut = p->aBuf;
  unsigned int aDisk[2], aPlain[2];
  int nFrame = tenantWalFrameSize(p);
  int rc;

  memcpy(aOut, aHdr, WAL_FRAME_HEADER_BYTES);
  if( aData ){
    rc = tenantCipherEncrypt(p->pCipher, tenantGet4(aHdr), aData,
                             aOut + WAL_FRAME_HEADER_BYTES);
  }else{
    rc = tenantRealRead(p, aOut + WAL_FRAME_HEADER_BYTES, p->nPage,
                        tenantWalFrameOffset(p, k) + WAL_FRAME_HEADER_BYTES);
  }
  if( rc==SQLITE_IOERR_SHORT_READ ){
    /* No image on disk: the frame is invalid whatever its header says. */
    return tenantRealWrite(p, aHdr, WAL_FRAME_HEADER_BYTES,
                           tenantWalFrameOffset(p, k));
  }
  if( rc!=SQLITE_OK ) return rc;
  if( k==1 ){
    unsigned char aWalHdr[WAL_HEADER_BYTES];
    rc = tenantWalReadHeader(p, aWalHdr);
    aDisk[0] = tenantGet4(aWalHdr+24);
    aDisk[1] = tenantGet4(aWalHdr+28);
  }else{
    rc = tenantWalDiskChain(p, k-1, aDisk);
  }
  if( rc!=SQLITE_OK ) return rc;
  tenantWalChecksum(p->bWalBigEndian, aOut, 8, aDisk);
  tenantWalChecksum(p->bWalBigEndian, aOut + WAL_FRAME_HEADER_BYTES,
                    p->nPage, aDisk);
  tenantPut4(aOut+16, aDisk[0]);
  tenantPut4(aOut+20, aDisk[1]);
  rc = tenantRealWrite(p, aOut, aData ? nFrame : WAL_FRAME_HEADER_BYTES,
                       tenantWalFrameOffset(p, k));
  if( rc==SQLITE_OK ){
    aPlain[0] = tenantGet4(aHdr+16);
    aPlain[1] = tenantGet4(aHdr+20);
    tenantWalRemember(p, k, aHdr+8, aDisk, aPlain);
  }
  return rc;
}

/* Write the held-back frame header, over the image already on disk. */
static int tenantWalFlush(TenantVfsFile *p){
  unsigned int k;
  if( !p->bPending ) return SQLITE_OK;
  p->bPending = 0;
  k = (unsigned int)((p->iPending - WAL_HEADER_BYTES)
                     / tenantWalFrameSize(p)) + 1;
  return tenantWalWriteFrame(p, k, p->aPending, 0);
}

/* Which frame (from 1) holds offset iOfst, and where in it. */
static unsigned int tenantWalLocate(TenantVfsFile *p, sqlite3_int64 iOfst,
                                    int *piIn){
  int nFrame = tenantWalFrameSize(p);
  *piIn = (int)((iOfst - WAL_HEADER_BYTES) % nFrame);
  return (unsigned int)((iOfst - WAL_HEADER_BYTES) / nFrame) + 1;
}

static int tenantWalUnsupported(TenantVfsFile *p, const char *zOp, int iAmt,
                                sqlite3_int64 iOfst, int rc){
  sqlite3_log(rc, "tenant VFS: %s of %d bytes at offset %lld of %s is not "
      "supported by the codec: it crosses a WAL frame boundary", zOp, iAmt,
      iOfst, p->zName);
  return rc;
}

static int tenantWalRead(TenantVfsFile *p, unsigned char *zBuf, int iAmt,
                         sqlite3_int64 iOfst){
  unsigned int k;
  int iIn;
  int rc;

  rc = tenantWalFlush(p);
  if( rc!=SQLITE_OK ) return rc;
  if( iOfst<WAL_HEADER_BYTES ){
    if( iOfst+iAmt>WAL_HEADER_BYTES ){
      return tenantWalUnsupported(p, "a read", iAmt, iOfst, SQLITE_IOERR_READ);
    }
    rc = tenantRealRead(p, zBuf, iAmt, iOfst);
    if( rc==SQLITE_OK && iOfst==0 && iAmt>=4 ) p->bWalBigEndian = zBuf[3]&1;
    return rc;
  }
  k = tenantWalLocate(p, iOfst, &iIn);
  if( iIn+iAmt>tenantWalFrameSize(p) ){
    return tenantWalUnsupported(p, "a read", iAmt, iOfst, SQLITE_IOERR_READ);
  }

  if( iIn>=WAL_FRAME_HEADER_BYTES ){
    /* Page image only: read the frame for its page number, decrypt. */
    unsigned char *aData = p->aBuf + WAL_FRAME_HEADER_BYTES;
    unsigned int iPgno;
    rc = tenantRealRead(p, p->aBuf, tenantWalFrameSize(p),
                        tenantWalFrameOffset(p, k));
    if( rc!=SQLITE_OK ){
      if( rc==SQLITE_IOERR_SHORT_READ ) memset(zBuf, 0, iAmt);
      return rc;
    }
    iPgno = tenantGet4(p->aBuf);
    rc = tenantCipherDecrypt(p->pCipher, iPgno, aData);
    if( rc==tenantCodecErrorCode() ){
      return tenantReportBadPage(p, "WAL frame", k, iPgno);
    }
    if( rc!=SQLITE_OK ) return rc;
  }else{
    rc = tenantWalTranslateFrame(p, k, p->aBuf);
    if( rc!=SQLITE_OK ){
      if( rc==SQLITE_IOERR_SHORT_READ ) memset(zBuf, 0, iAmt);
      return rc;
    }
  }
  memcpy(zBuf, p->aBuf + iIn, iAmt);
  return SQLITE_OK;
}

static int tenantWalWrite(TenantVfsFile *p, const unsigned char *zBuf,
                          int iAmt, sqlite3_int64 iOfst){
  unsigned int k;
  int iIn;
  int rc;

  if( iOfst<WAL_HEADER_BYTES ){
    rc = tenantWalFlush(p);
    if( rc!=SQLITE_OK ) return rc;
    if( iOfst+iAmt>WAL_HEADER_BYTES ){
      return tenantWalUnsupported(p, "a write", iAmt, iOfst,
                                  SQLITE_IOERR_WRITE);
    }
    if( iOfst==0 && iAmt>=4 ) p->bWalBigEndian = zBuf[3]&1;
    p->iChainFrame = 0;
    return tenantRealWrite(p, zBuf, iAmt, iOfst);
  }
  k = tenantWalLocate(p, iOfst, &iIn);

  if( iIn==0 && iAmt==WAL_FRAME_HEADER_BYTES ){
    rc = tenantWalFlush(p);
    if( rc!=SQLITE_OK ) return rc;
    memcpy(p->aPending, zBuf, WAL_FRAME_HEADER_BYTES);
    p->iPending = iOfst;
    p->bPending = 1;
    return SQLITE_OK;
  }
  if( iIn==WAL_FRAME_HEADER_BYTES && iAmt==p->nPage ){
    unsigned char aHdr[WAL_FRAME_HEADER_BYTES];
    if( p->bPending && p->iPending==iOfst-WAL_FRAME_HEADER_BYTES ){
      p->bPending = 0;
      memcpy(aHdr, p->aPending, sizeof(aHdr));
    }else{
      /* A new image for a frame of this transaction; SQLite rewrites the
      ** headers after it later. */
      rc = tenantWalFlush(p);
      if( rc==SQLITE_OK ){
        rc = tenantRealRead(p, aHdr, sizeof(aHdr),
                            iOfst-WAL_FRAME_HEADER_BYTES);
      }
      if( rc!=SQLITE_OK ) return rc;
    }
    return tenantWalWriteFrame(p, k, aHdr, zBuf);
  }
  if( iIn==0 && iAmt==tenantWalFrameSize(p) ){
    rc = tenantWalFlush(p);
    if( rc!=SQLITE_OK ) return rc;
    return tenantWalWriteFrame(p, k, zBuf, zBuf + WAL_FRAME_HEADER_BYTES);
  }
  return tenantWalUnsupported(p, "a write", iAmt, iOfst, SQLITE_IOERR_WRITE);
}

/* ---- codec I/O: temporary files --------------------------------------- */

static int tenantTempRead(TenantVfsFile *p, unsigned char *zBuf, int iAmt,
                          sqlite3_int64 iOfst){
  int rc = tenantRealRead(p, zBuf, iAmt, iOfst);
  int n = iAmt;
  if( rc==SQLITE_IOERR_SHORT_READ ){
    /* Only the bytes before the end of the file were read; the rest are
    ** zeros that must stay zeros. */
    sqlite3_int64 nSize = 0;
    if( p->pReal->pMethods->xFileSize(p->pReal, &nSize)!=SQLITE_OK ){
      nSize = iOfst;
    }
    n = nSize<=iOfst ? 0 : (nSize-iOfst<iAmt ? (int)(nSize-iOfst) : iAmt);
  }else if( rc!=SQLITE_OK ){
    return rc;
  }
  if( n>0 && tenantStreamApply(p->pStream, zBuf, n, iOfst)!=SQLITE_OK ){
    return SQLITE_IOERR_READ;
  }
  return rc;
}

static int tenantTempWrite(TenantVfsFile *p, const unsigned char *zBuf,
                           int iAmt, sqlite3_int64 iOfst){
  unsigned char *aCopy = sqlite3_malloc64(iAmt>0 ? iAmt : 1);
  int rc;
  if( aCopy==0 ) return SQLITE_IOERR_NOMEM;
  memcpy(aCopy, zBuf, iAmt);
  rc = tenantStreamApply(p->pStream, aCopy, iAmt, iOfst);
  if( rc==SQLITE_OK ) rc = tenantRealWrite(p, aCopy, iAmt, iOfst);
  else rc = SQLITE_IOERR_WRITE;
  sqlite3_free(aCopy);
  return rc;
}

/* ---- io methods ------------------------------------------------------- */

static void tenantFileRelease(TenantVfsFile *p){
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
  return p->pReal->pMethods->xLock(p->pReal, eLock);
}

static int tenantIoUnlock(sqlite3_file *pFile, int eLock){
  TenantVfsFile *p = (TenantVfsFile*)pFile;
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

static int tenantIoShmMap(sqlite3_file *pFile, int iPg, int pgsz, int bExtend,
                          void volatile **pp){
  TenantVfsFile *p = (TenantVfsFile*)pFile;
  return p->pReal->pMethods->xShmMap(p->pReal, iPg, pgsz, bExtend, pp);
}

static int tenantIoShmLock(sqlite3_file *pFile, int offset, int n, int flags){
  TenantVfsFile *p = (TenantVfsFile*)pFile;
  return p->pReal->pMethods->xShmLock(p->pReal, offset, n, flags);
}

static void tenantIoShmBarrier(sqlite3_file *pFile){
  TenantVfsFile *p = (TenantVfsFile*)pFile;
  p->pReal->pMethods->xShmBarrier(p->pReal);
}

static int tenantIoShmUnmap(sqlite3_file *pFile, int deleteFlag){
  TenantVfsFile *p = (TenantVfsFile*)pFile;
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

static const sqlite3_io_methods tenantIoMethods[3] = {
  TENANT_IO_METHODS(1, 0, 0, 0, 0, 0, 0),
  TENANT_IO_METHODS(2, tenantIoShmMap, tenantIoShmLock, tenantIoShmBarrier,
                    tenantIoShmUnmap, 0, 0),
  TENANT_IO_METHODS(3, tenantIoShmMap, tenantIoShmLock, tenantIoShmBarrier,
                    tenantIoShmUnmap, tenantIoFetch, tenantIoUnfetch),
};

static int tenantIsOurFile(sqlite3_file *pFile){
  return pFile && pFile->pMethods>=&tenantIoMethods[0]
               && pFile->pMethods<=&tenantIoMethods[2];
}

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
    sqlite3_log(SQLITE_CANTOPEN, "tenant VFS: cannot open %s: unknown "
        "codec \"%s\"; use codec=vfs", zName, zCodec);
    return SQLITE_CANTOPEN;
  }
  if( zCompat && strcmp(zCompat, "4")==0 ){
    eFormat = TENANT_CODEC_SQLCIPHER4;
  }else if( zCompat && strcmp(zCompat, "3")!=0 ){
    sqlite3_log(SQLITE_CANTOPEN, "tenant VFS: cannot open %s: invalid "
        "cipher_compatibility \"%s\"; use 3 or 4", zName, zCompat);
    return SQLITE_CANTOPEN;
  }
  if( tenantHostHasCodec() ){
    sqlite3_log(SQLITE_CANTOPEN, "tenant VFS: cannot open %s with "
        "codec=vfs: this host links SQLCipher, whose codec encrypts "
        "placement files; attach with KEY instead", zName);
    return SQLITE_CANTOPEN;
  }
  if( !tenantCodecAvailable() ){
    sqlite3_log(SQLITE_CANTOPEN, "tenant VFS: cannot open %s with "
        "codec=vfs: SQLite %s is older than 3.34, which the VFS codec needs",
        zName, sqlite3_libversion());
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

static __thread int tenantVfsBinding;  /* defined with the binding calls */

static int tenantVfsOpen(sqlite3_vfs *pVfs, const char *zName,
                         sqlite3_file *pFile, int flags, int *pOutFlags){
  TenantVfsFile *p = (TenantVfsFile*)pFile;
  const char *zRealName = zName;
  const char *zCodec = 0;
  char zSuper[TENANT_MAX_PATH];
  int rc;

  memset(p, 0, sizeof(*p));
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
      tenantCatalogOpen(zRoot, &zIgnored);
      sqlite3_free(zIgnored);
    }
    if( flags & SQLITE_OPEN_MASTER_JOURNAL ){
      rc = tenantSessionRealPath(zName, zSuper, sizeof(zSuper));
      if( rc!=SQLITE_OK ) return rc;
      zRealName = zSuper;
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
    rc = tenantQuotaDiskOpen(zRealName, tenantVfsBinding>0, &p->pQuota);
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
** Map a logical name to the name SQLite works with from then on. A name
** that is already a session name or an absolute physical path (as in a
** child journal's record of its super-journal) is kept.
*/
/* Depth of tenantVfsBindingBegin() on this thread. */
static __thread int tenantVfsBinding = 0;

void tenantVfsBindingBegin(void){
  tenantVfsBinding++;
}

void tenantVfsBindingEnd(void){
  tenantVfsBinding--;
}

static int tenantVfsFullPathname(sqlite3_vfs *pVfs, const char *zName,
                                 int nOut, char *zOut){
  const char *zSlash;
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
  ** unfiltered: only the binder's ATTACH may use these names. */
  if( tenantVfsBinding==0 ){
    sqlite3_log(SQLITE_CANTOPEN, "tenant VFS: \"%s\" names a partition; "
                "partitions are attached only by binding a session: open "
                "\"file:<customer>?vfs=tenant\" instead", zName);
    return SQLITE_CANTOPEN;
  }

  rc = tenantCatalogOpen(0, &zErr);
  if( rc==SQLITE_OK ) rc = tenantPlanResolve(zName, zOut, nOut, &zErr);
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
