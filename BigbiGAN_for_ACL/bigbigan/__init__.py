"""BigBiGAN (Donahue & Simonyan, NeurIPS 2019), small conditional 32×32 form, in TensorFlow 2 / Keras 3.

    layers.py    spectral-norm Dense / Conv2D / Conv2DTranspose (u updated by training calls only),
                 conditional batch norm, self-attention, per-layer initializers
    networks.py  the generator G, the discriminator D = F (image) + H (latent) + J (joint) and the
                 RevNet encoder E, as in the reference (imports no training code)
"""
