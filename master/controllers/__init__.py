"""The master's controllers, one module per loop; master.loops builds and starts them."""
