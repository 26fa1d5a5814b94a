"""The training loop: a generator of records, cancellable between steps, honest about how it ended.

``train`` checks everything that can be wrong before it returns (options, device, data vs network), so
a bad request raises at once; the returned generator then trains. Stop it with ``cancel.set()`` (it ends
with a DoneRecord, status ``cancelled``) or by closing the generator (run directory marked cancelled).
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from arch.spec import Spec, dumps
from training.adaptation import class_note
from training.augment_policies import Augmenter, AugmentSettings
from training.augment_preview import crop_and_flip
from training.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from training.config import TrainConfig
from training.data import Data
from training.device import amp_dtype, free_memory, is_oom, pick_device, torch_settings
from training.early_stop import Monitor
from training.errors import ConfigError
from training.interpret.histograms import HistogramRecorder
from training.losses import correct, loss_of, multilabel_metrics, per_class_accuracy, resolve_loss, topk_correct
from training.optim import lr_factor, make_optimizer
from training.pretrained import freeze, keep_frozen_eval, load_by_name, load_by_position, read_weights
from training.records import DoneRecord, EpochRecord, Record, SnapshotRecord, StartRecord, StepRecord
from training.runs import RunWriter
from training.snapshot import snapshot
from training.tb_log import open_log
from training.visualize import conv_layers, get_layer

ERF_IMAGES = 16  # validation images averaged for a snapshot's effective receptive field


@dataclass
class SplitMetrics:
    """What ``evaluate`` measured on one data split: loss, accuracy, examples, confusion matrix, per-class
    accuracy; for multi-label data, mean F1 and mean average precision instead of top-5 and the confusion matrix."""

    loss: float
    acc: float             # top-1; multi-label: exact match (every class of the image right)
    n: int
    confusion: np.ndarray | None  # (classes, classes) int64: rows true class, columns predicted; None: multi-label
    top5: float | None = None  # top-5 accuracy where there are more than 5 classes (never for multi-label data)
    per_class: list[float | None] = field(default_factory=list)  # recall; multi-label: share right per class
    f1: float | None = None        # multi-label: mean F1 over the classes (threshold 0.5 on the sigmoid)
    mean_ap: float | None = None   # multi-label: mean average precision over the classes


def evaluate(model: nn.Module, data: Data, which: str = "val", batch_size: int = 1024,
             amp: torch.dtype | None = None, channels_last: bool = False) -> SplitMetrics:
    """Mean cross-entropy (no label smoothing), top-1 (and top-5 with more than 5 classes) accuracy and the
    confusion matrix of a split, in eval mode; for multi-label data, the mean binary cross-entropy with logits
    and ``multilabel_metrics``'s figures.

    ``data`` must be on the model's device (``data.to(device)``)."""
    k = data.num_classes
    was = model.training
    model.eval()
    loss = torch.zeros((), device=data.device)  # float32: MPS has no float64
    confusion = torch.zeros(k * k, dtype=torch.int64, device=data.device)
    top5 = torch.zeros((), dtype=torch.int64, device=data.device)
    outs: list[torch.Tensor] = []  # multi-label: every logit and target, for average precision
    targets: list[torch.Tensor] = []
    n = 0
    try:
        with torch.no_grad(), torch.autocast(data.device.type, dtype=amp or torch.float32, enabled=amp is not None):
            for x, y in data.batches(which, batch_size, data.normalizer(data.device, channels_last)):
                out = model(x).float()
                n += len(y)
                if data.multilabel:
                    loss += F.binary_cross_entropy_with_logits(out, y, reduction="sum")
                    outs.append(out)
                    targets.append(y)
                    continue
                loss += F.cross_entropy(out, y, reduction="sum")
                confusion += torch.bincount(y * k + out.argmax(1), minlength=k * k)
                if k > 5:
                    top5 += topk_correct(out, y, 5)
    finally:
        model.train(was)
    if data.multilabel:
        m = multilabel_metrics(torch.cat(outs), torch.cat(targets))
        return SplitMetrics(float(loss) / max(n * k, 1), m.exact, n, None, None, m.per_class, m.mean_f1, m.mean_ap)
    conf = confusion.view(k, k).cpu().numpy()
    return SplitMetrics(float(loss) / max(n, 1), float(np.trace(conf)) / max(n, 1), n, conf,
                        float(top5) / max(n, 1) if k > 5 else None, per_class_accuracy(conf))


