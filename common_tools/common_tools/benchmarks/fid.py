"""FID Inception feature throughput on this machine, and the statistics cache at work.

run() -> {"images_per_s": ..., "batch_size": 50, ...}: pool3 features of random 128x128 images
(resized to 299 inside the network, as always), timed after one warm-up batch; then FID statistics of
a folder computed twice, the second time served from the cache.
"""

from __future__ import annotations

import os
import tempfile
import time

import numpy as np


def run(num_images: int = 100, batch_size: int = 50, size: int = 128) -> dict:
    from PIL import Image

    from common_tools.metrics import weights
    from common_tools.metrics.fid import folder_statistics, inception_features

    weights.fetch(quiet=True)  # once per machine
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (num_images, size, size, 3), dtype=np.uint8)
    inception_features(images[:batch_size], batch_size=batch_size, progress=False)  # build + trace
    t0 = time.perf_counter()
    inception_features(images, batch_size=batch_size, progress=False)
    dt = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as tmp:
        folder, cache = os.path.join(tmp, "images"), os.path.join(tmp, "stats")
        os.makedirs(folder)
        for i, im in enumerate(images[:batch_size]):
            Image.fromarray(im).save(os.path.join(folder, f"{i:04d}.png"))
        t1 = time.perf_counter()
        folder_statistics(folder, batch_size, cache_dir=cache, progress=False)
        first = time.perf_counter() - t1
        t2 = time.perf_counter()
        folder_statistics(folder, batch_size, cache_dir=cache, progress=False)
        second = time.perf_counter() - t2
    return {
        "images_per_s": round(num_images / dt, 2),
        "batch_size": batch_size,
        "input_size": size,
        "num_images": num_images,
        "cpu_count": os.cpu_count(),
        "load_avg_1min": round(os.getloadavg()[0], 2),  # other processes sharing the CPU
        "folder_stats_first_s": round(first, 3),
        "folder_stats_cached_s": round(second, 3),
        "folder_images": batch_size,
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
