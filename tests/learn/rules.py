"""Three steps of each optimizer's published rule, worked out by hand: the table both the
optimizer classes (tests/learn/test_optim.py) and their pure update functions
(tests/learn/test_updates.py) are checked against."""

from __future__ import annotations

import math

import numpy as np

from descend.learn.optim import (
    SGD,
    Adagrad,
    Adam,
    AdamW,
    RMSprop,
    adagrad_update,
    adam_update,
    adamw_update,
    rmsprop_update,
    sgd_update,
)

P0 = np.array([1.0, -2.0])
G1 = np.array([0.5, -1.0])
G2 = np.array([0.1, 0.3])
G3 = np.array([-0.2, 0.4])
GRADS = [G1, G2, G3]


def run_pure(update, hyper: dict) -> list[np.ndarray]:
    """The parameter after each of three calls of the pure function ``update``."""
    p, state, trajectory = P0.copy(), {}, []
    for g in GRADS:
        p, state = update(p, g, state, **hyper)
        trajectory.append(p)
    return trajectory


# ----- three steps of each rule, by hand --------------------------------------------
def by_hand_sgd():
    lr = 0.1
    p1 = P0 - lr * G1
    p2 = p1 - lr * G2
    p3 = p2 - lr * G3
    return [p1, p2, p3]


def by_hand_sgd_weight_decay():
    lr, wd = 0.1, 0.5
    p1 = P0 - lr * (G1 + wd * P0)
    p2 = p1 - lr * (G2 + wd * p1)
    p3 = p2 - lr * (G3 + wd * p2)
    return [p1, p2, p3]


def by_hand_sgd_momentum():
    lr, mu = 0.1, 0.9
    v1 = G1  # PyTorch: the first velocity is the gradient itself
    p1 = P0 - lr * v1
    v2 = mu * v1 + G2
    p2 = p1 - lr * v2
    v3 = mu * v2 + G3
    p3 = p2 - lr * v3
    return [p1, p2, p3]


def by_hand_sgd_nesterov_weight_decay():
    lr, mu, wd = 0.1, 0.9, 0.5
    g1 = G1 + wd * P0
    v1 = g1
    p1 = P0 - lr * (g1 + mu * v1)
    g2 = G2 + wd * p1
    v2 = mu * v1 + g2
    p2 = p1 - lr * (g2 + mu * v2)
    g3 = G3 + wd * p2
    v3 = mu * v2 + g3
    p3 = p2 - lr * (g3 + mu * v3)
    return [p1, p2, p3]


def by_hand_adam():
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    m1 = (1 - b1) * G1
    v1 = (1 - b2) * G1**2
    p1 = P0 - lr / (1 - b1) * m1 / (np.sqrt(v1) / math.sqrt(1 - b2) + eps)
    m2 = b1 * m1 + (1 - b1) * G2
    v2 = b2 * v1 + (1 - b2) * G2**2
    p2 = p1 - lr / (1 - b1**2) * m2 / (np.sqrt(v2) / math.sqrt(1 - b2**2) + eps)
    m3 = b1 * m2 + (1 - b1) * G3
    v3 = b2 * v2 + (1 - b2) * G3**2
    p3 = p2 - lr / (1 - b1**3) * m3 / (np.sqrt(v3) / math.sqrt(1 - b2**3) + eps)
    return [p1, p2, p3]


