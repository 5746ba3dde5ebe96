"""gencor: blind deblurring and beyond with learned Generator-Corrector propagation."""

__version__ = "0.1.0"
