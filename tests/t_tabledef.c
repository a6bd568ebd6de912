/*
** Tests of the table definitions that tenant_add_table() accepts and of
** the physical DDL that it builds from them: column types, DEFAULT
** clauses, keys, and the check of the physical DDL before it is stored.
**
** Built twice, so every case runs in SQLite 3.40 and in SQLCipher's
** SQLite 3.15.2, whose PRAGMA table_info reports some DEFAULT clauses
** differently. The tiers are unencrypted, so that the raw files open
** without a key, in this host and in the other host's shell.
**
** The fleet: Sapphire S with Onyx children A and B in eu-west1, which
** share that region's one Onyx file.
*/
#define SQLITE_CORE 1              /* tenant_int.h: no extension macros */
#include "tap.h"
#include "../ext/tenant_int.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ONYX_FILE "shared-onyx-eu-west1/d1-onyx-shared-eu-west1/owner.db"
#define SAPPHIRE_FILE "customer-S-sapphire/d1-sapphire-S-eu-west1/owner.db"

typedef int (*VerifyFn)(const char*, const char*, char**);

static sqlite3 *db;                /* administrative connection */
static const char *zRoot;          /* absolute root of this run */
static VerifyFn xVerify;           /* tenantTableVerifyDdl, or NULL */

/* Path under the root, in a static buffer of four rotating slots. */
static const char *rootPath(const char *zRel){
  static char azBuf[4][4096];
  static int iSlot = 0;
  char *z = azBuf[iSlot++ % 4];
  snprintf(z, 4096, "%s/%s", zRoot, zRel);
  return z;
}

/* Run tenant_add_table(zPartition, zDdl). Returns NULL on success or the
** error message. */
static const char *addTable(const char *zPartition, const char *zDdl){
  char *zSql = sqlite3_mprintf("SELECT tenant_add_table(%Q, %Q)",
                               zPartition, zDdl);
  const char *zErr = tap_exec_error(db, zSql);
  sqlite3_free(zSql);
  return zErr;
}

/* The first column of the first row of zSql on the file zRel under the
** root, opened read-only without the extension, in a static buffer.
** Returns "(null)" for NULL or no row and "error: ..." on an error. */
static const char *fileQuery(const char *zRel, const char *zSql){
  static char zOut[4096];
  sqlite3 *pFile = 0;
  sqlite3_stmt *pStmt = 0;
  int rc = sqlite3_open_v2(rootPath(zRel), &pFile, SQLITE_OPEN_READONLY, 0);
  if( rc==SQLITE_OK ) rc = sqlite3_prepare_v2(pFile, zSql, -1, &pStmt, 0);
  if( rc!=SQLITE_OK ){
    snprintf(zOut, sizeof(zOut), "error: %s", sqlite3_errmsg(pFile));
  }else if( sqlite3_step(pStmt)==SQLITE_ROW && sqlite3_column_text(pStmt, 0) ){
    snprintf(zOut, sizeof(zOut), "%s", sqlite3_column_text(pStmt, 0));
  }else{
    snprintf(zOut, sizeof(zOut), "(null)");
  }
  sqlite3_finalize(pStmt);
  sqlite3_close(pFile);
  return zOut;
}

/* "name=default|..." of the columns of zTable in the file zRel under the
** root, from PRAGMA table_info, in a static buffer. */
static const char *fileColumns(const char *zRel, const char *zTable){
  static char zOut[4096];
  sqlite3 *pFile = 0;
  sqlite3_stmt *pStmt = 0;
  char *zSql = sqlite3_mprintf("PRAGMA table_info(%Q)", zTable);
  size_t n = 0;
  zOut[0] = 0;
  if( sqlite3_open_v2(rootPath(zRel), &pFile, SQLITE_OPEN_READONLY, 0)
        ==SQLITE_OK
   && sqlite3_prepare_v2(pFile, zSql, -1, &pStmt, 0)==SQLITE_OK ){
    while( sqlite3_step(pStmt)==SQLITE_ROW && n<sizeof(zOut) ){
      const char *zDflt = (const char*)sqlite3_column_text(pStmt, 4);
      n += snprintf(zOut+n, sizeof(zOut)-n, "%s%s=%s", n ? "|" : "",
                    sqlite3_column_text(pStmt, 1), zDflt ? zDflt : "");
    }
  }else{
    snprintf(zOut, sizeof(zOut), "error: %s", sqlite3_errmsg(pFile));
  }
  sqlite3_finalize(pStmt);
  sqlite3_close(pFile);
  sqlite3_free(zSql);
  return zOut;
}

/* The physical DDL that the catalog stores for table zTable, or "(null)". */
static const char *physicalDdl(const char *zTable){
  char *zSql = sqlite3_mprintf("SELECT physical_ddl FROM app_tables "
                               "WHERE name=%Q", zTable);
  const char *z = fileQuery("catalog.db", zSql);
  sqlite3_free(zSql);
  return z;
}

