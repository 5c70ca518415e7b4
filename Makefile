# rmaplab: the two commands of the README.
#   make run   install missing Debian packages, build, run the main job
#   make results  regenerate docs/results.md (the claims table with
#              verdicts, then the tables behind them; about 20 s after
#              the build on 2 idle cores, so not part of make test)
#   make test  build and run the whole test suite (also under ASan+UBSan);
#              it includes clang_format (scripts/check-format) and
#              library_example (the README's example, built from an install)
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
CMAKE_GEN  := $(shell command -v ninja >/dev/null 2>&1 && echo -G Ninja)

.PHONY: all deps build run results test test-fast test-asan bench format clean

all: build

deps:
	@scripts/install-deps

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Release

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# Builds only the tool (the tests and benchmarks are `make test`'s).
run: deps $(BUILD)/CMakeCache.txt
	@cmake --build $(BUILD) -j $(JOBS) --target rmaplab
	@scripts/run-main $(BUILD)/rmaplab

results: build
	scripts/results $(BUILD)/rmaplab > docs/results.md.new
	mv docs/results.md.new docs/results.md

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	$(MAKE) test-asan

test-fast: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

$(ASAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(ASAN_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DRMAPLAB_SANITIZE=ON -DRMAPLAB_BENCH=OFF

test-asan: deps $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS)

bench: build
	$(BUILD)/rmaplab_bench

# Rewrites every C++ file as .clang-format says (what clang_format checks).
format:
	@scripts/format

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
