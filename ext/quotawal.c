/*
** The size of a database in WAL mode as of its last commit, read from its
** WAL, for the storage limit of dedicated placements (quotadisk.c).
**
** A commit in WAL mode appends frames to the WAL, and its last frame, the
** commit frame, records the database's size in pages. The database file
** reaches that size only when a checkpoint copies the frames into it. The
** size as of the last commit is the one that the last valid commit frame
** records. Valid frames are those that SQLite's recovery accepts: from the
** first frame on, while they carry the salts of the WAL header and their
** cumulative checksums match.
**
** The WAL format is described at the top of SQLite's src/wal.c. A WAL
** starts with a 32-byte header: magic, format version, page size,
** checkpoint sequence, two salts and a checksum of its first 24 bytes.
** Frames follow, each a 24-byte header and one page image. A frame header
** contains the page number, the database size in pages (in a commit frame,
** else 0), the two salts and the checksum. The checksums on disk are those
** of the bytes on disk, also when a codec encrypts the page images.
**
** A scan from the first frame reads the whole WAL, so a TenantWalSeen
** remembers the last commit frame found. While the WAL header keeps its
** salts, SQLite never rewrites a committed frame, so the next scan goes on
** after that frame once its header is seen unchanged.
*/
#include "vfsfile.h"
SQLITE_EXTENSION_INIT3

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define WAL_MAGIC      0x377f0682   /* low bit: big-endian checksums */
#define WAL_VERSION    3007000

/* A WAL open for reading, through its VFS file pFile or, when pFile is
** NULL, through the descriptor fd. */
typedef struct WalReader WalReader;
struct WalReader {
  sqlite3_file *pFile;
  int fd;
};

static unsigned int walGet4(const unsigned char *a){
  return ((unsigned int)a[0]<<24) | ((unsigned int)a[1]<<16)
       | ((unsigned int)a[2]<<8) | (unsigned int)a[3];
}

/* Read n bytes at iOfst. Returns false on an error or a short read. */
static int walRead(const WalReader *p, void *a, int n,
                   sqlite3_int64 iOfst){
  if( p->pFile ){
    return p->pFile->pMethods->xRead(p->pFile, a, n, iOfst)==SQLITE_OK;
  }
  return pread(p->fd, a, (size_t)n, (off_t)iOfst)==(ssize_t)n;
}

static sqlite3_int64 walFrameOffset(int szPage, unsigned int iFrame){
  return WAL_HEADER_BYTES
       + (sqlite3_int64)(iFrame-1)*(WAL_FRAME_HEADER_BYTES + szPage);
}

/*
** Read the WAL header and start *pSeen over from it, with no commit frame.
** Returns false when the header is missing or invalid, as in a WAL that
** SQLite has not written yet. aCk receives the header's checksum, from
** which the first frame's checksum chains.
*/
static int walStart(const WalReader *pReader, TenantWalSeen *pSeen,
                    unsigned int *aCk){
  unsigned char aHdr[WAL_HEADER_BYTES];
  unsigned int aHdrCk[2] = {0, 0};
  unsigned int iMagic, szPage;

  memset(pSeen, 0, sizeof(*pSeen));
  if( !walRead(pReader, aHdr, WAL_HEADER_BYTES, 0) ) return 0;
  iMagic = walGet4(aHdr);
  szPage = walGet4(aHdr+8);
  if( (iMagic & ~1u)!=WAL_MAGIC || walGet4(aHdr+4)!=WAL_VERSION ) return 0;
  if( szPage<512 || szPage>65536 || (szPage & (szPage-1))!=0 ) return 0;
  tenantWalChecksum(iMagic & 1, aHdr, 24, aHdrCk);
  if( aHdrCk[0]!=walGet4(aHdr+24) || aHdrCk[1]!=walGet4(aHdr+28) ) return 0;

  memcpy(pSeen->aSalt, aHdr+16, 8);
  pSeen->szPage = (int)szPage;
  pSeen->bBigEndian = iMagic & 1;
  aCk[0] = aHdrCk[0];
  aCk[1] = aHdrCk[1];
  return 1;
}

/*
** Check that commit frame pSeen->iCommit is still in the WAL as *pSeen
** records it, with the same salts and database size and, when bChecksum
** is set, the same checksum.
*/
static int walSeenHolds(const WalReader *pReader,
                        const TenantWalSeen *pSeen, int bChecksum){
  unsigned char aFrame[WAL_FRAME_HEADER_BYTES];
  if( pSeen->iCommit==0 ) return 0;
  if( !walRead(pReader, aFrame, WAL_FRAME_HEADER_BYTES,
               walFrameOffset(pSeen->szPage, pSeen->iCommit)) ){
    return 0;
  }
  if( memcmp(aFrame+8, pSeen->aSalt, 8)!=0 ) return 0;
  if( walGet4(aFrame+4)!=pSeen->nPage ) return 0;
  return !bChecksum || (walGet4(aFrame+16)==pSeen->aCk[0]
                        && walGet4(aFrame+20)==pSeen->aCk[1]);
}

