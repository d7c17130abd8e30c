"""Callbacks: the decisions around the training loop, outside it (one class a file, as Keras).

Stopping is a callback's decision, recorded as ``history.stop_reason``:
``Convergence`` (the loss stopped improving), ``EarlyStopping`` (a monitored
loss stopped improving; best weights restored) and ``Divergence`` (the loss
blew up; the best weights so far restored, optionally recovering with a smaller
learning rate). ``LearningRateSchedule``, ``ValidationLoss``, ``UpdateCosine``
and ``EpochLog`` set the rate, measure and print; ``fit`` adds them as needed.
``Checkpoint`` writes the whole state of a run to a file and resumes from it.

>>> import numpy as np, descend
>>> from descend import nn
>>> X = np.linspace(0, 1, 20).reshape(-1, 1); y = 3 * X[:, 0] + 1
>>> h = descend.fit(nn.Linear(1, 1), X, y, lr=0.5, epochs=2000, verbose=False,
...                 callbacks=[Convergence(tol=1e-6, patience=5)])
>>> h.stop_reason
'converged'
"""

from .base import Callback, Cursor, Run
from .checkpoint import Checkpoint
from .convergence import Convergence, ConvergenceWarning
from .divergence import Divergence
from .early_stopping import EarlyStopping
from .epoch_log import EpochLog
from .schedule import LearningRateSchedule
from .update_cosine import UpdateCosine
from .validation import ValidationLoss

__all__ = [
    "Callback",
    "Checkpoint",
    "Convergence",
    "ConvergenceWarning",
    "Cursor",
    "Divergence",
    "EarlyStopping",
    "EpochLog",
    "LearningRateSchedule",
    "Run",
    "UpdateCosine",
    "ValidationLoss",
]
