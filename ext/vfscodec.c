/*
** The tenant VFS's page codec: SQLCipher's file format written and read by
** the VFS itself, so that hosts without a codec (the stock sqlite3 shell,
** Python's sqlite3) store placement files encrypted and every such file
** stays readable by SQLCipher with the same raw key.
**
** Page layout (SQLCipher 3 and 4 with a raw key "x'<64 hex>'"):
**
**   [ciphertext][IV 16][HMAC][random padding]   reserve = IV + HMAC, rounded
**                                               up to the AES block size
**
** The ciphertext is AES-256-CBC of the page's usable bytes under the raw
** key, with no padding. On page 1 the first 16 bytes, "SQLite format 3\0"
** in a plain database, hold the salt instead and are not encrypted. The
** HMAC covers the ciphertext, the IV and the page number as 4 bytes
** little-endian; its key is PBKDF2 (HMAC-SHA1 for format 3, HMAC-SHA512 for
** format 4, 2 iterations, 32 bytes) of the raw key, salted with the file's
** salt XOR 0x3a. A fresh random reserve area (IV and padding) is drawn for
** every write. These are SQLCipher 3.4.1's defaults (crypto_impl.c:
** sqlcipher_cipher_ctx_key_derive, sqlcipher_page_cipher) and SQLCipher
** 4's, per its documentation of PRAGMA cipher_compatibility.
**
** The raw key of a file is derived by tenantKeyDerive() from its key
** identity "<database>/<file>", the last two components of its path without
** ".db". It is derived once per file per process and wiped on last close.
**
** This file also holds the stream cipher for temporary files.
** vfscodecvtab.c holds the tenant_codec() table-valued function.
**
** LIMITATIONS: only SQLCipher's default page size of each format; keys
** given as passphrases (PBKDF2 with many iterations) are not supported.
*/
#include "vfscodec.h"
SQLITE_EXTENSION_INIT3

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <assert.h>
#include <string.h>

#define CODEC_IV_BYTES 16
#define CODEC_HMAC_SALT_MASK 0x3a
#define CODEC_HMAC_KDF_ITER 2
#define CODEC_MAX_HMAC 64           /* SHA-512 */

/* Key state of one database file. Immutable after creation except the
** salt, which changes only when page 1 shows that another process created
** the file with a different one (see codecAdoptSalt). */
struct TenantCodec {
  char *zPath;                               /* database file path */
  int eFormat;                               /* TENANT_CODEC_SQLCIPHER* */
  int nPage;                                 /* page size, bytes */
  int nReserve;                              /* reserved bytes per page */
  int nHmac;                                 /* HMAC length, bytes */
  const char *zDigest;                       /* "SHA1" or "SHA512" */
  unsigned char aKey[TENANT_KEY_BYTES];      /* raw AES-256 key */
  unsigned char aSalt[TENANT_CODEC_SALT_BYTES];
  unsigned char aHmacKey[TENANT_KEY_BYTES];  /* derived from key and salt */
  int iSaltGeneration;                       /* bumped when the salt changes */
  int nRef;
  TenantCodec *pNext;                        /* registry list */
};

/* OpenSSL contexts of one open file. */
struct TenantCipher {
  TenantCodec *pCodec;
  EVP_CIPHER_CTX *pEncrypt;        /* keyed once; the IV is set per page */
  EVP_CIPHER_CTX *pDecrypt;
  EVP_MAC *pMacAlg;
  EVP_MAC_CTX *pMac;               /* keyed with aHmacKey of iGeneration */
  int iGeneration;                 /* pCodec->iSaltGeneration when keyed */
};

struct TenantStream {
  EVP_CIPHER_CTX *pCtx;
  unsigned char aKey[32];
  unsigned char aNonce[8];
};

/* Every TenantCodec with a reference, guarded by codecMutex(). */
static TenantCodec *codecList = 0;

static sqlite3_mutex *codecMutex(void){
  return sqlite3_mutex_alloc(SQLITE_MUTEX_STATIC_VFS2);
}

int tenantCodecAvailable(void){
  return !tenantHostHasCodec()
      && tenantHostVersion()>=TENANT_CODEC_MIN_HOST_VERSION;
}

int tenantCodecErrorCode(void){
  return tenantHostVersion()>=3032000 ? SQLITE_IOERR_DATA : SQLITE_CORRUPT;
}

