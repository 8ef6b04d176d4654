"""PGAN, progressive growing of GANs (Karras et al., ICLR 2018), in MindSpore: the card's src/
(its file names; the package is named after the model so that it collides with no other `src`).

    customer_layer.py  the paper's layers: equalized-learning-rate conv (matmul form on CPU,
                  ops.conv2d elsewhere, one weight layout) and linear, pixel norm, minibatch stddev,
                  nearest up-sampling, average-pool down-sampling
    network_G.py  the Generator, network_D.py the Discriminator: they grow scale by scale with the
                  alpha fade-in (import no training code)
    config.py     PGANConfig: the card's YAML keys as typed fields, the per-scale schedule, phase(step)
    losses.py     WGAN-GP + epsilon drift as pure functions
    optimizer.py  Adam with beta1 = 0; the dynamic loss scale (an overflow check on every device)
    step.py       one iteration: critic (penalty in a compiled graph), G, EMA; skipped overflow steps
    image_transform.py  the card's crop, bilinear resize, [-1, 1], NCHW
    dataset.py    face folders through a mindspore.dataset pipeline (parallel decode), a seeded
                  position-addressed image stream
    train.py      build(cfg, run, data) -> common_tools.training.Loop: growth, fade, resume
    inference.py  the averaged G rebuilt from its checkpoint for eval.py / export.py (no training code)
"""
