"""Hidden suite of the grader's own test of real course notebooks."""

import numpy as np

from grader.harness import expect_close, expect_equal, grade


@grade(points=2, exercise="prepare", hint="Divide by 255 and keep float32.")
def test_prepare_scales_pixels(student, reference, rng):
    images = rng.integers(0, 256, size=(3, 28, 28)).astype(np.uint8)
    expect_close(student.prepare(images), reference.prepare(images))


@grade(points=2, exercise="create_model", hint="Ten outputs, one per class.")
def test_create_model_gives_ten_logits(student, rng):
    images = rng.random(size=(5, 28, 28)).astype(np.float32)
    logits = student.create_model().predict(images, verbose=0)
    expect_equal(np.shape(logits), (5, 10), what="the shape of the model's output")