def by_hand_adam_weight_decay_amsgrad():
    lr, b1, b2, eps, wd = 0.1, 0.5, 0.6, 1e-3, 0.2
    g1 = G1 + wd * P0  # Adam's weight decay is an L2 term added to the gradient
    m1 = (1 - b1) * g1
    v1 = (1 - b2) * g1**2
    vmax1 = v1
    p1 = P0 - lr / (1 - b1) * m1 / (np.sqrt(vmax1) / math.sqrt(1 - b2) + eps)
    g2 = G2 + wd * p1
    m2 = b1 * m1 + (1 - b1) * g2
    v2 = b2 * v1 + (1 - b2) * g2**2
    vmax2 = np.maximum(vmax1, v2)
    p2 = p1 - lr / (1 - b1**2) * m2 / (np.sqrt(vmax2) / math.sqrt(1 - b2**2) + eps)
    g3 = G3 + wd * p2
    m3 = b1 * m2 + (1 - b1) * g3
    v3 = b2 * v2 + (1 - b2) * g3**2
    vmax3 = np.maximum(vmax2, v3)
    p3 = p2 - lr / (1 - b1**3) * m3 / (np.sqrt(vmax3) / math.sqrt(1 - b2**3) + eps)
    # the second moment shrinks on step 2 (g2 is small), so the max is not v: amsgrad matters
    assert (vmax2 > v2).all()
    return [p1, p2, p3]


def by_hand_adamw():
    lr, b1, b2, eps, wd = 0.1, 0.9, 0.999, 1e-8, 0.5
    q1 = P0 * (1 - lr * wd)  # decoupled: shrink the weights, then an Adam step on the raw g
    m1 = (1 - b1) * G1
    v1 = (1 - b2) * G1**2
    p1 = q1 - lr / (1 - b1) * m1 / (np.sqrt(v1) / math.sqrt(1 - b2) + eps)
    q2 = p1 * (1 - lr * wd)
    m2 = b1 * m1 + (1 - b1) * G2
    v2 = b2 * v1 + (1 - b2) * G2**2
    p2 = q2 - lr / (1 - b1**2) * m2 / (np.sqrt(v2) / math.sqrt(1 - b2**2) + eps)
    q3 = p2 * (1 - lr * wd)
    m3 = b1 * m2 + (1 - b1) * G3
    v3 = b2 * v2 + (1 - b2) * G3**2
    p3 = q3 - lr / (1 - b1**3) * m3 / (np.sqrt(v3) / math.sqrt(1 - b2**3) + eps)
    return [p1, p2, p3]


def by_hand_rmsprop():
    lr, alpha, eps = 0.01, 0.9, 1e-8
    s1 = (1 - alpha) * G1**2
    p1 = P0 - lr * G1 / (np.sqrt(s1) + eps)
    s2 = alpha * s1 + (1 - alpha) * G2**2
    p2 = p1 - lr * G2 / (np.sqrt(s2) + eps)
    s3 = alpha * s2 + (1 - alpha) * G3**2
    p3 = p2 - lr * G3 / (np.sqrt(s3) + eps)
    return [p1, p2, p3]


def by_hand_rmsprop_momentum_weight_decay():
    lr, alpha, eps, mu, wd = 0.01, 0.9, 1e-8, 0.5, 0.1
    g1 = G1 + wd * P0
    s1 = (1 - alpha) * g1**2
    b1 = g1 / (np.sqrt(s1) + eps)  # PyTorch: the buffer starts at zero, so b1 = 0*mu + g/avg
    p1 = P0 - lr * b1
    g2 = G2 + wd * p1
    s2 = alpha * s1 + (1 - alpha) * g2**2
    b2 = mu * b1 + g2 / (np.sqrt(s2) + eps)
    p2 = p1 - lr * b2
    g3 = G3 + wd * p2
    s3 = alpha * s2 + (1 - alpha) * g3**2
    b3 = mu * b2 + g3 / (np.sqrt(s3) + eps)
    p3 = p2 - lr * b3
    return [p1, p2, p3]


def by_hand_rmsprop_centered():
    lr, alpha, eps = 0.01, 0.9, 1e-8
    s1 = (1 - alpha) * G1**2
    a1 = (1 - alpha) * G1
    p1 = P0 - lr * G1 / (np.sqrt(s1 - a1**2) + eps)
    s2 = alpha * s1 + (1 - alpha) * G2**2
    a2 = alpha * a1 + (1 - alpha) * G2
    p2 = p1 - lr * G2 / (np.sqrt(s2 - a2**2) + eps)
    s3 = alpha * s2 + (1 - alpha) * G3**2
    a3 = alpha * a2 + (1 - alpha) * G3
    p3 = p2 - lr * G3 / (np.sqrt(s3 - a3**2) + eps)
    return [p1, p2, p3]


