"""The Keras 3 contract for custom layers and models: add_weight, add_loss, compute_loss and
compute_metrics overrides, sublayers built on hl.Input, several tensor arguments, training=
given at graph construction, and weights that behave as Keras variables. Keras 3 (JAX backend)
on the same weights is the reference."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from flax import nnx  # noqa: E402

import highlevel as hl  # noqa: E402
from tests.compile_count import count_compilations  # noqa: E402


def K(fn, *args, **kwargs):
    """Calls Keras, which relies on implicit rank promotion (the tests raise on it)."""
    with jax.numpy_rank_promotion("allow"):
        return fn(*args, **kwargs)


def _data(rng, n=8, d=4):
    return rng.standard_normal((n, d)).astype("float32"), rng.standard_normal((n, 1)).astype("float32")


def _assert_same_weights(km, hm, atol=1e-5):
    kw, hw = km.get_weights(), hm.get_weights()
    assert len(kw) == len(hw)
    for a, b in zip(kw, hw):
        np.testing.assert_allclose(b, a, atol=atol)


def _fit_both(km, hm, x, y, epochs=2, batch_size=4):
    kh = K(km.fit, x, y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0).history
    hh = hm.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0).history
    return kh, hh


# -- add_weight -------------------------------------------------------------------------------

def test_add_weight_takes_keras3_arguments_and_the_older_form():
    layer = hl.layers.Layer(name="custom")
    a = layer.add_weight(shape=(2, 3), initializer="ones", name="a")
    b = layer.add_weight((4,), "zeros")                       # positional shape, initializer
    c = layer.add_weight(shape=(2,), trainable=False)          # no name: "variable_1"...
    d = layer.add_weight("kernel", (3, 1), "ones")             # the older highlevel form
    e = layer.add_weight(shape=(), dtype="int32")              # ints start at zeros
    assert [v.name for v in (a, b, c, d, e)] == ["a", "variable", "variable_1", "kernel", "variable_2"]
    assert layer.a is a and layer.kernel is d and layer.variable is b
    assert a.shape == (2, 3) and b.shape == (4,) and e.shape == () and e.dtype == jnp.int32
    assert a.trainable and not c.trainable and isinstance(a, nnx.Param) and isinstance(c, nnx.BatchStat)
    np.testing.assert_array_equal(a.numpy(), np.ones((2, 3)))
    assert [w.name for w in layer.trainable_weights] == ["a", "variable", "kernel", "variable_2"]
    with pytest.raises(ValueError, match="add_weight needs a fully known shape, got \\(None, 3\\)"):
        layer.add_weight(shape=(None, 3))
    with pytest.raises(TypeError, match="at most 3 positional arguments"):
        layer.add_weight((1,), "zeros", "float32", True)


def test_keras_style_custom_layer_matches_keras(rng):
    def make(lib):
        class Linear(lib.layers.Layer):
            def __init__(self, units=3, **kwargs):
                super().__init__(**kwargs)
                self.units = units

            def build(self, input_shape):
                self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal",
                                         trainable=True, name="w")
                self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True, name="b")

            def call(self, inputs):
                ops = keras.ops if lib is keras else jnp   # Keras's variables need keras.ops
                return ops.matmul(inputs, self.w) + self.b[None, :]

        inputs = lib.Input((4,))
        return lib.Model(inputs, lib.layers.Dense(1)(Linear(3)(inputs)))

    x, y = _data(rng)
    km, hm = K(make, keras), make(hl)
    hm.set_weights(km.get_weights())
    km.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    hm.compile(optimizer=hl.optimizers.SGD(0.1), loss="mse")
    kh, hh = _fit_both(km, hm, x, y)
    np.testing.assert_allclose(hh["loss"], kh["loss"], rtol=1e-5)
    _assert_same_weights(km, hm)


def test_weight_constraint_is_applied_after_each_update_as_in_keras(rng):
    def make(lib, constraints):
        class Scale(lib.layers.Layer):
            def build(self, input_shape):
                self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones",
                                             constraint=constraints.NonNeg(), name="scale")

            def call(self, inputs):
                return inputs * self.scale[None, :]

        inputs = lib.Input((4,))
        return lib.Model(inputs, lib.layers.Dense(1, kernel_initializer="ones")(Scale()(inputs)))

    x, y = _data(rng, 16)
    y = -3.0 * np.abs(y) - 2.0   # pushes the scales below zero, where the constraint holds them
    km, hm = K(make, keras, keras.constraints), make(hl, hl.constraints)
    hm.set_weights(km.get_weights())
    km.compile(optimizer=keras.optimizers.SGD(0.2), loss="mse")
    hm.compile(optimizer=hl.optimizers.SGD(0.2), loss="mse")
    _fit_both(km, hm, x, y, epochs=3)
    scale = hm.layers[1].scale.numpy()
    assert (scale >= 0).all() and (scale == 0).any(), scale
    _assert_same_weights(km, hm)
    assert hm.layers[1].scale.constraint is not None


# -- weights as Keras variables ---------------------------------------------------------------

def test_weights_behave_as_keras_variables_and_assign_reaches_predict_and_fit(rng):
    model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(2, name="d")])
    kernel = model.get_layer("d").kernel
    assert (kernel.name, kernel.path, kernel.shape, kernel.dtype, kernel.trainable) == \
        ("kernel", "d/kernel", (3, 2), jnp.float32, True)
    kernel.assign(np.ones((3, 2)))
    kernel.assign_add(np.ones((3, 2)))
    kernel.assign_sub(0.5 * np.ones((3, 2)))
    np.testing.assert_array_equal(kernel.numpy(), np.full((3, 2), 1.5))
    np.testing.assert_array_equal(np.asarray(kernel.value), np.full((3, 2), 1.5))
    model.get_layer("d").bias.assign([1.0, -1.0])
    x = np.ones((2, 3), "float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), [[5.5, 3.5]] * 2)
    with pytest.raises(ValueError, match="Cannot assign a value of shape \\(2,\\) to variable 'd/kernel'"):
        kernel.assign([1.0, 2.0])
    model.get_layer("d").trainable = False
    assert not kernel.trainable
    model.get_layer("d").trainable = True
    # nnx still sees ordinary variables.
    graphdef, state = nnx.split(model)
    assert nnx.merge(graphdef, state).get_layer("d").kernel.get_value().shape == (3, 2)
    # After a fit, an assign is what the next fit starts from.
    model.compile(optimizer=hl.optimizers.SGD(0.0), loss="mse")
    model.fit(x, np.zeros((2, 2)), epochs=1, verbose=0)
    kernel.assign(np.zeros((3, 2)))
    model.fit(x, np.zeros((2, 2)), epochs=1, verbose=0)   # learning rate 0: nothing moves
    np.testing.assert_array_equal(kernel.numpy(), np.zeros((3, 2)))
    np.testing.assert_allclose(model.predict(x, verbose=0), [[1.0, -1.0]] * 2)


def test_an_assign_during_fit_is_not_lost(rng):
    x, y = _data(rng, 32, 3)
    model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(1, name="d")])
    model.compile(optimizer=hl.optimizers.SGD(0.05), loss="mse")
    seen = {}

    class ZeroAtLastBatch(hl.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 3:   # the epoch's last step: the train state is newer than the layer
                seen["before"] = model.get_layer("d").kernel.numpy().copy()
                model.get_layer("d").kernel.assign(np.zeros((3, 1)))

    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[ZeroAtLastBatch()])
    np.testing.assert_array_equal(model.get_layer("d").kernel.numpy(), np.zeros((3, 1)))
    assert np.abs(seen["before"]).sum() > 0   # numpy() read the trained values, not the initial ones


# -- add_loss ---------------------------------------------------------------------------------

def _activity_model(lib):
    class Penalty(lib.layers.Layer):
        def call(self, inputs):
            self.add_loss(0.05 * jnp.sum(jnp.square(inputs)))
            return inputs

    inputs = lib.Input((4,))
    h = Penalty()(lib.layers.Dense(3, activation="tanh")(inputs))
    return lib.Model(inputs, lib.layers.Dense(1)(h))


def test_add_loss_changes_the_loss_as_in_keras(rng):
    x, y = _data(rng, 16)
    km, hm = K(_activity_model, keras), _activity_model(hl)
    hm.set_weights(km.get_weights())
    km.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    hm.compile(optimizer=hl.optimizers.SGD(0.05), loss="mse")
    np.testing.assert_allclose(hm.evaluate(x, y, batch_size=8, verbose=0),
                               K(km.evaluate, x, y, batch_size=8, verbose=0), rtol=1e-5)
    kh, hh = _fit_both(km, hm, x, y, batch_size=8)
    np.testing.assert_allclose(hh["loss"], kh["loss"], rtol=1e-5)
    _assert_same_weights(km, hm)
    with count_compilations() as compiled:
        hm.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert compiled == [], compiled
    # Outside a trace, layer.losses holds the last call's values (as Keras's).
    penalty = hm.layers[2]
    out = np.asarray(hm.layers[1](x[:2]))
    penalty(out)
    np.testing.assert_allclose([float(v) for v in penalty.losses], [0.05 * np.sum(out ** 2)], rtol=1e-5)
    penalty(out[:1])
    assert len(penalty.losses) == 1   # replaced, not accumulated


def test_model_losses_list_one_penalty_per_regularized_weight_as_keras():
    def build(lib):
        return lib.Sequential([lib.Input((4,)),
                               lib.layers.Dense(3, kernel_regularizer=lib.regularizers.L2(0.1),
                                                bias_regularizer=lib.regularizers.L1(0.2), bias_initializer="ones"),
                               lib.layers.Dense(2),
                               lib.layers.Dense(1, kernel_regularizer=lib.regularizers.L1(0.01))])
    km, hm = K(build, keras), build(hl)
    hm.set_weights(km.get_weights())
    expected = [float(v) for v in K(lambda: km.losses)]
    assert len(expected) == 3
    np.testing.assert_allclose([float(v) for v in hm.losses], expected, rtol=1e-6)


def test_endpoint_layer_with_two_tensor_arguments_and_no_compiled_loss(rng):
    # keras.io's "endpoint layer" pattern: call(self, targets, logits), loss from add_loss only.
    def make(lib):
        class LogisticEndpoint(lib.layers.Layer):
            def call(self, targets, logits):
                probs = jax.nn.sigmoid(logits)
                bce = -(targets * jnp.log(probs + 1e-7) + (1 - targets) * jnp.log(1 - probs + 1e-7))
                self.add_loss(jnp.mean(bce))
                return probs

        inputs, targets = lib.Input((3,), name="inputs"), lib.Input((2,), name="targets")
        logits = lib.layers.Dense(2)(inputs)
        return lib.Model([inputs, targets], LogisticEndpoint(name="predictions")(targets, logits))

    x = rng.random((8, 3)).astype("float32")
    t = (rng.random((8, 2)) > 0.5).astype("float32")
    km, hm = K(make, keras), make(hl)
    hm.set_weights(km.get_weights())
    km.compile(optimizer=keras.optimizers.SGD(0.5))
    hm.compile(optimizer=hl.optimizers.SGD(0.5))
    kh = K(km.fit, [x, t], batch_size=4, epochs=2, shuffle=False, verbose=0).history
    hh = hm.fit([x, t], batch_size=4, epochs=2, shuffle=False, verbose=0).history
    np.testing.assert_allclose(hh["loss"], kh["loss"], rtol=1e-5)
    _assert_same_weights(km, hm)
    node = hm.get_layer("predictions").inbound_nodes[0]
    assert len(node.input_tensors) == 2
    # Called on arrays too, and round-tripped through the model's config.
    np.testing.assert_allclose(hm.get_layer("predictions")(t, np.zeros((8, 2), "float32")), np.full((8, 2), 0.5))
    with pytest.raises(ValueError, match="compiled without a loss and adds none"):
        plain = hl.Sequential([hl.Input((3,)), hl.layers.Dense(1)])
        plain.compile(optimizer="sgd")
        plain.fit(x, t[:, :1], verbose=0)


# -- compute_loss / compute_metrics overrides -------------------------------------------------

def _penalized(lib):
    class Penalized(lib.Model):
        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            loss = super().compute_loss(x, y, y_pred, sample_weight, training)
            return loss + 0.1 * jnp.mean(jnp.square(y_pred))

    inputs = lib.Input((4,))
    return Penalized(inputs, lib.layers.Dense(1)(lib.layers.Dense(3, activation="relu")(inputs)))


def test_compute_loss_override_is_used_by_fit_evaluate_and_single_batches(rng):
    x, y = _data(rng, 16)
    km, hm = K(_penalized, keras), _penalized(hl)
    hm.set_weights(km.get_weights())
    km.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    hm.compile(optimizer=hl.optimizers.SGD(0.05), loss="mse")
    np.testing.assert_allclose(hm.evaluate(x, y, batch_size=8, verbose=0),
                               K(km.evaluate, x, y, batch_size=8, verbose=0), rtol=1e-5)
    np.testing.assert_allclose(hm.test_on_batch(x, y), K(km.test_on_batch, x, y), rtol=1e-5)
    kh, hh = _fit_both(km, hm, x, y, batch_size=8)
    np.testing.assert_allclose(hh["loss"], kh["loss"], rtol=1e-5)
    np.testing.assert_allclose(hm.train_on_batch(x, y), K(km.train_on_batch, x, y), rtol=1e-5)
    _assert_same_weights(km, hm)
    # The override really counts: the default loss differs.
    plain = hl.Model.compute_loss(hm, x, y, hm(x))
    assert abs(float(plain) - hm.evaluate(x, y, batch_size=16, verbose=0)) > 1e-3
    with count_compilations() as compiled:
        hm.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert compiled == [], compiled


def test_subclassed_model_with_its_own_call_and_compute_loss(rng):
    def make(lib):
        class Net(lib.Model):
            def __init__(self):
                super().__init__()
                self.hidden = lib.layers.Dense(5, activation="tanh")
                self.out = lib.layers.Dense(1)

            def call(self, inputs, training=False):
                return self.out(self.hidden(inputs))

            def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
                return jnp.mean(jnp.abs(y_pred - y)) + 0.01 * jnp.sum(jnp.square(jnp.asarray(self.out.kernel)))

        return Net()

    x, y = _data(rng, 16)
    km, hm = make(keras), make(hl)
    K(km, x[:1])
    hm(x[:1])
    hm.set_weights(km.get_weights())
    km.compile(optimizer=keras.optimizers.SGD(0.1))
    hm.compile(optimizer=hl.optimizers.SGD(0.1))
    kh, hh = _fit_both(km, hm, x, y, batch_size=8)
    np.testing.assert_allclose(hh["loss"], kh["loss"], rtol=1e-5)
    _assert_same_weights(km, hm)


def test_compute_metrics_override_changes_what_the_metrics_see(rng):
    class Shifted(hl.Model):
        def compute_metrics(self, x, y, y_pred, sample_weight=None):
            return super().compute_metrics(x, y, y_pred + 1.0, sample_weight)

    inputs = hl.Input((4,))
    model = Shifted(inputs, hl.layers.Dense(1)(inputs))
    model.compile(optimizer=hl.optimizers.SGD(0.0), loss="mse", metrics=["mae"])
    x, y = _data(rng, 8)
    pred = model.predict(x, verbose=0)
    loss, mae = model.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(loss, np.mean((pred - y) ** 2), rtol=1e-5)
    np.testing.assert_allclose(mae, np.mean(np.abs(pred + 1.0 - y)), rtol=1e-5)
    logs = model.fit(x, y, batch_size=8, epochs=1, verbose=0).history
    np.testing.assert_allclose(logs["mae"], [np.mean(np.abs(pred + 1.0 - y))], rtol=1e-5)


@pytest.mark.parametrize("hook", ["train_step", "test_step", "predict_step", "metrics"])
def test_keras_step_overrides_are_refused_rather_than_ignored(hook):
    calls = []
    method = lambda self, *args: calls.append(args)   # noqa: E731
    Custom = type("Custom", (hl.Model,), {hook: property(method) if hook == "metrics" else method})
    inputs = hl.Input((4,))
    model = Custom(inputs, hl.layers.Dense(1)(inputs))
    with pytest.raises(ValueError, match=f"Custom defines {hook}, which highlevel never calls"):
        model.compile(optimizer="sgd", loss="mse")
    assert not model.compiled and calls == []


# -- graph construction -----------------------------------------------------------------------

def _block(lib):
    class Block(lib.layers.Layer):
        """keras.io's TransformerBlock pattern: sublayers made in __init__, used in call."""

        def __init__(self, dim, **kwargs):
            super().__init__(**kwargs)
            self.ffn_in = lib.layers.Dense(2 * dim, activation="relu")
            self.ffn_out = lib.layers.Dense(dim)
            self.norm = lib.layers.LayerNormalization(epsilon=1e-6)
            self.drop = lib.layers.Dropout(0.0)

        def call(self, inputs, training=False):
            return self.norm(inputs + self.drop(self.ffn_out(self.ffn_in(inputs)), training=training))

    return Block


