"""Tutorial 1: logistic regression with the raw symbolic API, in the four steps a Caffe
user knows: data, inner product, softmax-with-loss, SGD updates. See t1_logistic_regression.md."""
import numpy as np

import symgraph as sg


def main(fast=False):
    # 1. Data: the digits as shared variables, so each minibatch is a slice (Theano's givens).
    (x_train, y_train), (x_test, y_test) = sg.datasets.load_digits()
    data_x = sg.shared(x_train.reshape(len(x_train), -1), "data_x")
    data_y = sg.shared(y_train, "data_y")

    # 2. Inner product: logits = x W + b.
    x, y = sg.matrix("x"), sg.ivector("y")
    W = sg.shared(np.zeros((64, 10), sg.config.floatX), "W")
    b = sg.shared(np.zeros(10, sg.config.floatX), "b")
    logits = sg.dot(x, W) + b

    # 3. Softmax with loss: written plainly; the rewriter fuses it into one stable op.
    cost = sg.nn.categorical_crossentropy(sg.nn.softmax(logits), y).mean()

    # 4. SGD updates, applied by the compiled function after each call.
    lr, batch = 0.5, 50
    gW, gb = sg.grad(cost, [W, b])
    index = sg.lscalar("index")
    train = sg.function([index], cost, updates=[(W, W - lr * gW), (b, b - lr * gb)],
                        givens={x: data_x[index * batch:(index + 1) * batch],
                                y: data_y[index * batch:(index + 1) * batch]})
    predict = sg.function([x], sg.argmax(logits, axis=1))
    for epoch in range(3 if fast else 30):
        losses = [float(train(i)) for i in range(len(x_train) // batch)]
    accuracy = float(np.mean(predict(x_test.reshape(len(x_test), -1)) == y_test))
    print(f"logistic regression: last epoch loss {np.mean(losses):.3f}, test accuracy {accuracy:.3f}")
    print("fused ops in the training function:", [str(n.op)[:40] for n in train.fgraph.apply_nodes
                                                  if "Crossentropy" in str(n.op)])
    return accuracy


if __name__ == "__main__":
    main()