/*
** Read the frames after pSeen->iCommit, up to the frame that starts at
** iEnd or, when iEnd is 0, to the first invalid frame, and record in
** *pSeen the last commit frame among them. aCk is the checksum from which
** the next frame's checksum chains. With iEnd>0 no checksum is verified.
*/
static void walScan(const WalReader *pReader, sqlite3_int64 iEnd,
                    TenantWalSeen *pSeen, unsigned int *aCk){
  unsigned char aFrame[WAL_FRAME_HEADER_BYTES];
  unsigned char *aPage = 0;
  unsigned int iFrame = pSeen->iCommit;
  int szPage = pSeen->szPage;

  for(;;){
    sqlite3_int64 iOfst = walFrameOffset(szPage, iFrame+1);
    if( iEnd>0 && iOfst>=iEnd ) break;
    if( !walRead(pReader, aFrame, WAL_FRAME_HEADER_BYTES, iOfst) ) break;
    if( walGet4(aFrame)==0 || memcmp(aFrame+8, pSeen->aSalt, 8)!=0 ) break;
    if( iEnd==0 ){
      /* The checksum covers the frame header's first 8 bytes and the page
      ** image, and chains from the previous frame's. */
      if( aPage==0 && (aPage = sqlite3_malloc(szPage))==0 ) break;
      if( !walRead(pReader, aPage, szPage, iOfst + WAL_FRAME_HEADER_BYTES) ){
        break;
      }
      tenantWalChecksum(pSeen->bBigEndian, aFrame, 8, aCk);
      tenantWalChecksum(pSeen->bBigEndian, aPage, szPage, aCk);
      if( aCk[0]!=walGet4(aFrame+16) || aCk[1]!=walGet4(aFrame+20) ) break;
    }
    iFrame++;
    if( walGet4(aFrame+4)!=0 ){
      pSeen->iCommit = iFrame;
      pSeen->nPage = walGet4(aFrame+4);
      pSeen->aCk[0] = walGet4(aFrame+16);
      pSeen->aCk[1] = walGet4(aFrame+20);
    }
  }
  if( aPage ) sqlite3_free(aPage);
}

sqlite3_int64 tenantWalCommittedBefore(sqlite3_file *pWal, sqlite3_int64 iEnd,
                                       TenantWalSeen *pSeen){
  WalReader reader;
  unsigned int aCk[2] = {0, 0};

  reader.pFile = pWal;
  reader.fd = -1;

  /* Each frame before iEnd has been written since the WAL was last reset.
  ** So a frame before iEnd that still has the salts of *pSeen shows that
  ** the WAL was not reset since, and the WAL header need not be read. */
  if( !(pSeen->iCommit>0
        && walFrameOffset(pSeen->szPage, pSeen->iCommit+1)<=iEnd
        && walSeenHolds(&reader, pSeen, 0)) ){
    if( !walStart(&reader, pSeen, aCk) ) return -1;
  }
  walScan(&reader, iEnd, pSeen, aCk);
  return pSeen->iCommit>0 ? (sqlite3_int64)pSeen->nPage*pSeen->szPage : -1;
}

void tenantWalSeeCommit(TenantWalSeen *pSeen, sqlite3_int64 iOfst,
                        unsigned int nPage){
  if( pSeen->szPage==0 ) return;
  pSeen->iCommit = (unsigned int)((iOfst - WAL_HEADER_BYTES)
                   / (WAL_FRAME_HEADER_BYTES + pSeen->szPage)) + 1;
  pSeen->nPage = nPage;
  pSeen->aCk[0] = 0;
  pSeen->aCk[1] = 0;
}

sqlite3_int64 tenantWalCommittedBytes(const char *zWal,
                                      TenantWalSeen *pSeen){
  WalReader reader;
  TenantWalSeen seen;
  unsigned int aCk[2] = {0, 0};

  /* Closing any descriptor of a file releases the process's POSIX
  ** advisory locks on it. SQLite holds such locks on a database and its
  ** -shm file but never on the WAL, so only the WAL is opened here. */
  reader.pFile = 0;
  do{
    reader.fd = open(zWal, O_RDONLY | O_CLOEXEC);
  }while( reader.fd<0 && errno==EINTR );
  if( reader.fd<0 ) return -1;

  /* The salts come from the WAL header, because another connection may
  ** have reset the WAL, and frames past its new ones keep the old salts. */
  if( !walStart(&reader, &seen, aCk) ){
    close(reader.fd);
    return -1;
  }
  if( memcmp(seen.aSalt, pSeen->aSalt, 8)==0
   && walSeenHolds(&reader, pSeen, 1) ){
    seen = *pSeen;
    aCk[0] = seen.aCk[0];
    aCk[1] = seen.aCk[1];
  }
  walScan(&reader, 0, &seen, aCk);
  close(reader.fd);
  *pSeen = seen;
  return seen.iCommit>0 ? (sqlite3_int64)seen.nPage*seen.szPage : -1;
}