@pytest.mark.parametrize("kind", ["functional", "sequential"])
def test_custom_layer_with_sublayers_builds_on_input_and_matches_keras(kind, rng):
    def make(lib):
        block = _block(lib)
        if kind == "sequential":
            return lib.Sequential([lib.Input((5, 4)), block(4), lib.layers.Dense(1)])
        inputs = lib.Input((5, 4))
        return lib.Model(inputs, lib.layers.Dense(1)(block(4)(inputs)))

    x = rng.standard_normal((6, 5, 4)).astype("float32")
    y = rng.standard_normal((6, 5, 1)).astype("float32")
    km, hm = K(make, keras), make(hl)
    assert hm.count_params() == km.count_params()
    hm.set_weights(km.get_weights())
    np.testing.assert_allclose(hm.predict(x, verbose=0), K(km.predict, x, verbose=0), atol=1e-5)
    km.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    hm.compile(optimizer=hl.optimizers.SGD(0.1), loss="mse")
    kh, hh = _fit_both(km, hm, x, y, epochs=1, batch_size=3)
    np.testing.assert_allclose(hh["loss"], kh["loss"], rtol=1e-5)
    _assert_same_weights(km, hm)


def test_layer_that_makes_a_sublayer_inside_call_builds_on_input():
    class Lazy(hl.layers.Layer):
        def call(self, inputs):
            if not hasattr(self, "inner"):
                self.inner = hl.layers.Dense(2)
            return self.inner(inputs)

    inputs = hl.Input((3,))
    model = hl.Model(inputs, Lazy()(inputs))
    assert model.count_params() == 8
    assert model.predict(np.ones((2, 3), "float32"), verbose=0).shape == (2, 2)


