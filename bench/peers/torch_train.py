#!/usr/bin/env python3
"""SimBA CNN training throughput in PyTorch on CPU: the peer for network-bench.

Same model as the Swift Network module: 5 blocks of [Conv3d 3x3x3 'same'
with bias -> BatchNorm3d(eps 1e-3, momentum 0.01) -> sigmoid -> MaxPool 2
'same'], AvgPool 2 'same', Dropout 0.2, Flatten, Dense(2), softmax
cross-entropy, Adam(lr 1e-4, eps 1e-7), random data.

TF 'same' mapping: a 3x3x3 stride-1 conv pads 1 on both sides (padding=1);
a 2x2x2 stride-2 pool on an odd size pads one cell at the end, which is
ceil_mode=True (max ignores it; avg with count_include_pad=False counts
only real cells). FLOPs are counted as in the Swift benchmark: 3x the
forward conv + dense FLOPs.

Prints one JSON line with train_samples_per_s, infer_samples_per_s,
train_gflops, peak_rss_mib (VmHWM).

  python torch_train.py --input 64,64,64 --batch 2 --threads 1 --steps 5 --warmup 2
"""
import argparse
import json
import statistics
import time

import torch
from torch import nn


def build(input_size, widths, classes=2, dropout=0.2):
    layers, channels, grid = [], 1, list(input_size)
    for width in widths:
        layers += [nn.Conv3d(channels, width, 3, padding=1),
                   nn.BatchNorm3d(width, eps=1e-3, momentum=0.01),
                   nn.Sigmoid(),
                   nn.MaxPool3d(2, 2, ceil_mode=True)]
        channels, grid = width, [(g + 1) // 2 for g in grid]
    grid = [(g + 1) // 2 for g in grid]
    layers += [nn.AvgPool3d(2, 2, ceil_mode=True, count_include_pad=False),
               nn.Dropout(dropout), nn.Flatten(),
               nn.Linear(channels * grid[0] * grid[1] * grid[2], classes)]
    return nn.Sequential(*layers), channels * grid[0] * grid[1] * grid[2]


def forward_flops(input_size, widths, features, classes=2):
    flops, channels, grid = 0, 1, list(input_size)
    for width in widths:
        flops += 2 * grid[0] * grid[1] * grid[2] * 27 * channels * width
        channels, grid = width, [(g + 1) // 2 for g in grid]
    return flops + 2 * features * classes


def peak_rss_mib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", default="64,64,64")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--widths", default="32,64,128,256,512")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    input_size = [int(v) for v in args.input.split(",")]
    widths = [int(v) for v in args.widths.split(",")]
    model, features = build(input_size, widths)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, betas=(0.9, 0.999), eps=1e-7)
    loss_function = nn.CrossEntropyLoss()
    x = torch.rand(args.batch, 1, *input_size) * 2 - 1
    y = torch.arange(args.batch) % 2

    model.train()
    step_seconds, step_cpu_seconds = [], []
    for step in range(args.warmup + args.steps):
        start, cpu_start = time.perf_counter(), time.process_time()
        optimizer.zero_grad(set_to_none=False)
        loss = loss_function(model(x), y)
        loss.backward()
        optimizer.step()
        if step >= args.warmup:
            step_seconds.append(time.perf_counter() - start)
            step_cpu_seconds.append(time.process_time() - cpu_start)

    model.eval()
    infer_seconds = []
    with torch.no_grad():
        for _ in range(max(args.steps, 1)):
            start = time.perf_counter()
            model(x)
            infer_seconds.append(time.perf_counter() - start)

    train_step = statistics.median(step_seconds)
    train_flops = 3 * forward_flops(input_size, widths, features) * args.batch
    print(json.dumps({
        "train_samples_per_s": round(args.batch / train_step, 4),
        "infer_samples_per_s": round(args.batch / statistics.median(infer_seconds), 4),
        "train_gflops": round(train_flops / train_step / 1e9, 4),
        "peak_rss_mib": round(peak_rss_mib(), 3),
        "input": input_size, "batch": args.batch, "threads": torch.get_num_threads(),
        "step_seconds": [round(s, 4) for s in step_seconds],
        # CPU time of the process per step: less sensitive than wall time to
        # other work on the machine.
        "step_cpu_seconds": [round(s, 4) for s in step_cpu_seconds],
    }))


if __name__ == "__main__":
    main()
