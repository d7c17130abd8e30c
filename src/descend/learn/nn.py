"""Modules: models made of parameters, as in PyTorch.

``Linear`` computes the lesson's ``X @ weights + bias``, with ``weight`` of
shape ``(in_features, out_features)``.

>>> import numpy as np, descend
>>> from descend import nn
>>> layer = nn.Linear(3, 1, init="zeros")
>>> layer(np.ones((2, 3))).shape
(2, 1)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .._validation import (
    NONE,
    Boolean,
    Constraints,
    Interval,
    Options,
    Satisfies,
    at_least,
    check,
    register,
)
from ..engine import functional as F
from ..engine import ops
from ..engine.backend import xp
from ..engine.tensor import Tensor
from ..errors import InputError

# ----- initialisers ------------------------------------------------------------------
Initialiser = Callable[[tuple[int, ...], Any], Any]


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) < 2:
        return shape[0] if shape else 1, shape[0] if shape else 1
    return shape[0], shape[1]


def zeros(shape: tuple[int, ...], rng: Any = None) -> Any:
    """All zeros, as in the lesson: ``zeros((3, 1))``."""
    return xp.zeros(shape)


def xavier_uniform(shape: tuple[int, ...], rng: Any) -> Any:
    """Glorot & Bengio (2010): U(-a, a) with a = sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(shape)
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, size=shape)