def _transfer(lib, nested, rate):
    layers = [lib.layers.Dense(3), lib.layers.BatchNormalization(), lib.layers.Dropout(rate)]
    if nested == "sequential":
        base = lib.Sequential([lib.Input((4,))] + layers)
    else:
        base_in = lib.Input((4,))
        h = base_in
        for layer in layers:
            h = layer(h)
        base = lib.Model(base_in, h)
    inputs = lib.Input((4,))
    return base, lib.Model(inputs, lib.layers.Dense(1)(base(inputs, training=False)))


@pytest.mark.parametrize("nested", ["functional", "sequential"])
def test_training_false_at_graph_construction_pins_the_base_to_inference(nested, rng):
    # The transfer-learning pattern, x = base(inputs, training=False): fit and predict run, and
    # the base's dropout and batch norm stay in inference mode during fit. (Keras 3.15 lets fit's
    # training=True override the call's training=False, keras-team/keras#20285; Keras's guide
    # and tf.keras pin it, as here.) With the learning rate 0, fit's loss is evaluate's.
    x, y = _data(rng, 16)
    base, model = _transfer(hl, nested, 0.5)
    model.compile(optimizer=hl.optimizers.SGD(0.0), loss="mse")
    moving = [w.copy() for w in base.get_weights()[-2:]]
    expected = model.evaluate(x, y, batch_size=8, verbose=0)
    history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    np.testing.assert_allclose(history["loss"], [expected, expected], rtol=1e-6)
    for before, after in zip(moving, base.get_weights()[-2:]):
        np.testing.assert_array_equal(before, after)
    assert hl.Model.from_config(model.get_config()).get_config()["calls"][-2]["kwargs"] == {"training": False}
    # Against Keras, with the base frozen (Keras's batch norm then infers too) and no dropout.
    (kbase, km), (hbase, hm) = K(_transfer, keras, nested, 0.0), _transfer(hl, nested, 0.0)
    hm.set_weights(km.get_weights())
    kbase.trainable = hbase.trainable = False
    km.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    hm.compile(optimizer=hl.optimizers.SGD(0.1), loss="mse")
    kh, hh = _fit_both(km, hm, x, y, batch_size=8)
    np.testing.assert_allclose(hh["loss"], kh["loss"], rtol=1e-5)
    _assert_same_weights(km, hm)
    np.testing.assert_allclose(hm.predict(x, verbose=0), K(km.predict, x, verbose=0), atol=1e-5)


