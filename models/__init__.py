"""Networks and probabilistic models built from difsci, physics and render."""
