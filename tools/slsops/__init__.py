"""slsops: the operations toolkit of the Simple Log Service."""

__version__ = "0.1.0"
