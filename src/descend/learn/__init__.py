"""Making a model learn: modules, losses, optimizers, schedules, the loop and its callbacks.

Imports the engine and the data layer; never ``understand/`` or anything above.
"""
