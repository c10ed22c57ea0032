#!/usr/bin/env bash
# Runs simba's benchmarks side by side with the peer pipelines (SimpleITK for
# generation; PyTorch for training when its script is present), in one go so
# that the ratios compare like with like on a shared, noisy machine.
# The peers live in a venv (.venv-peers) with packages from PyPI.
# Usage: scripts/bench-peers.sh SIMBA_BINARY
set -euo pipefail
simba=${1:?usage: scripts/bench-peers.sh SIMBA_BINARY}
venv=.venv-peers
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --upgrade pip >/dev/null
fi
"$venv/bin/python" -c "import SimpleITK, numpy" 2>/dev/null || "$venv/bin/pip" install -q SimpleITK numpy

ratio() {  # ratio OURS PEER KEY: ours[KEY] / peer[KEY]
    "$venv/bin/python" - "$1" "$2" "$3" <<'PY'
import json, sys
ours, peer, key = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
print(f"ratio {key}: simba / {peer.get('peer', 'peer')} = {ours[key] / peer[key]:.1f}x")
PY
}

for voxel in 3 1; do
    ours=$("$simba" bench generate --voxel-mm "$voxel" --samples 4 --threads 1)
    grid=$(echo "$ours" | "$venv/bin/python" -c "import json,sys; print(*json.load(sys.stdin)['grid'])")
    peer=$("$venv/bin/python" bench/peers/simpleitk_generate.py --grid $grid --spacing "$voxel" --volumes 2)
    echo "$ours"
    echo "$peer"
    ratio "$ours" "$peer" volumes_per_s
done

if [ -f bench/peers/torch_train.py ]; then
    "$venv/bin/python" -c "import torch" 2>/dev/null \
        || "$venv/bin/pip" install -q torch==2.13.0+cpu 2>/dev/null || "$venv/bin/pip" install -q torch
    # Interleaved rounds (ROUNDS, default 5): the machine is shared, so
    # compare each pair, then take the median of the pairs' ratios.
    pairs=()
    for round in $(seq "${ROUNDS:-5}"); do
        ours=$("$simba" bench train --input 64x64x64 --batch 2 --threads 1)
        peer=$("$venv/bin/python" bench/peers/torch_train.py --input 64,64,64 --batch 2 --threads 1)
        echo "$ours"
        echo "$peer"
        ratio "$ours" "$peer" train_samples_per_s
        ratio "$ours" "$peer" infer_samples_per_s
        pairs+=("$ours" "$peer")
    done
    "$venv/bin/python" - "${pairs[@]}" <<'PY'
import json, statistics, sys
runs = [json.loads(text) for text in sys.argv[1:]]
for key in ("train_samples_per_s", "infer_samples_per_s"):
    ratios = sorted(ours[key] / peer[key] for ours, peer in zip(runs[0::2], runs[1::2]))
    print(f"median {key} ratio simba / torch over {len(ratios)} pairs: {statistics.median(ratios):.2f}x "
          f"(range {ratios[0]:.2f}-{ratios[-1]:.2f})")
PY
fi
