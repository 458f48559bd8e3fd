# choreo: `make demo` runs the main job, `make test` runs the tests; both install what is missing.
BUILD     ?= build
TYPE      ?= RelWithDebInfo
WERROR    ?= ON
SANITIZE  ?=
JOBS      ?= 2
ARGS      ?=
# Tests a run leaves out (a ctest -E regex); empty: none.
EXCLUDE   ?=
# The sanitized runs leave out the runs of 20,000 orders through choreo-ctl (ctl_at_scale): they
# check that no reply and no retained structure grows with the orders served, which `make test`
# checks; sanitized, each takes minutes of the CI's time, and the code paths they take are the
# ones the smaller runs take under the sanitizers. Nor the fault runs of 1,000 orders per node of
# each pattern (fault_scale): the kills, pauses and drops of faults_test take the same paths.
# Nor the 1,000 tickets per pattern over tcp (ticket_at_scale): ticket_test runs the same paths.
# Nor the benchmark's smoke runs (bench_smoke: a soak of fixed length and spawned bench
# processes, whose node code the in-process tests run) and the demo's Table 11-8 tour
# (ticket_tour: ticket_claims_test runs its spells): sanitized they took a minute of the CI's
# time between them.
SANITIZED_EXCLUDE := ctl_at_scale|fault_scale|topology_at_scale|failure_claims|ticket_at_scale|bench_smoke|ticket_tour

.PHONY: all deps configure build demo test test-asan test-tsan bench fuzz fuzz-ci format format-check clean

all: build

deps:
	@scripts/install-deps

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(TYPE) -DCHOREO_WERROR=$(WERROR) \
	    -DCHOREO_SANITIZE="$(SANITIZE)" >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

demo: configure
	@cmake --build $(BUILD) -j $(JOBS) --target choreo-demo
	$(BUILD)/bin/choreo-demo $(ARGS)

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) $(if $(EXCLUDE),-E '$(EXCLUDE)')

# The same tests built with AddressSanitizer and UndefinedBehaviorSanitizer; their deadlines
# are scaled (CHOREO_TEST_DEADLINE_SCALE, 3 unless set), since sanitized code runs slower.
test-asan:
	@CHOREO_TEST_DEADLINE_SCALE=$${CHOREO_TEST_DEADLINE_SCALE:-3} $(MAKE) --no-print-directory \
	    test BUILD=build-asan TYPE=Debug SANITIZE=address,undefined EXCLUDE='$(SANITIZED_EXCLUDE)'

# The same tests built with ThreadSanitizer, in build-tsan; the first race reported fails the
# test. tests/tsan.supp holds the suppressions for libzmq's internals (only those).
# CHOREO_TEST_DEADLINE_SCALE is 5 unless set: TSan slows threaded code the most.
test-tsan:
	@CHOREO_TEST_DEADLINE_SCALE=$${CHOREO_TEST_DEADLINE_SCALE:-5} \
	    TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan.supp halt_on_error=1 second_deadlock_stack=1 $${TSAN_OPTIONS:-}" \
	    $(MAKE) --no-print-directory test BUILD=build-tsan TYPE=RelWithDebInfo SANITIZE=thread \
	    EXCLUDE='$(SANITIZED_EXCLUDE)'

# The benchmark suite (scripts/bench), or choreo-bench with ARGS="...".
bench: configure
	@CHOREO_WITH_PLOTS=1 scripts/install-deps
	@cmake --build $(BUILD) -j $(JOBS) --target choreo-bench
ifeq ($(strip $(ARGS)),)
	BUILD=$(BUILD) scripts/bench
else
	$(BUILD)/bin/choreo-bench $(ARGS)
endif

# libFuzzer over the decoder, the topology parser and the option parsers (clang-14, ASan+UBSan,
# build-fuzz): 10^7 executions in all; fuzz-ci runs 20000 of each target.
fuzz:
	@CHOREO_WITH_FUZZ=1 scripts/install-deps
	@BUILD=build-fuzz JOBS=$(JOBS) scripts/fuzz

fuzz-ci:
	@CHOREO_WITH_FUZZ=1 scripts/install-deps
	@BUILD=build-fuzz JOBS=$(JOBS) scripts/fuzz --ci

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

format-check:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run --Werror

clean:
	rm -rf build build-asan build-tsan build-fuzz
