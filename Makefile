# The two entry points the README promises. Everything else is CMake.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
DEMO_ROWS ?= 1000000

.PHONY: deps configure build test demo bench format clean check check-deps check-format check-protos check-threads check-sanitizers check-tidy check-fuzz check-image

deps:
	bash scripts/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_ARGS)

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 900

demo: build
	bash scripts/demo.sh $(BUILD_DIR) $(DEMO_ROWS)

bench: build
	bash bench/run.sh $(BUILD_DIR)

format:
	git ls-files '*.h' '*.cc' | xargs clang-format-14 -i

# The heavier checks, after `make test` in CI: formatting, the protos (buf
# lint, and no breaking change against the released API), and one clang
# build that serves the rest: clang's thread-safety analysis of every
# ABSL_GUARDED_BY (warnings as errors), ASan and UBSan (with LeakSanitizer)
# over the whole test suite, the libFuzzer targets, and clang-tidy
# (.clang-tidy) on the project's code from its compile commands; and the
# container image, built from Debian's packages and run (check-image).
CLANG_BUILD_DIR ?= build-clang
TIDY_DIRS := engine|worker|coordinator|common|client|tests|bench
SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
CLANG_FLAGS := -Wthread-safety -Wthread-safety-beta -Werror $(SANITIZE) -fsanitize=fuzzer-no-link -O1

check: check-format check-protos check-threads check-sanitizers check-fuzz check-tidy check-image

check-deps:
	bash scripts/install-deps.sh check

check-format: check-deps
	git ls-files '*.h' '*.cc' | xargs clang-format-14 --dry-run --Werror

check-protos: check-deps
	bash scripts/buf.sh lint
	bash scripts/buf.sh breaking

check-threads: check-deps
	CC=clang-14 CXX=clang++-14 cmake -S . -B $(CLANG_BUILD_DIR) -G Ninja \
	  -DCMAKE_BUILD_TYPE=Debug -DTIERSCORE_FUZZ=ON -DCMAKE_CXX_FLAGS="$(CLANG_FLAGS)"
	cmake --build $(CLANG_BUILD_DIR) -j $(JOBS)

# Every test against the sanitized binaries (the servers and the CLI the
# tests start are sanitized too). sdk_install is left out: it builds an
# outside project against the installed, sanitized libraries with a plain
# compiler; `make test` runs it.
check-sanitizers: check-threads
	cd $(CLANG_BUILD_DIR) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	  UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS) --timeout 900 -E '^sdk_install$$'

# Uses the clang build's compile_commands.json and generated headers.
check-tidy: check-threads
	run-clang-tidy-14 -p $(CLANG_BUILD_DIR) -quiet -j $(JOBS) '$(CURDIR)/($(TIDY_DIRS))/'

# libFuzzer targets (fuzz/) under ASan and UBSan, each run for FUZZ_SECONDS
# from the seed corpus in fuzz/corpus (scripts/fuzz.sh); a crash fails the
# check and leaves its input in $(CLANG_BUILD_DIR).
FUZZ_SECONDS ?= 30
FUZZ_TARGETS := csv_fuzz expr_fuzz policy_fuzz job_spec_fuzz worker_request_fuzz \
  coordinator_request_fuzz
check-fuzz: check-threads
	bash scripts/fuzz.sh $(CLANG_BUILD_DIR) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

clean:
	rm -rf $(BUILD_DIR)

# The image (Dockerfile) on a base made by mmdebstrap, built with podman and
# run with buildah: a job from this build's CLI against a worker and a
# coordinator inside it (scripts/image.sh, tests/image/image_test.sh).
check-image: check-deps build
	bash scripts/image.sh $(BUILD_DIR)
