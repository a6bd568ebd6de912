/*
** Shared helpers of the sqlite-tenant benchmark programs.
**
** Every benchmark program is built twice, like the tests: against the stock
** SQLite and, with -DBENCH_HOST_SQLCIPHER, against SQLCipher. A program
** loads the extension named by TENANT_EXT, builds its fleet under
** bench/tmp/<name>-<host>, and prints its results as tab-separated lines
** that bench/report.py turns into tables and plots:
**
**   R <section> <case> <variant> <baseline> <host> <unit> <baseline median>
**     <variant median> <ratio median> <ratio min> <ratio max> <target> <rounds>
**   M <section> <metric> <host> <unit> <value> <note>
**   P <plot> <series> <host> <x> <y>
**
** A comparison runs its variants in rounds. In each round every variant
** does the same work, in an order that rotates from round to round, and the
** ratio of each variant to the baseline is taken within the round. The
** reported ratio is the median of the rounds' ratios, with their minimum
** and maximum. Lines starting with '#' are progress notes for people.
**
** LIMITATIONS: not thread-safe; one root folder per process (the
** extension's rule), so a program that compares two fleets runs each in a
** child process.
*/
#ifndef BENCH_H
#define BENCH_H

#include <sqlite3.h>

#define BENCH_MAX_VARIANTS 4
#define BENCH_MAX_ROUNDS 64

/* One way of doing the work of a case. xRun does nIter operations. */
typedef struct BenchVariant BenchVariant;
struct BenchVariant {
  const char *zName;                 /* e.g. "session", "hand filter" */
  void (*xRun)(void *pArg, int nIter);
  void *pArg;
  void (*xAfter)(void *pArg);        /* untimed clean-up after xRun, or 0 */
};

/* Median, minimum and maximum of a set of samples. */
typedef struct BenchStat BenchStat;
struct BenchStat {
  double rMedian;
  double rMin;
  double rMax;
};

/* Nanoseconds from a monotonic clock. */
double benchNowNs(void);

/* Median, minimum and maximum of the n values of a (reorders a). */
BenchStat benchStat(double *a, int n);

/* The p-th percentile (0..100) of the n values of a (reorders a). */
double benchPercentile(double *a, int n, double p);

/* "sqlite" or "sqlcipher": the host this program links. */
const char *benchHost(void);

/* True when this program links SQLCipher. */
int benchHostIsSqlcipher(void);

/* Number of rounds and a scale factor from BENCH_ROUNDS and BENCH_SCALE
** (defaults 7 and 1). BENCH_FULL=1 selects the full fleet sizes. */
int benchRounds(void);
double benchScale(void);
int benchFull(void);

/* True when the case should run: BENCH_ONLY is unset, or a substring of
** "<section>: <case>". Used to profile one case. */
int benchSelected(const char *zSection, const char *zCase);

/* Print a message to stderr and exit with status 1. */
void benchFatal(const char *zFormat, ...);

/* Open ":memory:" with URI processing and load the extension that
** TENANT_EXT names. Exits on failure. */
sqlite3 *benchOpenAdmin(void);

/* Remove and create bench/tmp/<zName>-<host> under the working folder and
** point TENANT_ROOT at it; set a fixed benchmark TENANT_MASTER_KEY. Returns
** the absolute path in a static buffer. */
const char *benchFreshRoot(const char *zName);

/* Point TENANT_ROOT and TENANT_MASTER_KEY at an existing root, as
** benchFreshRoot() made it. */
void benchUseRoot(const char *zRoot);

/* Run zSql; exit with its error message on failure. */
void benchExec(sqlite3 *db, const char *zSql);

/* Run zSql, return the first column of the first row as an integer. */
sqlite3_int64 benchQueryInt(sqlite3 *db, const char *zSql);

/* Prepare zSql; exit on failure. */
sqlite3_stmt *benchPrepare(sqlite3 *db, const char *zSql);

/* Step pStmt to the end, reading every column of every row as an
** application does (sqlite3_column_int64, _double, _text or _blob by its
** type), reset it, and return the rows it produced. Adds a checksum of the
** values to benchValueSum. Exits on an error. */
int benchStepAll(sqlite3_stmt *pStmt);
extern sqlite3_uint64 benchValueSum;

/* Open a tenant session "file:<zCustomer>?vfs=tenant". Exits on failure. */
sqlite3 *benchOpenSession(const char *zCustomer);

/*
** Open the physical file zPath directly, without the tenant VFS. In the
** SQLCipher host, when bEncrypted, key it with the raw key that the
** extension derives for key identity zKeyId ("<database>/owner").
*/
sqlite3 *benchOpenRaw(const char *zPath, const char *zKeyId, int bEncrypted);

/* ATTACH zPath AS zSchema on db, keyed as in benchOpenRaw(). */
void benchAttachRaw(sqlite3 *db, const char *zPath, const char *zSchema,
                    const char *zKeyId, int bEncrypted);

/* Write into zOut (at least 68 bytes) the raw SQLCipher key "x'<hex>'"
** of key identity zKeyId, derived as the extension derives it. */
void benchRawKey(const char *zKeyId, char *zOut);

/* Mark every tier unencrypted in the stock host; in the SQLCipher host
** leave the default (encrypted). Returns 1 when placements are encrypted. */
int benchSetEncryption(sqlite3 *pAdmin);

/*
** Run nVariant variants of a case for nRounds rounds of nIter operations
** each, and print one R line per variant after the first, which is the
** baseline. zUnit is the unit of the medians: "us/op". rTarget is the
** highest acceptable ratio, or 0 for none.
*/
void benchCompare(const char *zSection, const char *zCase,
                  const BenchVariant *aVariant, int nVariant,
                  int nRounds, int nIter, double rTarget);

/* Print an R line for ratios computed by the caller. */
void benchReportRatio(const char *zSection, const char *zCase,
                      const char *zVariant, const char *zBaseline,
                      const char *zUnit, double rBase, double rVariant,
                      BenchStat ratio, double rTarget, int nRounds);

/* Print an M line. zNote may be "". */
void benchMetric(const char *zSection, const char *zMetric, const char *zUnit,
                 double rValue, const char *zNote);

/* Print a P line: one point (x, y) of series zSeries of plot zPlot. */
void benchPoint(const char *zPlot, const char *zSeries, double x, double y);

/* Resident set size of this process in bytes, from /proc/self/statm. */
sqlite3_int64 benchRss(void);

/* Raise the open-file limit to its hard limit. */
void benchRaiseFileLimit(void);

#endif /* BENCH_H */