/*
** Run zSql in the shell of the other host (sqlcipher from the stock SQLite
** build, sqlite3 from the SQLCipher build) on the file zRel under the
** root, without the extension. zRel NULL runs it on ":memory:" after
** loading the extension. Returns its output, both streams, with the last
** newline removed, in a static buffer.
*/
static const char *otherShell(const char *zRel, const char *zSql){
  static char zOut[4096];
  /* A shell is not built with the sanitizers: it loads the plain build. */
  const char *zExt = getenv("TENANT_SHELL_EXT") ? getenv("TENANT_SHELL_EXT")
                                                : getenv("TENANT_EXT");
  char zScript[4200];
  char zCmd[9000];
  FILE *pPipe;
  size_t n;

  snprintf(zScript, sizeof(zScript), "%s/shell.sql", zRoot);
  pPipe = fopen(zScript, "w");
  if( pPipe==0 ) return "error: cannot write the script";
  if( zRel==0 ) fprintf(pPipe, ".load %s\n", zExt ? zExt : "");
  fprintf(pPipe, "%s\n", zSql);
  fclose(pPipe);
  snprintf(zCmd, sizeof(zCmd), "%s '%s' < '%s' 2>&1",
           tap_host_is_sqlcipher() ? "sqlite3" : "sqlcipher",
           zRel ? rootPath(zRel) : ":memory:", zScript);
  pPipe = popen(zCmd, "r");
  if( pPipe==0 ) return "error: cannot start the shell";
  n = fread(zOut, 1, sizeof(zOut)-1, pPipe);
  zOut[n] = 0;
  pclose(pPipe);
  unlink(zScript);
  if( n>0 && zOut[n-1]=='\n' ) zOut[n-1] = 0;
  return zOut;
}

/* Open a session bound to zCustomer through the tenant VFS. */
static sqlite3 *openSession(const char *zCustomer){
  char zErr[512];
  char zTail[128];
  snprintf(zTail, sizeof(zTail), "%s?vfs=tenant", zCustomer);
  return tap_open_uri(zTail, zErr, sizeof(zErr));
}

static void setUpFleet(void){
  static const char *const azSql[] = {
    "SELECT tenant_policy_set('sapphire','encrypted',0)",
    "SELECT tenant_policy_set('opal','encrypted',0)",
    "SELECT tenant_policy_set('onyx','encrypted',0)",
    "SELECT tenant_provision('S','sapphire','eu-west1')",
    "SELECT tenant_provision('A','onyx','eu-west1','S')",
    "SELECT tenant_provision('B','onyx','eu-west1','S')",
  };
  size_t i;
  for(i=0; i<sizeof(azSql)/sizeof(azSql[0]); i++){
    const char *zErr = tap_exec_error(db, azSql[i]);
    if( !tap_ok(zErr==0, "fleet: %s", azSql[i]) ) tap_diag("%s", zErr);
  }
}

/*
** 1. A DEFAULT whose table_info text ends in a comment. SQLite 3.40
** reports "DEFAULT (1 --\n)" as "1 --", so a copy of that text would hide
** the quote that opens the next column's name, and the rest of the name
** would run as SQL in the shared file. SQLite 3.15.2 reports "1", so there
** the definition is accepted with its odd column name.
*/
static void testDefaultComment(void){
  static const char zTrigger[] =
    "CREATE TABLE inj(a TEXT DEFAULT (1 --\n), \"\n, customer_id TEXT NOT "
    "NULL); CREATE TRIGGER f.keep AFTER DELETE ON basic_communications "
    "BEGIN INSERT INTO basic_communications(id, customer_id, data) "
    "VALUES('copy-'||OLD.id, 'B', OLD.data); END; --\" TEXT)";
  static const char zBlock[] =
    "CREATE TABLE blk(a TEXT DEFAULT (1 /* ), x INT UNIQUE -- */ ), b TEXT)";
  char *zAttach;
  const char *zErr;
  sqlite3 *pA, *pB;

  zErr = addTable("basic_communications", zTrigger);
  if( tap_host_is_sqlcipher() ){
    tap_is_str(zErr, 0, "comment: 3.15.2 reports the DEFAULT as 1");
    tap_is_str(physicalDdl("inj"), "CREATE TABLE \"inj\"(\"a\" TEXT DEFAULT 1,"
        " \"\n, customer_id TEXT NOT NULL); CREATE TRIGGER f.keep AFTER DELETE"
        " ON basic_communications BEGIN INSERT INTO basic_communications(id,"
        " customer_id, data) VALUES('copy-'||OLD.id, 'B', OLD.data); END; --\""
        " TEXT, customer_id TEXT NOT NULL)",
        "comment: the odd column name stays quoted");
  }else{
    tap_is_str(zErr, "tenant: column \"a\" of table \"inj\" has DEFAULT "
        "\"1 --\", which contains a comment: remove the comment",
        "comment: line comment in a DEFAULT rejected");
    tap_is_str(physicalDdl("inj"), "(null)", "comment: nothing stored");
  }
  tap_is_str(fileQuery(ONYX_FILE, "SELECT count(*) FROM sqlite_master"
             " WHERE type='trigger'"), "0", "comment: no trigger planted");

  /* A deleted row of A must not reach B. */
  pA = openSession("A");
  pB = openSession("B");
  tap_is_str(tap_exec_error(pA, "INSERT INTO basic_communications(id, data)"
             " VALUES('v1', 'secret of A'); DELETE FROM basic_communications"
             " WHERE id='v1'"), 0, "comment: A writes and deletes a row");
  tap_is_str(tap_query_text(pB, "SELECT count(*) FROM basic_communications"),
             "0", "comment: B reads no copy of the deleted row");
  sqlite3_close(pA);
  sqlite3_close(pB);

  /* The same comment with an ATTACH that would export the shared rows. */
  zAttach = sqlite3_mprintf("CREATE TABLE exp(a TEXT DEFAULT (1 --\n), \"\n,"
      " customer_id TEXT NOT NULL); ATTACH '%q' AS x; CREATE TABLE x.dump AS"
      " SELECT * FROM f.basic_communications; --\" TEXT)",
      rootPath("export.db"));
  zErr = addTable("basic_communications", zAttach);
  if( !tap_host_is_sqlcipher() ){
    tap_is_str(zErr, "tenant: column \"a\" of table \"exp\" has DEFAULT "
        "\"1 --\", which contains a comment: remove the comment",
        "comment: ATTACH behind a comment rejected");
  }
  tap_ok(access(rootPath("export.db"), F_OK)!=0,
         "comment: no export file created");
  sqlite3_free(zAttach);

  /* A block comment that would hide a UNIQUE key without customer_id. */
  zErr = addTable("basic_communications", zBlock);
  if( tap_host_is_sqlcipher() ){
    tap_is_str(physicalDdl("blk"), "CREATE TABLE \"blk\"(\"a\" TEXT DEFAULT 1,"
        " \"b\" TEXT, customer_id TEXT NOT NULL)",
        "comment: block comment dropped by 3.15.2");
  }else{
    tap_is_str(zErr, "tenant: column \"a\" of table \"blk\" has DEFAULT "
        "\"1 /* ), x INT UNIQUE -- */\", which contains a comment: remove "
        "the comment", "comment: block comment in a DEFAULT rejected");
  }
  tap_is_str(fileQuery(ONYX_FILE, "SELECT count(*) FROM sqlite_master"
             " WHERE type IN ('trigger', 'view') OR sql LIKE '%UNIQUE%'"),
             "0", "comment: no trigger, view or UNIQUE key in the file");
  tap_is_str(otherShell(ONYX_FILE, "SELECT count(*)>0 FROM sqlite_master;"),
             "1", "comment: the other host's shell reads the shared file");
}

