/*
** Internal interfaces shared by the parts of the sqlite-tenant extension.
**
** The extension's parts, one concept per file:
**   tenant.c     entry point, host checks, registration, error helpers
**   keys.c       master key loading and per-file key derivation (HKDF-SHA256)
**   catalog.c    the control database: policy, regions, customers, placements,
**                agents, application tables
**   catalogplan.c  routing plans for sessions
**   catalogcache.c the per-process cache of plans and table lists
**   catalogepoch.c the change counter that every scan of a session reads
**   provision.c  the administrative SQL functions: provisioning, agents,
**                application tables, registration
**   placement.c  their shared helpers and the placement files they build
**   decommission.c  tenant_decommission(): deletes a customer's data
**   policy.c     tenant_policy_set(): changes one setting of a tier
**   tabledef.c   parsing of application-table definitions (tenant_add_table)
**   vfs.c        the "tenant" VFS: logical name to physical file mapping
**   vfsfile.c    the io methods of the files it opens
**   vfsio.c      the VFS's codec I/O: database, journal, WAL, temp files
**   session.c    binding a connection to a customer
**   sessionactive.c  whether a bound customer and agent are still current
**   sessiontemp.c  the temp schema of a bound connection: isolation tables,
**                placeholders
**   authorizer.c the authorizer of a bound connection
**   rowvtab.c    the "tenant_row" isolation virtual table: planning
**   rowscan.c    its cursors and scans
**   rowwrite.c   its write path: xUpdate, storage checks, transactions
**   placeholder.c  the "tenant_hidden" placeholder for unreached tables
**   memfile.c    the in-memory main database of a session
**   vfscodec.c   the SQLCipher-compatible page codec of the VFS
**   vfscodecvtab.c  tenant_codec(): the codec of each database
**   quota.c, quotarow.c, quotadisk.c, quotawal.c, quotameasure.c
**                storage accounting and limits: shared files, the estimate
**                of a row, dedicated files, their size in WAL mode,
**                recomputation
**   meter.c      API calls per month, flushed to the catalog
**   report.c     upgrade candidates, usage and cost reports
**   reportvtab.c the reports' table-valued functions
**   reportrequest.c  recording of integration and compliance requests
**
** Every file but tenant.c starts with SQLITE_EXTENSION_INIT3 after including
** this header, so that all of them call SQLite through the host's routines.
**
** Host support: the extension is built against the newest sqlite3ext.h on the
** build machine and loaded into hosts as old as SQLite 3.15.2 (SQLCipher
** 3.4.1). Any routine newer than 3.15.2 is called only after checking
** tenantHostVersion() against the version that introduced it.
*/
#ifndef TENANT_INT_H
#define TENANT_INT_H

#include "sqlite3ext.h"
#include <stddef.h>

/* The library exports only sqlite3_tenant_init(), and the few internal
** functions marked so, which tests/t_catalog.c calls through dlsym(). */
#if defined(__GNUC__)
# define TENANT_TEST_API __attribute__((visibility("default")))
#else
# define TENANT_TEST_API
#endif

#define TENANT_MIN_HOST_VERSION 3015002
#define TENANT_MAX_ID 64          /* maximum length of an id */
#define TENANT_MAX_PATH 4096      /* maximum length of a physical path */
#define TENANT_KEY_BYTES 32       /* raw SQLCipher key: AES-256 */
#define TENANT_MAX_FILES 4        /* files one session attaches, at most */
#define TENANT_MAX_PARTITIONS 16  /* partitions one session reaches, at most */

/* ---- tenant.c: host facts and errors ---------------------------------- */

/* sqlite3_libversion_number() of the host, read once at load time. */
int tenantHostVersion(void);

/* True when the host links SQLCipher's codec (compile option HAS_CODEC). */
int tenantHostHasCodec(void);

/*
** Replace *pzErr with a message built from zFormat, prefixed "tenant: ".
** The old message is freed with sqlite3_free. Messages name the bad value
** and state what to do; they never contain key material.
*/
void tenantSetError(char **pzErr, const char *zFormat, ...);

