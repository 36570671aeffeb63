"""What the viewers show, shaped from store rows: shared by the terminal viewer (``cli``) and the
web dashboard (``dashboard``), which both sit above this package and import nothing from each
other. ``_model`` builds trees, breakdowns and replay steps; ``_time`` reads "since" values."""
