/*
** The codec I/O paths of the tenant VFS (vfs.c): how the bytes of a
** database file, its rollback journal, its WAL and a temporary file are
** translated between what SQLite reads and writes and what the disk holds.
**
** The io methods of vfsfile.c call the read and write of the file's codec
** (TenantVfsFile.eCodec). Database pages are encrypted whole by the page
** codec of vfscodec.c. Journal records and WAL frames keep their layout,
** with their checksums recomputed over the ciphertext, as SQLCipher writes
** them. Temporary files go through a stream cipher.
**
** LIMITATIONS: a database file takes only writes of whole pages, and a WAL
** takes no read or write that crosses a frame boundary. Both fail with an
** I/O error and a line in sqlite3_log().
*/
#include "vfsfile.h"
SQLITE_EXTENSION_INIT3

#include <assert.h>
#include <string.h>

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

int tenantRealRead(TenantVfsFile *p, void *z, int n, sqlite3_int64 i){
  return p->pReal->pMethods->xRead(p->pReal, z, n, i);
}

int tenantRealWrite(TenantVfsFile *p, const void *z, int n,
                    sqlite3_int64 i){
  return p->pReal->pMethods->xWrite(p->pReal, z, n, i);
}

/*
** Log a page that fails its HMAC and return the code SQLite gets. Page 1 of
** a database file is the first page any connection reads, so a wrong key
** fails it before anything else. It returns SQLITE_NOTADB, as SQLCipher's
** codec does, and every other page returns tenantCodecErrorCode().
** sqlite3_log() keeps about 210 bytes of a line, so the advice comes
** before the path.
*/
/*
** The last three components of a file's path: "<project>/<database>/<file>"
** under the root. sqlite3_log() keeps about 210 bytes of a line, so a log
** line names a file by this, which is unique in its root, and puts it
** first.
*/
const char *tenantShortName(const char *zName){
  const char *z;
  int nSlash = 0;
  if( zName==0 ) return "a temporary file";
  for(z=zName+strlen(zName); z>zName; z--){
    if( z[-1]=='/' && ++nSlash==3 ) return z;
  }
  return zName;
}

static int tenantReportBadPage(TenantVfsFile *p, const char *zWhere,
                               sqlite3_int64 iWhere, unsigned int iPgno){
  const char *zName = tenantShortName(p->zName);
  int rc = tenantCodecErrorCode();
  if( iPgno==1 && p->eCodec==TENANT_CODEC_DB ){
    sqlite3_log(SQLITE_NOTADB, "tenant VFS: %s: page 1 of the file fails its "
        "HMAC check at %s %lld: check the master key, or restore the file "
        "if it is corrupt", zName, zWhere, iWhere);
    return SQLITE_NOTADB;
  }
  sqlite3_log(rc, "tenant VFS: %s: page %u of the file fails its HMAC check "
      "at %s %lld: the file is corrupt or was changed outside SQLite, or the "
      "key is wrong", zName, iPgno, zWhere, iWhere);
  return rc;
}

/*
** Log a page image of zeros read from inside a file and return
** tenantCodecErrorCode(). The codec writes every page it stores with an
** IV and an HMAC, and fills any gap before a page it writes (see
** tenantDbExtend), so zeros inside the file are damage or tampering. Only
** a read past the end of the file returns zeros, as SQLITE_IOERR_SHORT_READ.
** SQLCipher 3.4.1 accepts such a page as one never written; SQLCipher 4
** accepts it only in auto-vacuum databases, for reads past the end.
*/
static int tenantReportBlankPage(TenantVfsFile *p, const char *zWhere,
                                 sqlite3_int64 iWhere, unsigned int iPgno){
  int rc = tenantCodecErrorCode();
  sqlite3_log(rc, "tenant VFS: %s: page %u of the file is all zeros at %s "
      "%lld: it was overwritten outside SQLite; restore the file from a "
      "backup", tenantShortName(p->zName), iPgno, zWhere, iWhere);
  return rc;
}

/* ---- codec I/O: database file ----------------------------------------- */

/* Read any byte range of an encrypted database file: each page it touches
** is read whole, authenticated and decrypted. */
int tenantDbRead(TenantVfsFile *p, unsigned char *zBuf, int iAmt,
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
    if( tenantCodecIsBlank(zBuf, iAmt) ){
      return tenantReportBlankPage(p, "offset", iOfst, iPgno);
    }
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
    }else if( rc==SQLITE_OK && tenantCodecIsBlank(p->aBuf, nPage) ){
      rc = tenantReportBlankPage(p, "offset", iPageOfst, iPgno);
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
  sqlite3_log(SQLITE_IOERR_WRITE, "tenant VFS: set PRAGMA page_size=%d "
      "and SQLITE_FCNTL_RESERVE_BYTES=%d before the first write: the "
      "SQLCipher %d format needs them, the header declares %d and %d; "
      "cannot encrypt %s", p->nPage, tenantCodecReserve(p->pCodec),
      tenantCodecFormat(p->pCodec), nDeclared, nReserve,
      tenantShortName(p->zName));
  return SQLITE_IOERR_WRITE;
}

