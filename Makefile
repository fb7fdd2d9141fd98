# The two commands (see README.md):
#   make demo   converge the example topology on the bundled sandbox host, twice
#   make test   every test: sanity, units, properties, sandbox conformance, lint, docs,
#               build, integration on the sandbox, Molecule
#   make fuzz   the property tests with random seeds and more examples (not in make test)
#   make crash  the crash sweep over the whole site.yml, roles included (not in make test)
#   make bench  topology against the per-jail loop (N up to 10,000), written to docs/benchmarks.md
# `make test STAGES="units lint"` runs only some stages.
STAGES ?=

.PHONY: demo test fuzz crash bench bootstrap clean

demo:
	tools/demo

test:
	tools/run-tests $(STAGES)

# Not part of `make test`: the property tests with random seeds and ten times the examples.
# A failing example it prints becomes an @example in tests/properties.
fuzz:
	BSDM_HYPOTHESIS_PROFILE=fuzz BSDM_PROPERTY_SCALE=$${BSDM_PROPERTY_SCALE:-10} tools/run-tests properties

# Not part of `make test`: every command of the demo's whole first converge (site.yml, roles
# included) cut by a crash and by a failure, then run again (tests/crash/sweep.py). About 20 minutes on 2 cores (51 cut points, each twice).
crash:
	tools/bootstrap
	tools/stage-collection >/dev/null
	.venv/bin/python tests/crash/sweep.py --scope site $(CRASH_ARGS)

# Not part of `make test`: topology against the per-jail loop on sandbox hosts; writes
# docs/benchmarks.md. `make bench BENCH_ARGS="--sizes 10,100"` for a shorter run.
bench:
	tools/bench $(BENCH_ARGS)

bootstrap:
	tools/bootstrap

clean:
	-sandbox/sandbox destroy demo-$$(printf '%s' "$$PWD" | sha256sum | cut -c1-8)
	rm -rf .cache tests/output
