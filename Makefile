# simba — two commands do all set-up:
#   make run    runs the main job on this machine
#   make test   builds and passes the tests
# Each installs missing system packages first (as root with apt) or says
# exactly what is missing.

SHELL := /bin/bash
SWIFT ?= swift
RANKS ?= 2
RELEASE_BIN = $(shell $(SWIFT) build -c release --show-bin-path)/simba
DEBUG_BIN = $(shell $(SWIFT) build --show-bin-path)/simba

.PHONY: deps test-deps build build-debug run test fuzz test-slurm test-science test-whole-brain test-full-size bench bench-peers clean

deps:
	@scripts/deps.sh

test-deps:
	@scripts/deps.sh --test

build: deps
	$(SWIFT) build -c release --product simba

build-debug: deps
	$(SWIFT) build --product simba

# The main job: the quickstart counterfactual bias experiment on $(RANKS)
# ranks — the biased cohort and its no-bias twin, three arms trained
# (biased, twin, reweighed), evaluated, probed, and reported in $(OUT)/.
OUT ?= out
run: build
	scripts/mpirun.sh $(RANKS) $(RELEASE_BIN) info
	scripts/mpirun.sh $(RANKS) $(RELEASE_BIN) run --preset quickstart -o $(OUT) --overwrite

# Unit tests (one process) and multi-rank tests (mpirun with 1, 2, 3 ranks,
# spawned by the CLI tests against the debug binary).
test: test-deps
	$(SWIFT) build --build-tests
	SIMBA_BIN=$(DEBUG_BIN) $(SWIFT) test --skip-build --disable-swift-testing

# A night of fuzzing (README, "Limits"): FUZZ_CASES seeded mutations of
# the four input kinds read in process, and FUZZ_BINARY_CASES runs of the
# binary on mutated files (`make test` runs 2400 and 24).
FUZZ_CASES ?= 100000
FUZZ_BINARY_CASES ?= 400
FUZZ_SEED ?= 17
fuzz: test-deps
	$(SWIFT) build --build-tests
	SIMBA_BIN=$(DEBUG_BIN) SIMBA_FUZZ_CASES=$(FUZZ_CASES) SIMBA_FUZZ_BINARY_CASES=$(FUZZ_BINARY_CASES) \
		SIMBA_FUZZ_SEED=$(FUZZ_SEED) $(SWIFT) test --skip-build --disable-swift-testing --filter FuzzTests

# A real one-node Slurm on this machine (installs slurm-wlm and munge as
# root): selftest under srun and mpirun, slurm/simba-run.sbatch (a run, the
# requeue test bitwise against an uninterrupted run, the time-limit path)
# and slurm/simba-sweep.sbatch (an array and its merge). About 4 minutes.
test-slurm: build-debug test-deps
	scripts/test-slurm.sh $(DEBUG_BIN)

# The science (scripts/check-science.py), on intervals pooled over 3
# training replicates: the quickstart (every arm learned the disease, the
# twin is fair, the biased model learned the shortcut — from its input, not
# the images — reweighing judged on its interval, the bias encoded only
# when present), its null control (the bias in 50% of each class: no
# shortcut may be claimed), a multi-site experiment (central, federated
# and travelling learn the disease) and adversarial unlearning on the
# quickstart (the bias falls towards chance at the last layer). About 10
# minutes with the release build (the CI run of 725636a, 2 ranks).
SCIENCE_OUT ?= /tmp/simba-science
test-science: build test-deps
	scripts/mpirun.sh $(RANKS) $(RELEASE_BIN) run --preset quickstart -o $(SCIENCE_OUT)/quickstart --overwrite
	scripts/mpirun.sh $(RANKS) $(RELEASE_BIN) run --preset quickstart-null -o $(SCIENCE_OUT)/null --overwrite
	scripts/mpirun.sh $(RANKS) $(RELEASE_BIN) run configs/multisite-science.yaml -o $(SCIENCE_OUT)/multisite --overwrite
	scripts/mpirun.sh $(RANKS) $(RELEASE_BIN) run configs/quickstart-unlearning.yaml -o $(SCIENCE_OUT)/unlearning --overwrite
	/usr/bin/python3 scripts/check-science.py $(SCIENCE_OUT)/quickstart/summary.json --null $(SCIENCE_OUT)/null/summary.json \
		--multisite $(SCIENCE_OUT)/multisite/summary.json --unlearning $(SCIENCE_OUT)/unlearning/summary.json

# The quickstart's claims on the whole brain at 4 mm (about 31 minutes on 2
# ranks: not part of CI; README, "The whole brain").
test-whole-brain: build test-deps
	scripts/mpirun.sh $(RANKS) $(RELEASE_BIN) run --preset whole-brain -o $(SCIENCE_OUT)/whole-brain --overwrite
	/usr/bin/python3 scripts/check-science.py $(SCIENCE_OUT)/whole-brain/summary.json

# SimBA's own setting (simba-jamia: 1 mm, five blocks, batch 2, 3 arms) through
# every stage on 40 images for 1 epoch, 2 ranks; each stage's peak resident
# memory per rank must stay within 6 GiB (scripts/check-memory.py). Not part
# of CI: about 5 minutes on this machine, 28 with sgemm on 2 busy cores (README, "Sizes and times").
FULL_SIZE = sed -e 's/^  size: 2000 /  size: 40 /' -e 's/^  saliency: 10 /  saliency: 1 /'
test-full-size: build test-deps
	mkdir -p $(SCIENCE_OUT)
	$(RELEASE_BIN) config --preset simba-jamia | $(FULL_SIZE) > $(SCIENCE_OUT)/full-size.yaml
	grep -q '^  size: 40 ' $(SCIENCE_OUT)/full-size.yaml && grep -q '^  saliency: 1 ' $(SCIENCE_OUT)/full-size.yaml
	scripts/mpirun.sh 2 $(RELEASE_BIN) run $(SCIENCE_OUT)/full-size.yaml --epochs 1 -o $(SCIENCE_OUT)/full-size --overwrite
	/usr/bin/python3 scripts/check-memory.py $(SCIENCE_OUT)/full-size/summary.json --limit-gib 6

# Benchmarks print one JSON line each (see README, "Benchmarks").
bench: build
	$(RELEASE_BIN) bench generate --voxel-mm 3 --samples 16 --threads 1
	$(RELEASE_BIN) bench generate --voxel-mm 1 --samples 4 --threads 1
	scripts/mpirun.sh 2 $(RELEASE_BIN) bench generate --voxel-mm 1 --samples 8
	$(RELEASE_BIN) bench train --input 64x64x64 --batch 2 --threads 1
	SIMBA_CONV_PRODUCTS=sgemm $(RELEASE_BIN) bench train --input 64x64x64 --batch 2 --threads 1
	scripts/mpirun.sh 2 $(RELEASE_BIN) bench allreduce --mib 1,19,64
	scripts/mpirun.sh 2 $(RELEASE_BIN) bench scaling --spatial --input 173x211x155 --widths 32,64,128,256,512 --batch-per-rank 1 --steps 3
	$(RELEASE_BIN) bench plan --ranks 96

# The same benchmarks next to the peer pipelines (SimpleITK, PyTorch) in a
# venv with packages from PyPI; prints the ratios.
bench-peers: build
	scripts/bench-peers.sh $(RELEASE_BIN)

clean:
	rm -rf .build .venv-peers
