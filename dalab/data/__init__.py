"""Data layer: domains, splits and pairs. See DESIGN.md and docs/data.md."""
from .domains import (DOMAINS, Domain, DomainInfo, Split, domain_info, list_domains,
                      load_domain)
from .arrays import pair_from_arrays, pair_from_saved
from .errors import DataError
from .pair import Batch, DomainPair, TargetEvaluation

__all__ = ["DOMAINS", "Batch", "DataError", "Domain", "DomainInfo", "DomainPair", "Split",
           "TargetEvaluation", "domain_info", "list_domains", "load_domain", "pair_from_arrays",
           "pair_from_saved"]
