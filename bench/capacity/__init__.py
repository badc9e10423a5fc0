"""Capacity model (issue 20, point 6): `python -m bench.capacity RESULTS.json [MORE.json ...]` reads
`make bench` results and writes docs/capacity.md. Each per-unit cost comes from a named figure, taken
from the first file given that has it; the assumptions are the named constants of assumptions.py.
Nothing here measures: rerun it on a newer results file and the document follows.

- assumptions.py: the constants (users, rates, boxes; the fallback estimates for old results files);
- graph.py: follower counts for the graph seed_data draws (adminpanel/seed/shape.py: followees
  picked by popularity weight 1/(rank + 3), out-degrees gamma with shape 1.5), computed
  analytically, never by sampling 100M accounts;
- figures.py: the named figures and the per-unit costs taken from them;
- model.py: the needs at the peak; doc.py: the document.
"""

# Re-exported (redundant aliases), so callers keep writing capacity.<name> as before the split.
from bench.capacity.assumptions import *  # noqa: F403 (the constants, for the tests and the reader)
from bench.capacity.doc import (
    main as main,
)
from bench.capacity.doc import (
    render as render,
)
from bench.capacity.figures import (
    Cost as Cost,
)
from bench.capacity.figures import (
    Costs as Costs,
)
from bench.capacity.figures import (
    Figures as Figures,
)
from bench.capacity.figures import (
    MissingFigure as MissingFigure,
)
from bench.capacity.figures import (
    Source as Source,
)
from bench.capacity.figures import (
    costs as costs,
)
from bench.capacity.figures import (
    load as load,
)
from bench.capacity.graph import (
    expected_followers as expected_followers,
)
from bench.capacity.graph import (
    harmonic as harmonic,
)
from bench.capacity.graph import (
    popularity_total as popularity_total,
)
from bench.capacity.graph import (
    pull_mode as pull_mode,
)
from bench.capacity.model import (
    Model as Model,
)
from bench.capacity.model import (
    Need as Need,
)
from bench.capacity.model import (
    model as model,
)
