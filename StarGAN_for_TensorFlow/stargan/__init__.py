"""StarGAN (Choi et al., CVPR 2018) in TensorFlow 2 / Keras 3.

    config.py    StarGANConfig: paper defaults and the presets paper / tiny / demo
    networks.py  Generator and Discriminator, as in the paper (imports no training code)
    losses.py    WGAN-GP, domain classification and reconstruction losses (pure functions)
    step.py      one training iteration (D every iteration, G every n_critic)
    data.py      the reference split and tf.data pipelines (common_tools.celeba)
    train.py     the training loop: data, checkpoints, logs, sample grids, resume
    test.py      test-phase translation grids
    export.py    the serving tf.function (x_real, c_trg -> G/Tanh) and freezing to .pb / ONNX
    offline.py   .bin folders for msame / the open runner, and their outputs back to grids
    evaluate.py  translation accuracy, reconstruction error and FID
"""
