"""BigBiGAN (Donahue & Simonyan, NeurIPS 2019), small conditional 32×32 form, in TensorFlow 2 / Keras 3.

    layers.py    spectral-norm Dense / Conv2D / Conv2DTranspose (u updated by training calls only),
                 conditional batch norm, self-attention, per-layer initializers
    networks.py  the generator G, the discriminator D = F (image) + H (latent) + J (joint) and the
                 RevNet encoder E, as in the reference (imports no training code)
    config.py    BigBiGANConfig (arch / sched fields, a comment per field; presets paper, tiny, demo)
    losses.py    the hinge losses over s_x, s_z, s_xz (pure functions)
    step.py      one iteration: n_disc D updates + one joint G+E update; z from a checkpointed generator
    data.py      MNIST / Fashion-MNIST / CIFAR-10 / SynthDigits read offline (common_tools.imagesets)
    train.py     build(cfg, run) -> common_tools.training.Loop, and train()
    export.py    the card's offline model (x1, x2 -> G/Sigmoid): freeze, ONNX, load G for inference
    offline.py   the card's .bin files (fake_image.bin, label.bin, gpu/pb/om outputs) and their comparison
"""