/* sqlite3_result_error() with the same prefix and a printf-style format. */
void tenantResultError(sqlite3_context *pCtx, const char *zFormat, ...);

/*
** True, with an error result set on pCtx, when the text of argument v
** contains a NUL byte, which sqlite3_value_text() would cut the id at. zWhat
** names the id in the message ("customer", "agent"). SQL NULL passes
** (placement.c).
*/
int tenantIdArgHasNul(sqlite3_context *pCtx, sqlite3_value *v,
                      const char *zWhat);

/* ---- keys.c ----------------------------------------------------------- */

/*
** Derive the raw key of one physical file from the master key:
** HKDF-SHA256 with the file's key identity ("<database>/<file>") as info.
** Writes TENANT_KEY_BYTES bytes to aKey. Returns SQLITE_OK, or an error
** code with *pzErr set when no master key is configured or it is invalid.
*/
TENANT_TEST_API int tenantKeyDerive(const char *zKeyId, unsigned char *aKey,
                                    char **pzErr);

/* Check that a valid master key is configured, with the errors of
** tenantKeyDerive(), without deriving any key. */
int tenantKeyCheckMaster(char **pzErr);

/*
** Format aKey as SQLCipher's raw-key text "x'<64 hex digits>'" into
** zOut, which has room for at least 68 bytes.
*/
TENANT_TEST_API void tenantKeyFormatRaw(const unsigned char *aKey, char *zOut);

/* Overwrite n bytes of key material so it does not linger in memory. */
void tenantKeyWipe(void *p, size_t n);

/* ---- catalog.c, catalogplan.c, catalogcache.c ------------------------- */

/*
** The root folder of this process and its catalog connection. The root is
** TENANT_ROOT, or a root= URI parameter, or "tenant-data" under the working
** directory. One process uses one root: choosing a different one after the
** catalog is open is an error. The catalog connection is private to the
** extension and is serialised by a mutex that callers take through
** tenantCatalogEnter()/tenantCatalogLeave(). tenantCatalogOpen() creates
** a missing root folder and catalog.db. tenantCatalogOpenExisting(), for
** sessions, fails instead, so that a mistyped root is reported.
*/
int tenantCatalogOpen(const char *zRoot, char **pzErr);
int tenantCatalogOpenExisting(const char *zRoot, char **pzErr);
sqlite3 *tenantCatalogEnter(void);   /* NULL when the catalog is not open */
void tenantCatalogLeave(void);
const char *tenantCatalogRoot(void); /* absolute path, NULL before open */
void tenantCatalogShutdown(void);

/* One physical file a session attaches. */
typedef struct TenantFile TenantFile;
struct TenantFile {
  char zPath[TENANT_MAX_PATH]; /* absolute physical path */
  char zKeyId[256];            /* key identity: "<database>/<file>" */
  int bShared;                 /* rows of several customers: isolate */
  int bEncrypted;              /* policy encrypts this file */
};

/* One partition a session reaches, and the file that contains it. */
typedef struct TenantReach TenantReach;
struct TenantReach {
  char zPartition[64];         /* partition name, e.g. "communications_data" */
  int iFile;                   /* index into TenantPlan.aFile */
  int bReadOnly;               /* writes fail with SQLITE_READONLY */
};

/*
** Everything needed to bind a connection to a customer: its tier, the
** files it attaches and the partitions it reaches in each. Built from the
** catalog by tenantPlanLoad() and owned by the caller.
*/
typedef struct TenantPlan TenantPlan;
struct TenantPlan {
  char zCustomer[TENANT_MAX_ID + 1];
  char zAgent[TENANT_MAX_ID + 1];      /* "" when no agent is bound */
  char zTier[16];                      /* "sapphire", "opal" or "onyx" */
  char zRegion[TENANT_MAX_ID + 1];
  char zParent[TENANT_MAX_ID + 1];     /* "" for Sapphire */
  sqlite3_int64 iGeneration;           /* provisioning of the id, from
                                       ** customer_generations; 0 when the
                                       ** customer has no row there */
  sqlite3_int64 iAgentGeneration;      /* addition of zAgent, from
                                       ** agent_generations; 0 when the
                                       ** agent has no row there or no
                                       ** agent is bound */
  int nFile;
  TenantFile aFile[TENANT_MAX_FILES];
  int nReach;
  TenantReach aReach[TENANT_MAX_PARTITIONS];
};

