"""The callbacks package as a whole: the arguments of its callbacks are checked where they
enter, in one message format. Each callback has its own file beside this one."""

import pytest

from descend.errors import InputError
from descend.learn.callbacks import Convergence, Divergence, EarlyStopping


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Convergence(tol=-1), r"'tol' parameter of Convergence must be a float in \[0"),
        (lambda: EarlyStopping(monitor="acc"), "'monitor' parameter of EarlyStopping"),
        (lambda: EarlyStopping(patience=1.5), "'patience' parameter of EarlyStopping"),
        (lambda: Divergence(factor=0.5), "'factor' parameter of Divergence"),
        (lambda: Divergence(lr_factor=1), "'lr_factor' parameter of Divergence"),
    ],
)
def test_bad_arguments(build, message):
    with pytest.raises(InputError, match=message):
        build()
