"""caffe.Classifier: pycaffe's image classifier over a deploy net: images (H x W x K floats, as
caffe.io.load_image gives them) resized to image_dims, cropped to the net's input (ten crops
averaged with oversample, else the centre), prepared by a Transformer, classified."""
import numpy as np

from . import io
from .net import TEST, Net


class Classifier(Net):
    def __init__(self, model_file, pretrained_file, image_dims=None, mean=None, input_scale=None, raw_scale=None,
                 channel_swap=None, backend=None):
        super().__init__(model_file, pretrained_file, TEST, backend=backend)
        name = self.inputs[0]
        self.transformer = io.Transformer({name: self.blobs[name].data.shape})
        self.transformer.set_transpose(name, (2, 0, 1))
        if mean is not None:
            self.transformer.set_mean(name, mean)
        if input_scale is not None:
            self.transformer.set_input_scale(name, input_scale)
        if raw_scale is not None:
            self.transformer.set_raw_scale(name, raw_scale)
        if channel_swap is not None:
            self.transformer.set_channel_swap(name, channel_swap)
        self.crop_dims = np.array(self.blobs[name].data.shape[2:])
        self.image_dims = np.array(image_dims if image_dims is not None else self.crop_dims)

    def predict(self, inputs, oversample=True):
        """The net's first output for each image: (len(inputs), classes)."""
        resized = np.stack([io.resize_image(im, tuple(self.image_dims)) for im in inputs])
        if oversample:
            crops = io.oversample(resized, self.crop_dims)
        else:
            top, left = ((self.image_dims - self.crop_dims) / 2.0).astype(int)
            crops = resized[:, top:top + self.crop_dims[0], left:left + self.crop_dims[1]]
        name = self.inputs[0]
        batch = np.stack([self.transformer.preprocess(name, crop) for crop in crops])
        predictions = self.forward_all(**{name: batch})[self.outputs[0]]
        if oversample:
            predictions = predictions.reshape(len(predictions) // 10, 10, -1).mean(axis=1)
        return predictions
