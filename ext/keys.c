/*
** Master key loading and per-file key derivation.
**
** Every physical file of a placement is encrypted with its own raw SQLCipher
** key, derived from one master key by HKDF-SHA256 (RFC 5869) with the file's
** key identity ("<database>/owner" or "<database>/private") as the info
** string. The master key comes from the environment variable
** TENANT_MASTER_KEY or, when that is unset, from the file that
** TENANT_KEY_FILE names, which must not be readable by group or others.
**
** The master key is read again on every derivation and never cached, so a
** rotated key file takes effect at once and no copy outlives the call. Every
** buffer that held key material is wiped before it is released.
**
** LIMITATIONS: the master key is text of 32 to 4096 bytes. A key file that
** contains a NUL byte is rejected.
*/
#include "tenant_int.h"
SQLITE_EXTENSION_INIT3

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_MIN_MASTER 32          /* shortest accepted master key, bytes */
#define KEY_MAX_MASTER 4096        /* longest accepted master key, bytes */

/* HKDF salt: fixed per key format, so a new format gets new keys. */
static const char keySalt[] = "sqlite-tenant file key v1";

/*
** Read the key file zPath into aBuf (KEY_MAX_MASTER+1 bytes) and set *pn to
** its length without one trailing newline. Rejects a file that group or
** others may access, because the master key opens every placement.
*/
static int keyReadFile(
  const char *zPath,
  char *aBuf,
  int *pn,
  char **pzErr
){
  struct stat st;
  int fd;
  int n = 0;

  fd = open(zPath, O_RDONLY | O_CLOEXEC);
  if( fd<0 ){
    tenantSetError(pzErr, "cannot open key file \"%s\" named by "
        "TENANT_KEY_FILE: %s: check the path", zPath, strerror(errno));
    return SQLITE_CANTOPEN;
  }
  if( fstat(fd, &st)!=0 || !S_ISREG(st.st_mode) ){
    close(fd);
    tenantSetError(pzErr, "key file \"%s\" is not a regular file: "
        "point TENANT_KEY_FILE at a file", zPath);
    return SQLITE_CANTOPEN;
  }
  if( (st.st_mode & 077)!=0 ){
    close(fd);
    tenantSetError(pzErr, "key file \"%s\" has mode %04o, which lets group "
        "or others read it: run chmod 600 \"%s\"",
        zPath, (unsigned)(st.st_mode & 07777), zPath);
    return SQLITE_PERM;
  }

  /* Read at most one byte more than the limit, so an oversized file is
  ** detected without reading all of it. */
  while( n<=KEY_MAX_MASTER ){
    ssize_t got = read(fd, aBuf+n, (size_t)(KEY_MAX_MASTER+1-n));
    if( got<0 && errno==EINTR ) continue;
    if( got<0 ){
      int e = errno;
      close(fd);
      tenantKeyWipe(aBuf, (size_t)n);
      tenantSetError(pzErr, "cannot read key file \"%s\": %s",
          zPath, strerror(e));
      return SQLITE_IOERR;
    }
    if( got==0 ) break;
    n += (int)got;
  }
  close(fd);

  if( n>0 && aBuf[n-1]=='\n' ) n--;
  if( n>0 && aBuf[n-1]=='\r' ) n--;
  if( memchr(aBuf, 0, (size_t)n)!=0 ){
    tenantKeyWipe(aBuf, KEY_MAX_MASTER+1);
    tenantSetError(pzErr, "key file \"%s\" contains a NUL byte: "
        "store the master key as text", zPath);
    return SQLITE_ERROR;
  }
  *pn = n;
  return SQLITE_OK;
}

