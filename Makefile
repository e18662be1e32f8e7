# Thin wrappers over scripts/ (the scripts work without make too).
.PHONY: dev test test-chaos lint nats-server

dev:
	scripts/dev

test:
	scripts/test

test-chaos:
	scripts/test-chaos

lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets --locked -- -D warnings

nats-server:
	scripts/install-nats-server