/*
** Fill the gap between the end of the file and offset iEnd with encrypted
** pages of zeros. SQLite leaves such gaps where it skips a page whose
** content no longer matters (a free-list leaf), and a WAL checkpoint
** extends the file with xTruncate. Filled, the file contains no page of
** zeros that a reader must take for a page never written. The lock-byte
** page at 1 GiB is left as a gap, because SQLite never reads it.
*/
int tenantDbExtend(TenantVfsFile *p, sqlite3_int64 iEnd){
  static const unsigned char aZero[TENANT_CODEC_MAX_PAGE];
  unsigned int iLockPage = (unsigned int)(0x40000000 / p->nPage) + 1;
  sqlite3_int64 nSize = 0;
  sqlite3_int64 iOfst;
  int rc;

  assert( p->nPage<=TENANT_CODEC_MAX_PAGE );
  /* Most writes land inside what this lock span already wrote or saw: no
  ** gap, and no xFileSize call (a system call) per page. */
  if( p->nKnownSize>=iEnd ) return SQLITE_OK;
  rc = p->pReal->pMethods->xFileSize(p->pReal, &nSize);
  if( rc!=SQLITE_OK ) return rc;

  /* A partial last page, as a crash may leave, is kept as it is. */
  iOfst = (nSize + p->nPage - 1) / p->nPage * p->nPage;
  for(; rc==SQLITE_OK && iOfst+p->nPage<=iEnd; iOfst+=p->nPage){
    unsigned int iPgno = (unsigned int)(iOfst/p->nPage) + 1;
    if( iPgno==iLockPage ) continue;
    rc = tenantCipherEncrypt(p->pCipher, iPgno, aZero, p->aBuf);
    if( rc==SQLITE_OK ) rc = tenantRealWrite(p, p->aBuf, p->nPage, iOfst);
  }
  if( rc==SQLITE_OK ) p->nKnownSize = nSize>iEnd ? nSize : iEnd;
  return rc;
}

int tenantDbWrite(TenantVfsFile *p, const unsigned char *zBuf,
                  int iAmt, sqlite3_int64 iOfst){
  unsigned int iPgno;
  int rc;

  if( iAmt!=p->nPage || iOfst%p->nPage!=0 ){
    sqlite3_log(SQLITE_IOERR_WRITE, "tenant VFS: set PRAGMA page_size=%d "
        "before the first write: the SQLCipher %d format needs whole pages "
        "of %d bytes, not %d bytes at offset %lld; cannot encrypt %s",
        p->nPage, tenantCodecFormat(p->pCodec), p->nPage, iAmt, iOfst,
        tenantShortName(p->zName));
    return SQLITE_IOERR_WRITE;
  }
  iPgno = (unsigned int)(iOfst/p->nPage) + 1;
  if( iPgno==1 ){
    rc = tenantDbCheckHeader(p, zBuf);
    if( rc!=SQLITE_OK ) return rc;
  }else{
    rc = tenantDbExtend(p, iOfst);
    if( rc!=SQLITE_OK ) return rc;
  }
  rc = tenantCipherEncrypt(p->pCipher, iPgno, zBuf, p->aBuf);
  if( rc!=SQLITE_OK ) return rc;
  rc = tenantRealWrite(p, p->aBuf, iAmt, iOfst);
  if( rc==SQLITE_OK && iPgno>1 && iOfst+iAmt>p->nKnownSize ){
    p->nKnownSize = iOfst+iAmt;   /* the gap before it was filled above */
  }
  return rc;
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

int tenantJrnlWrite(TenantVfsFile *p, const unsigned char *zBuf,
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

int tenantJrnlRead(TenantVfsFile *p, unsigned char *zBuf, int iAmt,
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

void tenantWalChecksum(int bBig, const unsigned char *a, int n,
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
int tenantWalFlush(TenantVfsFile *p){
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
  sqlite3_log(rc, "tenant VFS: %s: %s of %d bytes at offset %lld is not "
      "supported by the codec: it crosses a WAL frame boundary",
      tenantShortName(p->zName), zOp, iAmt, iOfst);
  return rc;
}

int tenantWalRead(TenantVfsFile *p, unsigned char *zBuf, int iAmt,
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
    /* SQLite reads an image alone only for a frame it has validated, whose
    ** image the codec wrote: zeros there are damage. */
    iPgno = tenantGet4(p->aBuf);
    if( tenantCodecIsBlank(aData, p->nPage) ){
      return tenantReportBlankPage(p, "WAL frame", k, iPgno);
    }
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

int tenantWalWrite(TenantVfsFile *p, const unsigned char *zBuf,
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

int tenantTempRead(TenantVfsFile *p, unsigned char *zBuf, int iAmt,
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

int tenantTempWrite(TenantVfsFile *p, const unsigned char *zBuf,
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
