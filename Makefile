# The two quick-start commands and a few conveniences; meson does the real build.
#   make run   installs missing dependencies, builds, and runs the main job
#   make test  installs missing dependencies, builds, and runs every test
BUILD ?= build
MESON_FLAGS ?=

.PHONY: all deps build run test bench format check-format clean

all: build

deps:
	@.ci/install-deps

$(BUILD)/build.ninja:
	@.ci/install-deps
	meson setup $(BUILD) $(MESON_FLAGS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

run: build
	$(BUILD)/sim/flowraft --version

test: build
	tests/run $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

check-format:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)