def _build(source: Spec | nn.Module, data: Data, seed: int) -> tuple[nn.Module, Spec | None, Data, list[str]]:
    """The model, its spec, the data fitted to it, and the adaptations made (each one reported)."""
    notes: list[str] = []
    if isinstance(source, Spec):
        spec = source
        if spec.num_classes != data.num_classes:
            notes.append(class_note(spec.num_classes, data.num_classes))
            spec = replace(spec, num_classes=data.num_classes)
        from arch.builder import build

        torch.manual_seed(seed)
        model: nn.Module = build(spec)
        shape = tuple(spec.input)
    elif isinstance(source, nn.Module):
        spec, model = None, source
        shape = tuple(getattr(source, "input_shape", data.input_shape))
    else:
        raise ConfigError(f"train() takes a Spec or an nn.Module, not {type(source).__name__}")
    fitted = data.adapt(shape)  # type: ignore[arg-type]
    return model, spec, fitted, [*fitted.adapted, *notes]


def _check_output(model: nn.Module, data: Data) -> None:
    """One forward pass on a real image: the network must take the data and give one logit per class."""
    x, _ = next(data.batches("val", 2, data.normalizer(data.device)))
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(x)
    except RuntimeError as e:
        raise ConfigError(f"the model cannot take the data's {'x'.join(map(str, data.input_shape))} images: "
                          f"{str(e).splitlines()[0]}") from None
    finally:
        model.train(was)
    if out.ndim != 2 or out.shape[1] != data.num_classes:
        raise ConfigError(f"the model outputs {tuple(out.shape[1:])} per image but the data has {data.num_classes} "
                          "classes: it needs one logit per class")


def train(source: Spec | nn.Module, data: Data, config: TrainConfig | None = None,
          run_dir: str | Path | None = None, cancel: threading.Event | None = None,
          init_from: str | Path | Checkpoint | None = None) -> Iterator[Record]:
    """Check the request, then return the generator that trains (see the package docstring).

    A spec is built after seeding torch's global RNG with ``config.seed`` (same seed, same initial weights).
    """
    config = (config or TrainConfig()).check()
    loss = resolve_loss(config.loss, data.multilabel)
    device = pick_device(config.device)
    amp = amp_dtype(device, config.amp)
    model, spec, data, notes = _build(source, data, config.seed)
    data = data.to(device)
    channels_last = device.type == "cuda" if config.channels_last is None else config.channels_last
    model.to(device, memory_format=torch.channels_last if channels_last else torch.preserve_format)
    _check_output(model, data)
    loaded: set[str] = set()  # tensors that came from elsewhere (their lr: config.pretrained_lr)
    if config.pretrained:
        state, where = read_weights(config.pretrained)
        done = load_by_position(model, state, where)
        loaded |= set(done.loaded)
        notes += done.notes()
    init = None
    if init_from is not None:
        init = init_from if isinstance(init_from, Checkpoint) else load_checkpoint(init_from)
        if config.partial_init:
            done = load_by_name(model, init.state_dict, str(init.path), partial=True)
            loaded |= set(done.loaded)
            notes += done.notes()
        else:
            init.load_into(model)
            loaded |= set(init.state_dict)
    frozen = freeze(model, config.freeze) if config.freeze else []
    if config.monitor == "val_top5" and data.multilabel:
        raise ConfigError("monitor: val_top5 is not measured for multi-label data (it assumes one class per image)")
    if config.monitor in ("val_f1", "val_map") and not data.multilabel:
        raise ConfigError(f"monitor: {config.monitor} is measured for multi-label data only (use val_acc, val_loss "
                          "or val_top5)")
    if config.monitor == "val_top5" and data.num_classes <= 5:
        raise ConfigError(f"monitor: val_top5 needs more than 5 classes (the data has {data.num_classes})")
    if config.snapshot_every is not None:
        get_layer(model, config.snapshot_layer or next(iter(conv_layers(model)), ""))
    session = _Session(model, spec, data, config, loss, device, amp, channels_last, notes, init, cancel, loaded,
                       frozen)
    return session.records(run_dir)


class _Window:
    """Loss and accuracy sums since the last StepRecord, kept on the device (read back only in ``take``)."""

    def __init__(self, device: torch.device) -> None:
        self.loss = torch.zeros((), device=device)
        self.correct = torch.zeros((), device=device)
        self.n = 0
        self.mark = time.perf_counter()

    def add(self, loss: torch.Tensor, out: torch.Tensor, y: torch.Tensor) -> None:
        self.loss += loss.detach().float() * len(y)
        self.correct += correct(out.detach(), y)
        self.n += len(y)

    def running(self) -> float:
        return time.perf_counter() - self.mark

    def take(self) -> tuple[float, float, int, float]:
        """(mean loss, accuracy, images, seconds) of the window; reading back waits for the GPU."""
        loss, acc, n = self.loss.item() / self.n, self.correct.item() / self.n, self.n
        seconds = self.running()
        self.loss.zero_()
        self.correct.zero_()
        self.n = 0
        return loss, acc, n, seconds

    def restart(self) -> None:
        self.mark = time.perf_counter()


