"""The learned Generator (PyTorch). This package is the only place that imports torch."""

from gencor.models.generator import CNNGenerator, ResidualCNN

__all__ = ["ResidualCNN", "CNNGenerator"]