/*
** 2. DEFAULT clauses of every kind. Literals keep their text, and any
** other expression goes in parentheses, which table_info drops. So
** "DEFAULT ('x' || 'y')" stays valid SQL in the files built later.
*/
static void testDefaultExpressions(void){
  static const char zDdl[] =
    "CREATE TABLE dflt(k TEXT PRIMARY KEY,"
    " s TEXT NOT NULL DEFAULT 'it''s', n INT NOT NULL DEFAULT -1,"
    " r REAL NOT NULL DEFAULT 1.5e3, h INT NOT NULL DEFAULT 0x10,"
    " b BLOB NOT NULL DEFAULT x'00ff', z TEXT DEFAULT NULL,"
    " t TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,"
    " y INT NOT NULL DEFAULT TRUE, f INT NOT NULL DEFAULT false,"
    " w TEXT NOT NULL DEFAULT abc, q TEXT NOT NULL DEFAULT \"two words\","
    " e INT NOT NULL DEFAULT (1 + 2), c TEXT NOT NULL DEFAULT ('x' || 'y'),"
    " p INT NOT NULL DEFAULT ((2)), m INT NOT NULL DEFAULT - 1,"
    " l TEXT NOT NULL DEFAULT (lower('AB')), g INT NOT NULL DEFAULT +5)";
  static const char zPhysical[] =
    "CREATE TABLE \"dflt\"(\"k\" TEXT,"
    " \"s\" TEXT NOT NULL DEFAULT 'it''s', \"n\" INT NOT NULL DEFAULT -1,"
    " \"r\" REAL NOT NULL DEFAULT 1.5e3, \"h\" INT NOT NULL DEFAULT 0x10,"
    " \"b\" BLOB NOT NULL DEFAULT x'00ff', \"z\" TEXT DEFAULT NULL,"
    " \"t\" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,"
    " \"y\" INT NOT NULL DEFAULT 1, \"f\" INT NOT NULL DEFAULT 0,"
    " \"w\" TEXT NOT NULL DEFAULT 'abc', \"q\" TEXT NOT NULL DEFAULT"
    " 'two words', \"e\" INT NOT NULL DEFAULT (1 + 2), \"c\" TEXT NOT NULL"
    " DEFAULT ('x' || 'y'), \"p\" INT NOT NULL DEFAULT ((2)), \"m\" INT NOT"
    " NULL DEFAULT (- 1), \"l\" TEXT NOT NULL DEFAULT (lower('AB')),"
    " \"g\" INT NOT NULL DEFAULT %s, customer_id TEXT NOT NULL,"
    " PRIMARY KEY(customer_id, \"k\"))";
  char zFile[256];
  char *zExpected;
  const char *zErr;
  sqlite3 *pC;

  zErr = addTable("basic_communications", zDdl);
  if( !tap_is_str(zErr, 0, "default: every kind accepted") ) return;
  /* SQLite 3.15.2 reports "DEFAULT +5" as 5, and 3.40 as +5. */
  zExpected = sqlite3_mprintf(zPhysical,
                              tap_host_is_sqlcipher() ? "5" : "+5");
  tap_is_str(physicalDdl("dflt"), zExpected,
             "default: literals kept, expressions in parentheses");
  sqlite3_free(zExpected);

  /* A file built after the table was added. */
  tap_is_str(tap_exec_error(db,
      "SELECT tenant_provision('S2','sapphire','us-central1');"
      "SELECT tenant_provision('C','onyx','us-central1','S2')"), 0,
      "default: a later file is built with the table");
  snprintf(zFile, sizeof(zFile), "shared-onyx-us-central1/%s/owner.db",
      fileQuery("catalog.db", "SELECT database FROM placements"
                " WHERE customer='C'"));
  pC = openSession("C");
  tap_is_str(tap_exec_error(pC, "INSERT INTO dflt(k) VALUES('r1')"), 0,
             "default: row of defaults inserted");
  tap_is_str(tap_query_text(pC,
      "SELECT s||'|'||n||'|'||r||'|'||h||'|'||hex(b)||'|'||(z IS NULL)||'|'"
      "||length(t)||'|'||y||'|'||f||'|'||w||'|'||q||'|'||e||'|'||c||'|'||p"
      "||'|'||m||'|'||l||'|'||g FROM dflt"),
      "it's|-1|1500.0|16|00FF|1|19|1|0|abc|two words|3|xy|2|-1|ab|5",
      "default: values as declared");
  tap_is_str(tap_query_text(db, "SELECT difference FROM "
             "tenant_storage_check('C')"), "0",
             "default: storage estimate exact after the insert");
  tap_is_str(tap_exec_error(pC, "UPDATE OR REPLACE dflt SET s=NULL, c=NULL,"
             " y=NULL, w=NULL, m=NULL, t=NULL, l=NULL, g=NULL WHERE k='r1'"),
             0,
             "default: NULLs replaced by the defaults");
  tap_is_str(tap_query_text(db, "SELECT difference FROM "
             "tenant_storage_check('C')"), "0",
             "default: storage estimate exact after the replace");
  sqlite3_close(pC);

  /* The other host reads the file and the same values. */
  tap_is_str(otherShell(zFile, "SELECT s, n, r, h, hex(b), y, w, q, e, c, p,"
             " m, l FROM dflt WHERE k='r1';"),
             "it's|-1|1500.0|16|00FF|1|abc|two words|3|xy|2|-1|ab",
             "default: the other host's shell reads the same values");

  /* The other host estimates the defaults as this one does. */
  tap_is_str(otherShell(0, ".open file:C?vfs=tenant\n"
      "INSERT INTO dflt(k) VALUES('r2');\n"
      "UPDATE OR REPLACE dflt SET s=NULL, c=NULL, y=NULL, w=NULL, m=NULL,"
      " t=NULL, l=NULL, g=NULL WHERE k='r2';\n"
      "SELECT count(*) FROM dflt;"), "2",
      "default: the other host's session writes defaults");
  tap_is_str(tap_query_text(db, "SELECT difference FROM "
             "tenant_storage_check('C')"), "0",
             "default: storage estimate exact across hosts");
}

