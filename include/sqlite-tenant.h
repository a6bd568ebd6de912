/*
** sqlite-tenant: public interface for C programs.
**
** sqlite-tenant is a loadable SQLite extension that turns one root folder of
** SQLite and SQLCipher database files into a tiered multi-tenant store. A C
** program loads the installed library once per process, on any connection,
** before it opens a session:
**
**     sqlite3_enable_load_extension(db, 1);
**     sqlite3_load_extension(db, "/usr/local/lib/tenant", 0, &zErr);
**
** Once loaded, the extension registers the VFS TENANT_VFS_NAME and, on
** every connection opened afterwards, the SQL functions listed below. A
** session is a connection bound to one customer, opened with the URI form
** TENANT_URI_FORMAT and SQLITE_OPEN_URI:
**
**     sqlite3_open_v2("file:acme?vfs=tenant&agent=alice", &db,
**                     SQLITE_OPEN_READWRITE|SQLITE_OPEN_URI, 0);
**
** Environment: TENANT_ROOT (root folder, default ./tenant-data),
** TENANT_MASTER_KEY (at least 32 characters) or TENANT_KEY_FILE (a file of
** mode 0600 holding the master key).
**
** Hosts: SQLite 3.15.2 or newer. Encrypted placements use SQLCipher's codec
** in a SQLCipher host (for example SQLCipher 3.4.1) and the tenant VFS's own
** codec, in SQLCipher's file format, in a host without one from SQLite
** 3.34; older codec-less hosts reject them.
*/
#ifndef SQLITE_TENANT_H
#define SQLITE_TENANT_H

#include <sqlite3.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Name of the tenant VFS, as given to sqlite3_open_v2() or "vfs=". */
#define TENANT_VFS_NAME "tenant"

/* printf format of a session URI: the customer id, then an optional
** "&agent=<agent id>". Ids are 1 to 64 characters of [A-Za-z0-9_.-]. */
#define TENANT_URI_FORMAT "file:%s?vfs=tenant"

/*
** Entry point. Checks the host version, registers the tenant VFS once per
** process and the SQL functions on db and on every later connection, and
** binds any connection whose main database is a session URI. Returns
** SQLITE_OK_LOAD_PERMANENTLY on success, so the library stays loaded.
**
** Administrative SQL functions, for connections that are not bound:
**
**   tenant_root([path])
**       Open the catalog in path (or TENANT_ROOT, or ./tenant-data) and
**       return the absolute root. One process uses one root.
**   tenant_policy_set(tier, setting, value)
**       Change a tier's policy. Settings: storage_limit_bytes, price_usd,
**       backup_frequency, encrypted, journal_mode, audit_retention_years,
**       upgrade_storage_bytes, upgrade_api_calls, upgrade_agents,
**       dedicated_price_usd.
**   tenant_provision(customer, tier, region [, parent])
**       Create a customer of tier "sapphire", "opal" or "onyx" in region,
**       under parent (a Sapphire of the same region, required for Opal and
**       Onyx). Returns the database name of its placement.
**   tenant_decommission(customer)
**       Remove the customer's rows and files and its catalog entries.
**   tenant_add_agent(customer, agent), tenant_remove_agent(customer, agent)
**       Register or remove an agent (a user) of a customer.
**   tenant_add_table(partition, create_table_ddl)
**       Add an application table to a partition, in every file that contains
**       the partition now and later. The DDL has no customer_id column.
**
** Session SQL functions:
**
**   tenant_bind(customer [, agent])
**       Bind this connection to a customer. A connection is bound once.
**   tenant_whoami()
**       Return the bound customer, or NULL on an unbound connection.
**
** A bound session reaches the tables of its partitions by unqualified name
** (for example communications_data) and nothing else: ATTACH, DETACH,
** PRAGMA database_list, load_extension() and the administrative functions
** are denied.
*/
int sqlite3_tenant_init(sqlite3 *db, char **pzErrMsg,
                        const sqlite3_api_routines *pApi);

#ifdef __cplusplus
}
#endif

#endif /* SQLITE_TENANT_H */