/*
** Load the plan of an active customer, and check the agent when zAgent is
** not NULL. Errors: unknown customer, a customer still being provisioned or
** decommissioned, an unknown agent.
*/
TENANT_TEST_API int tenantPlanLoad(const char *zCustomer, const char *zAgent,
                                   TenantPlan *pPlan, char **pzErr);

/*
** Map a logical name "<customer>/<partition>" to the physical path of the
** file holding it. Used by the VFS's xFullPathname.
*/
TENANT_TEST_API int tenantPlanResolve(const char *zLogical, char *zOut,
                                      int nOut, char **pzErr);

/*
** Names of the tables of one partition: the partition's default table
** first, then its application tables. Calls xEach once per table.
*/
TENANT_TEST_API int tenantCatalogTables(const char *zPartition,
                        int (*xEach)(void *pArg, const char *zTable),
                        void *pArg, char **pzErr);

/* The tables of nPartition partitions, read in one catalog transaction.
** Calls xEach with the index in azPartition of each table's partition. */
int tenantCatalogTablesOf(int nPartition, const char *const *azPartition,
    int (*xEach)(void *pArg, int iPartition, const char *zTable),
    void *pArg, char **pzErr);

/* Add nCalls API calls to the usage of zCustomer in zMonth ("YYYY-MM"),
** with a statement prepared once. On failure *pzErr is set to the reason. */
int tenantCatalogAddCalls(const char *zCustomer, const char *zMonth,
                          sqlite3_int64 nCalls, char **pzErr);

/* Record that nRow rows of usage_monthly, which plans do not read, were
** written through the catalog connection. Requires the catalog mutex. */
void tenantCatalogUsageWritten(sqlite3_int64 nRow);

/* Read the Sapphire customer whose placement is <zProject>/<zDatabase>
** into zCustomer ("" when none) and its storage limit (-1: unlimited),
** with a statement prepared once. */
int tenantCatalogFolderLimit(const char *zProject, const char *zDatabase,
                             char *zCustomer, int nCustomer,
                             sqlite3_int64 *piLimit);

/* Read the storage limit (-1: unlimited) and tier of zCustomer, with a
** statement prepared once. Returns SQLITE_NOTFOUND when the catalog has
** no active customer of that id and generation: decommissioned, being
** provisioned again, or provisioned again under a newer generation. */
int tenantCatalogLimit(const char *zCustomer, sqlite3_int64 iGeneration,
                       sqlite3_int64 *piLimit, char *zTier, int nTier);

/* Read the catalog's version into *piData and *pnWrite: together they
** change with every write to the catalog, by this process or another, other
** than this process's flushes of API calls. A cached catalog value is
** current while the pair is the same. */
int tenantCatalogVersion(sqlite3_int64 *piData, sqlite3_int64 *pnWrite);

/* Check that z is safe as a customer, agent or region id (and a file name
** part): 1..TENANT_MAX_ID bytes of [A-Za-z0-9_.-], not "." or "..". */
int tenantIdIsSafe(const char *z);

/* ---- catalogepoch.c: the change counter of the root -------------------- */

/* Map <zRoot>/catalog.db-epoch, checking its file id against the one
** that the catalog db records. With bCreate, create the file and record
** its file id when the catalog records none, and honour TENANT_EPOCH_RESET
** unless another process holds the reset lock.
** Returns SQLITE_CANTOPEN with *pzErr set when the file is missing or has
** another file id, or the error of a catalog query. A file that cannot be
** mapped leaves the counter unmapped, is logged once, and returns
** SQLITE_OK. Requires the catalog mutex and a write transaction on db. */
int tenantEpochOpen(sqlite3 *db, const char *zRoot, int bCreate,
                    char **pzErr);