def xavier_normal(shape: tuple[int, ...], rng: Any) -> Any:
    """Glorot & Bengio (2010): N(0, 2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(shape)
    return rng.normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), size=shape)


def he_uniform(shape: tuple[int, ...], rng: Any) -> Any:
    """He et al. (2015), for ReLU layers: U(-a, a) with a = sqrt(6 / fan_in)."""
    fan_in, _ = _fans(shape)
    bound = math.sqrt(6.0 / fan_in)
    return rng.uniform(-bound, bound, size=shape)


def he_normal(shape: tuple[int, ...], rng: Any) -> Any:
    """He et al. (2015), for ReLU layers: N(0, 2 / fan_in)."""
    fan_in, _ = _fans(shape)
    return rng.normal(0.0, math.sqrt(2.0 / fan_in), size=shape)


INITIALISERS: dict[str, Initialiser] = {
    "zeros": zeros,
    "xavier": xavier_uniform,
    "xavier_uniform": xavier_uniform,
    "glorot": xavier_uniform,
    "xavier_normal": xavier_normal,
    "he": he_uniform,
    "kaiming": he_uniform,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
}


INIT = [Options(*INITIALISERS), Satisfies(callable, "a function (shape, rng) -> array")]
"""The constraints of an ``init`` parameter."""
SEED = [Interval(int, 0, None, "left"), NONE]
DTYPE = [
    Satisfies(
        lambda d: xp.dtype(d).kind == "f", "a float dtype such as 'float64' or 'float32'", "int64"
    )
]


def _initialiser(init: str | Initialiser) -> Initialiser:
    return init if callable(init) else INITIALISERS[init]


# ----- parameters and modules --------------------------------------------------------
class Parameter(Tensor):
    """A tensor that a Module learns: it always requires gradients.

    >>> Parameter([1.0, 2.0]).requires_grad
    True
    """

    __slots__ = ()

    def __init__(self, data: Any, dtype: Any = None) -> None:
        super().__init__(data, requires_grad=True, dtype=dtype)

    def __repr__(self) -> str:
        return "Parameter(" + super().__repr__()[len("tensor(") :]


MODULES: dict[str, type[Module]] = {}
"""Module classes by name, for rebuilding a model from its saved config."""


class Module:
    """Base class of every model: holds Parameters and sub-Modules in attribute order.

    >>> class Line(Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.w = Parameter([2.0])
    ...     def forward(self, x):
    ...         return x * self.w
    >>> Line()(Tensor([3.0])).item()
    6.0
    """

    training: bool
    _parameters: dict[str, Parameter]
    _modules: dict[str, Module]

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "training", True)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        MODULES[cls.__name__] = cls

    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise RuntimeError(
                f"{type(self).__name__}.__init__ must call super().__init__() before "
                "assigning attributes."
            )
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def forward(self, *args: Any) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must define forward().")

    def __call__(self, *args: Any) -> Tensor:
        return self.forward(*args)

    # ----- parameters -------------------------------------------------------------
    def named_parameters(self, prefix: str = "") -> list[tuple[str, Parameter]]:
        """Every parameter with its dotted name, in definition order: ``[('0.weight', ...)]``."""
        named = [(prefix + name, p) for name, p in self._parameters.items()]
        for name, module in self._modules.items():
            named.extend(module.named_parameters(prefix + name + "."))
        return named

    def parameters(self) -> list[Parameter]:
        """Every parameter, in definition order (a list: order matters to optimizers)."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        """Forget the gradients of every parameter."""
        for p in self.parameters():
            p.grad = None

    def state_dict(self) -> dict[str, Any]:
        """A copy of every parameter's values by dotted name."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Copy values into the parameters; names and shapes must match exactly."""
        named = dict(self.named_parameters())
        missing = sorted(set(named) - set(state))
        unexpected = sorted(set(state) - set(named))
        if missing or unexpected:
            raise InputError(
                f"load_state_dict: the state does not fit this {type(self).__name__}: "
                f"missing {missing}, unexpected {unexpected}. Load weights saved from the "
                "same architecture."
            )
        for name, p in named.items():
            value = xp.asarray(state[name])
            if value.shape != p.data.shape:
                raise InputError(
                    f"load_state_dict: '{name}' has shape {value.shape} in the state but "
                    f"{p.data.shape} in the model. Load weights saved from the same architecture."
                )
            p.data[...] = value

    def train(self, mode: bool = True) -> Module:
        """Switch training behaviour (Dropout) on or off; returns self."""
        object.__setattr__(self, "training", mode)
        for module in self._modules.values():
            module.train(mode)
        return self

    def eval(self) -> Module:
        """Switch to evaluation behaviour (no Dropout); returns self."""
        return self.train(False)

    # ----- architecture as data, for the model file -------------------------------
    def config(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this module (JSON-serialisable)."""
        return {}

    def to_config(self) -> dict[str, Any]:
        """``{'type': name, 'config': {...}}``; ``nn.from_config`` rebuilds the module."""
        return {"type": type(self).__name__, "config": self.config()}

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.config().items())

    def __repr__(self) -> str:
        if not self._modules:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        for name, module in self._modules.items():
            body = repr(module).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        lines.append(")")
        return "\n".join(lines)


def from_config(spec: dict[str, Any]) -> Module:
    """Rebuild a module from ``Module.to_config()``: ``from_config(model.to_config())``."""
    if not isinstance(spec, dict) or spec.get("type") not in MODULES:
        known = sorted(MODULES)
        got = spec.get("type") if isinstance(spec, dict) else spec
        raise InputError(f"Unknown module type {got!r} in the model config; known: {known}.")
    cls = MODULES[spec["type"]]
    config = spec.get("config", {})
    if not isinstance(config, dict):
        raise InputError(
            f"The config of a {spec['type']} must be a dict of its constructor's arguments; "
            f"got {type(config).__name__}. Pass what to_config() made."
        )
    if cls is Sequential:
        layers = config.get("layers")
        if set(config) != {"layers"} or not isinstance(layers, list):
            raise InputError(
                f"The config of a Sequential must be {{'layers': [...]}}; got keys {sorted(config)}."
            )
        return Sequential(*[from_config(child) for child in layers])
    try:
        return cls(**config)
    except TypeError as error:  # an argument the constructor does not take
        raise InputError(
            f"The config of a {spec['type']} does not fit its constructor ({error}). "
            "Pass what to_config() made."
        ) from None


_default_rng = xp.random.default_rng(0)


def manual_seed(seed: int) -> None:
    """Seed the generator that layers built without a ``seed`` draw from."""
    global _default_rng
    _default_rng = xp.random.default_rng(seed)


def _rng(seed: Any) -> Any:
    return _default_rng if seed is None else xp.random.default_rng(seed)


class Linear(Module):
    """y = x @ weight + bias, with weight of shape (in_features, out_features).

    >>> Linear(4, 2).weight.shape
    (4, 2)
    """

    _constraints: Constraints = {
        "in_features": [at_least(1)],
        "out_features": [at_least(1)],
        "bias": [Boolean()],
        "init": INIT,
        "seed": SEED,
        "dtype": DTYPE,
    }

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        init: str | Initialiser = "xavier",
        seed: int | None = None,
        dtype: str = "float64",
    ) -> None:
        super().__init__()
        check("Linear", self._constraints, dict(locals()))
        self.in_features = in_features
        self.out_features = out_features
        self.init = init
        self.seed = seed
        self.dtype = dtype
        values = _initialiser(init)((in_features, out_features), _rng(seed))
        self.weight = Parameter(xp.asarray(values, dtype=dtype))
        self.bias = Parameter(xp.zeros(out_features, dtype=dtype)) if bias else None

    def forward(self, x: Any) -> Tensor:
        if self.bias is None:
            return ops.matmul(x, self.weight)
        return ops.linear(x, self.weight, self.bias)

    def config(self) -> dict[str, Any]:
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "bias": self.bias is not None,
            "init": self.init if isinstance(self.init, str) else "xavier",
            "seed": self.seed,
            "dtype": xp.dtype(self.dtype).name,
        }


class Sequential(Module):
    """Modules applied one after another: ``Sequential(Linear(2, 8), ReLU(), Linear(8, 1))``."""

    def __init__(self, *layers: Module) -> None:
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise InputError(
                    f"Sequential takes Modules; argument {i} is a {type(layer).__name__}. "
                    "Wrap functions in a Module."
                )
            setattr(self, str(i), layer)

    def forward(self, x: Any) -> Tensor:
        for layer in self._modules.values():
            x = layer(x)
        return x

    def __getitem__(self, i: int) -> Module:
        return list(self._modules.values())[i]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def config(self) -> dict[str, Any]:
        return {"layers": [m.to_config() for m in self._modules.values()]}


class ReLU(Module):
    """max(x, 0)."""

    def forward(self, x: Any) -> Tensor:
        return ops.relu(x)


class Tanh(Module):
    """tanh(x)."""

    def forward(self, x: Any) -> Tensor:
        return ops.tanh(x)


class Sigmoid(Module):
    """1 / (1 + e^-x)."""

    def forward(self, x: Any) -> Tensor:
        return ops.sigmoid(x)


class LeakyReLU(Module):
    """x if x > 0 else negative_slope * x."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: Any) -> Tensor:
        return F.leaky_relu(x, self.negative_slope)

    def config(self) -> dict[str, Any]:
        return {"negative_slope": self.negative_slope}


class GELU(Module):
    """Gaussian error linear unit (tanh approximation)."""

    def forward(self, x: Any) -> Tensor:
        return F.gelu(x)


class Softmax(Module):
    """softmax(x) along ``axis``."""

    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        self.axis = axis

    def forward(self, x: Any) -> Tensor:
        return F.softmax(x, axis=self.axis)

    def config(self) -> dict[str, Any]:
        return {"axis": self.axis}


class Dropout(Module):
    """Zero each value with probability p while training (scaling the rest by 1/(1-p))."""

    _constraints: Constraints = {"p": [Interval(float, 0, 1, "left")], "seed": SEED}

    def __init__(self, p: float = 0.5, seed: int | None = None) -> None:
        super().__init__()
        check("Dropout", self._constraints, {"p": p, "seed": seed})
        self.p = p
        self.seed = seed
        self._generator = xp.random.default_rng(seed)

    def forward(self, x: Any) -> Tensor:
        if not self.training or self.p == 0:
            return x if isinstance(x, Tensor) else Tensor(x)
        shape = x.shape if hasattr(x, "shape") else xp.shape(x)
        keep = self._generator.random(shape) >= self.p
        return ops.multiply(x, keep / (1 - self.p))

    def config(self) -> dict[str, Any]:
        return {"p": self.p, "seed": self.seed}


ACTIVATIONS: dict[str, type[Module]] = {
    "relu": ReLU,
    "tanh": Tanh,
    "sigmoid": Sigmoid,
    "leaky_relu": LeakyReLU,
    "gelu": GELU,
}


def _layer_sizes(sizes: Any) -> bool:
    if not isinstance(sizes, (list, tuple)) or len(sizes) < 2:
        return False
    return all(at_least(1).satisfied(s) or (hasattr(s, "__index__") and s >= 1) for s in sizes)


class MLP(Sequential):
    """A multi-layer perceptron: Linear layers of ``sizes`` with an activation between.

    >>> MLP([2, 16, 1]).parameters()[0].shape
    (2, 16)
    """

    _mlp_config: dict[str, Any]
    _constraints: Constraints = {
        "sizes": [
            Satisfies(
                _layer_sizes,
                "a list of at least two layer sizes >= 1 (inputs and outputs), like [4, 32, 1]",
                invalid=[4],
            )
        ],
        "activation": [Options(*ACTIVATIONS)],
        "dropout": [Interval(float, 0, 1, "left")],
        "init": [*INIT, NONE],
        "seed": SEED,
        "dtype": DTYPE,
    }

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str = "relu",
        dropout: float = 0.0,
        init: str | None = None,
        seed: int | None = 0,
        dtype: str = "float64",
    ) -> None:
        check("MLP", self._constraints, dict(locals()))
        sizes = [int(s) for s in sizes]
        dtype = xp.dtype(dtype).name
        super().__init__(
            *map(from_config, mlp_layers(sizes, activation, dropout, init, seed, dtype))
        )
        object.__setattr__(
            self,
            "_mlp_config",
            {
                "sizes": sizes,
                "activation": activation,
                "dropout": dropout,
                "init": init,
                "seed": seed,
                "dtype": dtype,
            },
        )

    def config(self) -> dict[str, Any]:
        return dict(self._mlp_config)


def mlp_layers(
    sizes: list[int],
    activation: str = "relu",
    dropout: float = 0.0,
    init: Any = None,
    seed: int | None = 0,
    dtype: str = "float64",
) -> list[dict[str, Any]]:
    """The configs of the layers ``MLP(sizes, ...)`` is made of, in order: what MLP builds,
    and what the model file's checker reads the weights' shapes from without building.

    >>> [layer["type"] for layer in mlp_layers([2, 8, 1])]
    ['Linear', 'ReLU', 'Linear']
    """
    layer_init = init or ("he" if activation in ("relu", "leaky_relu", "gelu") else "xavier")
    seeds = xp.random.SeedSequence(seed).generate_state(len(sizes)) if seed is not None else None
    between = ACTIVATIONS[activation]().to_config()
    layers: list[dict[str, Any]] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layer_seed = None if seeds is None else int(seeds[i])
        linear = {"in_features": n_in, "out_features": n_out, "bias": True, "init": layer_init}
        linear.update(seed=layer_seed, dtype=dtype)
        layers.append({"type": "Linear", "config": linear})
        if i < len(sizes) - 2:
            layers.append(between)
            if dropout:
                layers.append({"type": "Dropout", "config": {"p": dropout, "seed": layer_seed}})
    return layers


for _cls in (Linear, Dropout, MLP):
    register(_cls, _cls._constraints)
