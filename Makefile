# The two commands the README starts with. Both install what is missing first.
.PHONY: run test setup bench

setup:
	bash scripts/setup.sh

run: setup
	cargo build --release -p kmatrix
	./target/release/kmatrix run

test: setup
	cargo test --workspace -- --test-threads=2