/* Cross-process atomics need a lock-free 64-bit type in shared memory.
** Without them the counter is never mapped, and every scan reads the
** catalog. */
#if defined(__GNUC__) && defined(__ATOMIC_ACQUIRE) \
    && defined(__GCC_ATOMIC_LLONG_LOCK_FREE) && __GCC_ATOMIC_LLONG_LOCK_FREE==2
# define TENANT_EPOCH_ATOMIC 1
#else
# define TENANT_EPOCH_ATOMIC 0
#endif

/* The mapped counter, or NULL while this process has not mapped it. Set
** under the catalog mutex, read without it, and never unmapped. Hidden, so
** that a scan reads it without a lookup in the global offset table. */
#if defined(__GNUC__)
__attribute__((visibility("hidden")))
#endif
extern sqlite3_uint64 *tenantEpochCounter;

/* Set *piEpoch to the counter and return 1, or return 0 when this process
** has not mapped it. Loads that come before the call in program order
** complete before the counter is read. Inline, because every scan of an
** isolation table calls it. */
static inline int tenantEpochLoad(sqlite3_uint64 *piEpoch){
#if TENANT_EPOCH_ATOMIC
  sqlite3_uint64 *pCounter;
  pCounter = __atomic_load_n(&tenantEpochCounter, __ATOMIC_ACQUIRE);
  if( pCounter==0 ) return 0;
  __atomic_thread_fence(__ATOMIC_ACQUIRE);
  *piEpoch = __atomic_load_n(pCounter, __ATOMIC_ACQUIRE);
  return 1;
#else
  (void)piEpoch;
  return 0;
#endif
}

/* Add 1 to the counter. A change that retires sessions calls this twice,
** in the order that catalogepoch.c explains. Returns SQLITE_CANTOPEN or
** SQLITE_READONLY, with *pzErr set, when this process cannot write the
** counter. Requires the catalog mutex, and a write transaction on the
** catalog db while the counter may be unmapped. */
int tenantEpochAdvance(sqlite3 *db, char **pzErr);

/* ---- provision.c ------------------------------------------------------ */

/* Register the administrative SQL functions on a connection. */
int tenantProvisionRegister(sqlite3 *db);

/* ---- vfs.c ------------------------------------------------------------ */

#define TENANT_VFS_NAME "tenant"

/* Register the tenant VFS (never as the default). Idempotent. */
int tenantVfsRegister(void);

/* True when the main database of db was opened as a tenant session URI,
** e.g. "file:acme?vfs=tenant". Sets *pzCustomer to the customer id, which
** stays valid while db is open. */
int tenantVfsIsSession(sqlite3 *db, const char **pzCustomer);

/* True when pFile is a placement file opened by the tenant VFS. */
int tenantVfsIsPlacement(sqlite3_file *pFile);

/*
** Bracket the binder's ATTACH of a logical name. Begin writes a fresh token
** of TENANT_VFS_TOKEN_LEN hex digits and a NUL to zToken; the binder
** attaches "file:<customer>/<partition>@<token>?vfs=tenant&bind=<token>".
** The VFS resolves a logical name only while its token is active, so no
** one else opens a shared file unbound by its logical name. It resolves it
** to zPath, the physical path from the binder's plan, which must stay valid
** until End. Begin returns SQLITE_BUSY when too many bindings run at once.
*/
#define TENANT_VFS_TOKEN_LEN 32
int tenantVfsBindingBegin(char *zToken, const char *zPath);
void tenantVfsBindingEnd(const char *zToken);

/* ---- session.c -------------------------------------------------------- */

typedef struct TenantSession TenantSession;

