"""The local stack: moto in process as the embedded AWS plus an API Gateway emulator."""
