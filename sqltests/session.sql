-- A bound session sees only its own rows, in every tier, and writes are
-- stamped with the bound customer.
.load build/tenant
.nullvalue NULL
.headers off
.mode list

-- 1. Fleet: two Sapphires, two Opals and two Onyx customers under sap1.
.output /dev/null
SELECT tenant_policy_set(tier, 'encrypted', 0)
  FROM (SELECT 'sapphire' AS tier UNION ALL SELECT 'opal' UNION ALL SELECT 'onyx')
 WHERE NOT sqlite_compileoption_used('HAS_CODEC');
SELECT tenant_provision('sap1', 'sapphire', 'us-west1');
SELECT tenant_provision('sap2', 'sapphire', 'us-west1');
SELECT tenant_provision('opal1', 'opal', 'us-west1', 'sap1');
SELECT tenant_provision('opal2', 'opal', 'us-west1', 'sap1');
SELECT tenant_provision('onyx1', 'onyx', 'us-west1', 'sap1');
SELECT tenant_provision('onyx2', 'onyx', 'us-west1', 'sap1');
SELECT tenant_add_agent('opal1', 'agent-a');
.output stdout

-- 2. Each customer writes two rows through a session opened by URI.
-- A Sapphire session writes its dedicated files directly, so it names
-- the customer itself.
.open file:sap1?vfs=tenant
SELECT 'session: ' || tenant_whoami();
INSERT INTO communications_data(id, customer_id, data) VALUES ('m1', 'sap1', '{"from":"sap1"}'), ('m2', 'sap1', '{"n":2}');

.open file:sap2?vfs=tenant
INSERT INTO communications_data(id, customer_id, data) VALUES ('m1', 'sap2', '{"from":"sap2"}'), ('m2', 'sap2', '{"n":2}');

.open file:opal1?vfs=tenant&agent=agent-a
SELECT 'session: ' || tenant_whoami();
INSERT INTO communications_data(id, data) VALUES ('m1', '{"from":"opal1"}'), ('m2', '{"n":2}');

.open file:opal2?vfs=tenant
INSERT INTO communications_data(id, customer_id, data) VALUES ('m1', 'opal2', '{"from":"opal2"}'), ('m2', NULL, '{"n":2}');

.open file:onyx1?vfs=tenant
INSERT INTO basic_communications(id, data) VALUES ('m1', '{"from":"onyx1"}'), ('m2', '{"n":2}');

.open file:onyx2?vfs=tenant
INSERT INTO basic_communications(id, data) VALUES ('m1', '{"from":"onyx2"}'), ('m2', '{"n":2}');

-- 3. Each session reads back only its own rows, also when it asks for
-- another customer's rows by name.
.open file:opal1?vfs=tenant
SELECT 'opal1 rows', customer_id, id, data FROM communications_data ORDER BY id;
SELECT 'opal1 count', count(*) FROM communications_data;
SELECT 'opal1 asks opal2', count(*) FROM communications_data WHERE customer_id = 'opal2';
SELECT 'opal1 foreign ids', count(*) FROM communications_data WHERE customer_id <> 'opal1';

.open file:opal2?vfs=tenant
SELECT 'opal2 rows', customer_id, id, data FROM communications_data ORDER BY id;

.open file:onyx1?vfs=tenant
SELECT 'onyx1 rows', customer_id, id, data FROM basic_communications ORDER BY id;
SELECT 'onyx1 asks onyx2', count(*) FROM basic_communications WHERE customer_id = 'onyx2';

.open file:sap1?vfs=tenant
SELECT 'sap1 rows', customer_id, id, data FROM communications_data ORDER BY id;

.open file:sap2?vfs=tenant
SELECT 'sap2 rows', customer_id, id, data FROM communications_data ORDER BY id;

-- 4. Writes cannot reach another customer's rows or take its id.
.open file:opal1?vfs=tenant
UPDATE communications_data SET data = 'changed' WHERE id = 'm1';
SELECT 'opal1 updated', changes();
DELETE FROM communications_data WHERE customer_id = 'opal2';
SELECT 'opal1 deleted foreign', changes();
INSERT INTO communications_data(id, customer_id, data) VALUES ('m3', 'opal2', 'forged');
UPDATE communications_data SET customer_id = 'opal2' WHERE id = 'm2';
INSERT OR REPLACE INTO communications_data(id, data) VALUES ('m1', 'replaced');
SELECT 'opal1 after writes', customer_id, id, data FROM communications_data ORDER BY id;

.open file:opal2?vfs=tenant
SELECT 'opal2 after opal1 wrote', customer_id, id, data FROM communications_data ORDER BY id;

-- 5. Partitions 7-12 of the parent are read-only to an Opal customer.
.open file:opal1?vfs=tenant
SELECT 'opal1 analytics', count(*) FROM internal_analytics;
INSERT INTO internal_analytics(id, data) VALUES ('x', 'y');

-- 6. Onyx reaches only its three partitions and the parent's 4-12,
-- read-only; Sapphire partitions 1-3 of the parent are out of reach.
.open file:onyx1?vfs=tenant
SELECT 'onyx1 workflows', count(*) FROM workflow_automations;
INSERT INTO workflow_automations(id, data) VALUES ('x', 'y');
SELECT count(*) FROM communications_data;

-- 7. Unknown customer and unknown agent in the URI: the open fails.
.open file:nobody?vfs=tenant
.open file:opal1?vfs=tenant&agent=ghost

-- 8. Binding an unbound connection with tenant_bind().
.open :memory:
SELECT 'bind: ' || quote(tenant_bind('onyx2'));
SELECT 'session: ' || tenant_whoami();
SELECT 'onyx2 rows', customer_id, id, data FROM basic_communications ORDER BY id;