int tenantCodecPageSize(const TenantCodec *p){ return p->nPage; }
int tenantCodecReserve(const TenantCodec *p){ return p->nReserve; }
int tenantCodecFormat(const TenantCodec *p){ return p->eFormat; }
const char *tenantCodecPath(const TenantCodec *p){ return p->zPath; }

/* ---- key state -------------------------------------------------------- */

/*
** Write into zOut the key identity of zPath: its last two components with
** a trailing ".db" removed, "<root>/<project>/<database>/owner.db" giving
** "<database>/owner". A file that provisioning builds under the temporary
** name "<file>.db.tmp-<pid>" has the identity of its final name. Returns 0
** when zPath has fewer than two components.
*/
static int codecKeyIdentity(const char *zPath, char *zOut, int nOut){
  const char *zEnd = zPath + strlen(zPath);
  const char *zFile;
  const char *zDir;
  const char *zTmp;
  int n;

  for(zTmp=zEnd; zTmp>zPath && zTmp[-1]>='0' && zTmp[-1]<='9'; zTmp--){}
  if( zTmp<zEnd && zTmp-zPath>5 && memcmp(zTmp-5, ".tmp-", 5)==0 ){
    zEnd = zTmp-5;
  }
  if( zEnd-zPath>3 && memcmp(zEnd-3, ".db", 3)==0 ) zEnd -= 3;
  for(zFile=zEnd; zFile>zPath && zFile[-1]!='/'; zFile--){}
  if( zFile<=zPath+1 ) return 0;
  for(zDir=zFile-1; zDir>zPath && zDir[-1]!='/'; zDir--){}
  n = (int)(zEnd - zDir);
  if( n<3 || n>=nOut ) return 0;
  memcpy(zOut, zDir, (size_t)n);
  zOut[n] = 0;
  return 1;
}

/* Derive aHmacKey from aKey and aSalt. */
static int codecDeriveHmacKey(TenantCodec *p){
  unsigned char aMasked[TENANT_CODEC_SALT_BYTES];
  const EVP_MD *pMd = p->eFormat==TENANT_CODEC_SQLCIPHER4 ? EVP_sha512()
                                                           : EVP_sha1();
  int i, ok;
  for(i=0; i<TENANT_CODEC_SALT_BYTES; i++){
    aMasked[i] = p->aSalt[i] ^ CODEC_HMAC_SALT_MASK;
  }
  ok = PKCS5_PBKDF2_HMAC((const char*)p->aKey, TENANT_KEY_BYTES,
                         aMasked, TENANT_CODEC_SALT_BYTES, CODEC_HMAC_KDF_ITER,
                         pMd, TENANT_KEY_BYTES, p->aHmacKey);
  return ok==1 ? SQLITE_OK : SQLITE_ERROR;
}

static void codecFree(TenantCodec *p){
  if( p==0 ) return;
  tenantKeyWipe(p->aKey, sizeof(p->aKey));
  tenantKeyWipe(p->aHmacKey, sizeof(p->aHmacKey));
  sqlite3_free(p->zPath);
  sqlite3_free(p);
}

