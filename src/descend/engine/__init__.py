"""The autograd engine: Tensors, differentiable primitives and their VJPs, reverse mode.

Imports NumPy (through ``backend.xp``) and nothing of descend above it.
"""