/* 3. Column types may hold only words that are not SQL keywords. */
static void testTypeKeywords(void){
  static const struct { const char *zType, *zWord; } aCase[] = {
    { "\"TEXT UNIQUE\"", "UNIQUE" },
    { "'TEXT UNIQUE'", "UNIQUE" },
    { "[TEXT UNIQUE]", "UNIQUE" },
    { "`TEXT UNIQUE`", "UNIQUE" },
    { "\"text unique\"", "unique" },
    { "\"TEXT\nUNIQUE\"", "UNIQUE" },
    { "\"INTEGER PRIMARY KEY\"", "PRIMARY" },
    { "\"INTEGER PRIMARY KEY AUTOINCREMENT\"", "PRIMARY" },
    { "\"INT CHECK (0)\"", "CHECK" },
    { "\"INT GENERATED ALWAYS AS (1)\"", "GENERATED" },
    { "\"INT AS (1)\"", "AS" },
    { "\"TEXT REFERENCES customers\"", "REFERENCES" },
    { "\"TEXT NOT NULL\"", "NOT" },
    { "\"TEXT NULL\"", "NULL" },
    { "\"TEXT COLLATE NOCASE\"", "COLLATE" },
    { "\"INT CONSTRAINT c UNIQUE\"", "CONSTRAINT" },
    { "\"INT DEFAULT\"", "DEFAULT" },
    { "\"TEXT NOT NULL DEFAULT 1\"", "NOT" },
    { "\"TIMESTAMP WITH TIME ZONE\"", "WITH" },
  };
  char zName[64];
  int i;

  for(i=0; i<(int)(sizeof(aCase)/sizeof(aCase[0])); i++){
    char *zDdl = sqlite3_mprintf("CREATE TABLE ty%d(a %s, b TEXT)", i,
                                 aCase[i].zType);
    char *zExpected = sqlite3_mprintf("tenant: column \"a\" of table "
        "\"ty%d\" has type \"%.*s\", which contains the SQL keyword %s: "
        "use words that are not SQL keywords and an optional size, as in "
        "VARCHAR(255)",
        i, (int)strlen(aCase[i].zType)-2, aCase[i].zType+1, aCase[i].zWord);
    snprintf(zName, sizeof(zName), "type: %s rejected", aCase[i].zType);
    if( strchr(zName, '\n') ) *strchr(zName, '\n') = ' ';
    tap_is_str(addTable("basic_communications", zDdl), zExpected, zName);
    sqlite3_free(zDdl);
    sqlite3_free(zExpected);
  }
  tap_is_str(addTable("basic_communications",
      "CREATE TABLE ty_nn(a \"VARCHAR 10\")"),
      "tenant: column \"a\" of table \"ty_nn\" has invalid type \"VARCHAR "
      "10\": use words and an optional size, as in VARCHAR(255)",
      "type: a number among the words rejected");

  /* Types that read the same without their quotes. */
  tap_is_str(addTable("basic_communications",
      "CREATE TABLE ty_ok(a \"VARCHAR(10)\", b [DECIMAL (10, 2)],"
      " c TEXT/*x*/ UNIQUE, d TEXT COLLATE \"nocase\")"), 0,
      "type: quoted plain types accepted");
  tap_is_str(physicalDdl("ty_ok"), "CREATE TABLE \"ty_ok\"(\"a\" VARCHAR(10),"
      " \"b\" DECIMAL (10, 2), \"c\" TEXT, \"d\" TEXT COLLATE nocase,"
      " customer_id TEXT NOT NULL, UNIQUE(customer_id, \"c\"))",
      "type: quoted plain types copied without quotes");
  tap_is_str(fileQuery(ONYX_FILE, "SELECT count(*) FROM sqlite_master"
             " WHERE name LIKE 'ty%' AND name<>'ty_ok'"), "0",
             "type: no rejected table reached the shared file");
}

