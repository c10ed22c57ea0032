#!/usr/bin/env python3
"""SimpleITK peer for `simba bench generate`: the same per-volume steps on the
same grid, done the way SimBA's generator does them (SimpleITK, one thread).

Steps per volume: a smooth velocity field (Gaussian-smoothed noise, as a
stand-in for SimBA's B-spline fit), scaling and squaring (N steps of
compose-and-add with WarpImageFilter semantics), and warping the template
with linear interpolation. Prints one JSON line with the keys simba uses.

Usage: simpleitk_generate.py --grid 152 188 160 --spacing 1 --volumes 2 --steps 7
"""
import argparse
import json
import resource
import time

import numpy as np
import SimpleITK as sitk


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--grid", type=int, nargs=3, default=[152, 188, 160])
    parser.add_argument("--spacing", type=float, default=1.0)
    parser.add_argument("--volumes", type=int, default=2)
    parser.add_argument("--steps", type=int, default=7)
    args = parser.parse_args()
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)

    nx, ny, nz = args.grid
    rng = np.random.default_rng(1)
    template = sitk.GetImageFromArray(rng.random((nz, ny, nx)).astype(np.float32))
    template.SetSpacing([args.spacing] * 3)

    stages = {"velocity": 0.0, "exponentiate": 0.0, "warp": 0.0}
    start_all = time.perf_counter()
    for _ in range(args.volumes):
        t = time.perf_counter()
        noise = rng.standard_normal((nz, ny, nx, 3)).astype(np.float64)
        field = sitk.GetImageFromArray(noise, isVector=True)
        field.SetSpacing([args.spacing] * 3)
        field = sitk.SmoothingRecursiveGaussian(field, 8.0)
        field = sitk.Cast(field, sitk.sitkVectorFloat64)
        stages["velocity"] += time.perf_counter() - t

        t = time.perf_counter()
        scaled = sitk.GetArrayFromImage(field) / float(2 ** args.steps)
        displacement = sitk.GetImageFromArray(scaled, isVector=True)
        displacement.CopyInformation(field)
        for _ in range(args.steps):
            # d <- d + d(x + d(x)): WarpImageFilter semantics, linear interpolation.
            warped = sitk.Warp(displacement, displacement, sitk.sitkLinear)
            summed = sitk.GetArrayViewFromImage(displacement) + sitk.GetArrayViewFromImage(warped)
            next_field = sitk.GetImageFromArray(summed, isVector=True)
            next_field.CopyInformation(field)
            displacement = next_field
        stages["exponentiate"] += time.perf_counter() - t

        t = time.perf_counter()
        sitk.Warp(template, displacement, sitk.sitkLinear)
        stages["warp"] += time.perf_counter() - t
    seconds = time.perf_counter() - start_all
    print(json.dumps({
        "benchmark": "generate", "peer": "simpleitk " + sitk.Version.VersionString(),
        "grid": args.grid, "voxel_mm": args.spacing, "volumes": args.volumes, "squaring_steps": args.steps,
        "volumes_per_s": args.volumes / seconds,
        "stage_seconds_per_volume": {k: v / args.volumes for k, v in stages.items()},
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }, sort_keys=True))


if __name__ == "__main__":
    main()
