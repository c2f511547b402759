# café
def relu(x):
    return x
