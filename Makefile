# ssl-dist: two commands for a fresh Debian 12 machine with Swift —
#   make run    installs what is missing, builds release, trains the default job
#   make test   same set-up, then every test
SHELL := /bin/bash
SWIFT ?= swift
BIN := .build/release/ssl-dist
APT_PACKAGES := libopenmpi-dev openmpi-bin libopenblas-dev libdnnl-dev libzstd-dev zlib1g-dev libpng-dev pkg-config \
                dataset-fashion-mnist python3-sklearn python3-venv iproute2
RUN_DIR ?= runs/fashion-mnist
RUN_EPOCHS ?= 20
RANKS ?= 2
# The git commit the build is made from, for `ssl-dist --version` and checkpoints ("+changes": the work tree differed).
COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD 2>/dev/null || echo +changes)
SWIFT_BUILD_FLAGS := -c release -Xcc -DSSL_DIST_COMMIT='"$(COMMIT)"'
# mpirun refuses to run as root unless told it may.
MPIRUN := mpirun $(if $(filter 0,$(shell id -u)),--allow-run-as-root,) --oversubscribe

.PHONY: deps tb-reader build run test test-fast test-slurm bench bench-pytorch proto clean

# Installs only the Debian packages that are missing (apt-get; needs root or sudo).
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	else echo "system packages: all present"; fi

# TensorBoard's reader for the test that reads our event files back (a virtualenv under .build; PyPI, at set-up only).
TB_VENV := .build/tb-venv
tb-reader:
	@if ! $(TB_VENV)/bin/python -c "import tensorboard" 2>/dev/null; then \
	  echo "installing TensorBoard's reader into $(TB_VENV)"; \
	  python3 -m venv $(TB_VENV) && $(TB_VENV)/bin/pip install -q --disable-pip-version-check tensorboard \
	    || echo "warning: could not install tensorboard into $(TB_VENV); TensorBoardTests will be skipped"; \
	fi

build: deps
	$(SWIFT) build $(SWIFT_BUILD_FLAGS)

# The main job, on Fashion-MNIST with 10 labels per class (seed 1), 2 ranks, about 5 minutes on 2 cores: the
# supervised baseline on those labels; M1 on every training image (no labels); M1+M2 on M1's features with the same
# labels. Then M1+M2's evaluation on the test split, one row of samples per class, the learning curves of both
# classifiers, and a table of both accuracies and the gain.
run: build
	rm -rf $(RUN_DIR)
	$(MPIRUN) -np $(RANKS) $(BIN) train --model supervised --data fashion-mnist --labels-per-class 10 \
	  --epochs 10 --seed 1 --quiet --run-dir $(RUN_DIR)/supervised
	$(MPIRUN) -np $(RANKS) $(BIN) train --model m1 --data fashion-mnist --epochs $(RUN_EPOCHS) --seed 1 --quiet \
	  --run-dir $(RUN_DIR)/m1
	$(MPIRUN) -np $(RANKS) $(BIN) train --model m1m2 --m1 $(RUN_DIR)/m1 --data fashion-mnist --labels-per-class 10 \
	  --epochs $(RUN_EPOCHS) --seed 1 --run-dir $(RUN_DIR)/m1m2
	$(MPIRUN) -np $(RANKS) $(BIN) evaluate --checkpoint $(RUN_DIR)/m1m2 > $(RUN_DIR)/m1m2/evaluation.txt
	$(BIN) sample --checkpoint $(RUN_DIR)/m1m2 --class all --count 10 --seed 1 --out $(RUN_DIR)/m1m2/samples.png
	@echo
	$(BIN) plot $(RUN_DIR)/supervised $(RUN_DIR)/m1m2 --out $(RUN_DIR)/curves.png
	@echo
	@echo "results in $(RUN_DIR):"
	@echo "  curves.png: validation accuracy of both classifiers by epoch and by minute"
	@echo "  supervised/, m1/, m1m2/: metrics.jsonl (per epoch), tb/ (tensorboard --logdir $(RUN_DIR)), results.json,"
	@echo "    config.toml (the effective settings), checkpoints/ (resume: ssl-dist train --resume latest --run-dir DIR)"
	@echo "  m1m2/evaluation.txt (accuracy, per-class scores, confusion matrix), m1m2/samples.png (a row per class)"

