"""A transformer text classifier learns word order; a bag of words of the same size cannot.

The task: ten-word sentences with one "cat" and one "dog" among filler words, labelled by
which comes first. Both classes have the same words, so any model that forgets order is
at chance by construction; keras.io's text-transformer architecture (TextVectorization ->
token + position embedding -> MultiHeadAttention block -> pooling -> Dense) must solve it,
without compiling anything after its first epoch.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

import highlevel as hl
from tests.compile_count import count_compilations

FILLER = "the a big small old young quick lazy brown happy sad red green near over under".split()
LENGTH = 10
EMBED_DIM = 16


def _sentences(rng, n):
    texts, labels = [], []
    for _ in range(n):
        words = list(rng.choice(FILLER, size=LENGTH))
        first, second = sorted(rng.choice(LENGTH, size=2, replace=False))
        cat_first = int(rng.integers(2))
        words[first], words[second] = ("cat", "dog") if cat_first else ("dog", "cat")
        texts.append(" ".join(words))
        labels.append(cat_first)
    return np.array(texts), np.array(labels, dtype="int32")


class TokenAndPositionEmbedding(hl.layers.Layer):
    def __init__(self, maxlen, vocab_size, embed_dim, use_positions=True, **kwargs):
        super().__init__(**kwargs)
        self.use_positions = use_positions
        self.token_emb = hl.layers.Embedding(vocab_size, embed_dim)
        self.pos_emb = hl.layers.Embedding(maxlen, embed_dim)

    def call(self, x):
        tokens = self.token_emb(x)
        if not self.use_positions:
            return tokens
        return tokens + self.pos_emb(jnp.arange(x.shape[-1])[None, :])   # (1, length, dim)


class TransformerBlock(hl.layers.Layer):
    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1, **kwargs):
        super().__init__(**kwargs)
        self.att = hl.layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.ffn_hidden = hl.layers.Dense(ff_dim, activation="relu")
        self.ffn_out = hl.layers.Dense(embed_dim)
        self.layernorm1 = hl.layers.LayerNormalization(epsilon=1e-6)
        self.layernorm2 = hl.layers.LayerNormalization(epsilon=1e-6)
        self.dropout1 = hl.layers.Dropout(rate)
        self.dropout2 = hl.layers.Dropout(rate)

    def call(self, inputs, training=False):
        attn = self.att(inputs, inputs)
        out1 = self.layernorm1(inputs + self.dropout1(attn, training=training))
        ffn = self.ffn_out(self.ffn_hidden(out1))
        return self.layernorm2(out1 + self.dropout2(ffn, training=training))


def _classifier(vectorize, vocab_size, use_positions):
    """The same layers; without positions, attention + mean pooling is a
    function of the multiset of words, i.e. a bag of words."""
    return hl.Sequential([
        vectorize,                                    # strings -> ids, on the host
        TokenAndPositionEmbedding(LENGTH, vocab_size, EMBED_DIM, use_positions=use_positions),
        TransformerBlock(EMBED_DIM, num_heads=2, ff_dim=32),
        hl.layers.GlobalAveragePooling1D(),
        hl.layers.Dense(2),
    ])


class _CompilationsAtEpochEnd(hl.callbacks.Callback):
    def __init__(self, compiled):
        super().__init__()
        self.compiled, self.counts = compiled, []

    def on_epoch_end(self, epoch, logs=None):
        self.counts.append(len(self.compiled))


def _train(use_positions, data):
    (x_train, y_train), (x_test, y_test) = data
    hl.utils.set_random_seed(0)
    vectorize = hl.layers.TextVectorization(max_tokens=32, output_sequence_length=LENGTH)
    vectorize.adapt(x_train)
    vocab_size = len(vectorize.get_vocabulary())
    model = _classifier(vectorize, vocab_size, use_positions)
    model.compile(optimizer=hl.optimizers.Adam(3e-3),
                  loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    with count_compilations() as compiled:
        counter = _CompilationsAtEpochEnd(compiled)
        # 2000 rows in batches of 64: the last batch is partial (padded, not recompiled).
        model.fit(x_train, y_train, batch_size=64, epochs=6, validation_data=(x_test, y_test),
                  callbacks=[counter], verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, batch_size=64, verbose=0)
    return model, accuracy, counter.counts


def test_transformer_learns_word_order_and_a_bag_of_words_cannot(rng):
    data = (_sentences(rng, 2000), _sentences(rng, 500))
    transformer, accuracy, counts = _train(True, data)
    print(f"transformer {accuracy:.3f}, compilations at epoch ends {counts}")
    assert accuracy >= 0.9, accuracy
    assert len(counts) == 6 and counts[0] > 0
    assert counts[-1] == counts[0], f"compiled after the first epoch: {counts}"

    bag, bag_accuracy, _ = _train(False, data)
    print(f"bag of words {bag_accuracy:.3f}")
    assert bag_accuracy <= 0.65, bag_accuracy
    # The same model less the position table (never built when unused).
    assert transformer.count_params() - bag.count_params() == LENGTH * EMBED_DIM

    # The trained model takes raw strings end to end; swapping cat and dog flips the class.
    flipped = transformer.predict(np.array(["the cat sat near the old dog today and then",
                                            "the dog sat near the old cat today and then"]), verbose=0)
    assert list(np.argmax(flipped, axis=-1)) == [1, 0]
