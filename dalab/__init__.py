"""dalab: a domain-adaptation lab. Core: data -> nn -> losses -> methods -> runs -> train."""
__version__ = "0.1.0"
