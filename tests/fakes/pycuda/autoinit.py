"""Fake ``pycuda.autoinit``: like the real one, makes a context on device 0 at import."""

from pycuda import driver as cuda

cuda.init()
device = cuda.Device(0)
context = device.make_context()
