# postern - convenience wrapper around Meson/Ninja and the project scripts.
#   make          build build/postern
#   make run      build and run the demo instance in the foreground
#   make test     build and run every test suite (the CI command)
#   make bench    run the benchmarks (results in bench/RESULTS.md)
#   make fuzz     build the libFuzzer targets and run each for FUZZ_SECONDS
#   make format   clang-format every C file
BUILD ?= build
FUZZ_SECONDS ?= 60

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	scripts/setup.sh --build
	meson setup $(BUILD)

run:
	scripts/demo.sh

test:
	scripts/test.sh

bench: all
	bench/run.sh

fuzz:
	scripts/fuzz.sh $(FUZZ_SECONDS)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan build-fuzz build-*.log

.PHONY: all run test bench fuzz format clean