def test_layer_input_output_and_shapes():
    dense = hl.layers.Dense(3)
    with pytest.raises(AttributeError, match="Layer 'dense.*' has never been called on hl.Input tensors"):
        dense.output
    a, b = hl.Input((4,)), hl.Input((4,))
    out = dense(a)
    assert dense.input is a and dense.output is out
    assert dense.input_shape == (None, 4) and dense.output_shape == (None, 3)
    dense(b)   # a second call with the same shapes: still one input shape
    assert dense.input_shape == (None, 4)
    flatten = hl.layers.Flatten()
    flatten(hl.Input((2, 3)))
    flatten(hl.Input((4, 5)))
    with pytest.raises(AttributeError, match="called 2 times with different input shapes"):
        flatten.input_shape
    assert flatten.input.shape == (None, 2, 3)   # Keras 3: the first call's
    concat = hl.layers.Concatenate()
    concat([a, b])
    assert concat.input == [a, b] and concat.input_shape == [(None, 4), (None, 4)]
    model = hl.Model(a, out)
    assert model.layers[0].input is a and model.layers[0].output is a


# -- summary, cloning, JSON, metrics_names ------------------------------------------------------

def _two_branch():
    inputs = hl.Input((4,), name="x")
    shared = hl.layers.Dense(3, name="shared")
    h = hl.layers.Concatenate(name="cat")([shared(inputs), shared(hl.layers.Dense(4, name="pre")(inputs))])
    return hl.Model(inputs, hl.layers.Dense(2, name="out")(h), name="net")


