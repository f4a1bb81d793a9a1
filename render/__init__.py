"""A differentiable ray tracer."""