/*
** Load the master key into aBuf (KEY_MAX_MASTER+1 bytes) and set *pn to its
** length. TENANT_MASTER_KEY wins over TENANT_KEY_FILE. On error aBuf
** contains no key material.
*/
static int keyLoadMaster(char *aBuf, int *pn, char **pzErr){
  const char *zEnv = getenv("TENANT_MASTER_KEY");
  const char *zSource;
  int n = 0;
  int rc;

  if( zEnv && zEnv[0] ){
    size_t len = strlen(zEnv);
    zSource = "TENANT_MASTER_KEY";
    if( len>KEY_MAX_MASTER ){
      tenantSetError(pzErr, "TENANT_MASTER_KEY is %d bytes long: "
          "use at most %d characters", (int)len, KEY_MAX_MASTER);
      return SQLITE_ERROR;
    }
    n = (int)len;
    memcpy(aBuf, zEnv, len);
  }else{
    const char *zFile = getenv("TENANT_KEY_FILE");
    if( zFile==0 || zFile[0]==0 ){
      tenantSetError(pzErr,
          "no master key: set TENANT_MASTER_KEY or TENANT_KEY_FILE");
      return SQLITE_ERROR;
    }
    zSource = "the key file named by TENANT_KEY_FILE";
    rc = keyReadFile(zFile, aBuf, &n, pzErr);
    if( rc!=SQLITE_OK ) return rc;
    if( n>KEY_MAX_MASTER ){
      tenantKeyWipe(aBuf, KEY_MAX_MASTER+1);
      tenantSetError(pzErr, "key file \"%s\" is longer than %d bytes: "
          "store a master key of at most %d characters",
          zFile, KEY_MAX_MASTER, KEY_MAX_MASTER);
      return SQLITE_ERROR;
    }
  }

  if( n<KEY_MIN_MASTER ){
    tenantKeyWipe(aBuf, KEY_MAX_MASTER+1);
    tenantSetError(pzErr, "master key from %s is %d characters long: "
        "use at least %d characters", zSource, n, KEY_MIN_MASTER);
    return SQLITE_ERROR;
  }
  *pn = n;
  return SQLITE_OK;
}

int tenantKeyCheckMaster(char **pzErr){
  char aMaster[KEY_MAX_MASTER+1];
  int nMaster = 0;
  int rc = keyLoadMaster(aMaster, &nMaster, pzErr);
  tenantKeyWipe(aMaster, sizeof(aMaster));
  return rc;
}

int tenantKeyDerive(const char *zKeyId, unsigned char *aKey, char **pzErr){
  char aMaster[KEY_MAX_MASTER+1];
  int nMaster = 0;
  EVP_KDF *pKdf = 0;
  EVP_KDF_CTX *pCtx = 0;
  OSSL_PARAM aParam[5];
  int rc;

  assert( zKeyId!=0 );
  assert( aKey!=0 );
  rc = keyLoadMaster(aMaster, &nMaster, pzErr);
  if( rc!=SQLITE_OK ) return rc;

  pKdf = EVP_KDF_fetch(0, "HKDF", 0);
  if( pKdf ) pCtx = EVP_KDF_CTX_new(pKdf);
  if( pCtx==0 ){
    rc = SQLITE_ERROR;
    tenantSetError(pzErr, "OpenSSL has no HKDF: install OpenSSL 3");
    goto derive_done;
  }
  aParam[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
      (char*)"SHA256", 0);
  aParam[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
      aMaster, (size_t)nMaster);
  aParam[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
      (void*)keySalt, sizeof(keySalt)-1);
  aParam[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
      (void*)zKeyId, strlen(zKeyId));
  aParam[4] = OSSL_PARAM_construct_end();
  if( EVP_KDF_derive(pCtx, aKey, TENANT_KEY_BYTES, aParam)<=0 ){
    rc = SQLITE_ERROR;
    tenantKeyWipe(aKey, TENANT_KEY_BYTES);
    tenantSetError(pzErr, "key derivation failed for file \"%s\": "
        "check the OpenSSL installation", zKeyId);
  }

derive_done:
  EVP_KDF_CTX_free(pCtx);
  EVP_KDF_free(pKdf);
  tenantKeyWipe(aMaster, sizeof(aMaster));
  return rc;
}

void tenantKeyFormatRaw(const unsigned char *aKey, char *zOut){
  static const char aHex[] = "0123456789abcdef";
  int i;
  zOut[0] = 'x';
  zOut[1] = '\'';
  for(i=0; i<TENANT_KEY_BYTES; i++){
    zOut[2+i*2] = aHex[aKey[i]>>4];
    zOut[3+i*2] = aHex[aKey[i]&0x0f];
  }
  zOut[2+TENANT_KEY_BYTES*2] = '\'';
  zOut[3+TENANT_KEY_BYTES*2] = 0;
}

void tenantKeyWipe(void *p, size_t n){
  if( p && n ) OPENSSL_cleanse(p, n);
}