/*
** 4. A UNIQUE key hidden in a quoted type would be unique across the
** customers of a shared file: B could probe A's keys and delete A's rows
** with INSERT OR REPLACE.
*/
static void testUniqueAcrossCustomers(void){
  const char *zErr;
  sqlite3 *pA, *pB;

  zErr = addTable("basic_communications",
                  "CREATE TABLE tags(tag \"TEXT UNIQUE\", body TEXT)");
  tap_is_str(zErr, "tenant: column \"tag\" of table \"tags\" has type \"TEXT "
      "UNIQUE\", which contains the SQL keyword UNIQUE: use words that are not "
      "SQL keywords and an optional size, as in VARCHAR(255)",
      "unique: quoted UNIQUE type rejected");
  if( zErr ){
    tap_is_str(addTable("basic_communications",
        "CREATE TABLE tags(tag TEXT UNIQUE, body TEXT)"), 0,
        "unique: UNIQUE constraint accepted");
  }
  tap_is_str(physicalDdl("tags"), "CREATE TABLE \"tags\"(\"tag\" TEXT,"
      " \"body\" TEXT, customer_id TEXT NOT NULL, UNIQUE(customer_id,"
      " \"tag\"))", "unique: the key starts with customer_id");

  pA = openSession("A");
  pB = openSession("B");
  tap_is_str(tap_exec_error(pA, "INSERT INTO tags(tag, body)"
             " VALUES('acquisition', 'plan of A')"), 0, "unique: A writes");
  tap_is_str(tap_exec_error(pB, "INSERT INTO tags(tag, body)"
             " VALUES('acquisition', 'probe')"), 0,
             "unique: B writes the same key");
  tap_is_str(tap_exec_error(pB, "INSERT OR REPLACE INTO tags(tag, body)"
             " VALUES('acquisition', 'mine now')"), 0,
             "unique: B replaces its own row");
  tap_is_str(tap_query_text(pA, "SELECT group_concat(body) FROM tags"),
             "plan of A", "unique: A's row survives");
  tap_is_str(tap_query_text(pB, "SELECT group_concat(body) FROM tags"),
             "mine now", "unique: B sees its own row only");
  sqlite3_close(pA);
  sqlite3_close(pB);
}

/*
** 5. A generated column, through a quoted type, would put into the shared
** file a schema that SQLite 3.15.2 cannot read.
*/
static void testGeneratedColumn(void){
  tap_is_str(addTable("basic_communications",
      "CREATE TABLE gen(a \"INT GENERATED ALWAYS AS (1)\", b TEXT)"),
      "tenant: column \"a\" of table \"gen\" has type \"INT GENERATED ALWAYS "
      "AS (1)\", which contains the SQL keyword GENERATED: use words that are "
      "not SQL keywords and an optional size, as in VARCHAR(255)",
      "generated: quoted generated column rejected");
  tap_is_str(otherShell(ONYX_FILE, "SELECT count(*)>0 FROM sqlite_master;"),
             "1", "generated: the other host's shell reads the shared file");
  tap_is_str(fileQuery(ONYX_FILE, "SELECT count(*) FROM sqlite_master"
             " WHERE sql LIKE '%GENERATED%'"), "0",
             "generated: no generated column in the shared file");
}