/* Register tenant_bind(), tenant_whoami() and tenant_agent() on db, and
** bind db now when its main database is a tenant session URI. On a failed
** binding *pzErr explains why. */
int tenantSessionRegister(sqlite3 *db, char **pzErr);

/* True when tenantSessionRegister() has already run on db. */
int tenantSessionIsRegistered(sqlite3 *db);

/*
** Deny administrative function zName on a connection bound to a customer:
** set the authorizer's message and SQLITE_AUTH as its result and return 1.
** Return 0 on other connections. SQLite does not ask the authorizer about
** a function in a temp table's DEFAULT, so each such function checks too.
*/
int tenantAdminDenied(sqlite3_context *pCtx, const char *zName);

/* The session bound to db, or NULL when db is not bound. */
TenantSession *tenantSessionOf(sqlite3 *db);

/* The bound customer; read by each scan when it starts. */
const char *tenantSessionCustomer(TenantSession *p);

/* The parent Sapphire of the bound customer, "" when it has none. */
const char *tenantSessionParent(TenantSession *p);

/* Whether the session is metered and held to storage limits, as
** TENANT_METER decided when it was bound. */
int tenantSessionIsMetered(TenantSession *p);

/* Return the bound customer, for a scan of an isolation table to start
** with, or NULL once the session is retired (tenantSessionRetire). */
const char *tenantSessionScanCustomer(TenantSession *p);

/*
** Check that the bound customer is still active in the catalog under the
** generation it had at binding, and that the bound agent is still
** registered under the generation it had at binding, for a write of a session that is not metered and for a scan
** whose change counter moved. Returns SQLITE_AUTH, through
** tenantSessionRejectInactive(), when either is not.
*/
int tenantSessionCheckActive(TenantSession *p, char **pzErr);

/*
** Check the session as a scan of an isolation table starts, after the
** scan's first inner step has chosen its snapshot of the shared file.
** While the change counter (catalogepoch.c) keeps the value of the
** session's last full check, this costs one load. Otherwise, or when the
** counter is not mapped, it runs tenantSessionCheckActive(). Returns
** SQLITE_AUTH for a retired session.
*/
int tenantSessionScanCheck(TenantSession *p, char **pzErr);

/*
** Check a session that reaches a dedicated file as one of its statements
** starts to run, and interrupt the connection when the session is retired
** or the check fails. While the change counter keeps its value, this
** costs one load and one compare.
*/
void tenantSessionRunCheck(TenantSession *p, const char *zSql);
int tenantSessionCommitHook(void *pArg);

/* Read the storage limit and tier of the bound customer, as
** tenantCatalogLimit() does for the generation bound, check that the bound
** agent, if any, is still registered under its generation, and retire
** the session when either is gone (SQLITE_NOTFOUND). */
int tenantSessionLimit(TenantSession *p, sqlite3_int64 *piLimit,
                       char *zTier, int nTier);

/* tenantSessionLimit() for a caller that holds the catalog mutex. */
int tenantSessionLimitRead(TenantSession *p, sqlite3_int64 *piLimit,
                           char *zTier, int nTier);

/* Mark the session as bound to a customer that the catalog no longer
** lists as active under the generation bound, or to an agent it no longer
** lists under the generation bound, and log it once. A session that
** reaches a dedicated file also expires its prepared statements. A retired
** session stays retired, because tenant_provision() gives every
** provisioning of an id a new generation, and tenant_add_agent() every
** addition. */
void tenantSessionRetire(TenantSession *p);

/* Retire the session, set *pzErr to the error of a statement of a
** customer that is no longer active, or of an agent that was removed, and
** return SQLITE_AUTH. */
int tenantSessionRejectInactive(TenantSession *p, char **pzErr);

/*
** Where the real table behind the isolation virtual table zTable lives:
** the secret schema name of its file and whether the session may write it.
** Returns SQLITE_OK, or SQLITE_ERROR when the session does not reach zTable.
*/
int tenantSessionLookupTable(TenantSession *p, const char *zTable,
                             const char **pzSchema, const char **pzPartition,
                             int *pbReadOnly);