int tenantCodecAcquire(const char *zPath, int eFormat, sqlite3_file *pReal,
                       TenantCodec **ppCodec){
  char zKeyId[256];
  char *zErr = 0;
  TenantCodec *p;
  sqlite3_int64 nSize = 0;
  int rc;

  *ppCodec = 0;
  sqlite3_mutex_enter(codecMutex());
  for(p=codecList; p; p=p->pNext){
    if( strcmp(p->zPath, zPath)==0 ) break;
  }
  if( p ){
    if( p->eFormat!=eFormat ){
      sqlite3_mutex_leave(codecMutex());
      sqlite3_log(SQLITE_CANTOPEN, "tenant VFS: open the file with "
          "cipher_compatibility=%d, the format it is open with, not %d: %s",
          p->eFormat, eFormat, zPath);
      return SQLITE_CANTOPEN;
    }
    p->nRef++;
    sqlite3_mutex_leave(codecMutex());
    *ppCodec = p;
    return SQLITE_OK;
  }
  sqlite3_mutex_leave(codecMutex());

  if( !codecKeyIdentity(zPath, zKeyId, sizeof(zKeyId)) ){
    sqlite3_log(SQLITE_CANTOPEN, "tenant VFS: an encrypted file needs a "
        "path \"<database>/<file>.db\" to derive its key; cannot open %s",
        zPath);
    return SQLITE_CANTOPEN;
  }
  p = sqlite3_malloc64(sizeof(*p));
  if( p==0 ) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->zPath = sqlite3_mprintf("%s", zPath);
  if( p->zPath==0 ){
    sqlite3_free(p);
    return SQLITE_NOMEM;
  }
  p->eFormat = eFormat;
  if( eFormat==TENANT_CODEC_SQLCIPHER4 ){
    p->nPage = 4096;
    p->nHmac = 64;
    p->zDigest = "SHA512";
  }else{
    p->nPage = 1024;
    p->nHmac = 20;
    p->zDigest = "SHA1";
  }
  p->nReserve = (CODEC_IV_BYTES + p->nHmac + 15) & ~15;
  p->nRef = 1;

  rc = tenantKeyDerive(zKeyId, p->aKey, &zErr);
  if( rc!=SQLITE_OK ){
    sqlite3_log(rc, "tenant VFS: no key for %s: %s", zPath,
                zErr ? zErr : "key derivation failed");
    sqlite3_free(zErr);
    codecFree(p);
    return SQLITE_CANTOPEN;
  }

  /* An existing file keeps its salt; a new one gets a random salt that
  ** page 1 will carry. */
  rc = pReal->pMethods->xFileSize(pReal, &nSize);
  if( rc==SQLITE_OK && nSize>=TENANT_CODEC_SALT_BYTES ){
    rc = pReal->pMethods->xRead(pReal, p->aSalt, TENANT_CODEC_SALT_BYTES, 0);
  }else if( rc==SQLITE_OK ){
    rc = RAND_bytes(p->aSalt, TENANT_CODEC_SALT_BYTES)==1 ? SQLITE_OK
                                                          : SQLITE_ERROR;
  }
  if( rc==SQLITE_OK ) rc = codecDeriveHmacKey(p);
  if( rc!=SQLITE_OK ){
    sqlite3_log(rc, "tenant VFS: cannot set up the codec of %s", zPath);
    codecFree(p);
    return SQLITE_CANTOPEN;
  }

  /* Another thread may have registered the same file meanwhile: use the
  ** first one, so that every handle of a file sees one salt. */
  sqlite3_mutex_enter(codecMutex());
  {
    TenantCodec *pOther;
    for(pOther=codecList; pOther; pOther=pOther->pNext){
      if( strcmp(pOther->zPath, zPath)==0 ) break;
    }
    if( pOther ){
      pOther->nRef++;
      sqlite3_mutex_leave(codecMutex());
      codecFree(p);
      *ppCodec = pOther;
      return SQLITE_OK;
    }
    p->pNext = codecList;
    codecList = p;
  }
  sqlite3_mutex_leave(codecMutex());
  *ppCodec = p;
  return SQLITE_OK;
}

TenantCodec *tenantCodecFind(const char *zName, int nPath){
  TenantCodec *p;
  sqlite3_mutex_enter(codecMutex());
  for(p=codecList; p; p=p->pNext){
    if( (int)strlen(p->zPath)==nPath && memcmp(p->zPath, zName, nPath)==0 ){
      p->nRef++;
      break;
    }
  }
  sqlite3_mutex_leave(codecMutex());
  return p;
}

void tenantCodecRelease(TenantCodec *p){
  TenantCodec **pp;
  int bFree = 0;
  if( p==0 ) return;
  sqlite3_mutex_enter(codecMutex());
  assert( p->nRef>0 );
  if( --p->nRef==0 ){
    for(pp=&codecList; *pp; pp=&(*pp)->pNext){
      if( *pp==p ){
        *pp = p->pNext;
        break;
      }
    }
    bFree = 1;
  }
  sqlite3_mutex_leave(codecMutex());
  if( bFree ) codecFree(p);
}

/* ---- page cipher ------------------------------------------------------ */

static int cipherKeyMac(TenantCipher *p){
  TenantCodec *pCodec = p->pCodec;
  unsigned char aHmacKey[TENANT_KEY_BYTES];
  OSSL_PARAM aParam[2];
  int iGeneration;
  int ok;

  sqlite3_mutex_enter(codecMutex());
  memcpy(aHmacKey, pCodec->aHmacKey, sizeof(aHmacKey));
  iGeneration = pCodec->iSaltGeneration;
  sqlite3_mutex_leave(codecMutex());

  aParam[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                               (char*)pCodec->zDigest, 0);
  aParam[1] = OSSL_PARAM_construct_end();
  ok = EVP_MAC_init(p->pMac, aHmacKey, sizeof(aHmacKey), aParam);
  tenantKeyWipe(aHmacKey, sizeof(aHmacKey));
  if( ok!=1 ) return SQLITE_ERROR;
  p->iGeneration = iGeneration;
  return SQLITE_OK;
}