def test_summary_options():
    inner = hl.Sequential([hl.Input((4,)), hl.layers.Dense(3, name="inner_dense")], name="inner")
    inputs = hl.Input((4,))
    model = hl.Model(inputs, hl.layers.Dense(1, name="head")(inner(inputs)))
    inner.trainable = False
    lines = []
    model.summary(print_fn=lines.append, show_trainable=True, expand_nested=True, line_length=100)
    text = lines[0]
    assert "Trainable" in text and "inner_dense (Dense)" in text
    rows = {line.split()[0]: line.split()[-1] for line in text.splitlines() if line.startswith(("inner", "head", "  "))}
    assert rows["inner"] == "N" and rows["head"] == "Y" and rows["inner_dense"] == "N"
    assert all(len(line) <= 100 for line in text.splitlines())
    lines.clear()
    model.summary(print_fn=lines.append, layer_range=["inner", "inner"])
    assert "head" not in lines[0] and "inner (Sequential)" in lines[0]


def test_clone_model_keeps_architecture_and_sharing_with_new_weights(rng):
    model = _two_branch()
    clone = hl.models.clone_model(model)
    assert [l.name for l in clone.layers] == [l.name for l in model.layers]
    assert all(c is not o for c, o in zip(clone.layers, model.layers))
    assert len(clone.get_layer("shared").inbound_nodes) == 2   # still shared
    x = rng.standard_normal((3, 4)).astype("float32")
    assert not np.allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0))
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    # clone_function and input_tensors.
    new_in = hl.Input((4,), name="other")
    renamed = hl.models.clone_model(
        model, input_tensors=new_in,
        clone_function=lambda l: type(l).from_config({**l.get_config(), "name": l.name + "_c"}))
    assert renamed.inputs[0] is new_in and renamed.get_layer("out_c").units == 2
    seq = hl.Sequential([hl.Input((4,)), hl.layers.Dense(2, name="d")])
    seq_clone = hl.models.clone_model(seq)
    assert isinstance(seq_clone, hl.Sequential) and seq_clone.get_layer("d") is not seq.get_layer("d")
    assert seq_clone.count_params() == 10


