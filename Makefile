# mlops: Azure Machine Learning CI/CD workflows as one C program.
#
#   make            build build/mlops (Debian's -dev packages; `make deps` installs them)
#   make test       unit tests, the layer rules, sandbox tests, workflow tests against the sandbox
#   make check      the same unit tests under AddressSanitizer + UBSan, then `make test`
#   make check-valgrind   the unit tests under valgrind
#   make static     the fully static release binary, build/static/mlops
#   make rootfs     the container image's filesystem as a directory, build/rootfs
#   make demo       the whole flow on the local sandbox
#   make sandbox / sandbox-stop   start / stop the local Azure sandbox

CC        ?= cc
PKG_CONFIG ?= pkg-config
BUILD     ?= build
PKGS      := libcurl libcjson yaml-0.1 libarchive openssl

WARNINGS  := -Wall -Wextra -Werror -Wformat-security -Wstrict-prototypes -Wvla \
             -Wwrite-strings -fno-common -Wshadow -Wpointer-arith
CFLAGS    ?= -O2 -g
ALL_CFLAGS = -std=c17 -D_GNU_SOURCE $(WARNINGS) $(CFLAGS) -Isrc \
             $(shell $(PKG_CONFIG) --cflags $(PKGS)) -MMD -MP
LIBS       = $(shell $(PKG_CONFIG) --libs $(PKGS)) -lpthread -lm

VERSION   := $(shell cat VERSION)
LIB_SRC   := $(sort $(wildcard src/core/*.c src/ci/*.c src/azure/*.c src/mlops/*.c) \
             $(filter-out src/cmd/main.c,$(wildcard src/cmd/*.c)))
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_SRC  := $(sort $(wildcard tests/core/*.c tests/ci/*.c tests/azure/*.c tests/mlops/*.c \
             tests/cmd/*.c tests/support/*.c))
TEST_OBJ  := $(TEST_SRC:%.c=$(BUILD)/%.o)
SUPPORT_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/support/*.c))
SANDBOX_TEST_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/sandbox/*.c))

.PHONY: all deps test unit layers check check-asan check-valgrind fuzz static rootfs demo sandbox sandbox-stop clean actions
.DELETE_ON_ERROR:

all: $(BUILD)/mlops

# Installs missing Debian packages (once; see scripts/bootstrap.sh).
deps: $(BUILD)/.deps
$(BUILD)/.deps: scripts/bootstrap.sh
	@mkdir -p $(@D)
	@scripts/bootstrap.sh
	@touch $@

$(BUILD)/%.o: %.c | $(BUILD)/.deps
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -DMLOPS_VERSION='"$(VERSION)"' -c $< -o $@

$(TEST_OBJ) $(SANDBOX_TEST_OBJ): ALL_CFLAGS += -Itests
# In the program, a function is either static or declared in its header.
$(LIB_OBJ) $(BUILD)/src/cmd/main.o: ALL_CFLAGS += -Wmissing-prototypes

$(BUILD)/libmlops.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/mlops: $(BUILD)/src/cmd/main.o $(BUILD)/libmlops.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/unit-tests: $(TEST_OBJ) $(BUILD)/libmlops.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS) -lcriterion

# Tests of the real clients against a live sandbox (tests/sandbox/run.sh).
$(BUILD)/sandbox-tests: $(SANDBOX_TEST_OBJ) $(SUPPORT_OBJ) $(BUILD)/libmlops.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS) -lcriterion

unit: $(BUILD)/unit-tests $(BUILD)/mlops
	$(BUILD)/unit-tests --jobs 2

# src/cmd reaches Azure only through the domain or cmd/session.c, in short functions.
layers:
	scripts/check-layers.sh

test: unit layers $(BUILD)/sandbox-tests
	tests/run-integration.sh $(BUILD)/mlops

# The unit tests under AddressSanitizer and UndefinedBehaviorSanitizer, in a
# build tree of their own, then the command-line tests on the sanitized
# binary; `make check` adds the whole ordinary suite.
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
check-asan:
	@$(MAKE) --no-print-directory BUILD=build/asan CFLAGS="-O1 -g -fno-omit-frame-pointer $(SAN)" \
		LDFLAGS="$(SAN)" build/asan/unit-tests build/asan/mlops
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		build/asan/unit-tests --jobs 2
	ASAN_OPTIONS=detect_leaks=1 tests/cli/cli-test.sh build/asan/mlops

check: check-asan test

# The unit tests under valgrind: what the sanitizers do not see (reads of
# uninitialised memory) and leaks, in the ordinary build.
check-valgrind: $(BUILD)/unit-tests
	valgrind -q --trace-children=yes --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite $(BUILD)/unit-tests --jobs 2

# libFuzzer targets for the parsers, each run for FUZZ_SECONDS from its seed
# corpus in fuzz/corpus/<name>/ (new finds go to build/fuzz/corpus/).
FUZZ_SECONDS ?= 30
FUZZ_TARGETS := $(patsubst fuzz/%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_FLAGS := -fsanitize=fuzzer-no-link,address,undefined
fuzz:
	@$(MAKE) --no-print-directory BUILD=build/fuzz CC=clang CFLAGS="-O1 -g $(FUZZ_FLAGS)" \
		build/fuzz/libmlops.a
	@for t in $(FUZZ_TARGETS); do \
		clang -std=c17 -D_GNU_SOURCE -O1 -g -Isrc $$($(PKG_CONFIG) --cflags $(PKGS)) \
			-fsanitize=fuzzer,address,undefined fuzz/$$t.c build/fuzz/libmlops.a \
			$(LIBS) -o build/fuzz/$$t || exit 1; \
		name=$${t#fuzz_}; mkdir -p build/fuzz/corpus/$$name; \
		echo "fuzzing $$name for $(FUZZ_SECONDS) s"; \
		if ! build/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -print_final_stats=1 \
			-artifact_prefix=build/fuzz/ build/fuzz/corpus/$$name fuzz/corpus/$$name \
			> build/fuzz/$$name.log 2>&1; then \
			tail -n 40 build/fuzz/$$name.log; exit 1; \
		fi; \
		grep -E '^stat::number_of_executed_units' build/fuzz/$$name.log || true; \
	done

static:
	scripts/build-static.sh

rootfs: static
	scripts/make-rootfs.sh build/static/mlops build/rootfs

# Regenerates every action.yml from the program's own input tables.
actions: $(BUILD)/mlops
	scripts/gen-actions.sh $(BUILD)/mlops

sandbox:
	@sandbox/sandbox.sh start

sandbox-stop:
	@sandbox/sandbox.sh stop

demo: $(BUILD)/mlops
	scripts/demo.sh $(BUILD)/mlops

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(SANDBOX_TEST_OBJ:.o=.d) $(BUILD)/src/cmd/main.d
