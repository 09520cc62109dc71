"""``EnsembleProgram``: n members' train states stacked on a leading axis, one vmapped step.

The trainer's one loop runs it like any program: its state is the members' train
states stacked (``jnp.stack``), its step ``jax.vmap`` of the members' shared pure step,
and its link to the modules writes each member's slice back into that member's own
trainer (which writes it into the member's module). Between calls the members are the
truth, as the module is for one model: a sync unstacks into them, and the next step
stacks them again.
"""

from __future__ import annotations

import copy
from typing import Iterator, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from highlevel.training.data import Stacked
from highlevel.training.live import LiveState
from highlevel.training.program import Program, read_metrics
from highlevel.training.state import FlatStep
from highlevel.utils import random as _random

__all__ = ["EnsembleProgram"]


def stack(trees: list):
    return jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *trees)


def unstack(tree, n: int) -> list:
    # One device-to-device slice per leaf and member; no host round trip.
    return [jax.tree_util.tree_map(lambda a, i=i: a[i], tree) for i in range(n)]


class _MembersLink:
    """``ModuleLink`` of the members: their trainers' states, stacked."""

    def __init__(self, program: "EnsembleProgram"):
        self.program = program

    def read(self, state):
        # The members' whole train states, with the ensemble's own metric accumulators.
        stacked = stack([t.state for t in self.program.trainers])
        return stacked if state is None else stacked.replace(metrics=state.metrics)

    fresh = read  # stacking makes new buffers: nothing a member holds is donated

    def write(self, state) -> None:
        for trainer, member_state in zip(self.program.trainers, unstack(state, len(self.program.trainers))):
            trainer.state = member_state


