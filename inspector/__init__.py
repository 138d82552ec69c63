"""Defect-inspection station.

Importing this package must stay cheap: no Qt, TensorFlow, TensorRT or pycuda.
"""

__version__ = "0.1.0"
