/*
** Internal interface of the tenant VFS's page codec (vfscodec.c), used by
** the VFS (vfs.c) and by the parts that open placement files.
**
** The codec writes SQLCipher's file format itself, for hosts that link no
** codec: a 16-byte random salt at the start of the file, every page
** AES-256-CBC encrypted with a fresh random IV, and an HMAC over the
** ciphertext, the IV and the page number in the page's reserved bytes.
** Two formats are supported, matching SQLCipher's defaults for a raw key:
**
**              page size  HMAC      HMAC key (PBKDF2, 2 iterations)  reserve
**   SQLCipher 3   1024    SHA-1     HMAC-SHA1                         48
**   SQLCipher 4   4096    SHA-512   HMAC-SHA512                       80
**
** A TenantCodec is the key state of one database file, shared by every
** connection of the process that has the file open and by its journals.
** A TenantCipher holds the OpenSSL contexts of one open file and is used
** by one thread at a time, as SQLite uses a file handle.
*/
#ifndef TENANT_VFSCODEC_H
#define TENANT_VFSCODEC_H

#include "tenant_int.h"

/* Formats, as chosen by the URI parameter cipher_compatibility=3|4. */
#define TENANT_CODEC_SQLCIPHER3 3
#define TENANT_CODEC_SQLCIPHER4 4

#define TENANT_CODEC_SALT_BYTES 16   /* salt at the start of the file */
#define TENANT_CODEC_MAX_PAGE 4096   /* largest page size of any format */

/* First version of SQLite that can set reserved bytes on a new database
** (SQLITE_FCNTL_RESERVE_BYTES), which the VFS codec needs. */
#define TENANT_CODEC_MIN_HOST_VERSION 3034000

typedef struct TenantCodec TenantCodec;
typedef struct TenantCipher TenantCipher;

/* True when this host may use the VFS codec: no codec of its own and at
** least TENANT_CODEC_MIN_HOST_VERSION. */
int tenantCodecAvailable(void);

/* SQLITE_IOERR_DATA on hosts that have it (3.32), SQLITE_CORRUPT before. */
int tenantCodecErrorCode(void);

/*
** Find or create the key state of the database file zPath, format eFormat,
** and take a reference. The key comes from tenantKeyDerive() with the key
** identity of zPath; the salt from the first 16 bytes of pReal, or a new
** random one when the file is shorter. Returns SQLITE_OK, or an error with
** a sqlite3_log line that names the file.
*/
int tenantCodecAcquire(const char *zPath, int eFormat, sqlite3_file *pReal,
                       TenantCodec **ppCodec);

/* Take a reference to the key state of the open database file whose path
** is the first nPath bytes of zName, as a journal or WAL does. Returns
** NULL when no such database file is open with the codec. */
TenantCodec *tenantCodecFind(const char *zName, int nPath);

/* Drop a reference; the last one wipes the keys and frees the state. */
void tenantCodecRelease(TenantCodec *pCodec);

int tenantCodecPageSize(const TenantCodec *pCodec);
int tenantCodecReserve(const TenantCodec *pCodec);
int tenantCodecFormat(const TenantCodec *pCodec);
const char *tenantCodecPath(const TenantCodec *pCodec);

/* Create and free the OpenSSL contexts of one open file. */
int tenantCipherNew(TenantCodec *pCodec, TenantCipher **ppCipher);
void tenantCipherFree(TenantCipher *pCipher);

/*
** Encrypt one page image in SQLCipher's layout. aIn and aOut are page-size
** buffers and may not overlap. Page 1's first 16 bytes become the salt.
*/
int tenantCipherEncrypt(TenantCipher *p, unsigned int iPgno,
                        const unsigned char *aIn, unsigned char *aOut);

/*
** Check and decrypt one page image in place. Returns SQLITE_OK, with a
** page of zeros for an all-zero input (a page that was never written, as
** SQLCipher does), or tenantCodecErrorCode() when the HMAC does not match;
** then aPage holds zeros, never the unauthenticated bytes. Callers that
** read the page from inside the file reject an all-zero image first (see
** tenantCodecIsBlank), because only a read past the end of the file may
** return one.
*/
int tenantCipherDecrypt(TenantCipher *p, unsigned int iPgno,
                        unsigned char *aPage);

/* True when the n bytes of a are all zero. */
int tenantCodecIsBlank(const unsigned char *a, int n);

/*
** Stream cipher for temporary files (statement journals, temp databases):
** AES-256-CTR under a random key that lives only in memory, keyed by file
** offset, so any byte range can be read or written.
*/
typedef struct TenantStream TenantStream;
int tenantStreamNew(TenantStream **ppStream);
void tenantStreamFree(TenantStream *p);
int tenantStreamApply(TenantStream *p, unsigned char *a, int n,
                      sqlite3_int64 iOfst);

/*
** Prepare the schema zSchema of db for the VFS codec: when its file is
** encrypted by the codec and still empty, set the page size and reserved
** bytes the format needs. A no-op for any other file.
*/
int tenantCodecPrepare(sqlite3 *db, const char *zSchema, char **pzErr);

/* Register the table-valued function tenant_codec() on db (vfscodecvtab.c). */
int tenantCodecRegister(sqlite3 *db);

/* ---- vfs.c: what the codec learns about open files -------------------- */

/* The codec of a file opened by the tenant VFS: "vfs" for the VFS codec,
** NULL for a file that is not the tenant VFS's or that it stores plain. */
const char *tenantVfsCodecName(sqlite3_file *pFile);

/* The key state of a file the VFS encrypts, or NULL. */
TenantCodec *tenantVfsCodecOf(sqlite3_file *pFile);

/* The URI that opens the physical file zPath through the tenant VFS with
** its codec: "file:<zPath, escaped>?vfs=tenant&codec=vfs". The caller
** frees it with sqlite3_free(); NULL when out of memory. */
char *tenantVfsCodecUri(const char *zPath);

#endif /* TENANT_VFSCODEC_H */
