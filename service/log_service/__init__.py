"""Simple Log Service: Lambda handlers and the importable domain behind them."""
