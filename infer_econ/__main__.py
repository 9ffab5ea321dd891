"""``python -m infer_econ`` is the ``infer-econ`` command."""

from infer_econ.cli import main

raise SystemExit(main())