/*
** 6. In a dedicated file, customer_id defaults to the owner. The physical
** DDL text "customer_id TEXT NOT NULL" inside a string or a quoted name
** must not take that DEFAULT.
*/
static void testOwnerDefault(void){
  tap_is_str(addTable("communications_data",
      "CREATE TABLE memo(note TEXT DEFAULT 'customer_id TEXT NOT NULL',"
      " \"customer_id TEXT NOT NULL\" TEXT, k INT)"), 0,
      "owner: column text that names customer_id accepted");
  tap_is_str(fileColumns(SAPPHIRE_FILE, "memo"),
      "note='customer_id TEXT NOT NULL'|customer_id TEXT NOT NULL=|k=|"
      "customer_id='S'", "owner: only the customer_id column defaults to S");
  tap_is_str(tap_exec_error(db,
      "SELECT tenant_provision('S3','sapphire','us-west1')"), 0,
      "owner: a later dedicated file is built with the table");
}

/* Run zSql on the catalog through a connection of its own. Returns NULL
** on success or the error message. */
static const char *catalogExec(const char *zSql){
  static char zOut[512];
  sqlite3 *pCatalog = 0;
  char *zErr = 0;
  int rc = sqlite3_open_v2(rootPath("catalog.db"), &pCatalog,
                           SQLITE_OPEN_READWRITE, 0);
  if( rc==SQLITE_OK ) sqlite3_busy_timeout(pCatalog, 5000);
  if( rc==SQLITE_OK ) rc = sqlite3_exec(pCatalog, zSql, 0, 0, &zErr);
  snprintf(zOut, sizeof(zOut), "%s", zErr ? zErr : sqlite3_errmsg(pCatalog));
  sqlite3_free(zErr);
  sqlite3_close(pCatalog);
  return rc==SQLITE_OK ? 0 : zOut;
}

/*
** 7. A physical DDL in the catalog runs as exactly one statement when a
** later file is built, even one stored before tenant_add_table() checked
** it.
*/
static void testStoredDdl(void){
  tap_is_str(catalogExec("UPDATE app_tables SET physical_ddl = physical_ddl"
      " || '; CREATE TABLE f.planted(x)' WHERE name='memo'"), 0,
      "stored: a second statement written into the catalog");
  tap_is_str(tap_exec_error(db,
      "SELECT tenant_provision('S4','sapphire','eu-west1')"),
      "tenant: physical DDL of table \"memo\" is not exactly one statement, "
      "so it was not run: correct it in app_tables of the catalog",
      "stored: provisioning stops at the second statement");
  tap_is_str(catalogExec("UPDATE app_tables SET physical_ddl ="
      " substr(physical_ddl, 1, instr(physical_ddl, ';')-1)"
      " WHERE name='memo'"), 0, "stored: the DDL restored");
  tap_is_str(tap_exec_error(db,
      "SELECT tenant_provision('S4','sapphire','eu-west1')"), 0,
      "stored: provisioning resumes");
  tap_is_str(fileQuery("customer-S4-sapphire/d1-sapphire-S4-eu-west1/"
      "owner.db", "SELECT group_concat(name) FROM sqlite_master"
      " WHERE name IN ('memo', 'planted')"), "memo",
      "stored: the file has the table and nothing planted");
}

