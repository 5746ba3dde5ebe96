"""Training of the shipped networks. Inference never imports this package."""