def by_hand_adagrad():
    lr, eps = 0.1, 1e-10
    s1 = G1**2
    p1 = P0 - lr * G1 / (np.sqrt(s1) + eps)
    s2 = s1 + G2**2
    p2 = p1 - lr * G2 / (np.sqrt(s2) + eps)
    s3 = s2 + G3**2
    p3 = p2 - lr * G3 / (np.sqrt(s3) + eps)
    return [p1, p2, p3]


def by_hand_adagrad_lr_decay_initial_weight_decay():
    lr, decay, init, wd, eps = 0.1, 0.5, 0.3, 0.2, 1e-6
    g1 = G1 + wd * P0
    s1 = init + g1**2
    p1 = P0 - lr / (1 + 0 * decay) * g1 / (np.sqrt(s1) + eps)
    g2 = G2 + wd * p1
    s2 = s1 + g2**2
    p2 = p1 - lr / (1 + 1 * decay) * g2 / (np.sqrt(s2) + eps)
    g3 = G3 + wd * p2
    s3 = s2 + g3**2
    p3 = p2 - lr / (1 + 2 * decay) * g3 / (np.sqrt(s3) + eps)
    return [p1, p2, p3]


SGD_DEFAULTS = dict(lr=0.1, momentum=0.0, nesterov=False, weight_decay=0.0)
ADAM_DEFAULTS = dict(lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False)
RMSPROP_DEFAULTS = dict(
    lr=0.01, alpha=0.9, eps=1e-8, momentum=0.0, centered=False, weight_decay=0.0
)


ADAGRAD_DEFAULTS = dict(
    lr=0.1, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10
)


CASES = {
    "sgd": (SGD, sgd_update, SGD_DEFAULTS, by_hand_sgd),
    "sgd weight_decay": (
        SGD,
        sgd_update,
        {**SGD_DEFAULTS, "weight_decay": 0.5},
        by_hand_sgd_weight_decay,
    ),
    "sgd momentum": (SGD, sgd_update, {**SGD_DEFAULTS, "momentum": 0.9}, by_hand_sgd_momentum),
    "sgd nesterov weight_decay": (
        SGD,
        sgd_update,
        {**SGD_DEFAULTS, "momentum": 0.9, "nesterov": True, "weight_decay": 0.5},
        by_hand_sgd_nesterov_weight_decay,
    ),
    "adam": (Adam, adam_update, ADAM_DEFAULTS, by_hand_adam),
    "adam weight_decay amsgrad": (
        Adam,
        adam_update,
        dict(lr=0.1, betas=(0.5, 0.6), eps=1e-3, weight_decay=0.2, amsgrad=True),
        by_hand_adam_weight_decay_amsgrad,
    ),
    "adamw": (AdamW, adamw_update, {**ADAM_DEFAULTS, "weight_decay": 0.5}, by_hand_adamw),
    "rmsprop": (RMSprop, rmsprop_update, RMSPROP_DEFAULTS, by_hand_rmsprop),
    "rmsprop momentum weight_decay": (
        RMSprop,
        rmsprop_update,
        {**RMSPROP_DEFAULTS, "momentum": 0.5, "weight_decay": 0.1},
        by_hand_rmsprop_momentum_weight_decay,
    ),
    "rmsprop centered": (
        RMSprop,
        rmsprop_update,
        {**RMSPROP_DEFAULTS, "centered": True},
        by_hand_rmsprop_centered,
    ),
    "adagrad": (Adagrad, adagrad_update, ADAGRAD_DEFAULTS, by_hand_adagrad),
    "adagrad lr_decay initial weight_decay": (
        Adagrad,
        adagrad_update,
        dict(lr=0.1, lr_decay=0.5, weight_decay=0.2, initial_accumulator_value=0.3, eps=1e-6),
        by_hand_adagrad_lr_decay_initial_weight_decay,
    ),
}
