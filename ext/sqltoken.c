/*
** Tokens of SQL text, read as SQLite's tokenizer (tokenize.c) reads them.
*/
#include "tenant_int.h"
#include "sqltoken.h"
SQLITE_EXTENSION_INIT3

#include <string.h>

/* Character classes of SQLite's tokenizer, for ASCII. */
int tenantSqlIsSpace(unsigned char c){
  return c==' ' || c=='\t' || c=='\n' || c=='\v' || c=='\f' || c=='\r';
}
int tenantSqlIsDigit(unsigned char c){ return c>='0' && c<='9'; }
int tenantSqlIsXDigit(unsigned char c){
  return tenantSqlIsDigit(c) || (c>='a' && c<='f') || (c>='A' && c<='F');
}
int tenantSqlIsAlpha(unsigned char c){
  return (c>='a' && c<='z') || (c>='A' && c<='Z');
}
/* A character of an unquoted identifier, as SQLite's tokenizer reads
** one: letters, digits, '_', '$' and every byte of a UTF-8 sequence. */
int tenantSqlIsIdChar(unsigned char c){
  return tenantSqlIsAlpha(c) || tenantSqlIsDigit(c) || c=='_' || c=='$'
      || c>=0x80;
}

/* Length of the numeric literal at z, as SQLite's tokenizer reads one
** (decimal with optional fraction and exponent, or hexadecimal), or 0. */
int tenantSqlNumberLen(const unsigned char *z){
  int i = 0;
  int nDigit = 0;
  if( z[0]=='0' && (z[1]=='x' || z[1]=='X') && tenantSqlIsXDigit(z[2]) ){
    for(i=2; tenantSqlIsXDigit(z[i]); i++){}
    return i;
  }
  while( tenantSqlIsDigit(z[i]) ){ i++; nDigit++; }
  if( z[i]=='.' ){
    i++;
    while( tenantSqlIsDigit(z[i]) ){ i++; nDigit++; }
  }
  if( nDigit==0 ) return 0;
  if( (z[i]=='e' || z[i]=='E')
   && (tenantSqlIsDigit(z[i+1])
       || ((z[i+1]=='+' || z[i+1]=='-') && tenantSqlIsDigit(z[i+2]))) ){
    i += 2;
    while( tenantSqlIsDigit(z[i]) ) i++;
  }
  return i;
}

/* Length of the quoted token at z, which starts with ', ", ` or [,
** through its closing quote, or 0 when it is not closed. A doubled
** closing quote inside '...', "..." and `...` stands for one quote. */
int tenantSqlQuotedLen(const unsigned char *z){
  unsigned char cClose = z[0]=='[' ? ']' : z[0];
  int i = 1;
  for(;;){
    if( z[i]==0 ) return 0;
    if( z[i]==cClose ){
      if( cClose!=']' && z[i+1]==cClose ){
        i += 2;
        continue;
      }
      return i+1;
    }
    i++;
  }
}

/* Length of the blob literal x'...' at z, with an even number of
** hexadecimal digits, or 0. */
int tenantSqlBlobLen(const unsigned char *z){
  int i;
  if( (z[0]!='x' && z[0]!='X') || z[1]!='\'' ) return 0;
  for(i=2; tenantSqlIsXDigit(z[i]); i++){}
  if( z[i]!='\'' || (i-2)%2!=0 ) return 0;
  return i+1;
}

/* Length of the white space and comments at z. A comment that is not
** closed runs to the end of the text, as it does for SQLite. */
int tenantSqlSpaceLen(const unsigned char *z){
  int i = 0;
  for(;;){
    if( tenantSqlIsSpace(z[i]) ){
      i++;
    }else if( z[i]=='-' && z[i+1]=='-' ){
      for(i+=2; z[i] && z[i]!='\n'; i++){}
    }else if( z[i]=='/' && z[i+1]=='*' ){
      for(i+=2; z[i] && !(z[i]=='*' && z[i+1]=='/'); i++){}
      if( z[i] ) i += 2;
    }else{
      return i;
    }
  }
}

/* Whether statement text zSql starts with keyword zWord, after white
** space, comments and the empty statements that SQLite skips. */
int tenantSqlStartsWith(const char *zSql, const char *zWord){
  const unsigned char *z = (const unsigned char*)zSql;
  int n = (int)strlen(zWord);
  int i = 0;
  if( z==0 ) return 0;
  for(;;){
    i += tenantSqlSpaceLen(z+i);
    if( z[i]!=';' ) break;
    i++;
  }
  return sqlite3_strnicmp((const char*)z+i, zWord, n)==0
      && !tenantSqlIsIdChar(z[i+n]);
}
