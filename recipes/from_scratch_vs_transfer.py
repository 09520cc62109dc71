"""The same few hundred images three ways: from scratch, by feature extraction, by fine-tuning.

    python recipes/from_scratch_vs_transfer.py [--per-class 50] [--epochs 10] [--seed 0]

All three use MobileNetV2 at 96x96 with the same head and the same training images and
epochs. "From scratch" starts from random weights and trains everything; "feature
extraction" freezes the ImageNet base; "fine-tuning" trains the head for half the epochs and
then the top 3 blocks too, at a 10x lower rate. Prints the test accuracy of each.
YAML twins: ``configs/from_scratch.yaml``, ``configs/feature_extraction.yaml``,
``configs/fine_tuning.yaml``.
"""

from __future__ import annotations

import argparse

try:
    from recipes import feature_extraction, fine_tuning
except ImportError:  # run as a script
    import feature_extraction
    import fine_tuning


def train_from_scratch(per_class: int = 50, epochs: int = 10, seed: int = 0, size: int = 96, batch_size: int = 32,
                       steps_per_epoch: int | None = None, test_size: int = 1000, verbose=2):
    """MobileNetV2 from random weights, everything trained; returns ``(model, history, test_accuracy)``."""
    return feature_extraction.train(per_class=per_class, epochs=epochs, seed=seed, size=size, batch_size=batch_size,
                                    steps_per_epoch=steps_per_epoch, test_size=test_size, weights=None,
                                    freeze=False, verbose=verbose)


def compare(per_class: int = 50, epochs: int = 10, seed: int = 0, size: int = 96,
            steps_per_epoch: int | None = None, test_size: int = 1000, verbose=2) -> dict[str, float]:
    """Test accuracy of each way, by name."""
    common = dict(per_class=per_class, seed=seed, size=size, steps_per_epoch=steps_per_epoch,
                  test_size=test_size, verbose=verbose)
    results = {"from scratch": train_from_scratch(epochs=epochs, **common)[2],
               "feature extraction": feature_extraction.train(epochs=epochs, **common)[2],
               "fine-tuning": fine_tuning.train(head_epochs=epochs // 2, fine_epochs=epochs - epochs // 2,
                                                **common)[2]}
    return results


def main(argv=None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=96, help="image height and width")
    parser.add_argument("--test-size", type=int, default=1000)
    parser.add_argument("--steps-per-epoch", type=int, default=None, help="cut epochs short (smoke runs)")
    args = parser.parse_args(argv)
    quick = dict(size=args.size, test_size=args.test_size, steps_per_epoch=args.steps_per_epoch)
    results = compare(per_class=args.per_class, epochs=args.epochs, seed=args.seed, **quick)
    print(f"\n{10 * args.per_class} training images, {args.epochs} epochs, MobileNetV2 at {args.size}x{args.size}:")
    for name, accuracy in results.items():
        print(f"  {name:<20} test accuracy {accuracy:.4f}")
    return results


if __name__ == "__main__":
    main()
