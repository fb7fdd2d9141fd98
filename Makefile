# The two commands (see README.md):
#   make demo   converge the example topology on the bundled sandbox host, twice
#   make test   every test: sanity, units, sandbox conformance, lint, docs, build,
#               integration on the sandbox, Molecule
# `make test STAGES="units lint"` runs only some stages.
STAGES ?=

.PHONY: demo test bootstrap clean

demo:
	tools/demo

test:
	tools/run-tests $(STAGES)

bootstrap:
	tools/bootstrap

clean:
	-sandbox/sandbox destroy demo
	rm -rf .cache tests/output
