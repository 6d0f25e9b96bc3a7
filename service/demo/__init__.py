"""The demo: a realistic directory, a synthetic register, scenario zones and a drill, and the
``lifeline demo`` command that sets them up. Fixtures of the demo, tests and benchmarks; never
part of the API."""
