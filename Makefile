# Front door: the real build is Meson + Ninja (meson.build).
BUILD ?= build
ASAN_BUILD ?= build-asan

.PHONY: all deps test-deps build run test test-sanitize fuzz bench install clean

all: build

deps:
	@scripts/deps.sh

# What the tests and benchmarks need besides (servers and tools to compare against).
test-deps:
	@scripts/deps.sh --test

$(BUILD)/build.ninja:
	meson setup $(BUILD)

build: deps $(BUILD)/build.ninja
	@ninja -C $(BUILD)

# Generates a demo application database and config, then shows what upkeep does.
run: build
	@scripts/demo.sh $(BUILD)

test: test-deps build
	meson test -C $(BUILD) --print-errorlogs

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug

test-sanitize: test-deps $(ASAN_BUILD)/build.ninja
	@ninja -C $(ASAN_BUILD)
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
		meson test -C $(ASAN_BUILD) --print-errorlogs

# libFuzzer targets (config, cron, manifest, pack index and trailer), FUZZ_SECONDS each; docs/fuzzing.md.
FUZZ_SECONDS ?= 60
fuzz: test-deps
	scripts/fuzz.sh $(FUZZ_SECONDS)

bench: test-deps build
	bench/run.sh $(BUILD)
	bench/maintenance.sh $(BUILD)
	bench/shapes.sh $(BUILD)
	bench/daemon.sh $(BUILD)
	bench/files.sh $(BUILD)
	bench/tree.sh $(BUILD)
	bench/postgresql.sh $(BUILD)
	bench/pg_purge.sh $(BUILD)
	bench/mariadb.sh $(BUILD)
	bench/my_purge.sh $(BUILD)
	bench/s3.sh $(BUILD)
	bench/memory.sh $(BUILD)

install: build
	meson install -C $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