/* Set *piCookie to the schema cookie that binding read for the file of
** schema zSchema and return 1, or return 0 when it has none. */
int tenantSessionFileCookie(TenantSession *p, const char *zSchema,
                            int *piCookie);

/*
** Bracket every statement the extension prepares or steps on a bound
** connection, so that its authorizer lets internal statements through.
** Nesting is allowed.
*/
void tenantSessionEnterInternal(TenantSession *p);
void tenantSessionLeaveInternal(TenantSession *p);

/* Install the metering trace again, in case the application replaced it;
** the authorizer calls it as each statement is prepared. */
void tenantSessionTraceRestore(TenantSession *p);

/* ---- rowvtab.c -------------------------------------------------------- */

#define TENANT_ROW_MODULE "tenant_row"

/* Register the isolation module on db with the session as its client data.
** "CREATE VIRTUAL TABLE temp.<t> USING tenant_row(<t>)" then wraps the
** real table <t> that tenantSessionLookupTable() names. */
int tenantRowRegister(sqlite3 *db, TenantSession *pSession);

/* Run the checks of xCreate for table zTable of pSession, with its error
** messages, without creating a virtual table. */
int tenantRowCheck(sqlite3 *db, TenantSession *pSession, const char *zTable,
                   char **pzErr);

/* ---- memfile.c -------------------------------------------------------- */

/* Open an empty in-memory file in pFile, which has nSpace bytes. Returns
** SQLITE_CANTOPEN when nSpace is too small for it. */
int tenantMemFileOpen(sqlite3_file *pFile, int nSpace);

/* ---- placeholder.c ---------------------------------------------------- */

#define TENANT_HIDDEN_MODULE "tenant_hidden"

/* Register the placeholder module: "CREATE VIRTUAL TABLE temp.<t> USING
** tenant_hidden(<t>)" shadows a raw table the session must not reach, and
** every statement that names it fails with "no such table: <t>". */
int tenantPlaceholderRegister(sqlite3 *db);

/* ---- quota.c, quotarow.c: storage accounting and limits --------------- */

/*
** Storage accounting of one shared table behind an isolation virtual
** table. Tables of the same file on the same connection share one running
** total, which is written to the file's tenant_usage table when the
** transaction commits (xSync), so it commits or rolls back with the rows.
*/
typedef struct TenantQuotaTable TenantQuotaTable;

/* Name of the per-file usage table of shared placement files. */
#define TENANT_USAGE_TABLE "tenant_usage"

/* Create tenant_usage in schema zSchema of db unless it exists. */
int tenantQuotaPrepareFile(sqlite3 *db, const char *zSchema, char **pzErr);

/* Read the indexes and defaults of zSchema.zTable and start accounting
** for it on the session's connection. *pp is NULL when the session is
** not metered. */
int tenantQuotaTableOpen(sqlite3 *db, TenantSession *pSession,
                         const char *zSchema, const char *zTable,
                         TenantQuotaTable **pp, char **pzErr);
void tenantQuotaTableClose(TenantQuotaTable *p);

/*
** Estimate the bytes of a row whose column values are apVal[0..nCol-1]:
** bDefault counts a NULL in a NOT NULL column with a DEFAULT as that
** default, as an insert through the isolation table, and an update in
** conflict mode REPLACE, store it.
*/
sqlite3_int64 tenantQuotaRowBytes(TenantQuotaTable *p, sqlite3_value **apVal,
                                  int bDefault);

/*
** Estimate the bytes of a stored row that pStmt has just read: column i of
** the real table, one of nCol, is column aStmtCol[i] of pStmt. Returns -1
** when pStmt did not read every column, or nCol is not the table's count.
** Equal to tenantQuotaStoredRowBytes() of the same row.
*/
sqlite3_int64 tenantQuotaStmtRowBytes(TenantQuotaTable *p, int nCol,
                                      sqlite3_stmt *pStmt,
                                      const int *aStmtCol);

