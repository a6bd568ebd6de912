/*
** A small TAP (Test Anything Protocol) library for the C tests of
** sqlite-tenant, with helpers that open a connection in the test host and
** prepare a fresh root folder.
**
** Each test program is built twice: against the stock SQLite and, with
** -DTEST_HOST_SQLCIPHER, against SQLCipher, so that every case runs in both
** hosts. prove reads the output: "1..N", then one "ok" or "not ok" line per
** check, with diagnostics on lines starting with "#".
**
** LIMITATIONS: not thread-safe. The string helpers return static buffers
** that the next few calls reuse (see TAP_STATIC_SLOTS).
*/
#ifndef TAP_H
#define TAP_H

#include <sqlite3.h>

/* Number of static buffers that tap_exec_error() and tap_query_text()
** rotate through, so that several results can be compared in one check. */
#define TAP_STATIC_SLOTS 8

/* Print the plan "1..n". Call it once before the first check, or never and
** let tap_done() print the plan from the number of checks run. */
void tap_plan(int n);

/* Record one check: "ok N - name" when cond is true, "not ok" otherwise.
** Returns cond. */
int tap_ok(int cond, const char *zFormat, ...);

/* Check that two strings are equal; either may be NULL, and two NULLs are
** equal. On failure, prints both values as diagnostics. Returns 1 on a
** match. */
int tap_is_str(const char *zGot, const char *zExpected, const char *zName);

/* Check that two integers are equal, printing both on failure. */
int tap_is_int(long long iGot, long long iExpected, const char *zName);

/* Print a diagnostic line "# ..." to stdout. */
void tap_diag(const char *zFormat, ...);

/* Record one check of a known gap: "not ok N - name # TODO zWhy" while
** cond is false, which TAP does not count as a failure, and "ok ... # TODO"
** once the gap is closed, which prove reports as unexpectedly passing.
** Returns cond. */
int tap_todo(int cond, const char *zWhy, const char *zFormat, ...);

/* Record n checks as skipped, with the reason. */
void tap_skip(int n, const char *zWhy);

/* Finish the run: print the plan if none was given, report a plan that
** does not match the number of checks, and exit with the number of failed
** checks (at most 254, and 255 for a wrong plan). */
void tap_done(void);

/* Open ":memory:" with SQLITE_OPEN_URI, enable extension loading and load
** the extension named by the environment variable TENANT_EXT. Bails out of
** the whole run (exit 255) when TENANT_EXT is unset or loading fails. */
void tap_open(sqlite3 **ppDb);

/* True when the file at zPath contains a page of nPage zero bytes. */
int tap_file_has_blank_page(const char *zPath, int nPage);

/* Open the URI "file:<zTail>" (for a session, "<customer>?vfs=tenant...")
** for reading and writing. Returns the connection, or NULL with the error
** copied to zErr (nErr bytes), or printed as a diagnostic when zErr is
** NULL. On success zErr, when given, is set to "". */
sqlite3 *tap_open_uri(const char *zTail, char *zErr, int nErr);

/* Remove and create tests/tmp/<zName>-<host> under the working directory,
** where host is "sqlite" or "sqlcipher", and point TENANT_ROOT at it. Also
** sets TENANT_MASTER_KEY to a fixed 40-character test key and unsets
** TENANT_KEY_FILE. Returns the absolute path in a static buffer. Bails out
** when the folder cannot be made. */
const char *tap_fresh_root(const char *zName);

/* Run zSql (one or more statements). Returns NULL on success, or a static
** copy of the error message. */
const char *tap_exec_error(sqlite3 *db, const char *zSql);

/* Run zSql and return the first column of its first row as a static
** string. Returns NULL when the query fails (the error becomes a
** diagnostic), returns no row, or the value is NULL. */
const char *tap_query_text(sqlite3 *db, const char *zSql);

/* True when this program was built against SQLCipher. */
int tap_host_is_sqlcipher(void);

#endif /* TAP_H */
