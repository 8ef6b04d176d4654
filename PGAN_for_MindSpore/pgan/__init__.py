"""PGAN, progressive growing of GANs (Karras et al., ICLR 2018), in MindSpore.

    layers.py     the paper's layers: equalized-learning-rate conv (matmul form on CPU, ops.conv2d
                  elsewhere, one weight layout) and linear, pixel norm, minibatch stddev,
                  nearest up-sampling, average-pool down-sampling
    networks.py   Generator and Discriminator that grow scale by scale with the alpha fade-in
                  (import no training code)
    config.py     PGANConfig: the card's YAML keys as typed fields, the per-scale schedule, phase(step)
    losses.py     WGAN-GP + epsilon drift as pure functions
    step.py       one iteration: critic (penalty in a compiled graph), G, EMA; Adam with beta1 = 0;
                  loss scaling with an overflow check that runs on every device
    dataset.py    face folders read with PIL + numpy, a seeded position-addressed image stream
    train.py      build(cfg, run, data) -> common_tools.training.Loop: growth, fade, resume
    inference.py  the averaged G rebuilt from its checkpoint for eval.py / export.py (no training code)
"""