/* The parts of tenantQuotaStmtRowBytes() for a caller that reads the
** columns one at a time: the bytes every row takes, the table's column
** count, and the bytes that value v of column iCol adds. */
sqlite3_int64 tenantQuotaFixedBytes(TenantQuotaTable *p, int *pnCol);
sqlite3_int64 tenantQuotaColumnBytes(TenantQuotaTable *p, int iCol,
                                     sqlite3_value *v);

/* Set *pnByte to the estimate of the stored row pRowid of zCustomer, or 0
** when there is no such row. */
int tenantQuotaStoredRowBytes(TenantQuotaTable *p, sqlite3_value *pRowid,
                              const char *zCustomer, sqlite3_int64 *pnByte);

/* Set *pnByte to the estimate of the customer's stored rows that a write
** in conflict mode REPLACE removes: rows that conflict with apVal on the
** primary key or a UNIQUE index. pRowid is NULL for an insert, else the
** updated row, which is left out. */
int tenantQuotaReplacedBytes(TenantQuotaTable *p, sqlite3_value *pRowid,
                             sqlite3_value **apVal, const char *zCustomer,
                             sqlite3_int64 *pnByte);

/*
** Check, before a write, that a change of nDelta bytes keeps zCustomer
** within its tier's storage limit. A change that takes the customer past
** the limit fails with SQLITE_FULL and *pzErr set; a change that does not
** grow the customer's usage always passes. After the write succeeds,
** tenantQuotaRecord() counts the change.
*/
int tenantQuotaCheck(TenantQuotaTable *p, const char *zCustomer,
                     sqlite3_int64 nDelta, char **pzErr);
void tenantQuotaRecord(TenantQuotaTable *p, sqlite3_int64 nDelta);

/* Transaction methods of the isolation table, forwarded. */
int tenantQuotaSync(TenantQuotaTable *p, char **pzErr);
void tenantQuotaEnd(TenantQuotaTable *p);               /* commit, rollback */
void tenantQuotaSavepoint(TenantQuotaTable *p, int iSavepoint);
void tenantQuotaRelease(TenantQuotaTable *p, int iSavepoint);
void tenantQuotaRollbackTo(TenantQuotaTable *p, int iSavepoint);

/* ---- quotadisk.c ------------------------------------------------------ */

/*
** Storage limit of a dedicated placement file opened by the VFS. Open
** sets *pp to NULL unless zPath is a database or WAL file of a dedicated
** placement whose tier has a limit. bBinding is true when a session's
** binding opens the file: only then is the limit read from the catalog,
** and a later open (a WAL) uses the limit read at the last binding. CheckWrite, called before each
** xWrite of the real file, returns SQLITE_FULL, and logs the customer,
** the limit and the usage, when the write grows the placement's databases
** past the limit. WalMode tells a database file's limit whether the file
** is in WAL mode (its wal-index is mapped), where every write of the
** database file is a checkpoint, which is never refused.
*/
typedef struct TenantQuotaDisk TenantQuotaDisk;
int tenantQuotaDiskOpen(const char *zPath, int bBinding,
                        TenantQuotaDisk **pp);
int tenantQuotaDiskCheckWrite(TenantQuotaDisk *p, sqlite3_file *pReal,
                              const void *zBuf, int iAmt,
                              sqlite3_int64 iOfst);
void tenantQuotaDiskWalMode(TenantQuotaDisk *p, int bWal);
void tenantQuotaDiskClose(TenantQuotaDisk *p);

/* ---- quotawal.c ------------------------------------------------------- */

/* The last commit frame found in one database's WAL, and the WAL
** generation it belongs to. All zeros: none yet. */
typedef struct TenantWalSeen TenantWalSeen;
struct TenantWalSeen {
  unsigned char aSalt[8];       /* salts of the WAL header */
  int szPage;                   /* page size of the WAL header */
  int bBigEndian;               /* checksums of big-endian words */
  unsigned int iCommit;         /* the frame, from 1; 0 when none */
  unsigned int nPage;           /* database size in pages it records */
  unsigned int aCk[2];          /* checksum stored in its header */
};

