# sqlite-tenant: build, test, demo, install.
#
#   make                build build/tenant.so, the loadable extension
#   make test           build and run every test under both hosts, then again
#                       under AddressSanitizer and UBSan (installs missing
#                       Debian packages first)
#   make test-asan      only the sanitizer pass
#   make demo           provision the reference fleet and work it
#   make install        install the extension, header and pkg-config file;
#                       honours prefix= and DESTDIR=
#   make clean
#
# Options: CC, CFLAGS, prefix (default /usr/local), DESTDIR.
# The extension links neither SQLite nor SQLCipher: the host provides them.

VERSION    := 0.1.0
prefix     ?= /usr/local
libdir     ?= $(prefix)/lib
includedir ?= $(prefix)/include
pkgconfigdir ?= $(libdir)/pkgconfig

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes
# Only the entry point is exported: the extension's internal functions stay
# out of the host's symbol table.
EXT_CFLAGS := $(CFLAGS) $(WARN) -fPIC -std=c99 -D_GNU_SOURCE -Iext -Iinclude \
              -fvisibility=hidden -DTENANT_VERSION='"$(VERSION)"'
EXT_LIBS := -lcrypto
# Calls between the extension's own files bind inside the library, so that
# a host symbol of the same name can never take their place.
EXT_LDFLAGS := -shared -Wl,-Bsymbolic

