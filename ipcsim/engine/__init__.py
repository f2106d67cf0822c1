"""Execute: the SimPy engine (the only subpackage that imports simpy)."""
