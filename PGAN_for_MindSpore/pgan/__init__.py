"""PGAN, progressive growing of GANs (Karras et al., ICLR 2018), in MindSpore.

    layers.py    the paper's layers: equalized-learning-rate conv (matmul form on CPU, ops.conv2d
                 elsewhere, one weight layout) and linear, pixel norm, minibatch stddev,
                 nearest up-sampling, average-pool down-sampling
    networks.py  Generator and Discriminator that grow scale by scale with the alpha fade-in
                 (import no training code)
"""