BUILD := build
EXT_SRC := $(sort $(wildcard ext/*.c))
EXT_OBJ := $(patsubst ext/%.c,$(BUILD)/ext/%.o,$(EXT_SRC))
EXT_HDR := $(wildcard ext/*.h) $(wildcard include/*.h)

# Test programs are built twice: against the stock SQLite and against
# SQLCipher, so every case runs in both hosts.
TEST_SRC := $(sort $(wildcard tests/t_*.c))
TEST_HELPER := tests/tap.c
TEST_BIN_SQLITE := $(patsubst tests/%.c,$(BUILD)/tests/sqlite/%,$(TEST_SRC))
TEST_BIN_CIPHER := $(patsubst tests/%.c,$(BUILD)/tests/sqlcipher/%,$(TEST_SRC))
TEST_CFLAGS := -O1 -g $(WARN) -std=c99 -D_GNU_SOURCE -Itests -Iinclude

DEBIAN_PACKAGES := gcc make libsqlite3-dev sqlite3 sqlcipher libsqlcipher-dev \
                   libssl-dev perl python3

.PHONY: all test demo install uninstall clean deps bench

all: $(BUILD)/tenant.so

$(BUILD)/ext/%.o: ext/%.c $(EXT_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(EXT_CFLAGS) -c $< -o $@

$(BUILD)/tenant.so: $(EXT_OBJ)
	$(CC) $(EXT_LDFLAGS) -o $@ $(EXT_OBJ) $(EXT_LIBS)

$(BUILD)/tests/sqlite/%: tests/%.c $(TEST_HELPER) tests/tap.h $(EXT_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -o $@ $< $(TEST_HELPER) -lsqlite3 -lcrypto -ldl

$(BUILD)/tests/sqlcipher/%: tests/%.c $(TEST_HELPER) tests/tap.h $(EXT_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -I/usr/include/sqlcipher -DTEST_HOST_SQLCIPHER \
	  -o $@ $< $(TEST_HELPER) -lsqlcipher -lcrypto -ldl

# Install whatever Debian packages are missing (needs root or sudo).
deps:
	@./tools/install-deps $(DEBIAN_PACKAGES)

# The suite runs twice: as built, then under the sanitizers (test-asan).
test: deps $(BUILD)/tenant.so $(TEST_BIN_SQLITE) $(TEST_BIN_CIPHER)
	TENANT_EXT=$(abspath $(BUILD)/tenant) prove -v $(TEST_BIN_SQLITE) $(TEST_BIN_CIPHER) sqltests/run.t
	$(MAKE) test-asan

demo: deps $(BUILD)/tenant.so
	./demo/run

install: $(BUILD)/tenant.so
	install -d $(DESTDIR)$(libdir) $(DESTDIR)$(includedir) $(DESTDIR)$(pkgconfigdir)
	install -m 0755 $(BUILD)/tenant.so $(DESTDIR)$(libdir)/tenant.so
	install -m 0644 include/sqlite-tenant.h $(DESTDIR)$(includedir)/sqlite-tenant.h
	sed -e 's|@prefix@|$(prefix)|' -e 's|@libdir@|$(libdir)|' \
	    -e 's|@includedir@|$(includedir)|' -e 's|@VERSION@|$(VERSION)|' \
	    sqlite-tenant.pc.in > $(DESTDIR)$(pkgconfigdir)/sqlite-tenant.pc

uninstall:
	rm -f $(DESTDIR)$(libdir)/tenant.so $(DESTDIR)$(includedir)/sqlite-tenant.h \
	      $(DESTDIR)$(pkgconfigdir)/sqlite-tenant.pc

clean:
	rm -rf $(BUILD)

# The same suite with the extension and the test programs built under
# AddressSanitizer and UndefinedBehaviorSanitizer (leaks included).
ASAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
ASAN_OBJ := $(patsubst ext/%.c,$(BUILD)/asan/ext/%.o,$(EXT_SRC))
ASAN_BIN_SQLITE := $(patsubst tests/%.c,$(BUILD)/asan/tests/sqlite/%,$(TEST_SRC))
ASAN_BIN_CIPHER := $(patsubst tests/%.c,$(BUILD)/asan/tests/sqlcipher/%,$(TEST_SRC))

$(BUILD)/asan/ext/%.o: ext/%.c $(EXT_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(EXT_CFLAGS) -O1 $(ASAN) -c $< -o $@

$(BUILD)/asan/tenant.so: $(ASAN_OBJ)
	$(CC) $(EXT_LDFLAGS) $(ASAN) -o $@ $(ASAN_OBJ) $(EXT_LIBS)

$(BUILD)/asan/tests/sqlite/%: tests/%.c $(TEST_HELPER) tests/tap.h $(EXT_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) $(ASAN) -o $@ $< $(TEST_HELPER) -lsqlite3 -lcrypto -ldl

$(BUILD)/asan/tests/sqlcipher/%: tests/%.c $(TEST_HELPER) tests/tap.h $(EXT_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) $(ASAN) -I/usr/include/sqlcipher -DTEST_HOST_SQLCIPHER \
	  -o $@ $< $(TEST_HELPER) -lsqlcipher -lcrypto -ldl

.PHONY: test-asan
# Shells started by a test are not sanitized, so they load the plain build.
test-asan: deps $(BUILD)/tenant.so $(BUILD)/asan/tenant.so $(ASAN_BIN_SQLITE) $(ASAN_BIN_CIPHER)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	TENANT_EXT=$(abspath $(BUILD)/asan/tenant) \
	TENANT_SHELL_EXT=$(abspath $(BUILD)/tenant) \
	prove $(ASAN_BIN_SQLITE) $(ASAN_BIN_CIPHER)

# Benchmarks: the product against plain SQLite, side by side, in both hosts.
#
#   make bench        the quick set (a few minutes on 2 cores)
#   make bench-full   the full fleet (10,000 customers)
#
# Results go to bench/tmp/ (report.md, results.tsv, *.svg); bench/RESULTS.md
# records a run. BENCH_ROUNDS (default 7) sets the rounds per comparison.
BENCH_SRC := $(sort $(wildcard bench/b_*.c))
BENCH_HELPER := bench/bench.c bench/fleet.c
BENCH_HDR := bench/bench.h bench/fleet.h
BENCH_BIN_SQLITE := $(patsubst bench/%.c,$(BUILD)/bench/sqlite/%,$(BENCH_SRC))
BENCH_BIN_CIPHER := $(patsubst bench/%.c,$(BUILD)/bench/sqlcipher/%,$(BENCH_SRC))
BENCH_CFLAGS := -O2 -g $(WARN) -std=c99 -D_GNU_SOURCE -Ibench

$(BUILD)/bench/sqlite/%: bench/%.c $(BENCH_HELPER) $(BENCH_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ $< $(BENCH_HELPER) -lsqlite3 -lcrypto -ldl

$(BUILD)/bench/sqlcipher/%: bench/%.c $(BENCH_HELPER) $(BENCH_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -I/usr/include/sqlcipher -DBENCH_HOST_SQLCIPHER \
	  -o $@ $< $(BENCH_HELPER) -lsqlcipher -lcrypto -ldl

.PHONY: bench bench-full bench-programs
bench-programs: $(BUILD)/tenant.so $(BENCH_BIN_SQLITE) $(BENCH_BIN_CIPHER)

bench: deps bench-programs
	TENANT_EXT=$(abspath $(BUILD)/tenant) BENCH_BIN=$(abspath $(BUILD)/bench) \
	  ./bench/run quick

bench-full: deps bench-programs
	TENANT_EXT=$(abspath $(BUILD)/tenant) BENCH_BIN=$(abspath $(BUILD)/bench) \
	  BENCH_FULL=1 ./bench/run full

# Cost of metering and storage limits, on and off (TENANT_METER=off) in
# one run per host; bench/METERING.md records a run. BENCH_METER_ROUNDS
# (default 11) sets the rounds. BENCH_METER_CFLAGS=-DBENCH_CALLGRIND builds
# the program for counting instructions (see bench/METERING.md).
BENCH_METER_ROUNDS ?= 11
BENCH_METER_CFLAGS ?=

$(BUILD)/bench/sqlite/bench_meter: bench/bench_meter.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -g $(WARN) -std=c99 -D_GNU_SOURCE $(BENCH_METER_CFLAGS) \
	  -o $@ $< -lsqlite3

$(BUILD)/bench/sqlcipher/bench_meter: bench/bench_meter.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -g $(WARN) -std=c99 -D_GNU_SOURCE -I/usr/include/sqlcipher \
	  -DBENCH_HOST_SQLCIPHER $(BENCH_METER_CFLAGS) -o $@ $< -lsqlcipher

.PHONY: bench-meter
bench-meter: $(BUILD)/tenant.so $(BUILD)/bench/sqlite/bench_meter \
             $(BUILD)/bench/sqlcipher/bench_meter
	TENANT_EXT=$(abspath $(BUILD)/tenant) \
	  $(BUILD)/bench/sqlite/bench_meter $(BENCH_METER_ROUNDS)
	TENANT_EXT=$(abspath $(BUILD)/tenant) \
	  $(BUILD)/bench/sqlcipher/bench_meter $(BENCH_METER_ROUNDS)
