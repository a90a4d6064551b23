# Entry points. `make run` and `make test` are the two commands a new user needs;
# both install missing Debian packages first (scripts/install-deps.sh).
.PHONY: all deps build build-debug run test test-unit bench clean

ARGS ?=

all: build

deps:
	./scripts/install-deps.sh
	./scripts/install-node-deps.sh

build/release/build.ninja: CMakeLists.txt CMakePresets.json
	cmake --preset release

build/debug/build.ninja: CMakeLists.txt CMakePresets.json
	cmake --preset debug

build: deps build/release/build.ninja
	cmake --build --preset release

build-debug: deps build/debug/build.ninja
	cmake --build --preset debug

run: build
	./build/release/bin/fieldgate $(ARGS)

# Release tests first (fast), then the ASan+UBSan build with the fuzz runs.
test: build build-debug
	ctest --preset release
	ctest --preset debug

# Codec micro-benchmarks, then fieldgate against mosquitto (bench/compare.sh,
# about 5 minutes; needs the mosquitto package).
bench: build
	./build/release/bin/fg_bench_codec
	./bench/compare.sh

clean:
	rm -rf build
