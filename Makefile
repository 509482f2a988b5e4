# The README's commands. `sudo make setup` once (system packages, virtiofsd
# in /usr/local/bin); then `make run` / `make test` as yourself: they only
# check the setup and print the root command if something is missing.
.PHONY: run test test-s390x setup bench

setup:
	bash scripts/setup.sh

run: setup
	cargo build --release -p kmatrix
	./target/release/kmatrix run

test: setup
	cargo test --workspace -- --test-threads=2

# s390x cells (big-endian), not in `make test`: a cold run builds two s390x
# kernels. Boots both, and the deliberately little-endian-iocb guest.
test-s390x: setup
	cargo test --test s390x -- --ignored --test-threads=1
