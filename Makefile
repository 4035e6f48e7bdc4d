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

# The main job: a seeded chaos sweep of the default scenario, with its report in out/report.
SEEDS ?= 1..1000
run: build
	$(BUILD)/sim/flowraft sweep scenarios/default.ini --seeds $(SEEDS) --jobs $$(nproc) \
		--report out/report

test: build
	tests/run $(BUILD)

format:
	clang-format -i $$(git ls-files --cached --others --exclude-standard '*.c' '*.h')

check-format:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)
