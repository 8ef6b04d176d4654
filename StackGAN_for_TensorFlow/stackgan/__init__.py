"""StackGAN (Zhang et al., ICCV 2017): two-stage text-to-image synthesis in TensorFlow 2 / Keras 3.

    networks.py  conditioning augmentation (CA) and its KL term, Stage-I G and D (64 px),
                 Stage-II G and D (256 px), as the reference code (imports no training code)
"""