class EnsembleProgram(Program):
    """The steps of n members trained together (a final class).

    Args:
      trainers: the members' trainers (``TrainerAPI``), each compiled with the same loss,
        metrics and optimizer kind; every member must have the same weight shapes.
      generators: per member, the seed generator its train-state key is drawn from (so
        member i's key is the one its solo fit would draw).
      learning_rates: None, or one learning rate per member.
      shuffle_per_member: each member sees its own data order (the one its solo fit would);
        an attribute that ``Ensemble.fit`` sets per fit.
    """

    supports_resident_data = False

    def __init__(self, trainers: Sequence, generators: Sequence, learning_rates: Sequence[float] | None = None,
                 shuffle_per_member: bool = False):
        self.trainers = list(trainers)
        self.generators = list(generators)
        self.learning_rates = None if learning_rates is None else list(learning_rates)
        self.shuffle_per_member = bool(shuffle_per_member)
        self.n = len(self.trainers)
        self.live = LiveState(_MembersLink(self))
        self.builder = None
        self.seed = 0
        self._fns: dict = {}

    @property
    def programs(self) -> list:
        return [t.program for t in self.trainers]

    @property
    def analysed_module(self):
        return self.trainers[0].model

    @property
    def loss_config(self):
        return self.programs[0].loss_config

    # -- setting up ------------------------------------------------------------------------

    def prepare(self, x_sample) -> None:
        """Builds and initializes each member as its solo ``fit`` would, then sets up the steps."""
        for trainer, generator in zip(self.trainers, self.generators):
            with _random.use_generator(generator):  # the member's own stream: its key as if alone
                trainer.initialize(x_sample)
        if self.ready:
            return
        programs = self.programs
        first = jax.tree_util.tree_structure(self.trainers[0].state.params)
        shapes0 = [np.shape(a) for a in jax.tree_util.tree_leaves(self.trainers[0].state.params)]
        for i, t in enumerate(self.trainers[1:], start=1):
            if (jax.tree_util.tree_structure(t.state.params) != first
                    or [np.shape(a) for a in jax.tree_util.tree_leaves(t.state.params)] != shapes0):
                raise ValueError(f"Ensemble member {i} has different weights (structure or shapes) from member 0; "
                                 "build_fn must build the same architecture for every member.")
        if self.learning_rates is not None:
            for program, lr in zip(programs, self.learning_rates):
                program.set_learning_rate(lr)
        p0 = programs[0]
        self.builder = builder = p0.builder
        self.loss_missing = p0.loss_missing
        self.seed = p0.seed
        self.hyper_treedef = p0.hyper_treedef
        self._metrics_template = stack([p.fresh_metrics() for p in programs])
        self._mean_template = p0.fresh_metrics()

        def ensemble_train_step(state, hyper, batch, per_member):
            return jax.vmap(builder.train_step, in_axes=(0, None, 0 if per_member else None))(state, hyper, batch)

        def ensemble_train_step_shared(state, hyper, batch):
            return ensemble_train_step(state, hyper, batch, False)

        def ensemble_train_step_per_member(state, hyper, batch):
            return ensemble_train_step(state, hyper, batch, True)

        def fused(step):
            def multi(state, hyper, batches):
                state, _ = jax.lax.scan(lambda carry, batch: (step(carry, hyper, batch), None), state, batches)
                return state

            multi.__name__ = "multi_" + step.__name__
            return multi

        self._fns["train"] = {per: (FlatStep(step, self.hyper_treedef), FlatStep(fused(step), self.hyper_treedef))
                              for per, step in ((False, ensemble_train_step_shared),
                                                (True, ensemble_train_step_per_member))}

        def ensemble_eval_step(variables, hyper, metrics, batch):
            metrics, mean_metrics = metrics
            metrics = jax.vmap(builder.eval_step, in_axes=((0, 0), None, 0, None))(variables, hyper, metrics, batch)
            x, y, sample_weight, mask = batch
            preds = jax.vmap(builder.predict_step, in_axes=((0, 0), None, None))(variables, hyper, x)
            mean = jax.tree_util.tree_map(lambda p: jnp.mean(p, axis=0), preds)
            loss, per_output, y_list, p_list = builder.compute_losses(y, mean, sample_weight, mask)
            mean_metrics = builder.update_metrics(mean_metrics, loss, per_output, y_list, p_list,
                                                  sample_weight, mask)
            return metrics, mean_metrics

        def ensemble_predict_step(variables, hyper, x):
            return jax.vmap(builder.predict_step, in_axes=((0, 0), None, None))(variables, hyper, x)

        self._fns["eval"] = jax.jit(ensemble_eval_step, donate_argnums=2)
        self._fns["predict"] = jax.jit(ensemble_predict_step)
        self.live.attach(self.live.link.read(None).replace(metrics=self.fresh_metrics()))

    # -- hyperparameters (the members share member 0's) -----------------------------------------

    def hyper_variables(self) -> list:
        return self.programs[0].hyper_variables()

    def hyper_names(self) -> list[str]:
        return self.programs[0].hyper_names()

    def hyper_leaves(self) -> list:
        return self.programs[0].hyper_leaves()

    def hyper(self):
        return self.programs[0].hyper()

    # -- steps ---------------------------------------------------------------------------------

    def train_fns(self):
        return self._fns["train"][self.shuffle_per_member]

    def host_batches(self, adapter, epoch: int, start: int, k: int) -> Iterator:
        if not self.shuffle_per_member:
            return adapter.batches(epoch, start=start, k=k)
        # Each member's order, its solo fit's: one batch a step, stacked on the member axis.
        adapters = []
        for program in self.programs:
            member = copy.copy(adapter)
            member.seed = program.seed
            adapters.append(member)
        groups = zip(*(a.batches(epoch, start=start, k=1) for a in adapters))
        return (jax.tree_util.tree_map(lambda *p: np.stack(p), *group) for group in groups)

    def fresh_metrics(self):
        return jax.tree_util.tree_map(lambda a: jax.device_put(a, may_alias=False), self._metrics_template)

    def read(self, host_metrics, prefix: str = "") -> dict[str, float]:
        per = [read_metrics(self.builder, jax.tree_util.tree_map(lambda a, i=i: a[i], host_metrics))
               for i in range(self.n)]
        logs = {}
        for name in per[0]:
            logs[prefix + name] = float(np.mean([p[name] for p in per]))
            for i, p in enumerate(per):
                logs[f"{prefix}{name}_{i}"] = p[name]
        return logs

    def fresh_eval_metrics(self):
        copy = lambda t: jax.tree_util.tree_map(lambda a: jax.device_put(a, may_alias=False), t)
        return copy(self._metrics_template), copy(self._mean_template)

    def eval(self, variables, hyper, metrics, item):
        if isinstance(item, Stacked):
            item = [jax.tree_util.tree_map(lambda a, i=i: a[i], item.batch) for i in range(len(item.batch.mask))]
        for batch in (item if isinstance(item, list) else [item]):
            metrics = self._fns["eval"](variables, hyper, metrics, tuple(batch))
        return metrics

    def read_eval(self, host_metrics, prefix: str = "") -> dict[str, float]:
        stacked, mean = host_metrics
        logs = self.read(stacked, prefix)
        for name, value in read_metrics(self.builder, mean).items():
            logs[f"{prefix}ensemble_{name}"] = value
        return logs

    def predict(self, variables, hyper, x):
        return self._fns["predict"](variables, hyper, x)

    def join_predictions(self, host_outputs: list, counts: list[int]):
        return jax.tree_util.tree_map(
            lambda *parts: np.concatenate([np.asarray(p)[:, :c] for p, c in zip(parts, counts)], axis=1),
            *host_outputs)

    # -- what callbacks ask ----------------------------------------------------------------------

    def learning_rate(self) -> float | None:
        return None  # one per member: each member's optimizer has its own

    def set_learning_rate(self, value: float) -> bool:
        self.live.sync()
        return all(program.set_learning_rate(value) for program in self.programs)

    def metric_direction(self, name: str) -> str | None:
        # Members' metrics are logged as "<name>_<i>", the averaged prediction's as "ensemble_<name>".
        name = name.removeprefix("ensemble_")
        head, _, tail = name.rpartition("_")
        if head and tail.isdigit():
            name = head
        return super().metric_direction(name)
