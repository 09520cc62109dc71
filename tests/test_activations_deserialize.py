"""activations.deserialize reads what keras.activations.serialize and Keras's object serializer write."""

import jax.numpy as jnp
import keras
import numpy as np
import pytest

from highlevel import activations


# (Not sparsemax: Keras 3.15's, on JAX, does not sum to 1 where hl's does.)
@pytest.mark.parametrize("name", ["relu", "gelu", "silu", "softmax", "hard_tanh", "soft_shrink", "linear"])
def test_keras_names_and_dicts_deserialize_to_the_same_function(name, rng):
    fn = getattr(keras.activations, name)
    ours = activations.deserialize(keras.activations.serialize(fn))
    assert ours is activations.deserialize(keras.saving.serialize_keras_object(fn)) is activations.get(name)
    x = rng.normal(size=(2, 5)).astype("float32")
    np.testing.assert_allclose(np.asarray(ours(jnp.asarray(x))), np.asarray(fn(x)), rtol=1e-6, atol=1e-6)
    assert activations.deserialize(activations.serialize(ours)) is ours


def test_custom_objects_are_lent():
    def my_act(x):
        return 2 * x

    config = {"class_name": "function", "config": "my_act", "registered_name": "function"}
    assert activations.deserialize(config, custom_objects={"my_act": my_act}) is my_act
    assert activations.deserialize("my_act", custom_objects={"my_act": my_act}) is my_act
    with pytest.raises(ValueError, match="Unknown activation 'my_act'"):
        activations.deserialize(config)