def test_to_json_and_model_from_json_round_trip(rng):
    model = _two_branch()
    text = model.to_json()
    again = hl.models.model_from_json(text)
    assert again.to_json() == text
    again.set_weights(model.get_weights())
    x = rng.standard_normal((3, 4)).astype("float32")
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)

    class Twice(hl.layers.Layer):   # not registered: found through custom_objects
        def call(self, inputs):
            return 2.0 * inputs

    inputs = hl.Input((2,))
    custom = hl.Model(inputs, Twice(name="twice")(inputs))
    with pytest.raises(ValueError, match="Unknown layer 'Twice'"):
        hl.models.model_from_json(custom.to_json())
    loaded = hl.models.model_from_json(custom.to_json(), custom_objects={"Twice": Twice})
    np.testing.assert_allclose(loaded.predict(np.ones((1, 2), "float32"), verbose=0), [[2.0, 2.0]])
    with pytest.raises(ValueError, match="model_from_json needs the string model.to_json\\(\\) returns"):
        hl.models.model_from_json("{not json")


def test_metrics_names_name_model_metrics_as_keras_3():
    model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(2, activation="softmax")])
    assert model.metrics_names == []
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    assert model.metrics_names == ["loss", "compile_metrics"] == [m.name for m in model.metrics]
    assert list(model.evaluate(np.ones((4, 3)), np.zeros(4), verbose=0, return_dict=True)) == ["accuracy", "loss"]


def test_build_gets_each_tensor_arguments_shape_by_name():
    # Keras's rule for several tensor arguments: build(query_shape, value_shape).
    class Cross(hl.layers.Layer):
        def build(self, query_shape, value_shape):
            self.w = self.add_weight(shape=(query_shape[-1], value_shape[-1]), initializer="ones", name="w")

        def call(self, query, value):
            return jnp.einsum("bq,qv,bv->b", query, self.w.get_value(), value)[:, None]

    q, v = hl.Input((2,)), hl.Input((3,))
    layer = Cross()
    out = layer(q, value=v)
    assert layer.w.shape == (2, 3) and out.shape == (None, 1)
    model = hl.Model([q, v], out)
    np.testing.assert_allclose(model.predict([np.ones((1, 2)), np.ones((1, 3))], verbose=0), [[6.0]])
    eager = Cross()
    np.testing.assert_allclose(eager(np.ones((1, 4), "float32"), np.ones((1, 5), "float32")), [[20.0]])
    assert eager.w.shape == (4, 5)