int tenantCipherNew(TenantCodec *pCodec, TenantCipher **ppCipher){
  TenantCipher *p;
  int ok;

  *ppCipher = 0;
  p = sqlite3_malloc64(sizeof(*p));
  if( p==0 ) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->pCodec = pCodec;
  p->pEncrypt = EVP_CIPHER_CTX_new();
  p->pDecrypt = EVP_CIPHER_CTX_new();
  p->pMacAlg = EVP_MAC_fetch(0, "HMAC", 0);
  if( p->pMacAlg ) p->pMac = EVP_MAC_CTX_new(p->pMacAlg);
  ok = p->pEncrypt && p->pDecrypt && p->pMac
    && EVP_EncryptInit_ex(p->pEncrypt, EVP_aes_256_cbc(), 0, pCodec->aKey, 0)==1
    && EVP_DecryptInit_ex(p->pDecrypt, EVP_aes_256_cbc(), 0, pCodec->aKey, 0)==1
    && EVP_CIPHER_CTX_set_padding(p->pEncrypt, 0)==1
    && EVP_CIPHER_CTX_set_padding(p->pDecrypt, 0)==1;
  if( ok ) ok = cipherKeyMac(p)==SQLITE_OK;
  if( !ok ){
    sqlite3_log(SQLITE_ERROR, "tenant VFS: OpenSSL cannot set up AES-256-CBC "
                "and HMAC-%s for %s", pCodec->zDigest, pCodec->zPath);
    tenantCipherFree(p);
    return SQLITE_ERROR;
  }
  *ppCipher = p;
  return SQLITE_OK;
}

void tenantCipherFree(TenantCipher *p){
  if( p==0 ) return;
  EVP_CIPHER_CTX_free(p->pEncrypt);
  EVP_CIPHER_CTX_free(p->pDecrypt);
  EVP_MAC_CTX_free(p->pMac);
  EVP_MAC_free(p->pMacAlg);
  sqlite3_free(p);
}

/* HMAC of a[0..n) followed by the page number, little-endian, into aOut. */
static int cipherMac(TenantCipher *p, const unsigned char *a, int n,
                     unsigned int iPgno, unsigned char *aOut){
  unsigned char aPgno[4];
  size_t nOut = 0;

  if( p->iGeneration!=p->pCodec->iSaltGeneration
   && cipherKeyMac(p)!=SQLITE_OK ){
    return SQLITE_ERROR;
  }
  aPgno[0] = (unsigned char)(iPgno);
  aPgno[1] = (unsigned char)(iPgno>>8);
  aPgno[2] = (unsigned char)(iPgno>>16);
  aPgno[3] = (unsigned char)(iPgno>>24);
  /* A NULL key restarts the MAC with the key already set. */
  if( EVP_MAC_init(p->pMac, 0, 0, 0)!=1
   || EVP_MAC_update(p->pMac, a, (size_t)n)!=1
   || EVP_MAC_update(p->pMac, aPgno, sizeof(aPgno))!=1
   || EVP_MAC_final(p->pMac, aOut, &nOut, CODEC_MAX_HMAC)!=1
   || (int)nOut!=p->pCodec->nHmac ){
    return SQLITE_ERROR;
  }
  return SQLITE_OK;
}

int tenantCipherEncrypt(TenantCipher *p, unsigned int iPgno,
                        const unsigned char *aIn, unsigned char *aOut){
  TenantCodec *pCodec = p->pCodec;
  int iStart = iPgno==1 ? TENANT_CODEC_SALT_BYTES : 0;
  int nData = pCodec->nPage - pCodec->nReserve - iStart;
  unsigned char *aIv = aOut + pCodec->nPage - pCodec->nReserve;
  int nOut = 0;

  assert( aIn!=aOut );
  assert( nData%16==0 );   /* page size and reserve are multiples of 16 */

  /* The whole reserve is random: the IV, and padding after the HMAC. */
  if( RAND_bytes(aIv, pCodec->nReserve)!=1 ) return SQLITE_IOERR_WRITE;
  if( iStart ) memcpy(aOut, pCodec->aSalt, TENANT_CODEC_SALT_BYTES);
  if( EVP_EncryptInit_ex(p->pEncrypt, 0, 0, 0, aIv)!=1
   || EVP_EncryptUpdate(p->pEncrypt, aOut+iStart, &nOut, aIn+iStart,
                        nData)!=1
   || nOut!=nData ){
    return SQLITE_IOERR_WRITE;
  }
  if( cipherMac(p, aOut+iStart, nData+CODEC_IV_BYTES, iPgno,
                aIv+CODEC_IV_BYTES)!=SQLITE_OK ){
    return SQLITE_IOERR_WRITE;
  }
  return SQLITE_OK;
}

