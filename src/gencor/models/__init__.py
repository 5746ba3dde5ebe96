"""The learned Generators (PyTorch): networks and loading. With :mod:`gencor.training`, the only
place that imports torch."""

from gencor.models.generator import CNNGenerator, ResidualCNN

__all__ = ["CNNGenerator", "ResidualCNN"]
