"""noisesched from Python: noise schedules, the forward process, exact sampler plans, the sampler
loop, trained checkpoints and the input-scale advisor of the C++ system, for PyTorch users.

Everything here calls the same compiled code as the ``noisesched`` program (no second
implementation): a schedule evaluated here gives the program's numbers bit for bit, and
``sample`` on a loaded checkpoint with ``seed=`` gives the images ``noisesched sample --seed``
writes. Tensors are torch tensors and cross into the C++ code without copies.

Conventions (docs/python.md): ``t`` in [0, 1] with t = 0 clean; ``gamma(t)`` is the signal
variance; images ``x0`` are in [-1, 1]; the input scale ``b`` multiplies ``x0`` before noising,
``z = sqrt(gamma) b x0 + sqrt(1 - gamma) eps``; a network sees ``normalise(z)`` and the noise level
``ln(b^2 gamma / (1 - gamma))`` clamped to [-40, 40]; class labels are ints in [0, K) and K means
"no class" (unconditional, and the null half of classifier-free guidance).
Errors are raised as ``noisesched.Error`` (a ``ValueError``) with the C++ message.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Callable, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
import torch  # loads LibTorch before the extension module that links it

from . import _core
from ._core import Error

Error.__module__ = "noisesched"  # tracebacks say noisesched.Error, where users catch it

__all__ = [
    "Error",
    "Schedule",
    "families",
    "convert",
    "Plan",
    "plan",
    "sample",
    "Model",
    "load",
    "Advice",
    "advise",
]

ArrayLike = Union[float, Sequence[float], np.ndarray, torch.Tensor]
TARGETS = ("eps", "x0", "v")


def _numbers(values, what: str):
    """Refuses what is not a number, a sequence of numbers, an array or a tensor of them."""
    if values is None or isinstance(values, (str, bytes, bool)):
        raise Error(f"{what} must be a number, a sequence, a numpy array or a torch tensor "
                    f"(got {values!r})")
    if isinstance(values, torch.Tensor) and (values.is_complex() or values.dtype == torch.bool):
        raise Error(f"{what} must be real numbers (got a {values.dtype} tensor)")


def _vectorised(fn: Callable, values: ArrayLike, what: str = "t"):
    """Applies a vectorised double-precision function to a float, a sequence, a numpy array or a
    torch tensor, returning the same kind (a floating tensor keeps its device and dtype; an
    integer tensor gives float64)."""
    _numbers(values, what)
    if isinstance(values, torch.Tensor):
        result = torch.from_numpy(np.asarray(fn(values.detach().cpu().double().numpy())))
        dtype = values.dtype if values.is_floating_point() else torch.float64
        return result.to(device=values.device, dtype=dtype)
    if isinstance(values, numbers.Real) and not isinstance(values, bool):
        return float(fn(np.asarray(float(values))))
    return np.asarray(fn(np.asarray(values, dtype=np.float64)), dtype=np.float64)


def _per_example(t: ArrayLike, batch: int, what: str) -> List[float]:
    """t as one float per example: a number (the same for all) or `batch` values."""
    _numbers(t, what)
    if isinstance(t, numbers.Real):
        return [float(t)] * batch
    if isinstance(t, torch.Tensor):
        values = t.detach().cpu().double().reshape(-1).tolist()
    else:
        values = np.asarray(t, dtype=np.float64).reshape(-1).tolist()
    if len(values) == 1:
        return values * batch
    if len(values) != batch:
        raise Error(f"{what}: {len(values)} values for a batch of {batch}")
    return values


def _tensor(x, name: str, floating: bool = True) -> torch.Tensor:
    """x as it is when it is a torch tensor of at least one dimension (floating when asked)."""
    if not isinstance(x, torch.Tensor):
        raise Error(f"{name} must be a torch.Tensor [B, ...] (got {type(x).__name__})")
    if x.dim() < 1:
        raise Error(f"{name} must have a batch dimension [B, ...] (got a 0-d tensor)")
    if floating and not x.is_floating_point():
        raise Error(f"{name} must be a floating-point tensor (got {x.dtype})")
    return x


def _check_target(kind: str, what: str) -> str:
    if kind not in TARGETS:
        raise Error(f"{what}: target '{kind}' is not one of {', '.join(TARGETS)}")
    return kind


class Schedule:
    """A noise schedule gamma(t) with the input scale b and the input normalisation.

    ``spec`` is any schedule the program accepts (``noisesched schedule --list``): a family name
    (``cosine``), the positional form (``sigmoid@0,3,0.7``: start, end, tau) or the named form
    (``sigmoid:start=0,end=3,tau=0.7``, optionally ``clip_min=``). ``scale`` is b: a number > 0 or
    ``"auto:REF"`` (b = REF / resolution, which then needs ``resolution``). ``normalization`` is
    ``empirical`` (divide z by its own standard deviation per example, the paper's default),
    ``analytic`` (multiply by 1 / sqrt((b^2 - 1) gamma + 1)) or ``none``.

    The scalar functions accept a float, a sequence, a numpy array or a torch tensor and return
    the same kind, computed in double precision (no gradient flows through them).
    """

    def __init__(self, spec: str = "cosine", scale: Union[float, str] = 1.0,
                 normalization: str = "empirical", resolution: Optional[int] = None):
        if resolution is not None:
            resolution = _whole(resolution, "Schedule: resolution")
        self._core = _core.Setup(spec, scale, normalization, resolution)

    @classmethod
    def _from_core(cls, core) -> "Schedule":
        schedule = cls.__new__(cls)
        schedule._core = core
        return schedule

    @property
    def spec(self) -> str:
        """The canonical spec: ``Schedule(s.spec)`` is the same schedule, bit for bit."""
        return self._core.spec

    @property
    def scale(self) -> float:
        """b, resolved."""
        return self._core.scale

    @property
    def scale_text(self) -> str:
        """b as written: ``"0.5"`` or ``"auto:64"``."""
        return self._core.scale_text

    @property
    def normalization(self) -> str:
        """How z is normalised for the network: ``empirical``, ``analytic`` or ``none``."""
        return self._core.normalization

    @property
    def clip_min(self) -> float:
        """The floor gamma is clipped to."""
        return self._core.clip_min

    def gamma(self, t: ArrayLike):
        """gamma(t), clipped to [clip_min, 1]; t in [0, 1]."""
        return _vectorised(self._core.gamma, t)

    def one_minus_gamma(self, t: ArrayLike):
        """1 - gamma(t) to full relative precision (also where gamma is close to 1)."""
        return _vectorised(self._core.one_minus_gamma, t)

    def logsnr(self, t: ArrayLike):
        """The schedule's logSNR ln(gamma / (1 - gamma)) (before the input scale; +inf at gamma = 1)."""
        return _vectorised(self._core.logsnr, t)

    def effective_logsnr(self, t: ArrayLike):
        """ln(b^2 gamma / (1 - gamma)) = logsnr(t) + 2 ln b: the signal-to-noise ratio of z."""
        return _vectorised(self._core.effective_logsnr, t)

    def noise_level(self, t: ArrayLike):
        """What the network is conditioned on: effective_logsnr(t) clamped to [-40, 40]."""
        return _vectorised(self._core.noise_level, t)

    def t_of_logsnr(self, logsnr: ArrayLike):
        """The smallest t with logsnr(t) <= logsnr (the schedule's logSNR, not the effective one):
        0 above logsnr(0), 1 below logsnr(1)."""
        return _vectorised(self._core.t_of_logsnr, logsnr, "logsnr")

    def logsnr_density(self, logsnr: ArrayLike):
        """Density of the schedule's logSNR when t ~ U(0, 1); 0 outside (logsnr(1), logsnr(0))."""
        return _vectorised(self._core.logsnr_density, logsnr, "logsnr")

    def noise(self, x0: torch.Tensor, t: ArrayLike, generator: Optional[torch.Generator] = None,
              eps: Optional[torch.Tensor] = None, normalize: bool = True
              ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Noises a batch as training does: returns ``(z_t, eps)``.

        x0 [B, ...] in [-1, 1]; t a number or B values in [0, 1]; eps drawn from ``generator``
        (standard normal, like x0) unless given. z = sqrt(gamma) b x0 + sqrt(1 - gamma) eps per
        example; with ``normalize`` (the default) z_t is what the network sees, z normalised, else
        z itself (the space ``estimates`` works in). Gradients flow to x0 and eps.
        """
        _tensor(x0, "noise: x0")
        if eps is None:
            eps = torch.randn(x0.shape, generator=generator, dtype=x0.dtype, device=x0.device)
        _tensor(eps, "noise: eps")
        x_in, z = self._core.noise(x0, _per_example(t, x0.shape[0], "noise: t"), eps)
        return (x_in if normalize else z), eps

    def target(self, kind: str, x0: torch.Tensor, eps: torch.Tensor, t: ArrayLike) -> torch.Tensor:
        """What a network trained for ``kind`` (``eps``, ``x0`` or ``v``) must output for the z that
        ``noise(x0, t, eps=eps)`` made: eps, b x0 or v = sqrt(gamma) eps - sqrt(1 - gamma) b x0."""
        _check_target(kind, "target")
        _tensor(x0, "target: x0")
        _tensor(eps, "target: eps")
        return self._core.target(kind, x0, eps, _per_example(t, x0.shape[0], "target: t"))

    def estimates(self, kind: str, output: torch.Tensor, z: torch.Tensor, t: ArrayLike
                  ) -> Tuple[torch.Tensor, torch.Tensor]:
        """The x0 (in [-1, 1] units, i.e. divided by b) and eps estimates from a network's
        ``kind`` output at z (unnormalised, as ``noise(..., normalize=False)`` returns)."""
        _check_target(kind, "estimates")
        _tensor(output, "estimates: output")
        _tensor(z, "estimates: z")
        return tuple(self._core.estimates(kind, output, z, _per_example(t, z.shape[0], "estimates: t")))

    @property
    def resolution(self) -> Optional[int]:
        """The resolution an ``"auto:REF"`` scale was resolved for (None when not given)."""
        return self._core.resolution

    def _arguments(self) -> tuple:
        scale = self.scale_text if self.scale_text.startswith("auto:") else self.scale
        return self.spec, scale, self.normalization, self.resolution

    def __repr__(self) -> str:
        spec, scale, normalization, resolution = self._arguments()
        text = f"noisesched.Schedule({spec!r}, scale={scale!r}, normalization={normalization!r}"
        return text + (f", resolution={resolution})" if resolution is not None else ")")

    def __reduce__(self):
        return (Schedule, self._arguments())  # pickling, copying, DataLoader workers

    def __eq__(self, other) -> bool:
        return (isinstance(other, Schedule) and self.spec == other.spec
                and self.scale == other.scale and self.normalization == other.normalization)

    def __hash__(self) -> int:
        return hash((self.spec, self.scale, self.normalization))


def families() -> List[Tuple[str, dict, str]]:
    """Every schedule family: (name, {parameter: default} in positional order, summary)."""
    return [(name, dict(params), summary) for name, params, summary in _core.schedule_families()]


def convert(output: torch.Tensor, z: torch.Tensor, gamma: ArrayLike, source: str, dest: str
            ) -> torch.Tensor:
    """A network output of one parameterisation as another (``eps``, ``x0``, ``v``), at z with
    signal variance gamma (a number or one per example), where z = sqrt(gamma) x0 + sqrt(1 - gamma)
    eps (x0 here in z's units, i.e. b x0)."""
    _check_target(source, "convert")
    _check_target(dest, "convert")
    _tensor(output, "convert: output")
    _tensor(z, "convert: z")
    return _core.convert(output, z, _per_example(gamma, z.shape[0], "convert: gamma"), source, dest)


class Plan:
    """A sampler run with every coefficient, as ``noisesched schedule --table`` prints it.

    Each step evaluates the model at t_eval and updates
    z' = c_z z + c_x0 x0 + c_eps eps + c_x0_prev x0_prev + noise_std n (Heun adds
    c_correct (eps' - eps)); the last step's x0 is the result. ``plan[column]`` is a numpy array,
    ``plan.rows`` a list of dicts, ``str(plan)`` the printed table and ``plan.csv`` the CSV.
    """

    columns = ("step", "t_eval", "t_next", "gamma_eval", "gamma_next", "c_z", "c_x0", "c_eps",
               "c_x0_prev", "noise_std", "c_correct", "order", "rule")

    def __init__(self, recipe: str):
        self.recipe, self.evaluations, rows, self._table, self.csv = _core.plan(recipe)
        self.rows = [dict(zip(self.columns, row)) for row in rows]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, column: str) -> np.ndarray:
        if column not in self.columns:
            raise KeyError(f"{column!r} is not a column; columns: {', '.join(self.columns)}")
        values = [row[column] for row in self.rows]
        return np.asarray(values, dtype=object if column == "rule" else None)

    def __str__(self) -> str:
        return self._table

    def __repr__(self) -> str:
        return f"noisesched.Plan({self.recipe!r}: {len(self)} steps, {self.evaluations} evaluations)"


def plan(recipe: str = "ddpm") -> Plan:
    """The plan of an inference recipe such as ``"dpmpp_2m steps=25 guidance=1.5"`` (keys:
    sampler, eta, steps, td, schedule, guidance, clip; docs/sampling.md)."""
    return Plan(recipe)


class Model:
    """A denoiser restored from a training checkpoint (``load``).

    ``model(z, logsnr, classes, self_cond=None)`` returns the trained target for the normalised
    input z [B, C, H, W], the noise level [B] (effective logSNR) and labels [B] (K = no class): the
    signature ``sample`` takes. Its schedule (training schedule, b, normalisation), target and
    classes are the checkpoint's. Gradients flow to ``parameters()`` when autograd is on, so it can
    be fine-tuned with any torch optimizer (``model.train()`` first).
    """

    def __init__(self, core):
        self._core = core
        self.schedule = Schedule._from_core(core.setup)

    def __call__(self, z: torch.Tensor, logsnr: torch.Tensor, classes: torch.Tensor,
                 self_cond: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.forward(z, logsnr, classes, self_cond)[0]

    def forward(self, z: torch.Tensor, logsnr: torch.Tensor, classes: torch.Tensor,
                self_cond: Optional[torch.Tensor] = None
                ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """(prediction, latents): RIN also returns its final latents (its self-conditioning
        signal); the U-Net's is None and its self_cond is the previous x0 estimate (in z's units,
        b x0). ``logsnr`` and ``classes`` may be numbers or sequences (one per example)."""
        _tensor(z, "model: z")
        batch = z.shape[0]
        level = torch.as_tensor(logsnr, dtype=torch.float32, device=z.device)
        labels = torch.as_tensor(classes, device=z.device)
        if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
            raise Error(f"model: classes must be integers (got {labels.dtype})")
        level = level.expand(batch) if level.dim() == 0 else level
        labels = labels.expand(batch) if labels.dim() == 0 else labels
        if level.shape != (batch,) or labels.shape != (batch,):
            raise Error(f"model: logsnr {tuple(level.shape)} and classes {tuple(labels.shape)} "
                        f"must each be one value or {batch} (one per example)")
        if self_cond is not None:
            _tensor(self_cond, "model: self_cond")
        return tuple(self._core.forward(z, level, labels.to(torch.int64), self_cond))

    path = property(lambda self: self._core.path, doc="The checkpoint's step folder.")
    step = property(lambda self: self._core.step, doc="The training step it was saved at.")
    weights = property(lambda self: self._core.weights, doc='"ema" or "model".')
    target = property(lambda self: self._core.target, doc="eps, x0 or v.")
    self_condition = property(lambda self: self._core.self_condition,
                              doc="Whether it was trained with self-conditioning.")
    num_classes = property(lambda self: self._core.num_classes, doc="K (the null class is K).")
    class_conditional = property(lambda self: self._core.class_conditional)
    class_names = property(lambda self: list(self._core.class_names))
    channels = property(lambda self: self._core.channels)
    resolution = property(lambda self: self._core.resolution)
    architecture = property(lambda self: self._core.architecture, doc="rin or unet.")
    description = property(lambda self: self._core.description)
    config = property(lambda self: self._core.config, doc="The run's config.toml, resolved.")
    device = property(lambda self: torch.device(self._core.device))

    def named_parameters(self) -> dict:
        """{name: parameter tensor}: the network's own tensors, not copies."""
        return self._core.named_parameters()

    def parameters(self) -> List[torch.Tensor]:
        """The network's parameter tensors (for a torch optimizer)."""
        return list(self.named_parameters().values())

    def train(self, mode: bool = True) -> "Model":
        """Training mode (dropout on, where the network has any); returns the model."""
        self._core.set_training(mode)
        return self

    def eval(self) -> "Model":
        """Evaluation mode, as ``load`` returns it; returns the model."""
        return self.train(False)

    @property
    def training(self) -> bool:
        """Whether the model is in training mode."""
        return self._core.training

    def __repr__(self) -> str:
        return (f"noisesched.Model({self.path!r}, step {self.step}, {self.weights} weights: "
                f"{self.description}; {self.schedule!r}, target {self.target})")


def load(run_dir: str, weights: str = "ema", device: str = "cpu") -> Model:
    """The model of a training run: ``run_dir`` is a run folder (its latest checkpoint) or one
    checkpoint's step folder, as ``noisesched sample --checkpoint`` takes; ``weights`` ``"ema"``
    (the default of every command) or ``"model"``."""
    return Model(_core.Model(str(run_dir), weights, str(device)))


def _whole(value, what: str) -> int:
    """value as an int when it is a whole number (not a bool, a float or a string)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise Error(f"{what} must be a whole number (got {value!r})")
    return int(value)


def _labels(classes, count: int, num_classes: int) -> List[int]:
    if classes is None:
        return [num_classes] * count
    if isinstance(classes, torch.Tensor) or isinstance(classes, np.ndarray):
        array = torch.as_tensor(classes).detach().cpu()
        if array.is_floating_point() or array.is_complex() or array.dtype == torch.bool:
            raise Error(f"sample: classes must be integers (got {array.dtype})")
        labels = array.reshape(-1).tolist() if array.dim() > 0 else [array.item()] * count
    elif isinstance(classes, (str, bytes)):
        raise Error(f"sample: classes must be None, an int or one int per image (got {classes!r})")
    elif isinstance(classes, numbers.Number):
        labels = [_whole(classes, "sample: classes")] * count
    else:
        labels = [_whole(c, "sample: a class") for c in classes]
    if len(labels) != count:
        raise Error(f"sample: {len(labels)} classes for {count} images")
    return [int(c) for c in labels]


def sample(model, shape: Sequence[int], recipe: str = "ddpm", classes=None, *,
           generator: Optional[torch.Generator] = None, seed: Optional[int] = None,
           schedule: Optional[Schedule] = None, target: Optional[str] = None,
           self_condition: Optional[bool] = None, num_classes: Optional[int] = None,
           batch_size: int = 64, device=None) -> torch.Tensor:
    """Images from a denoiser with noisesched's samplers: [N, C, H, W] float, x0 / b (in [-1, 1]
    when the recipe clips, its default).

    ``model`` is a ``Model`` from ``load`` (its schedule, target, classes and self-conditioning
    are the checkpoint's, and passing any of them is an error) or any callable
    ``model(z, logsnr, classes)`` returning the trained target for the normalised input z; a
    ``torch.nn.Module`` is put in eval mode while it samples (and back after). For a callable,
    pass the ``schedule`` it was trained with (its b and normalisation; the sampling schedule is
    the recipe's), its ``target`` (default ``"eps"``), ``num_classes`` K (default 0:
    unconditional; label K means no class) and, with ``self_condition=True``, it is called as
    ``model(z, logsnr, classes, x0_previous)``: the previous x0 estimate in z's units (b x0,
    clipped to [-b, b] when the recipe clips; zeros on the first call), as the trainer feeds it.

    ``recipe``: an inference recipe such as ``"dpmpp_2m steps=25 guidance=1.5"``. ``classes``: None
    (unconditional), one int for all, or one per image. The images are sampled ``batch_size`` at
    a time. Noise: with ``seed`` (0 to 2^64 - 1) the starting and step noise are
    ``noisesched sample --seed``'s (the same images as the program; square images); else drawn
    from ``generator`` (torch's default when None).
    """
    shape = tuple(_whole(s, "sample: a size in shape") for s in shape)
    if len(shape) != 4 or min(shape) < 1:
        raise Error(f"sample: shape must be (N, C, H, W) with positive sizes (got {shape})")
    n, c, h, w = shape
    batch_size = _whole(batch_size, "sample: batch_size")
    if batch_size < 1:
        raise Error(f"sample: batch_size must be >= 1 (got {batch_size})")
    if seed is not None and not 0 <= _whole(seed, "sample: seed") < 2**64:
        raise Error(f"sample: seed must lie in [0, 2^64) (got {seed})")
    module = None
    if isinstance(model, Model):
        given = [name for name, value in (("schedule", schedule), ("target", target),
                                          ("self_condition", self_condition),
                                          ("num_classes", num_classes)) if value is not None]
        if given:
            raise Error(f"sample: a loaded model samples with its own {', '.join(given)}; "
                        "do not pass them")
        if (c, h, w) != (model.channels, model.resolution, model.resolution):
            raise Error(f"sample: shape {shape} does not match the model's images "
                        f"[{model.channels}, {model.resolution}, {model.resolution}]")
        denoiser, setup = model._core.denoiser, model._core.setup
        target, self_condition, num_classes = model.target, model.self_condition, model.num_classes
        conditional = model.class_conditional
        if not model.class_conditional and classes is not None:
            raise Error("sample: the model is unconditional (no classes)")
        device = model.device if device is None else device
    else:
        if not callable(model):
            raise Error(f"sample: model must be a noisesched.Model or a callable, not {type(model).__name__}")
        if not isinstance(schedule, Schedule):
            raise Error("sample: pass schedule= (the noisesched.Schedule the model was trained with: "
                        "its b and normalisation)")
        target = _check_target("eps" if target is None else target, "sample")
        num_classes = 0 if num_classes is None else _whole(num_classes, "sample: num_classes")
        if num_classes < 0:
            raise Error(f"sample: num_classes must be >= 0 (got {num_classes})")
        self_condition = bool(self_condition)
        if isinstance(model, torch.nn.Module):
            module = model
        if device is None:
            first = next(iter(module.parameters()), None) if module is not None else None
            device = first.device if first is not None else "cpu"
        denoiser = _core.python_denoiser(model, c, h, num_classes, self_condition)
        conditional = num_classes > 0
        setup = schedule._core
    labels = _labels(classes, n, num_classes)
    if seed is not None and h != w:
        raise Error(f"sample: seed= draws the program's noise for square images (got {h}x{w}); "
                    "pass generator= instead")
    was_training = module.training if module is not None else False
    if module is not None:
        module.eval()
    try:
        if seed is not None:
            return _core.sample(denoiser, setup, target, self_condition, conditional, recipe,
                                labels, None, 0, int(seed), batch_size, str(device))
        z = torch.randn(shape, generator=generator,
                        device=generator.device if generator is not None else "cpu")
        chunks = []
        for start in range(0, n, batch_size):
            step_seed = int(torch.randint(0, 2**62, (1,), generator=generator,
                                          device=z.device).item())
            chunks.append(_core.sample(denoiser, setup, target, self_condition, conditional,
                                       recipe, labels[start:start + batch_size],
                                       z[start:start + batch_size], step_seed, None, batch_size,
                                       str(device)))
        return torch.cat(chunks)
    finally:
        if module is not None:
            module.train(was_training)


class Advice(NamedTuple):
    """The advisor's input scale for one resolution (docs/studies.md, `noisesched advise`)."""
    resolution: int
    shift: float   # the logSNR shift that matches the reference's difficulty curve
    b: float       # exp(shift / 2)
    misfit: float  # root mean square difference of the matched curves, in [0, 1]


def advise(images, resolutions: Sequence[int], reference: int = 32, max_images: int = 1000
           ) -> List[Advice]:
    """The input scale b for each resolution from the images alone, as ``noisesched advise``:
    the b whose logSNR shift moves the resolution's linear-denoiser difficulty curve onto the
    ``reference`` resolution's at b = 1. ``images``: uint8 [N, C, H, W] or [N, H, W] (numpy or
    torch), or floats in [-1, 1]; each is centre-cropped to a square and resized to every
    resolution; ``max_images`` of them (spread evenly) estimate the spectrum."""
    x = images if isinstance(images, torch.Tensor) else torch.from_numpy(np.asarray(images))
    if x.dim() == 3:
        x = x.unsqueeze(1)
    if x.dim() == 4 and x.shape[-1] in (1, 3, 4) and x.shape[1] not in (1, 3, 4):
        raise Error(f"advise: images of shape {tuple(x.shape)} look like [N, H, W, C]; pass them "
                    "channels first, e.g. images.permute(0, 3, 1, 2) or .transpose(0, 3, 1, 2)")
    if x.dtype != torch.uint8:
        if not x.is_floating_point():
            raise Error(f"advise: images must be uint8 or floats in [-1, 1] (got {x.dtype})")
        if x.numel() and (x.min() < -1 or x.max() > 1):
            raise Error(f"advise: float images must lie in [-1, 1] (got values in "
                        f"[{x.min().item():.4g}, {x.max().item():.4g}]); scale [0, 255] by "
                        "x / 127.5 - 1, or pass uint8")
        if x.numel() and x.min() >= 0:
            warnings.warn("advise: every float image value is >= 0; floats are read as [-1, 1] "
                          "(for images in [0, 1] pass x * 2 - 1)", stacklevel=2)
        x = ((x.float() + 1) * 127.5).round().to(torch.uint8)
    reference = _whole(reference, "advise: reference")
    max_images = _whole(max_images, "advise: max_images")
    if max_images < 2:
        raise Error(f"advise: max_images must be >= 2 (got {max_images})")
    return [Advice(*row) for row in _core.advise(x, [_whole(r, "advise: a resolution")
                                                     for r in resolutions], reference, max_images)]
