"""Backend-specific code in one place: which backend runs, and the lowerings chosen for it.

Layers call one operation per convolution (``conv``, ``depthwise_conv``) and never look
at the backend; ``choose_conv_lowering`` decides, at trace time, from the backend
(``name()``) and one documented setting, ``HIGHLEVEL_CONV_CPU`` or
``set_conv_lowering(...)``:

- ``"auto"`` (default): on a CPU, 'valid', 1x1 and strided convolutions run as patches
  and one matmul, the others keep XLA's convolution with a kernel gradient of matrix
  products over cache-sized chunks of the batch, and depthwise convolutions are a sum
  over their taps: where each measured faster than XLA:CPU's own convolution;
- ``"patches"``: patches wherever they apply (stride-1 'same' convolutions too);
- ``"lax"``: XLA's own convolutions everywhere.

Other backends always take XLA's convolutions. The training loop asks here too
(``host_memory_is_device()``: whether a batch needs copying to the device at all), and so
does the throughput meter (``peak_flops()``: the device's peak, for model FLOP utilisation);
rematerialisation (``remat``) ties its recomputation to the cotangent on a CPU, where
XLA would otherwise merge it back into the forward pass.

Keras's ``keras.config`` settings are here too (``highlevel.config`` is the YAML runs'
package): ``floatx``/``set_floatx``, ``epsilon``/``set_epsilon``, ``image_data_format``/
``set_image_data_format``, with Keras's ``keras.backend`` helpers ``standardize_dtype``,
``result_type``, ``is_float_dtype``, ``is_int_dtype``, ``get_uid``, ``clear_session`` and
``is_keras_tensor`` (lent by ``highlevel/__init__.py``: the functional API's tensors are
``hl.layers``').

>>> import highlevel as hl
>>> hl.backend.get_conv_lowering() in hl.backend.CONV_LOWERINGS
True
"""

from highlevel.backend.convolution import (LOWERINGS, choose_conv_lowering, conv, conv_padding, depthwise_conv,
                                           dimension_numbers)
from highlevel.backend.device import backend, host_memory_is_device, is_cpu, name
from highlevel.backend.peak import PEAK_FLOPS, peak_flops, set_peak_flops
from highlevel.backend.rematerialization import remat
from highlevel.backend.settings import (CONV_LOWERINGS, get_conv_lowering, image_data_format, set_conv_lowering,
                                        set_image_data_format)
from highlevel.utils.dtypes import (epsilon, floatx, get_uid, is_float_dtype, is_int_dtype, result_type, set_epsilon,
                                    set_floatx, standardize_dtype)
from highlevel.utils.global_state import clear_session

__all__ = ["name", "is_cpu", "host_memory_is_device", "get_conv_lowering", "set_conv_lowering",
           "choose_conv_lowering", "conv", "depthwise_conv", "conv_padding", "dimension_numbers",
           "remat", "CONV_LOWERINGS", "LOWERINGS", "peak_flops", "set_peak_flops", "PEAK_FLOPS",
           "image_data_format", "set_image_data_format", "floatx", "set_floatx", "epsilon", "set_epsilon",
           "standardize_dtype", "result_type", "is_float_dtype", "is_int_dtype", "get_uid", "clear_session",
           "backend"]
