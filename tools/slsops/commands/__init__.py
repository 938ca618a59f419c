"""One module per ``slsops`` command; each exposes ``register(app)``."""
