"""The design-space format, one module per concern (kept as one import point for callers).

- :mod:`.distributions`: per-dimension domains and pycls's sampling distributions;
- :mod:`.bounds`: what each dimension may hold, numbers read exactly;
- :mod:`.network`: the fixed parts every member shares;
- :mod:`.caps`: params/acts caps relative to the flops cap;
- :mod:`.schema`: the space itself and its parsing (see its docstring for the format);
- :mod:`.loading`: shipped names, paths and ``extends`` chains.
"""
from .bounds import DIM_BOUNDS, MAX_DOMAIN, Bounds, as_value, list_fields  # noqa: F401
from .caps import Cap, parse_cap  # noqa: F401
from .distributions import DISTRIBUTIONS, Domain, fixed_domain, parse_domain  # noqa: F401
from .loading import BUILTIN_DIR, load_space, read_space_data, resolve, shipped_names  # noqa: F401
from .network import Network, parse_network  # noqa: F401
from .schema import (ANYNET_DIMS, KINDS, MAX_STAGE_CHOICES, MAX_STAGES, REGNET_PARAMS,  # noqa: F401
                     RELATIONS, Space, Table1Row, parse_space)
