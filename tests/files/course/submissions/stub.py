import tensorflow as tf


def relu(x):
    raise NotImplementedError()


def make_var(n):
    raise NotImplementedError()
