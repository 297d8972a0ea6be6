import numpy as np
import tensorflow as tf

from transformer_tf import create_look_ahead_mask, create_masks, create_padding_mask


def test_padding_mask_marks_zero_ids_with_broadcastable_shape():
    seq = tf.constant([[7, 6, 0, 0, 1], [1, 2, 3, 0, 0]])
    mask = create_padding_mask(seq)
    assert mask.shape == (2, 1, 1, 5)
    assert mask.dtype == tf.float32
    np.testing.assert_array_equal(mask[:, 0, 0, :], [[0, 0, 1, 1, 0], [0, 0, 0, 1, 1]])


def test_look_ahead_mask_is_one_strictly_above_the_diagonal():
    mask = create_look_ahead_mask(4).numpy()
    np.testing.assert_array_equal(mask, np.triu(np.ones((4, 4)), k=1))


def test_create_masks_shapes_and_combination():
    inp = tf.constant([[5, 6, 0], [7, 0, 0]])
    tar = tf.constant([[1, 2, 3, 0], [1, 0, 0, 0]])
    enc_mask, combined, dec_mask = create_masks(inp, tar)
    assert enc_mask.shape == dec_mask.shape == (2, 1, 1, 3)
    assert combined.shape == (2, 1, 4, 4)
    # combined = max(look-ahead, target padding): future or padded positions are masked
    expected_0 = np.maximum(np.triu(np.ones((4, 4)), k=1), [[0, 0, 0, 1]])
    np.testing.assert_array_equal(combined[0, 0], expected_0)
    np.testing.assert_array_equal(combined[1, 0, 0], [0, 1, 1, 1])
    np.testing.assert_array_equal(dec_mask, enc_mask)
