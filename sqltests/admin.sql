-- Loading the extension and the administrative functions: each rejection
-- names the bad value, and a rejected call creates nothing.
.load build/tenant
.nullvalue NULL
.headers off
.mode list

-- 1. A fresh connection is not bound, and the root comes from TENANT_ROOT.
SELECT 'whoami: ' || quote(tenant_whoami());
SELECT 'root: ' || tenant_root();

-- 2. The stock sqlite3 shell has no codec: mark every tier unencrypted
-- there. The sqlcipher shell keeps the default, encrypted placements.
.output /dev/null
SELECT tenant_policy_set(tier, 'encrypted', 0)
  FROM (SELECT 'sapphire' AS tier UNION ALL SELECT 'opal' UNION ALL SELECT 'onyx')
 WHERE NOT sqlite_compileoption_used('HAS_CODEC');
.output stdout

-- 3. Provisioning one customer of each tier.
SELECT tenant_provision('sap1', 'sapphire', 'us-west1');
SELECT tenant_provision('sap2', 'sapphire', 'eu-west1');
SELECT tenant_provision('opal1', 'opal', 'us-west1', 'sap1');
SELECT tenant_provision('onyx1', 'onyx', 'us-west1', 'sap1') LIKE 'd1-onyx-shared-us-west1-_';
SELECT tenant_provision('onyx2', 'onyx', 'eu-west1', 'sap2');

-- 4. Unknown tier and unknown region.
SELECT tenant_provision('c1', 'gold', 'us-west1');
SELECT tenant_provision('c1', 'sapphire', 'mars-north1');

-- 5. Unsafe customer ids: a path separator, "..", ".", a control
-- character, an empty id and 65 characters. 64 characters is the maximum.
SELECT tenant_provision('a/b', 'sapphire', 'us-west1');
SELECT tenant_provision('..', 'sapphire', 'us-west1');
SELECT tenant_provision('.', 'sapphire', 'us-west1');
SELECT tenant_provision('a' || char(10) || 'b', 'sapphire', 'us-west1');
SELECT tenant_provision('', 'sapphire', 'us-west1');
SELECT tenant_provision(substr(hex(zeroblob(33)), 1, 65), 'sapphire', 'us-west1');
SELECT tenant_provision(substr(hex(zeroblob(32)), 1, 64), 'sapphire', 'us-west1');

-- 6. Parents: missing, unknown, not a Sapphire, in another region, and a
-- parent given to a Sapphire.
SELECT tenant_provision('c2', 'opal', 'us-west1');
SELECT tenant_provision('c2', 'onyx', 'us-west1');
SELECT tenant_provision('c2', 'opal', 'us-west1', 'nobody');
SELECT tenant_provision('c2', 'opal', 'us-west1', 'opal1');
SELECT tenant_provision('c2', 'onyx', 'us-west1', 'onyx1');
SELECT tenant_provision('c2', 'opal', 'us-west1', 'sap2');
SELECT tenant_provision('c2', 'sapphire', 'us-west1', 'sap1');

-- 7. Duplicates, whatever the tier asked for.
SELECT tenant_provision('sap1', 'sapphire', 'us-west1');
SELECT tenant_provision('opal1', 'onyx', 'us-west1', 'sap1');

-- 8. None of the rejected ids was created: each can be provisioned now.
SELECT tenant_provision('c1', 'sapphire', 'us-west1');
SELECT tenant_provision('c2', 'opal', 'us-west1', 'sap1');

-- 9. Policy: unknown tier, unknown setting, a value of the wrong type.
SELECT tenant_policy_set('gold', 'price_usd', 10);
SELECT tenant_policy_set('onyx', 'colour', 'blue');
SELECT tenant_policy_set('onyx', 'storage_limit_bytes', 'ten');
SELECT tenant_policy_set('onyx', 'storage_limit_bytes', 4096) IS NOT NULL;

-- 10. Agents.
SELECT tenant_add_agent('sap1', 'alice') IS NOT NULL;
SELECT tenant_add_agent('nobody', 'alice');
SELECT tenant_add_agent('sap1', 'bad/agent');
SELECT tenant_remove_agent('sap1', 'alice') IS NOT NULL;
SELECT tenant_remove_agent('sap1', 'alice');

-- 11. Application tables.
SELECT tenant_add_table('communications_data', 'CREATE TABLE notes(id TEXT PRIMARY KEY, body TEXT)') IS NOT NULL;
SELECT tenant_add_table('no_such_partition', 'CREATE TABLE t2(id TEXT)');
SELECT tenant_add_table('communications_data', 'CREATE TABLE t3(id TEXT, customer_id TEXT)');
SELECT tenant_add_table('communications_data', 'CREATE TABLE notes(id TEXT)');
SELECT tenant_add_table('communications_data', 'CREATE INDEX i ON notes(id)');
SELECT tenant_add_table('communications_data', 'CREATE TABLE sqlite_t4(id TEXT)');
SELECT tenant_add_table('communications_data', 'CREATE TABLE tenant_t5(id TEXT)');

-- 12. Decommissioning: unknown customer, a Sapphire with children, then a
-- customer without children, which cannot be bound afterwards.
SELECT tenant_decommission('nobody');
SELECT tenant_decommission('sap1');
SELECT tenant_decommission('c1') IS NOT NULL;
SELECT tenant_decommission('c1');

-- 13. The connection is still unbound after all of this.
SELECT 'whoami: ' || quote(tenant_whoami());
