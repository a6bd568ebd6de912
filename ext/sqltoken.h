/*
** Tokens of SQL text, read as SQLite's tokenizer reads them: the parts
** that tabledefsql.c (column types and DEFAULT clauses) and
** authdefinition.c (function calls in table definitions) and sessionactive.c
** (transaction statements of a retired session) share.
*/
#ifndef TENANT_SQLTOKEN_H
#define TENANT_SQLTOKEN_H

/* Character classes of SQLite's tokenizer, for ASCII. */
int tenantSqlIsSpace(unsigned char c);
int tenantSqlIsDigit(unsigned char c);
int tenantSqlIsXDigit(unsigned char c);
int tenantSqlIsAlpha(unsigned char c);
int tenantSqlIsIdChar(unsigned char c);

int tenantSqlNumberLen(const unsigned char *z);
int tenantSqlQuotedLen(const unsigned char *z);
int tenantSqlBlobLen(const unsigned char *z);
int tenantSqlSpaceLen(const unsigned char *z);
int tenantSqlStartsWith(const char *zSql, const char *zWord);

#endif /* TENANT_SQLTOKEN_H */
