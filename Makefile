# ssl-dist: two commands for a fresh Debian 12 machine with Swift —
#   make run    installs what is missing, builds release, trains the default job
#   make test   same set-up, then every test
SHELL := /bin/bash
SWIFT ?= swift
BIN := .build/release/ssl-dist
APT_PACKAGES := libopenmpi-dev openmpi-bin libopenblas-dev libzstd-dev zlib1g-dev libpng-dev pkg-config \
                dataset-fashion-mnist python3-sklearn python3-venv iproute2
RUN_DIR ?= runs/adgm-fashion-mnist
RUN_EPOCHS ?= 3
RANKS ?= 2
# mpirun refuses to run as root unless told it may.
MPIRUN := mpirun $(if $(filter 0,$(shell id -u)),--allow-run-as-root,) --oversubscribe

.PHONY: deps build run test bench proto clean

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

build: deps
	$(SWIFT) build -c release

# The main job: ADGM on Fashion-MNIST with 10 labels per class on 2 ranks, a few minutes on 2 cores;
# then its evaluation on the test split and a grid of samples, one row per class.
run: build
	rm -rf $(RUN_DIR)
	$(MPIRUN) -np $(RANKS) $(BIN) train --model adgm --data fashion-mnist --labels-per-class 10 \
	  --epochs $(RUN_EPOCHS) --seed 1 --run-dir $(RUN_DIR)
	$(MPIRUN) -np $(RANKS) $(BIN) evaluate --checkpoint $(RUN_DIR) | tee $(RUN_DIR)/evaluation.txt
	$(BIN) sample --checkpoint $(RUN_DIR) --class all --count 10 --seed 1 --out $(RUN_DIR)/samples.png
	@echo
	@echo "results in $(RUN_DIR):"
	@echo "  metrics.jsonl (per epoch), tb/ (tensorboard --logdir $(RUN_DIR)/tb), results.json (test accuracy), config.toml"
	@echo "  evaluation.txt (accuracy, per-class scores, confusion matrix), samples.png (one row per class)"
	@echo "  checkpoints/ (resume: ssl-dist train --resume latest --run-dir $(RUN_DIR))"

test: deps
	$(SWIFT) build -c release --build-tests
	$(SWIFT) test -c release --skip-build

# Single-process throughput against this machine's sgemm, then 1 vs 2 MPI ranks (1 BLAS thread each).
bench: build
	$(BIN) bench --model m2 --threads 1
	$(BIN) bench --model adgm --threads 1
	@for m in m2 adgm; do \
	  one=$$($(MPIRUN) -np 1 $(BIN) bench --distributed --model $$m --threads 1 | tee /dev/stderr | sed -n 's/^RESULT.*examples_per_second=\([0-9.]*\).*/\1/p'); \
	  two=$$($(MPIRUN) -np 2 $(BIN) bench --distributed --model $$m --threads 1 | tee /dev/stderr | sed -n 's/^RESULT.*examples_per_second=\([0-9.]*\).*/\1/p'); \
	  awk -v m=$$m -v a=$$one -v b=$$two 'BEGIN { printf "scaling %s: 1 rank %.0f ex/s, 2 ranks %.0f ex/s, efficiency %.1f%%\n", m, a, b, 100*b/(2*a) }'; \
	done

# Regenerates the committed Swift code for TensorBoard's Event messages (needs protoc and protoc-gen-swift,
# e.g. apt-get install protobuf-compiler; swift build -c release --product protoc-gen-swift in swift-protobuf).
proto:
	protoc --swift_out=Sources/SSLTensorBoard --swift_opt=Visibility=Public -I proto proto/tensorboard_event.proto

clean:
	rm -rf .build runs
