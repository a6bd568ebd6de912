-- Hostile SQL in a bound session: every way out of the session is denied,
-- and the denials leave the session working.
.load build/tenant
.nullvalue NULL
.headers off
.mode list

-- 1. Fleet: one Sapphire, two Onyx customers sharing one regional file.
.output /dev/null
SELECT tenant_policy_set(tier, 'encrypted', 0)
  FROM (SELECT 'sapphire' AS tier UNION ALL SELECT 'opal' UNION ALL SELECT 'onyx')
 WHERE NOT sqlite_compileoption_used('HAS_CODEC');
SELECT tenant_provision('sap1', 'sapphire', 'eu-west1');
SELECT tenant_provision('victim', 'onyx', 'eu-west1', 'sap1');
SELECT tenant_provision('mallory', 'onyx', 'eu-west1', 'sap1');
.output stdout

.open file:victim?vfs=tenant
INSERT INTO basic_communications(id, data) VALUES ('secret', 'victim data');

.open file:mallory?vfs=tenant
INSERT INTO basic_communications(id, data) VALUES ('own', 'mallory data');

-- 2. Attaching files, by logical name and by physical path, and detaching.
ATTACH 'file:victim?vfs=tenant' AS v;
ATTACH '../../sqltests/tmp/x.db' AS x;
ATTACH ':memory:' AS m;
DETACH DATABASE main;
DETACH DATABASE temp;

-- 3. Listing and reading the schemas behind the session.
PRAGMA database_list;
SELECT name FROM sqlite_master;
SELECT name FROM sqlite_temp_master ORDER BY name;
PRAGMA main.table_info(basic_communications);
SELECT 'schema list', count(*) FROM pragma_database_list;
SELECT 'table sql', sql FROM sqlite_temp_master WHERE name = 'basic_communications';
SELECT 'mallory count', count(*) FROM basic_communications;
VACUUM;

-- 4. Loading code and changing the schema.
SELECT load_extension('build/tenant');
PRAGMA writable_schema = 1;
CREATE TABLE main.stolen(x);
DROP TABLE basic_communications;
ALTER TABLE basic_communications RENAME TO renamed;

-- 5. Rebinding and the administrative functions.
SELECT tenant_bind('victim');
SELECT tenant_bind('mallory');
SELECT tenant_root();
SELECT tenant_provision('evil', 'sapphire', 'eu-west1');
SELECT tenant_add_agent('victim', 'mallory');
SELECT tenant_remove_agent('victim', 'x');
SELECT tenant_add_table('basic_communications', 'CREATE TABLE t(x)');
SELECT tenant_decommission('victim');
SELECT tenant_policy_set('onyx', 'encrypted', 0);

-- 6. The session is unchanged: still mallory, still only mallory's row.
SELECT 'session: ' || tenant_whoami();
SELECT 'mallory sees', customer_id, id, data FROM basic_communications;
SELECT 'victim rows seen', count(*) FROM basic_communications WHERE customer_id = 'victim';

-- 7. The victim's row is intact.
.open file:victim?vfs=tenant
SELECT 'victim sees', customer_id, id, data FROM basic_communications;

-- 8. A temp table whose DEFAULT calls the shell's writefile(): SQLite does
-- not ask the authorizer about it, so the session's temp tables become
-- read-only and no file is written.
.system rm -f sqltests/tmp/hostile-written
.open file:mallory?vfs=tenant
CREATE TEMP TABLE scratch(a DEFAULT ("writefile"('sqltests/tmp/hostile-written', 'x')), b);
INSERT INTO scratch(b) VALUES (1);
SELECT 'scratch rows', count(*) FROM scratch;
.system test -e sqltests/tmp/hostile-written && echo 'file written' || echo 'no file written'
INSERT INTO basic_communications(id, data) VALUES ('after', 'still writable');
SELECT 'mallory rows', count(*) FROM basic_communications;

-- 9. The same behind an empty statement, which SQLite skips, and then a
-- clean CREATE of the same name that does nothing: still read-only.
.open file:mallory?vfs=tenant
;CREATE TEMP TABLE scratch(a DEFAULT (writefile('sqltests/tmp/hostile-written', 'x')), b);
CREATE TEMP TABLE IF NOT EXISTS scratch(z);
INSERT INTO scratch(b) VALUES (1);
.system test -e sqltests/tmp/hostile-written && echo 'file written' || echo 'no file written'
