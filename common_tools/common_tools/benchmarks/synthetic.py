"""SynthFaces speed on one core, the cost of the up-front image check, and the tf.data pipeline rate.

run() -> dict: generates ``num`` faces into a temporary folder with the process pinned to one CPU
(os.sched_setaffinity where the OS has it; the previous CPU set is restored) and reports
``faces_per_s`` (wall clock) and ``faces_per_cpu_s`` (per CPU-second: what a free core gives; the two
differ when the machine is shared), then times celeba.check_images on those files and, with
``pipeline``, a 128-px box-crop make_dataset pipeline (all cores) over them.
"""

from __future__ import annotations

import os
import tempfile
import time


def _pin_one_cpu():
    """Pin this process to one CPU; returns the previous CPU set (None where unsupported)."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    previous = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(previous)})
    return previous


def run(num: int = 500, batches: int = 30, batch_size: int = 16, pipeline: bool = True) -> dict:
    from common_tools import celeba
    from common_tools.synthetic import faces

    with tempfile.TemporaryDirectory(prefix="bench_synthfaces_") as tmp:
        previous = _pin_one_cpu()
        try:
            wall, cpu = time.perf_counter(), time.process_time()
            faces.generate(tmp, num, seed=0)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        finally:
            if previous is not None:
                os.sched_setaffinity(0, previous)
        attrs = celeba.read_attributes(os.path.join(tmp, "list_attr_celeba.txt"))
        image_dir = os.path.join(tmp, "img_align_celeba")
        t0 = time.perf_counter()
        celeba.check_images(image_dir, attrs.files)
        check_s = time.perf_counter() - t0
        figures = {
            "faces": num,
            "pinned_to_one_cpu": previous is not None,
            "faces_per_s": round(num / wall, 1),
            "faces_per_cpu_s": round(num / cpu, 1),
            "check_images_ms_per_1000": round(1000 * check_s * 1000 / num, 1),
        }
        if not pipeline:
            return figures
        face_crop = celeba.Preprocess(crop=celeba.Crop(top=26, left=3, size=170), resize="bicubic_tf1")
        ds = celeba.make_dataset(image_dir, attrs.files, attrs.labels(["Male"]), face_crop, 128,
                                 batch_size=batch_size, training=True, seed=0)
        it = iter(ds)
        next(it)  # build the pipeline, fill the prefetch buffer
        t0 = time.perf_counter()
        for _ in range(batches):
            next(it)
        pipe_s = time.perf_counter() - t0
    figures["box_crop128_pipeline_images_per_s"] = round(batches * batch_size / pipe_s, 1)
    return figures
