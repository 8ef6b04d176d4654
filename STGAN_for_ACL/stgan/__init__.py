"""STGAN (Liu et al., CVPR 2019) in TensorFlow 2 / Keras 3: networks, losses, training, the offline model."""