class _Session:
    """One run's state; ``records`` is the generator ``train`` returns."""

    def __init__(self, model: nn.Module, spec: Spec | None, data: Data, config: TrainConfig, loss: str,
                 device: torch.device, amp: torch.dtype | None, channels_last: bool, notes: list[str],
                 init: Checkpoint | None, cancel: threading.Event | None, loaded: set[str] | None = None,
                 frozen: list[str] | None = None) -> None:
        self.model, self.spec, self.data, self.cfg, self.device = model, spec, data, config, device
        self.loss = loss  # config.loss with auto resolved for the data
        self.amp, self.channels_last, self.notes, self.init, self.cancel = amp, channels_last, notes, init, cancel
        self.crop, self.flip = crop_and_flip(config, data)
        self.frozen = frozen or []
        settings = AugmentSettings.of(config)
        self.augment = Augmenter(settings, config.seed) if settings != AugmentSettings() else None
        self.monitor = Monitor(config.monitor, config.patience, config.min_delta)
        self.optimizer = make_optimizer(model, config, device, loaded)
        self.resumed_optimizer = False
        if init is not None and init.optimizer is not None and init.optimizer_kind == config.optimizer:
            with contextlib.suppress(ValueError, KeyError, RuntimeError):  # another parameter layout: start afresh
                self.optimizer.load_state_dict(init.optimizer)
                self.resumed_optimizer = True
        self.scaler = torch.amp.GradScaler("cuda") if amp == torch.float16 else None
        self.normalize = data.normalizer(device, channels_last)
        self.steps_per_epoch = math.ceil(len(data.train) / config.batch_size)
        self.total_steps = self.steps_per_epoch * config.epochs
        self.step = 0
        self.train_time = 0.0
        self.last_eval: tuple[float, float] | None = None  # (val_acc, val_loss)
        self.best: tuple[float, int] | None = None          # (val_acc, epoch)
        self.epochs_done = 0
        self.lr = config.lr
        self.last_snapshot = -math.inf
        self.e_loss = self.e_correct = self.e_time = 0.0  # running sums of the current epoch
        self.e_n = 0
        self.writer: RunWriter | None = None
        self.tb = None  # TensorBoard event files, when the package is installed
        self.checkpoints: dict[str, str] = {}
        self.histograms = HistogramRecorder(model) if config.histograms else None  # saved with the run directory

    # ------------------------------------------------------------------------------------ helpers
    def progress(self, train_time: float) -> float:
        p = self.step / self.total_steps
        if self.cfg.time_budget:
            p = max(p, train_time / self.cfg.time_budget)
        return min(p, 1.0)

    def _meta(self, epoch: int) -> dict[str, Any]:
        d = self.data
        return {"epoch": epoch, "step": self.step, "val_acc": self.last_eval[0] if self.last_eval else None,
                "classes": list(d.classes), "input_shape": list(d.input_shape), "mean": list(d.mean),
                "std": list(d.std), "multilabel": d.multilabel}

    def _save(self, which: str, epoch: int) -> None:
        if self.writer is None:
            return
        save_checkpoint(self.writer.path / f"{which}.pt", self.model, self.spec, self._meta(epoch), self.optimizer,
                        self.cfg.optimizer)
        self.checkpoints[which] = f"{which}.pt"

    def _start_record(self, run_dir: str | None) -> StartRecord:
        restored = [f"optimizer state restored from {self.init.path}"] if self.init and self.resumed_optimizer else []
        return StartRecord(str(self.device), str(self.amp).replace("torch.", "") if self.amp else None,
                           self.channels_last, sum(p.numel() for p in self.model.parameters()), len(self.data.train),
                           len(self.data.val), self.steps_per_epoch, self.cfg.epochs, self.data.input_shape,
                           list(self.data.classes), self.crop, self.flip, [*self.notes, *restored], run_dir, self.model,
                           sum(p.numel() for p in self.model.parameters() if p.requires_grad) if self.frozen else None,
                           self.augment.s.describe() if self.augment else "", self.loss, self.data.multilabel)

    def _snapshot(self, epoch: int) -> SnapshotRecord:
        x, _ = next(self.data.batches("val", ERF_IMAGES, self.normalize))
        snap = snapshot(self.model, self.cfg.snapshot_layer or None, x, step=self.step, epoch=epoch)
        if snap.problems or snap.filters is None or snap.erf is None:
            raise ConfigError(f"snapshot of {snap.layer}: " + ("; ".join(snap.problems) or "not a convolution"))
        return SnapshotRecord(self.step, epoch, snap.layer, snap.filters, snap.maps, snap.erf)

    # --------------------------------------------------------------------------------- the run
    def records(self, run_dir: str | Path | None) -> Iterator[Record]:
        cfg = self.cfg
        with torch_settings(self.device, cfg.threads, cfg.deterministic):
            if run_dir is not None:
                extra = {"spec_name": self.spec.name if self.spec else type(self.model).__name__,
                         "device": str(self.device), "adapted": self.notes,
                         "init_from": str(self.init.path) if self.init else None}
                self.writer = RunWriter(run_dir, dumps(self.spec) if self.spec else None, cfg.to_dict(),
                                        self.data.summary(), extra)
                self.tb = open_log(self.writer.path)
            self.t0 = time.perf_counter()
            start = self._start_record(str(run_dir) if run_dir is not None else None)
            status, message = "completed", ""
            try:
                yield start
                status, message = yield from self._epochs()
            except GeneratorExit:
                self._finish("cancelled", "the generator was closed")
                raise
            except KeyboardInterrupt:
                self._finish("cancelled", "interrupted")
                raise
            except BaseException as e:
                if not is_oom(e):
                    if self.writer:
                        self.writer.fail(f"{type(e).__name__}: {e}")
                    raise
                status, message = "oom", f"out of memory on {self.device}: {str(e).splitlines()[0]}"
            if status == "oom":
                self.optimizer.zero_grad(set_to_none=True)
                free_memory(self.device)
            yield self._finish(status, message)

    def _finish(self, status: str, message: str) -> DoneRecord:
        if self.writer and status in ("completed", "time_budget", "cancelled"):
            self._save("final", self.epochs_done)
        done = DoneRecord(status, message, self.epochs_done, self.step, time.perf_counter() - self.t0,
                          self.last_eval[0] if self.last_eval else None, self.last_eval[1] if self.last_eval else None,
                          self.best[0] if self.best else None, self.best[1] if self.best else None,
                          str(self.writer.path) if self.writer else None, self.model)
        if self.writer:
            self.writer.finish(done, dict(self.checkpoints))
        if self.tb is not None:
            self.tb.close()
        return done

    def _epochs(self) -> Iterator[Record]:
        """Train epoch after epoch; returns (status, message)."""
        cfg = self.cfg
        for epoch in range(1, cfg.epochs + 1):
            stopped = yield from self._train_epoch(epoch)
            if stopped and (stopped[0] in ("cancelled", "diverged") or self.e_n == 0):
                return stopped
            rec = self._evaluate(epoch, complete=not stopped)
            yield rec
            if not math.isfinite(rec.val_loss):
                return "diverged", f"validation loss became {rec.val_loss} after epoch {epoch}"
            if stopped:
                return stopped
            if self.monitor.should_stop() and epoch < cfg.epochs:
                return "early_stopped", self.monitor.reason()
        return "completed", ""

    def _train_epoch(self, epoch: int) -> Iterator[Record]:
        """One pass over the training split; returns None, or (status, message) when the run must stop."""
        cfg = self.cfg
        self.model.train()
        keep_frozen_eval(self.model, self.frozen)
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.e_loss, self.e_correct, self.e_n, self.e_time = 0.0, 0.0, 0, 0.0
        window = _Window(self.device)
        batches = self.data.batches("train", cfg.batch_size, self.normalize, shuffle=True,
                                    seed=cfg.seed * 1_000_003 + epoch, crop=self.crop, flip=self.flip,
                                    augment=self.augment)
        stop = None
        for i, (x, y) in enumerate(batches, start=1):
            stop = self._stop_reason(window)
            if stop:
                break
            self._step(x, y, params, window)
            if i % cfg.log_every == 0 or i == self.steps_per_epoch:
                diverged = yield from self._flush(epoch, window)
                if diverged:
                    return diverged
        if stop and window.n:  # the steps since the last record still count
            diverged = yield from self._flush(epoch, window)
            if diverged:
                return diverged
        elif stop:
            self.train_time += time.perf_counter() - window.mark
        return stop

    def _stop_reason(self, window: _Window) -> tuple[str, str] | None:
        if self.cancel is not None and self.cancel.is_set():
            return "cancelled", f"cancelled at step {self.step}"
        budget = self.cfg.time_budget
        if budget and self.train_time + window.running() >= budget:
            return "time_budget", f"time budget of {budget:g} s reached at step {self.step}"
        return None

    def _step(self, x: torch.Tensor, y: torch.Tensor, params: list[torch.Tensor], window: _Window) -> None:
        cfg, opt = self.cfg, self.optimizer
        self.lr = cfg.lr * lr_factor(cfg.schedule, self.progress(self.train_time + window.running()), cfg.warmup)
        for group in opt.param_groups:
            group["lr"] = self.lr * group.get("lr_scale", 1.0)
        target = y
        if self.augment is not None and self.augment.s.mixes:
            x, target = self.augment.mix(x, y, self.data.num_classes)
        with torch.autocast(self.device.type, dtype=self.amp or torch.float32, enabled=self.amp is not None):
            out = self.model(x)
            loss = loss_of(self.loss, out, target, cfg.label_smoothing)
        opt.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            if cfg.grad_clip:
                self.scaler.unscale_(opt)
                nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            self.scaler.step(opt)
            self.scaler.update()
        else:
            loss.backward()
            if cfg.grad_clip:
                nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            opt.step()
        self.step += 1
        window.add(loss, out, y)

    def _flush(self, epoch: int, window: _Window) -> Iterator[Record]:
        """A StepRecord for the steps since the last one (then a snapshot when due); returns a diverged
        status when the loss is no longer finite."""
        loss_v, acc_v, n, seconds = window.take()
        self.train_time += seconds
        self.e_time += seconds
        self.e_loss, self.e_correct, self.e_n = self.e_loss + loss_v * n, self.e_correct + acc_v * n, self.e_n + n
        if not math.isfinite(loss_v):
            return "diverged", (f"loss became {loss_v} by step {self.step} (epoch {epoch}); lower the learning rate "
                                "or add gradient clipping")
        progress = self.progress(self.train_time)
        elapsed = time.perf_counter() - self.t0
        eta = elapsed * (1 - progress) / progress if progress > 0 else None
        rec = StepRecord(epoch, self.step, loss_v, acc_v, self.lr, n / max(seconds, 1e-9), elapsed, progress, eta)
        if self.writer:
            self.writer.step(rec)
        if self.tb is not None:
            self.tb.step(rec)
        yield rec
        if self.cfg.snapshot_every is not None and time.perf_counter() - self.last_snapshot >= self.cfg.snapshot_every:
            yield self._snapshot(epoch)
            self.last_snapshot = time.perf_counter()
        window.restart()  # time spent in the consumer and on snapshots is not training time
        return None

    def _evaluate(self, epoch: int, complete: bool) -> EpochRecord:
        t = time.perf_counter()
        ev = evaluate(self.model, self.data, "val", self.cfg.eval_batch_size, self.amp, self.channels_last)
        eval_time = time.perf_counter() - t
        self.last_eval = (ev.acc, ev.loss)
        metric = {"val_acc": ev.acc, "val_loss": ev.loss, "val_top5": ev.top5, "val_f1": ev.f1,
                  "val_map": ev.mean_ap}[self.cfg.monitor]
        is_best = self.monitor.update(metric, epoch)  # best by the monitored metric (val_acc by default)
        if is_best:
            self.best = (ev.acc, epoch)
        if complete:
            self.epochs_done = epoch
        rec = EpochRecord(epoch, self.step, self.e_loss / max(self.e_n, 1), self.e_correct / max(self.e_n, 1),
                          ev.loss, ev.acc, self.lr, time.perf_counter() - self.t0, self.e_n / max(self.e_time, 1e-9),
                          self.e_time, eval_time, self.best[0], is_best,
                          ev.confusion.tolist() if ev.confusion is not None else [], complete, ev.top5, ev.per_class,
                          ev.f1, ev.mean_ap)
        if self.writer:
            if is_best:
                self._save("best", epoch)
            self._save("final", epoch)
            if self.histograms is not None:
                self.histograms.record(epoch)
                self.histograms.save(self.writer.path)
            self.writer.epoch(rec, dict(self.checkpoints))
        if self.tb is not None:
            self.tb.epoch(rec, self.model, self.cfg.histograms)
        return rec