/* 8. The check of a physical DDL against the definition it comes from. */
static void testVerify(void){
  static const char zDef[] =
    "CREATE TABLE t(a TEXT, b INT NOT NULL DEFAULT 0,"
    " c TEXT COLLATE NOCASE UNIQUE, PRIMARY KEY(a))";
  static const char zHead[] = "tenant: physical DDL of table \"t\" ";
  static const struct { const char *zDdl, *zErr, *zName; } aCase[] = {
    { "CREATE TABLE \"t\"(\"a\" TEXT, \"b\" INT NOT NULL DEFAULT 0, \"c\" TEXT"
      " COLLATE NOCASE, customer_id TEXT NOT NULL, PRIMARY KEY(customer_id,"
      " \"a\"), UNIQUE(customer_id, \"c\"))", 0, "verify: generated DDL" },
    { "CREATE TABLE \"t\"(\"a\" TEXT, \"b\" INT NOT NULL DEFAULT 0, \"c\" TEXT"
      " COLLATE NOCASE, customer_id TEXT NOT NULL, PRIMARY KEY(customer_id,"
      " \"a\"), UNIQUE(customer_id, \"c\")); CREATE TRIGGER g AFTER INSERT ON"
      " t BEGIN SELECT 1; END",
      "is not exactly one statement", "verify: second statement" },
    { "CREATE TABLE \"t\"(\"a\" TEXT, \"b\" INT NOT NULL DEFAULT 0, \"c\" TEXT"
      " COLLATE NOCASE, customer_id TEXT NOT NULL, PRIMARY KEY(customer_id,"
      " \"a\"), UNIQUE(customer_id, \"c\")) -- tail",
      "contains a comment", "verify: trailing comment" },
    { "CREATE TABLE \"t\"(\"a\" TEXT, \"b\" INT NOT NULL DEFAULT 0, \"c\" TEXT"
      " COLLATE NOCASE, customer_id TEXT NOT NULL, PRIMARY KEY(customer_id,"
      " \"a\"), UNIQUE(customer_id, \"c\")) ",
      "differs from the SQL that the schema stores for it",
      "verify: trailing space" },
    { "CREATE TABLE \"t\"(\"a\" TEXT, \"b\" INT NOT NULL DEFAULT 0, \"c\" TEXT"
      " COLLATE NOCASE, customer_id TEXT NOT NULL, PRIMARY KEY(customer_id,"
      " \"a\"), UNIQUE(customer_id, \"c\"));",
      "differs from the SQL that the schema stores for it",
      "verify: trailing semicolon" },
    { "ATTACH 'x.db' AS x",
      "performs an action other than creating the table: not authorized",
      "verify: attach" },
    { "CREATE TABLE \"u\"(\"a\" TEXT)",
      "performs an action other than creating the table: not authorized",
      "verify: other table name" },
    { "CREATE TEMP TABLE \"t\"(\"a\" TEXT)",
      "performs an action other than creating the table: not authorized",
      "verify: temporary table" },
    { "CREATE TABLE \"t\" AS SELECT 1 AS a",
      "performs an action other than creating the table: not authorized",
      "verify: create as select" },
    { "CREATE TABLE \"t\"(\"a\" TEXT, \"b\" INT NOT NULL DEFAULT 0, \"c\" TEXT"
      " COLLATE NOCASE, customer_id TEXT NOT NULL, PRIMARY KEY(customer_id,"
      " \"a\"), UNIQUE(\"c\"))",
      "has a UNIQUE key that does not start with customer_id",
      "verify: unique key without customer_id" },
    { "CREATE TABLE \"t\"(\"a\" TEXT, \"b\" INT NOT NULL DEFAULT 0, \"c\" TEXT"
      " COLLATE NOCASE, customer_id TEXT NOT NULL, PRIMARY KEY(\"a\","
      " customer_id), UNIQUE(customer_id, \"c\"))",
      "has a PRIMARY KEY that does not start with customer_id",
      "verify: primary key without customer_id first" },
    { "CREATE TABLE \"t\"(\"a\" TEXT, \"b\" INT NOT NULL DEFAULT 0, \"c\" TEXT"
      " COLLATE NOCASE, customer_id TEXT NOT NULL, PRIMARY KEY(customer_id,"
      " \"a\"), UNIQUE(customer_id, \"c\"), UNIQUE(customer_id, \"b\"))",
      "has 2 UNIQUE keys, expected 1", "verify: extra unique key" },
    { "CREATE TABLE \"t\"(\"a\" TEXT, \"b\" INT NOT NULL DEFAULT 0, \"c\" TEXT"
      " COLLATE NOCASE, customer_id TEXT NOT NULL, PRIMARY KEY(customer_id,"
      " \"a\"), UNIQUE(customer_id, \"b\"))",
      "has a UNIQUE key on other columns than declared",
      "verify: unique key on another column" },
    { "CREATE TABLE \"t\"(\"a\" TEXT, \"b\" INTEGER NOT NULL DEFAULT 0, \"c\""
      " TEXT COLLATE NOCASE, customer_id TEXT NOT NULL, PRIMARY KEY("
      "customer_id, \"a\"), UNIQUE(customer_id, \"c\"))",
      "has column 2 \"b\" INTEGER NOT NULL DEFAULT 0, expected \"b\" INT NOT "
      "NULL DEFAULT 0", "verify: other type" },
    { "CREATE TABLE \"t\"(\"a\" TEXT, \"b\" INT DEFAULT 0, \"c\" TEXT COLLATE"
      " NOCASE, customer_id TEXT NOT NULL, PRIMARY KEY(customer_id, \"a\"),"
      " UNIQUE(customer_id, \"c\"))",
      "has column 2 \"b\" INT DEFAULT 0, expected \"b\" INT NOT NULL DEFAULT 0",
      "verify: NOT NULL dropped" },
    { "CREATE TABLE \"t\"(\"a\" TEXT, \"b\" INT NOT NULL DEFAULT (0+1), \"c\""
      " TEXT COLLATE NOCASE, customer_id TEXT NOT NULL, PRIMARY KEY("
      "customer_id, \"a\"), UNIQUE(customer_id, \"c\"))",
      "has column 2 \"b\" INT NOT NULL DEFAULT 0+1, expected \"b\" INT NOT "
      "NULL DEFAULT 0", "verify: other default" },
    { "CREATE TABLE \"t\"(\"a\" TEXT, \"b\" INT NOT NULL DEFAULT 0, \"c\" TEXT"
      " COLLATE RTRIM, customer_id TEXT NOT NULL, PRIMARY KEY(customer_id,"
      " \"a\"), UNIQUE(customer_id, \"c\"))",
      "has collation RTRIM on column \"c\", expected NOCASE",
      "verify: other collation" },
    { "CREATE TABLE \"t\"(\"b\" INT NOT NULL DEFAULT 0, \"a\" TEXT, \"c\" TEXT"
      " COLLATE NOCASE, customer_id TEXT NOT NULL, PRIMARY KEY(customer_id,"
      " \"a\"), UNIQUE(customer_id, \"c\"))",
      "has column 1 \"b\" INT NOT NULL DEFAULT 0, expected \"a\" TEXT",
      "verify: columns reordered" },
    { "CREATE TABLE \"t\"(\"a\" TEXT, \"b\" INT NOT NULL DEFAULT 0, \"c\" TEXT"
      " COLLATE NOCASE, PRIMARY KEY(\"a\"), UNIQUE(\"c\"))",
      "has 3 columns, expected 4", "verify: no customer_id" },
    { "CREATE TABLE \"t\"(customer_id TEXT NOT NULL, \"a\" TEXT, \"b\" INT NOT"
      " NULL DEFAULT 0, \"c\" TEXT COLLATE NOCASE, PRIMARY KEY(customer_id,"
      " \"a\"), UNIQUE(customer_id, \"c\"))",
      "has column 1 \"customer_id\" TEXT NOT NULL, expected \"a\" TEXT",
      "verify: customer_id first" },
    { "CREATE TABLE \"t\"(\"a\" TEXT, \"b\" INT NOT NULL DEFAULT 0, \"c\" TEXT"
      " COLLATE NOCASE, customer_id TEXT NOT NULL DEFAULT 'x', PRIMARY KEY("
      "customer_id, \"a\"), UNIQUE(customer_id, \"c\"))",
      "has column 4 \"customer_id\" TEXT NOT NULL DEFAULT 'x', expected "
      "\"customer_id\" TEXT NOT NULL",
      "verify: customer_id with a default" },
    { "CREATE TABLE \"t\"(\"a\" TEXT, \"b\" INT NOT NULL DEFAULT 0 CHECK(b>0),"
      " \"c\" TEXT COLLATE NOCASE, customer_id TEXT NOT NULL, PRIMARY KEY("
      "customer_id, \"a\"), UNIQUE(customer_id, \"c\"))",
      "contains the keyword CHECK", "verify: check constraint" },
    { "CREATE TABLE \"t\"(\"a\" TEXT REFERENCES x, \"b\" INT NOT NULL"
      " DEFAULT 0, \"c\" TEXT COLLATE NOCASE, customer_id TEXT NOT NULL, PRIMARY KEY("
      "customer_id, \"a\"), UNIQUE(customer_id, \"c\"))",
      "contains the keyword REFERENCES", "verify: foreign key" },
    { "CREATE TABLE \"t\"(\"a\" TEXT, \"b\" INT NOT NULL DEFAULT 0, \"c\" TEXT"
      " COLLATE NOCASE, customer_id TEXT NOT NULL, PRIMARY KEY(customer_id,"
      " \"a\"), UNIQUE(customer_id, \"c\")) WITHOUT ROWID",
      "contains the keyword WITHOUT", "verify: without rowid" },
  };
  int i;

  if( !tap_ok(xVerify!=0, "verify: tenantTableVerifyDdl exported") ) return;
  for(i=0; i<(int)(sizeof(aCase)/sizeof(aCase[0])); i++){
    char *zErr = 0;
    char *zExpected = aCase[i].zErr
        ? sqlite3_mprintf("%s%s", zHead, aCase[i].zErr) : 0;
    int rc = xVerify(zDef, aCase[i].zDdl, &zErr);
    tap_is_int(rc, aCase[i].zErr ? SQLITE_ERROR : SQLITE_OK, aCase[i].zName);
    tap_is_str(zErr, zExpected, aCase[i].zName);
    sqlite3_free(zErr);
    sqlite3_free(zExpected);
  }

  /* A generated column is a syntax error in SQLite 3.15.2. */
  {
    char *zErr = 0;
    int rc = xVerify(zDef, "CREATE TABLE \"t\"(\"a\" TEXT, \"b\" INT NOT NULL"
        " DEFAULT 0, \"c\" TEXT COLLATE NOCASE, customer_id TEXT NOT NULL,"
        " g AS (1), PRIMARY KEY(customer_id, \"a\"), UNIQUE(customer_id,"
        " \"c\"))", &zErr);
    tap_is_int(rc, SQLITE_ERROR, "verify: generated column rejected");
    tap_ok(zErr && strncmp(zErr, zHead, strlen(zHead))==0,
           "verify: generated column message names the table");
    sqlite3_free(zErr);
  }
}

/* Find tenantTableVerifyDdl in the library that tap_open() loaded. */
static void findVerify(void){
  const char *zExt = getenv("TENANT_EXT");
  char zPath[4096];
  void *pLib;
  snprintf(zPath, sizeof(zPath), "%s.so", zExt ? zExt : "");
  pLib = dlopen(zPath, RTLD_NOW | RTLD_NOLOAD);
  if( pLib==0 ) pLib = dlopen(zExt ? zExt : "", RTLD_NOW | RTLD_NOLOAD);
  if( pLib ) xVerify = (VerifyFn)dlsym(pLib, "tenantTableVerifyDdl");
}

int main(void){
  zRoot = tap_fresh_root("tabledef");
  tap_open(&db);
  findVerify();
  setUpFleet();

  testDefaultComment();
  testDefaultExpressions();
  testTypeKeywords();
  testUniqueAcrossCustomers();
  testGeneratedColumn();
  testOwnerDefault();
  testStoredDdl();
  testVerify();

  sqlite3_close(db);
  tap_done();
  return 0;
}
