# The README's commands. `sudo make setup` once (system packages, virtiofsd
# in /usr/local/bin); then `make run` / `make test` as yourself: they only
# check the setup and print the root command if something is missing.
.PHONY: run test setup bench

setup:
	bash scripts/setup.sh

run: setup
	cargo build --release -p kmatrix
	./target/release/kmatrix run

test: setup
	cargo test --workspace -- --test-threads=2
