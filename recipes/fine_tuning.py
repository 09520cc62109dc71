"""Fine-tuning in two phases: train a new head on a frozen ImageNet MobileNetV2, then its top blocks.

    python recipes/fine_tuning.py [--per-class 50] [--head-epochs 5] [--fine-epochs 5] [--blocks 3]

Phase one is feature extraction (``recipes/feature_extraction.py``). Phase two unfreezes the
top ``--blocks`` inverted-residual blocks (and the 1x1 conv above them) with
``hl.applications.unfreeze_top``, keeps batch normalization frozen (inference mode, moving
statistics kept: with 32 images a batch, batch statistics would wreck what ImageNet taught),
and trains on with a 10x lower learning rate, continuing the epoch count.
YAML twin: ``configs/fine_tuning.yaml``.
"""

from __future__ import annotations

import argparse

import highlevel as hl

try:
    from recipes import transfer_data
    from recipes.feature_extraction import build_model, compile_model
except ImportError:  # run as a script
    import transfer_data
    from feature_extraction import build_model, compile_model


def train(per_class: int = 50, head_epochs: int = 5, fine_epochs: int = 5, blocks: int = 3, seed: int = 0,
          size: int = 96, batch_size: int = 32, learning_rate: float = 1e-3, steps_per_epoch: int | None = None,
          test_size: int = 1000, weights="imagenet", verbose=2):
    """Both phases; returns ``(model, {"head": history, "fine": history}, test_accuracy)``."""
    hl.utils.set_random_seed(seed)
    (x_train, y_train), (x_test, y_test) = transfer_data.load(per_class, test_size, size, seed)
    preprocess = lambda x: hl.applications.mobilenet_v2.preprocess_input(x, origin="torchvision")  # noqa: E731
    x_train, x_test = preprocess(x_train), preprocess(x_test)
    model = build_model(size, weights)
    compile_model(model, learning_rate)
    head = model.fit(x_train, y_train, batch_size=batch_size, epochs=head_epochs,
                     steps_per_epoch=steps_per_epoch, verbose=verbose)
    hl.applications.unfreeze_top(model, blocks, freeze_batch_norm=True)
    compile_model(model, learning_rate / 10)
    fine = model.fit(x_train, y_train, batch_size=batch_size, epochs=head_epochs + fine_epochs,
                     initial_epoch=head_epochs, steps_per_epoch=steps_per_epoch, verbose=verbose)
    _, accuracy = model.evaluate(x_test, y_test, batch_size=batch_size, verbose=0)
    return model, {"head": head, "fine": fine}, accuracy


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=50)
    parser.add_argument("--head-epochs", type=int, default=5)
    parser.add_argument("--fine-epochs", type=int, default=5)
    parser.add_argument("--blocks", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=96, help="image height and width")
    parser.add_argument("--test-size", type=int, default=1000)
    parser.add_argument("--steps-per-epoch", type=int, default=None, help="cut epochs short (smoke runs)")
    args = parser.parse_args(argv)
    quick = dict(size=args.size, test_size=args.test_size, steps_per_epoch=args.steps_per_epoch)
    _, _, accuracy = train(per_class=args.per_class, head_epochs=args.head_epochs, fine_epochs=args.fine_epochs,
                           blocks=args.blocks, seed=args.seed, **quick)
    print(f"fine-tuning: test accuracy {accuracy:.4f} ({10 * args.per_class} training images)")
    return accuracy


if __name__ == "__main__":
    main()