int tenantCodecIsBlank(const unsigned char *a, int n){
  int i;
  unsigned char x = 0;
  for(i=0; i<n; i++) x |= a[i];
  return x==0;
}

/*
** Page 1 carries the salt. When it differs from the one in the key state
** (another process created the file after this one opened it empty) and
** the page authenticates under it, switch the key state to that salt.
*/
static int codecAdoptSalt(TenantCipher *p, const unsigned char *aPage){
  TenantCodec *pCodec = p->pCodec;
  TenantCodec trial;
  unsigned char aSaved[TENANT_CODEC_SALT_BYTES];
  int rc;

  if( memcmp(aPage, pCodec->aSalt, TENANT_CODEC_SALT_BYTES)==0 ){
    return SQLITE_OK;
  }
  memcpy(&trial, pCodec, sizeof(trial));
  memcpy(trial.aSalt, aPage, TENANT_CODEC_SALT_BYTES);
  rc = codecDeriveHmacKey(&trial);
  if( rc==SQLITE_OK ){
    sqlite3_mutex_enter(codecMutex());
    memcpy(aSaved, pCodec->aSalt, sizeof(aSaved));
    memcpy(pCodec->aSalt, trial.aSalt, sizeof(trial.aSalt));
    memcpy(pCodec->aHmacKey, trial.aHmacKey, sizeof(trial.aHmacKey));
    pCodec->iSaltGeneration++;
    sqlite3_mutex_leave(codecMutex());
    sqlite3_log(SQLITE_NOTICE, "tenant VFS: %s was created by another "
                "process; using the salt stored in its page 1", pCodec->zPath);
  }
  tenantKeyWipe(&trial, sizeof(trial));
  return rc;
}

int tenantCipherDecrypt(TenantCipher *p, unsigned int iPgno,
                        unsigned char *aPage){
  TenantCodec *pCodec = p->pCodec;
  int iStart = iPgno==1 ? TENANT_CODEC_SALT_BYTES : 0;
  size_t nPage = (size_t)pCodec->nPage;
  int nData = pCodec->nPage - pCodec->nReserve - iStart;
  unsigned char *aIv = aPage + pCodec->nPage - pCodec->nReserve;
  unsigned char aMac[CODEC_MAX_HMAC];
  unsigned char aIvCopy[CODEC_IV_BYTES];
  int nOut = 0;

  if( iStart && !tenantCodecIsBlank(aPage, pCodec->nPage) ){
    if( codecAdoptSalt(p, aPage)!=SQLITE_OK ) return SQLITE_IOERR_READ;
  }
  if( cipherMac(p, aPage+iStart, nData+CODEC_IV_BYTES, iPgno, aMac)
      !=SQLITE_OK ){
    memset(aPage, 0, nPage);
    return SQLITE_IOERR_READ;
  }
  if( CRYPTO_memcmp(aMac, aIv+CODEC_IV_BYTES, pCodec->nHmac)!=0 ){
    int bZero = tenantCodecIsBlank(aPage, pCodec->nPage);
    memset(aPage, 0, nPage);
    return bZero ? SQLITE_OK : tenantCodecErrorCode();
  }

  /* CBC decryption in place is allowed by OpenSSL; the IV is copied out
  ** first because the reserve area is left as it was on disk. */
  memcpy(aIvCopy, aIv, sizeof(aIvCopy));
  if( EVP_DecryptInit_ex(p->pDecrypt, 0, 0, 0, aIvCopy)!=1
   || EVP_DecryptUpdate(p->pDecrypt, aPage+iStart, &nOut, aPage+iStart,
                        nData)!=1
   || nOut!=nData ){
    memset(aPage, 0, nPage);
    return SQLITE_IOERR_READ;
  }
  if( iStart ) memcpy(aPage, "SQLite format 3", TENANT_CODEC_SALT_BYTES);
  return SQLITE_OK;
}

