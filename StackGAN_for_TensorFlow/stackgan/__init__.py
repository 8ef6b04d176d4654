"""StackGAN (Zhang et al., ICCV 2017): two-stage text-to-image synthesis in TensorFlow 2 / Keras 3.

    config.py    StackGANConfig (one class, a ``stage`` field), presets paper / tiny / demo,
                 the YAML key of every field
    networks.py  conditioning augmentation (CA) and its KL term, Stage-I G and D (64 px),
                 Stage-II G and D (256 px), as the reference code (imports no training code)
    losses.py    matching-aware D loss (real / wrong / fake), G loss + 2 KL: pure functions
    step.py      one D then one G update of a stage; the reference's lr halvings
    data.py      the reference's pickles (through safe_pickle), preprocess_birds / _flowers,
                 the training batches (crops, flips, wrong images, 4-of-10 caption means)
    train.py     build(cfg, run) -> common_tools.training.Loop; train(...)
    infer.py     generators from a run (no training code), previews, the test-set grids
    export.py    the deterministic and the card's serving graphs, freezing to .pb / .onnx
    paths.py     run folders and checkpoint paths (TRAIN.PRETRAINED_MODEL), no TensorFlow
    cli.py       stageI/run_exp.py and stageII/run_exp.py: YAML, --set, --gpu, train / inference
"""
