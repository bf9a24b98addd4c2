"""Tutorial 10: Caffe's way, through `import symgraph.compat.caffe as caffe`: a LeNet written with
pycaffe's NetSpec into .prototxt files, the digits in HDF5 files (Caffe's HDF5Data layer), a
solver .prototxt trained by caffe.SGDSolver, the .caffemodel it snapshots deployed with caffe.Net,
features taken from a hidden layer for an SVM, and the net drawn by caffe.draw. See t10_caffe.md."""
import os
import tempfile

import numpy as np

import symgraph as sg
import symgraph.compat.caffe as caffe
from symgraph.compat.caffe import layers as L, params as P


def write_digits(folder):
    """The digits as Caffe's HDF5 classification example keeps data: a dataset per top, and a
    text file listing the .h5 files."""
    import h5py
    (x_train, y_train), (x_test, y_test) = sg.datasets.load_digits()
    for name, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        with h5py.File(os.path.join(folder, f"{name}.h5"), "w") as f:
            f["data"] = x.reshape(len(x), 1, 8, 8).astype(np.float32)
            f["label"] = y.astype(np.float32)
        with open(os.path.join(folder, f"{name}.txt"), "w") as f:
            f.write(os.path.join(folder, f"{name}.h5") + "\n")
    return len(x_test)


def lenet(source, batch_size):
    """pycaffe's LeNet, as its "learning LeNet" notebook writes it (8x8 digits: one pooling)."""
    n = caffe.NetSpec()
    n.data, n.label = L.HDF5Data(batch_size=batch_size, source=source, ntop=2)
    n.conv1 = L.Convolution(n.data, kernel_size=3, pad=1, num_output=20, weight_filler=dict(type="xavier"))
    n.pool1 = L.Pooling(n.conv1, kernel_size=2, stride=2, pool=P.Pooling.MAX)
    n.conv2 = L.Convolution(n.pool1, kernel_size=3, pad=1, num_output=50, weight_filler=dict(type="xavier"))
    n.fc1 = L.InnerProduct(n.conv2, num_output=128, weight_filler=dict(type="xavier"))
    n.relu1 = L.ReLU(n.fc1, in_place=True)
    n.score = L.InnerProduct(n.relu1, num_output=10, weight_filler=dict(type="xavier"))
    n.loss = L.SoftmaxWithLoss(n.score, n.label)
    n.accuracy = L.Accuracy(n.score, n.label)
    return n.to_proto()


def main(fast=False, out=None):
    out = out or tempfile.mkdtemp()
    os.makedirs(out, exist_ok=True)
    caffe.set_mode_cpu()
    caffe.set_random_seed(0)
    n_test = write_digits(out)
    with open(os.path.join(out, "lenet_train.prototxt"), "w") as f:
        f.write(str(lenet(os.path.join(out, "train.txt"), 64)))
    with open(os.path.join(out, "lenet_test.prototxt"), "w") as f:
        f.write(str(lenet(os.path.join(out, "test.txt"), n_test)))
    # Caffe's LeNet solver: SGD with momentum, weight decay, the "inv" learning-rate policy.
    max_iter = 200 if fast else 1000
    with open(os.path.join(out, "lenet_solver.prototxt"), "w") as f:
        f.write(f'train_net: "{out}/lenet_train.prototxt"\ntest_net: "{out}/lenet_test.prototxt"\n'
                f'test_iter: 1\ntest_interval: 500\nbase_lr: 0.01\nmomentum: 0.9\nweight_decay: 0.0005\n'
                f'lr_policy: "inv"\ngamma: 0.0001\npower: 0.75\ndisplay: 100\nmax_iter: {max_iter}\n'
                f'snapshot_prefix: "{out}/lenet"\nrandom_seed: 0\n')

    solver = caffe.SGDSolver(os.path.join(out, "lenet_solver.prototxt"))
    solver.solve()  # trains to max_iter, prints the loss, tests, snapshots lenet_iter_<max_iter>.caffemodel
    accuracy = float(solver.test_nets[0].forward()["accuracy"])
    print(f"test accuracy {accuracy:.3f}")

    # Deploy: the trained weights by layer name into a net of the test prototxt.
    net = caffe.Net(os.path.join(out, "lenet_test.prototxt"), os.path.join(out, f"lenet_iter_{max_iter}.caffemodel"),
                    caffe.TEST)
    net.forward()
    deployed = float(np.mean(net.blobs["score"].data.argmax(1) == net.blobs["label"].data))
    print(f"deployed: {deployed:.3f} of the test digits right")

    # Transfer learning: the hidden layer's features (forward up to relu1), an SVM on them.
    from sklearn.svm import LinearSVC
    features, labels = net.forward(end="relu1")["fc1"].copy(), net.blobs["label"].data.copy()
    half = len(labels) // 2
    svm = LinearSVC(C=0.1, max_iter=5000).fit(features[:half], labels[:half])
    svm_accuracy = float(svm.score(features[half:], labels[half:]))
    print(f"an SVM on fc1's features: {svm_accuracy:.3f}")

    picture = caffe.draw.draw_net_to_file(caffe.net_parameter(os.path.join(out, "lenet_train.prototxt")),
                                          os.path.join(out, "lenet.png"), rankdir="LR")
    print(f"the net drawn in {picture}")
    return accuracy, deployed, svm_accuracy, picture


if __name__ == "__main__":
    main()
