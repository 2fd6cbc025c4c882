"""The scheduler: places pending pods on nodes (queue, filters, scores, cache, the cycle)."""
