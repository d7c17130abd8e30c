"""The one exception type for bad user input.

Every message is one line that names the problem and the fix; the command
line prints it and exits with status 2.

>>> from descend.errors import InputError
>>> str(InputError("The 'lr' parameter of SGD must be a float in (0, inf). Got -0.1 instead."))
"The 'lr' parameter of SGD must be a float in (0, inf). Got -0.1 instead."
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input: a file, a column, a parameter or a value that cannot be used."""