test: deps tb-reader
	$(SWIFT) build $(SWIFT_BUILD_FLAGS) --build-tests
	$(SWIFT) test -c release --skip-build

# The unit tests alone (finite differences, readers, the checkpoint format, settings): seconds, for the edit-compile-
# test loop. No mpirun, no training runs, no emulated hosts; `make test` runs those too.
UNIT_TESTS := SSLCoreTests|SSLDataTests|CheckpointFileTests|ShiftedTemplateTests|ConfigFileTests|TrainSettingsTests|ScalingProjectionTests
test-fast: deps
	$(SWIFT) build $(SWIFT_BUILD_FLAGS) --build-tests
	$(SWIFT) test -c release --skip-build --filter "$(UNIT_TESTS)"

# deploy/slurm.sbatch under a real Slurm started on this machine (needs root; a few minutes; not part of make test).
test-slurm: build
	@for p in slurm-wlm munge; do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi
	Tests/slurm/run.sh

# Throughput of m2 and adgm, fp32 and bf16, against this machine's own peaks and every library's rate at the
# model's shapes (1 thread), then 1 vs 2 MPI ranks (1 thread each) with each precision; ends with one table of all of
# it. BENCH_SECONDS: seconds per measurement.
BENCH_SECONDS ?= 5
bench: build
	@results=$$(mktemp); \
	for m in m2 adgm sdgm; do for p in fp32 bf16; do \
	  $(BIN) bench --model $$m --threads 1 --gemm dnnl --precision $$p --seconds $(BENCH_SECONDS) | tee /dev/stderr | grep '^RESULT' >> $$results; \
	  for n in 1 2; do \
	    $(MPIRUN) -np $$n $(BIN) bench --distributed --model $$m --threads 1 --gemm dnnl --precision $$p --seconds $(BENCH_SECONDS) \
	      | tee /dev/stderr | grep '^RESULT' >> $$results; \
	  done; \
	done; done; \
	awk 'function v(k,  i, a) { for (i = 2; i <= NF; i++) { split($$i, a, "="); if (a[1] == k) return a[2] } return "" } \
	  /^RESULT/ { key = v("model") " " v("precision") } \
	  /threads=/ { one[key] = v("examples_per_second"); lib[key] = v("share_of_library"); peak[key] = v("share_of_peak"); order[++n] = key } \
	  /ranks=1 / { r1[key] = v("examples_per_second") } \
	  /ranks=2 / { r2[key] = v("examples_per_second"); r2u[key] = v("unsharded_examples_per_second"); hid[key] = v("hidden_share"); \
	               ar[key] = v("allreduce_share") } \
	  END { printf "\n%-12s %10s %10s %10s %12s %12s %9s %14s %10s %8s\n", "model", "ex/s", "of library", "of peak", \
	          "1 rank ex/s", "2 ranks ex/s", "scaling", "not sharded", "allreduce", "hidden"; \
	        for (i = 1; i <= n; i++) { k = order[i]; \
	          printf "%-12s %10.0f %9.1f%% %9.1f%% %12.0f %12.0f %8.1f%% %13.1f%% %9.1f%% %7.0f%%\n", k, one[k], 100 * lib[k], 100 * peak[k], \
	                 r1[k], r2[k], 100 * r2[k] / (2 * r1[k]), 100 * r2u[k] / (2 * r1[k]), 100 * ar[k], 100 * hid[k] } }' $$results; \
	rm -f $$results

# ssl-dist beside PyTorch (the same models, batch and precisions) in one run, interleaved; installs torch into a
# virtualenv under .build the first time (several GB from PyPI). Not part of make test.
bench-pytorch: build
	bench/compare-pytorch.sh

# Regenerates the committed Swift code for TensorBoard's Event messages (needs protoc and protoc-gen-swift,
# e.g. apt-get install protobuf-compiler; swift build -c release --product protoc-gen-swift in swift-protobuf).
proto:
	protoc --swift_out=Sources/SSLTensorBoard --swift_opt=Visibility=Public -I proto proto/tensorboard_event.proto

clean:
	rm -rf .build runs