/* ---- stream cipher for temporary files -------------------------------- */

int tenantStreamNew(TenantStream **ppStream){
  TenantStream *p = sqlite3_malloc64(sizeof(*p));
  *ppStream = 0;
  if( p==0 ) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->pCtx = EVP_CIPHER_CTX_new();
  if( p->pCtx==0
   || RAND_bytes(p->aKey, sizeof(p->aKey))!=1
   || RAND_bytes(p->aNonce, sizeof(p->aNonce))!=1 ){
    tenantStreamFree(p);
    return SQLITE_ERROR;
  }
  *ppStream = p;
  return SQLITE_OK;
}

void tenantStreamFree(TenantStream *p){
  if( p==0 ) return;
  EVP_CIPHER_CTX_free(p->pCtx);
  tenantKeyWipe(p, sizeof(*p));
  sqlite3_free(p);
}

/* XOR a[0..n), which sits at file offset iOfst, with the key stream. */
int tenantStreamApply(TenantStream *p, unsigned char *a, int n,
                      sqlite3_int64 iOfst){
  unsigned char aCounter[16];
  unsigned char aSkip[16];
  sqlite3_uint64 iBlock = (sqlite3_uint64)iOfst / 16;
  int nSkip = (int)(iOfst % 16);
  int nOut = 0;
  int i;

  memcpy(aCounter, p->aNonce, 8);
  for(i=0; i<8; i++) aCounter[15-i] = (unsigned char)(iBlock >> (8*i));
  if( EVP_EncryptInit_ex(p->pCtx, EVP_aes_256_ctr(), 0, p->aKey,
                         aCounter)!=1 ){
    return SQLITE_IOERR;
  }
  if( nSkip ){
    memset(aSkip, 0, sizeof(aSkip));
    if( EVP_EncryptUpdate(p->pCtx, aSkip, &nOut, aSkip, nSkip)!=1 ){
      return SQLITE_IOERR;
    }
  }
  if( EVP_EncryptUpdate(p->pCtx, a, &nOut, a, n)!=1 ) return SQLITE_IOERR;
  return SQLITE_OK;
}

/* ---- preparing a new database ----------------------------------------- */

int tenantCodecPrepare(sqlite3 *db, const char *zSchema, char **pzErr){
  sqlite3_file *pFile = 0;
  TenantCodec *pCodec;
  sqlite3_stmt *pStmt = 0;
  char *zSql;
  int nPage = -1;
  int nReserve;
  int rc;

  if( sqlite3_file_control(db, zSchema, SQLITE_FCNTL_FILE_POINTER, &pFile)
      !=SQLITE_OK ){
    return SQLITE_OK;
  }
  pCodec = tenantVfsCodecOf(pFile);
  if( pCodec==0 ) return SQLITE_OK;

  zSql = sqlite3_mprintf("PRAGMA \"%w\".page_count", zSchema);
  if( zSql==0 ) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  sqlite3_free(zSql);
  if( rc==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
    nPage = sqlite3_column_int(pStmt, 0);
  }
  rc = sqlite3_finalize(pStmt);
  if( rc!=SQLITE_OK ){
    tenantSetError(pzErr, "cannot read the page count of \"%s\": %s",
                   zSchema, sqlite3_errmsg(db));
    return rc;
  }
  if( nPage!=0 ) return SQLITE_OK;

  zSql = sqlite3_mprintf("PRAGMA \"%w\".page_size=%d", zSchema,
                         pCodec->nPage);
  if( zSql==0 ) return SQLITE_NOMEM;
  rc = sqlite3_exec(db, zSql, 0, 0, 0);
  sqlite3_free(zSql);
  if( rc==SQLITE_OK ){
    /* SQLITE_FCNTL_RESERVE_BYTES exists from 3.34, which
    ** tenantCodecAvailable() requires of a host that opens such a file. */
    nReserve = pCodec->nReserve;
    rc = sqlite3_file_control(db, zSchema, SQLITE_FCNTL_RESERVE_BYTES,
                              &nReserve);
  }
  if( rc!=SQLITE_OK ){
    tenantSetError(pzErr, "cannot set the page size and reserved bytes of "
        "the new encrypted database \"%s\": %s", zSchema, sqlite3_errmsg(db));
  }
  return rc;
}
