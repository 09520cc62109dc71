"""Train a small CNN on scikit-learn's digits and print its held-out accuracy.

    python recipes/digits_cnn.py [--epochs 30] [--seed 0]
"""

from __future__ import annotations

import argparse

import highlevel as hl


def build_model() -> hl.Sequential:
    return hl.Sequential([
        hl.Input((8, 8, 1)),
        hl.layers.Conv2D(32, 3, padding="same", activation="relu"),
        hl.layers.BatchNormalization(),
        hl.layers.Conv2D(64, 3, padding="same", activation="relu"),
        hl.layers.MaxPooling2D(2),
        hl.layers.Flatten(),
        hl.layers.Dropout(0.3),
        hl.layers.Dense(10),
    ], name="digits_cnn")


def train(epochs: int = 30, seed: int = 0, batch_size: int = 64, verbose="auto"):
    """Trains the CNN on 80% of digits; returns ``(model, history, test_accuracy)``."""
    hl.utils.set_random_seed(seed)
    (x_train, y_train), (x_test, y_test) = hl.datasets.digits.load_data(test_split=0.2, seed=seed)
    model = build_model()
    model.compile(optimizer=hl.optimizers.Adam(1e-3),
                  loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, validation_split=0.1,
                        verbose=verbose)
    _, accuracy = model.evaluate(x_test, y_test, batch_size=batch_size, verbose=0)
    return model, history, accuracy


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", type=int, default=2)
    args = parser.parse_args(argv)
    model, _, accuracy = train(epochs=args.epochs, seed=args.seed, verbose=args.verbose)
    model.summary()
    print(f"digits test accuracy: {accuracy:.4f}")
    return accuracy


if __name__ == "__main__":
    main()
