"""StarGAN (Choi et al., CVPR 2018) in TensorFlow 2 / Keras 3.

    config.py    StarGANConfig: paper defaults, presets paper / tiny / demo, c_dim derived
    networks.py  Generator and Discriminator, as in the paper (imports no training code)
    losses.py    WGAN-GP, domain classification and reconstruction losses (pure functions)
    step.py      one training iteration (D every iteration, G every n_critic)
    data.py      the reference split and tf.data pipelines (common_tools.celeba)
    train.py     build(cfg, run) -> the shared driver's Loop (common_tools.training); train(...)
    test.py      test-phase translation grids
    export.py    the serving tf.function (x_real, c_trg -> G/Tanh), freezing to .pb / ONNX, G from a run
    offline.py   .bin folders + manifest for msame / the runner (common_tools.offline), outputs to grids
    evaluate.py  translation accuracy, reconstruction error and FID
"""
