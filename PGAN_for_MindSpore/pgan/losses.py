"""WGAN-GP with the epsilon drift term (Karras et al., ICLR 2018, section 4 and appendix A.1), as pure
functions of D's scores and of the gradient D gives at the mixed images. Sums over the batch, as in
pytorch_GAN_zoo; D's scores are [N, 1].

    D loss = wgan_d + gradient_penalty + epsilon_drift
           = -sum D(x) + sum D(G(z)) + lambda * sum_i (||grad_x^ D(x^_i)||_2 - 1)^2 + eps * sum D(x)^2
    G loss = -sum D(G(z))
    x^ = e * x + (1 - e) * G(z),  e ~ U[0, 1] per image, drawn afresh every step (mix_images)

The gradient grad_x^ D(x^) itself needs D: the step computes it (in a compiled graph, see
pgan/customer_layer.py) and hands it to :func:`gradient_penalty`.

Example::

    import mindspore as ms
    from pgan import losses
    real, fake = ms.Tensor([[1.0], [2.0]]), ms.Tensor([[0.5], [-1.0]])
    losses.wgan_d(real, fake)          # -(1 + 2) + (0.5 - 1) = -3.5
    losses.epsilon_drift(real)         # 0.001 * (1 + 4) = 0.005
"""

from mindspore import ops


def wgan_d(real_scores, fake_scores):
    """-sum D(x) + sum D(G(z)): the critic's Wasserstein estimate, negated."""
    return -ops.sum(real_scores) + ops.sum(fake_scores)


def wgan_g(fake_scores):
    """-sum D(G(z))."""
    return -ops.sum(fake_scores)


def epsilon_drift(real_scores, epsilon=0.001):
    """epsilon * sum D(x)^2: keeps the critic's output from drifting far from 0."""
    return epsilon * ops.sum(real_scores * real_scores)


def mix_images(real, fake, e):
    """x^ = e * x + (1 - e) * G(z); e [N, 1, 1, 1] in [0, 1], a fresh draw every step."""
    return e * real + (1.0 - e) * fake


def gradient_penalty(grads, weight=10.0):
    """weight * sum_i (||g_i||_2 - 1)^2 for g = grad_x^ D(x^) [N, ...].

    The norm is sqrt(sum g^2 + 1e-12): the tiny constant keeps the derivative of the norm finite
    where g = 0 (it moves the norm by at most 1e-6).
    """
    n = grads.shape[0]
    norms = ops.sqrt(ops.sum((grads * grads).reshape(n, -1), 1) + 1e-12)  # (N,)
    return weight * ops.sum((norms - 1.0) ** 2)