/*
** Return the database size in bytes that the last commit frame before
** byte iEnd of the WAL pWal records, or -1 when there is none. The caller
** is about to write the frame at iEnd and has the WAL's write lock. So
** every earlier frame since the WAL was last reset is committed or belongs
** to the caller's own transaction, and only frame headers are read,
** without checksums. *pSeen is what an earlier call for the same WAL
** found, or zeros; it is updated.
*/
sqlite3_int64 tenantWalCommittedBefore(sqlite3_file *pWal, sqlite3_int64 iEnd,
                                       TenantWalSeen *pSeen);

/* Record in *pSeen, as filled by tenantWalCommittedBefore(), that the
** frame at iOfst is a commit frame of a database of nPage pages. */
void tenantWalSeeCommit(TenantWalSeen *pSeen, sqlite3_int64 iOfst,
                        unsigned int nPage);

/*
** Return the database size in bytes that the last valid commit frame of
** the WAL file zWal records, or -1 when the WAL is missing or has no valid
** commit frame. Frames are checked as SQLite's recovery checks them,
** checksums included, since other connections may be writing the WAL.
** *pSeen is what an earlier call for the same WAL found, or zeros; it is
** updated.
*/
sqlite3_int64 tenantWalCommittedBytes(const char *zWal, TenantWalSeen *pSeen);

/* Build in *pzExpr the SQL expression of the estimate of one stored row of
** zSchema.zTable (see quotarow.c), for sum() over the rows. */
int tenantQuotaRowSql(sqlite3 *db, const char *zSchema, const char *zTable,
                      char **pzExpr);

/* ---- quotameasure.c --------------------------------------------------- */

/* Storage of one customer: stored (tenant_usage, or the files' size for a
** dedicated placement) and recomputed from the rows. */
typedef struct TenantStorage TenantStorage;
struct TenantStorage {
  char zDatabase[192];          /* placement database name */
  int bShared;                  /* rows counted by estimate */
  sqlite3_int64 nStored;        /* bytes recorded, or the files' size */
  sqlite3_int64 nActual;        /* bytes recomputed; -1 when not asked */
};

/* Measure zCustomer; bRecompute also recomputes a shared placement's
** usage from its rows. pCache keeps the last file open between calls:
** pass the same pointer (initially NULL) and free it with
** tenantQuotaMeasureDone(). */
int tenantQuotaMeasure(const char *zCustomer, int bRecompute,
                       TenantStorage *pOut, void **ppCache, char **pzErr);
void tenantQuotaMeasureDone(void *pCache);

/* Register tenant_storage_repair(customer), which sets a customer's stored
** total to the recomputed one. */
int tenantQuotaRepairRegister(sqlite3 *db);

/* ---- meter.c: API calls per month ------------------------------------- */

typedef struct TenantMeter TenantMeter;

/* True unless the environment variable TENANT_METER is "off" when the
** session binds: metering and storage limits then do nothing. */
int tenantMeterEnabled(void);

/* Start counting the statements of zCustomer. *pp is NULL when off. */
int tenantMeterOpen(const char *zCustomer, TenantMeter **pp);

/* Count one statement; flushes to the catalog every N statements or T
** seconds (TENANT_METER_FLUSH_STATEMENTS, TENANT_METER_FLUSH_SECONDS). */
void tenantMeterCount(TenantMeter *p);

/* Flush what is left and free p. */
void tenantMeterClose(TenantMeter *p);

/* ---- report.c, reportvtab.c: upgrade triggers, usage and cost reports -- */

/* Register the report table-valued functions. */
int tenantReportRegister(sqlite3 *db);

/* ---- reportrequest.c -------------------------------------------------- */

/* Register tenant_request_integration() and tenant_require_compliance(),
** which record the integration and compliance requests of a customer. */
int tenantReportRequestRegister(sqlite3 *db);

#endif /* TENANT_INT_H */
