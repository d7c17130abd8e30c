"""Settings the suite needs before any test module is imported."""

import os

# scikit-learn's estimator checks include an array API check (tests/estimators/test_checks.py)
# that SciPy allows only when this is set before SciPy is first imported; it changes nothing
# for NumPy arrays.
os.environ.setdefault("SCIPY_ARRAY_API", "1")
